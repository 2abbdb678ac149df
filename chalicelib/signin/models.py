"""Sign-in security items (local identity provider's second factors; every provider's policy).

Key design:
- SecondFactor: pk = T#<t>#MFA, sk = USER#<user id> — one TOTP authenticator per user
  (`pending` until confirmed with a code, then `active`). One partition per tenant, so one
  Query loads every user's factor state (cached per container like the org snapshot).
  `last_step` is the newest 30-second step a code was accepted for: a code is taken only
  with a condition `last_step < its step`, so a code used once cannot be used again.
  The seed is encrypted at rest beyond the table's own encryption (ports/envelope.py): `seed` is
  its AES-GCM ciphertext (bound to tenant and user), `seed_key` its data key encrypted by the
  KMS key (or the local key file) named in `seed_key_id`. `secret` is the plaintext seed of
  factors written before that; such a factor is re-written encrypted when next used
  (service.py), or by `python -m chalicelib.signin.seeds`.
- SignInSession: pk = T#<t>#SIGNIN#<sha256 of the session token>, sk = "#" — the state
  between the password and the second factor (purpose `verify` or `setup`), 5 minutes (TTL);
  the token itself is never stored.
- SignInPolicy: pk = T#<t>#SIGNIN, sk = "POLICY" — the tenant administrators' choice
  (`mfa_required`); no item = the deployment's default (CRM_MFA_DEFAULT).
Access patterns: a user's factor = 1 GetItem (or the cached tenant Query); a session = 1 GetItem.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class SecondFactor(Item, discriminator="MFA"):
    user_id = UnicodeAttribute()
    secret = UnicodeAttribute(null=True)  # legacy plaintext base32 seed (before envelope encryption); removed when next used
    seed = UnicodeAttribute(null=True)  # base64 nonce + AES-256-GCM ciphertext of the base32 seed
    seed_key = UnicodeAttribute(null=True)  # base64 data key, encrypted by the key named in seed_key_id
    seed_key_id = UnicodeAttribute(null=True)  # the KMS key's ARN, or local:<fingerprint> of the key file
    status = UnicodeAttribute(default="pending")  # pending | active
    last_step = NumberAttribute(default=0)
    enrolled_at = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, user_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "MFA"), f"USER#{user_id}"


class SignInSession(Item, discriminator="SIGNIN"):
    user_id = UnicodeAttribute()
    mobile = UnicodeAttribute()
    purpose = UnicodeAttribute()  # verify | setup
    failures = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, digest: str) -> tuple[str, str]:
        return keys.k(tenant_id, "SIGNIN", digest), "#"


class SignInPolicy(Versioned, discriminator="SIGNINPOLICY"):
    mfa_required = BooleanAttribute()

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "SIGNIN"), "POLICY"

    def values(self) -> dict:
        return {"mfa_required": bool(self.mfa_required)}
