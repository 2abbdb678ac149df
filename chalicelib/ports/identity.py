"""Sign-in accounts: the local development IdP (credentials in the table) or Cognito.

The org module keeps users (profile, roles, department); this port keeps what signs
them in. Both adapters offer the same operations; which one runs is configuration
(`CRM_IDENTITY_PROVIDER`).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from typing import Protocol

from pynamodb.attributes import UnicodeAttribute

from ..core.settings import get_settings
from ..db import keys
from ..db.base import Item
from . import client


class Credential(Item, discriminator="CRED"):
    """Local IdP only. pk = T#<t>#CRED#<user>, sk = "#"."""

    password_hash = UnicodeAttribute()


class IdentityProvider(Protocol):
    def create_login(self, tenant_id: str, user_id: str, mobile: str, password: str) -> None: ...
    def set_password(self, tenant_id: str, user_id: str, password: str) -> None: ...
    def set_enabled(self, tenant_id: str, user_id: str, enabled: bool) -> None: ...
    def sign_out_everywhere(self, tenant_id: str, user_id: str) -> None: ...


PASSWORD_COST = 14  # log2 of scrypt's N: "scrypt$<salt>$<digest>"; another cost is named, "scrypt<cost>$<salt>$<digest>"


def password_cost() -> int:
    """The cost of new hashes: the setting, never below PASSWORD_COST outside the local and test stages."""
    s = get_settings()
    return s.password_cost if s.stage in ("local", "test") else max(s.password_cost, PASSWORD_COST)


def hash_password(password: str, salt: bytes | None = None, cost: int | None = None) -> str:
    salt = salt or os.urandom(16)
    cost = password_cost() if cost is None else cost
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**cost, r=8, p=1, maxmem=2**(cost + 11))
    return f"scrypt{'' if cost == PASSWORD_COST else cost}${salt.hex()}${digest.hex()}"


# What a sign-in is checked against when there is no account to check (unknown mobile, disabled
# account, no credential): a hash like any other, so the check costs the same scrypt as a real one
# (at the production cost; a hash names any other cost it was made with). Nobody knows its password.
DUMMY_HASH = ("scrypt$a270a01f141e58f351fe8fb75794c15b$aa9c1cf49ca6e60c6bf34792ea7dbac527302d5fa8e6701d2ae70c80ed97852b"
              "fdf24d5c43dccaed5caff5e6539017d887bbef91b56ab4fefc670a4a06bde9bd")


def check_password(password: str, stored: str) -> bool:
    try:
        kind, salt, digest = stored.split("$")
        cost = int(kind.removeprefix("scrypt") or PASSWORD_COST)
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt), cost).split("$")[2], digest)


class LocalIdentity:
    def credential_item(self, tenant_id: str, user_id: str, password: str) -> Credential:
        return Credential(pk=keys.k(tenant_id, "CRED", user_id), sk="#", tenant_id=tenant_id,
                          password_hash=hash_password(password))

    def create_login(self, tenant_id: str, user_id: str, mobile: str, password: str) -> None:
        self.credential_item(tenant_id, user_id, password).save()

    def set_password(self, tenant_id: str, user_id: str, password: str) -> None:
        self.credential_item(tenant_id, user_id, password).save()

    def set_enabled(self, tenant_id: str, user_id: str, enabled: bool) -> None:
        return None  # the user's status in the org module is checked on every request

    def sign_out_everywhere(self, tenant_id: str, user_id: str) -> None:
        return None  # tokens_valid_after on the user is checked on every request

    def verify(self, tenant_id: str, user_id: str | None, password: str) -> bool:
        """Whether `password` is the user's. Every call hashes exactly once: with no user to check
        (None) or no credential, against DUMMY_HASH, so a refusal takes as long either way."""
        cred = None
        if user_id is not None:
            try:
                cred = Credential.get(keys.k(tenant_id, "CRED", user_id), "#")
            except Credential.DoesNotExist:
                pass
        matches = check_password(password, cred.password_hash if cred else DUMMY_HASH)
        return matches and cred is not None


class CognitoIdentity:
    """Cognito user pool; the username is `<tenant>.<user id>`, the tenant a custom attribute."""

    def _username(self, tenant_id: str, user_id: str) -> str:
        from ..core.auth import username

        return username(tenant_id, user_id)

    def create_login(self, tenant_id: str, user_id: str, mobile: str, password: str) -> None:
        s = get_settings()
        c = client("cognito-idp")
        c.admin_create_user(
            UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id), MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "phone_number", "Value": _e164(mobile)}, {"Name": "custom:tenant_id", "Value": tenant_id}],
        )
        self.set_password(tenant_id, user_id, password)

    def set_password(self, tenant_id: str, user_id: str, password: str) -> None:
        s = get_settings()
        client("cognito-idp").admin_set_user_password(UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id),
                                                      Password=password, Permanent=True)

    def set_enabled(self, tenant_id: str, user_id: str, enabled: bool) -> None:
        s = get_settings()
        c = client("cognito-idp")
        fn = c.admin_enable_user if enabled else c.admin_disable_user
        fn(UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id))

    def sign_out_everywhere(self, tenant_id: str, user_id: str) -> None:
        s = get_settings()
        client("cognito-idp").admin_user_global_sign_out(UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id))

    def totp_enabled(self, tenant_id: str, user_id: str) -> bool:
        """Whether the user has an authenticator enabled (then Cognito asks for its code at every sign-in)."""
        s = get_settings()
        user = client("cognito-idp").admin_get_user(UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id))
        return "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])

    def disable_totp(self, tenant_id: str, user_id: str) -> None:
        """An administrator's reset: the user signs in with the password alone until they enrol again."""
        s = get_settings()
        client("cognito-idp").admin_set_user_mfa_preference(
            UserPoolId=s.cognito_user_pool_id, Username=self._username(tenant_id, user_id),
            SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False})


def _e164(mobile: str) -> str:
    return mobile if mobile.startswith("+") else f"+86{mobile}"


def provider() -> LocalIdentity | CognitoIdentity:
    return CognitoIdentity() if get_settings().identity_provider == "cognito" else LocalIdentity()
