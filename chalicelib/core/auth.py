"""Token verification (every environment) and the product's own identity provider's tokens.

The API verifies each bearer token itself: signature against the JWKS (picked by the token's
``kid``), issuer, audience, expiry, token use. With Cognito the JWKS is the user pool's (fetched,
cached 10 minutes); with the product's own IdP (``local``/``builtin``) the keys are its signer's
(ports/signing.py: KMS keys in AWS, key files locally), read in-process — no network call per
request. Tokens carry the tenant in `custom:tenant_id`, as the Cognito pools are configured to do
(infra/).
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from .errors import Unauthenticated
from .settings import get_settings

TENANT_CLAIM = "custom:tenant_id"
#: The algorithms a token may be signed with, by source: Cognito signs RS256; the own IdP RS256 or ES256
#: (its KMS key's spec). A token's alg must also be its key's (no algorithm confusion).
COGNITO_ALGORITHMS = frozenset({"RS256"})
OWN_IDP_ALGORITHMS = frozenset({"RS256", "ES256"})
OWN_IDP_SOURCE = "signer:"
#: How often an unknown kid may make the own IdP's keys be read again (a forged kid must not cost a KMS call).
OWN_IDP_RELOAD_SECONDS = 30.0
#: Platform operators are the members of this Cognito group (``cognito:groups`` in the ID token). Group
#: membership is changed only by people with console or CLI access: the API's role may not add or remove
#: members (infra/components/api.py), and no attribute a user route writes makes anyone an operator.
GROUPS_CLAIM = "cognito:groups"
PLATFORM_GROUP = "platform-admins"
#: How the own IdP's user signed in (RFC 8176 ``amr``): the password, then a TOTP code when one was asked.
#: A token without ``amr`` (issued before the claim existed) counts as a password alone.
AMR_PASSWORD, AMR_OTP = "pwd", "otp"


@dataclass(frozen=True)
class Claims:
    tenant_id: str
    user_id: str
    issued_at: int
    platform_admin: bool
    raw: dict[str, Any]
    amr: tuple[str, ...] = ()  # the own IdP's sign-in methods; Cognito's ID tokens carry none


class _Jwks:
    """JWKS keys by kid, cached for 10 minutes, refreshed once on an unknown kid (the own IdP's at
    most every OWN_IDP_RELOAD_SECONDS)."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[Any, str]] = {}
        self._loaded_at = 0.0
        self._source = ""
        self._lock = threading.Lock()

    def _load(self, source: str) -> None:
        if source.startswith(OWN_IDP_SOURCE):
            from ..ports import signing

            doc = signing.signer().jwks()
        elif source.startswith("local-key:"):
            doc = local_jwks(source.split(":", 1)[1])
        elif source.startswith("file://"):
            with open(source[7:], encoding="utf-8") as f:
                doc = json.load(f)
        else:
            with urllib.request.urlopen(source, timeout=5) as r:  # noqa: S310 (configured https URL)
                doc = json.load(r)
        keys = {}
        for k in doc.get("keys", []):
            jwk = jwt.PyJWK(k)
            keys[k["kid"]] = (jwk.key, jwk.algorithm_name)
        self._keys = keys
        self._loaded_at = time.monotonic()
        self._source = source

    def key(self, kid: str) -> tuple[Any, str]:
        """The key named `kid` and its algorithm."""
        source = jwks_source()
        with self._lock:
            age = time.monotonic() - self._loaded_at
            stale = age > 600 or source != self._source
            may_reload = not source.startswith(OWN_IDP_SOURCE) or age > OWN_IDP_RELOAD_SECONDS
            if stale or (kid not in self._keys and may_reload):
                if source.startswith(OWN_IDP_SOURCE) and kid not in self._keys and not stale:
                    from ..ports import signing

                    signing.reset()  # a key added since (files), an alias moved (KMS)
                self._load(source)
            if kid not in self._keys:
                raise Unauthenticated("INVALID_TOKEN", reason="unknown signing key")
            return self._keys[kid]

    def reset(self) -> None:
        with self._lock:
            self._keys, self._loaded_at, self._source = {}, 0.0, ""


_jwks = _Jwks()


def jwks_source() -> str:
    s = get_settings()
    if s.jwks_url:
        return s.jwks_url
    if s.identity_provider == "cognito":
        from .partition import endpoint_host  # the region's domain: amazonaws.com.cn in China

        return f"https://{endpoint_host('cognito-idp', s.region)}/{s.cognito_user_pool_id}/.well-known/jwks.json"
    return f"{OWN_IDP_SOURCE}{s.token_signing_keys or s.local_idp_key_file}"


def verify(token: str) -> Claims:
    s = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Unauthenticated("INVALID_TOKEN", reason="malformed") from e
    allowed = COGNITO_ALGORITHMS if s.identity_provider == "cognito" else OWN_IDP_ALGORITHMS
    if header.get("alg") not in allowed or not header.get("kid"):
        raise Unauthenticated("INVALID_TOKEN", reason="unsupported algorithm")
    key, key_alg = _jwks.key(str(header["kid"]))
    if key_alg != header["alg"]:
        raise Unauthenticated("INVALID_TOKEN", reason="algorithm does not match the key")
    try:
        claims = jwt.decode(token, key=key, algorithms=[key_alg], audience=s.jwt_audience, issuer=s.jwt_issuer,
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]}, leeway=30)
    except jwt.ExpiredSignatureError as e:
        raise Unauthenticated("INVALID_TOKEN", reason="expired") from e
    except jwt.PyJWTError as e:
        raise Unauthenticated("INVALID_TOKEN", reason=str(e)) from e
    if claims.get("token_use") != "id":
        raise Unauthenticated("INVALID_TOKEN", reason="not an id token")
    tenant = claims.get(TENANT_CLAIM)
    groups = claims.get(GROUPS_CLAIM) or []
    platform = isinstance(groups, list) and PLATFORM_GROUP in groups
    if not tenant and not platform:
        raise Unauthenticated("INVALID_TOKEN", reason="no tenant")
    amr = claims.get("amr")
    return Claims(tenant_id=tenant or "", user_id=user_id_of(claims, tenant or ""), issued_at=int(claims["iat"]),
                  platform_admin=platform, raw=claims,
                  amr=tuple(str(a) for a in amr) if isinstance(amr, list) else ())


def username(tenant_id: str, user_id: str) -> str:
    """The sign-in username of a user: `<tenant>.<user id>` (Cognito's `cognito:username`)."""
    return f"{tenant_id}.{user_id}" if tenant_id else user_id


def user_id_of(claims: dict[str, Any], tenant_id: str) -> str:
    """Our user id. Cognito's `sub` is its own UUID, so the id is read from the username."""
    name = str(claims.get("cognito:username") or claims["sub"])
    prefix = f"{tenant_id}."
    return name[len(prefix):] if tenant_id and name.startswith(prefix) else name


# ---- the product's own identity provider ------------------------------------------------

def _private_key(path: str):
    """The private key of a local key file (created on first use). Local stack and tests."""
    from ..ports.signing import SoftwareSigner

    return SoftwareSigner([path]).active().ref


def local_jwks(path: str) -> dict[str, Any]:
    """The public keys of local key files (comma-separated)."""
    from ..ports.signing import SoftwareSigner

    return SoftwareSigner([p.strip() for p in path.split(",") if p.strip()]).jwks()


def jwks() -> dict[str, Any]:
    """The own IdP's public keys (every key that verifies: the active one and those being rotated out)."""
    from ..ports import signing

    return signing.signer().jwks()


def issue_local_token(tenant_id: str, user_id: str, *, name: str = "", platform_admin: bool = False,
                      ttl_seconds: int | None = None, issued_at: int | None = None,
                      amr: tuple[str, ...] = (AMR_PASSWORD,)) -> str:
    """Sign an id token the way Cognito shapes them, with the own IdP's active key (ports/signing.py:
    kms:Sign in AWS, a key file locally). Platform operators of the own IdP exist only as tokens signed
    with its key (devstack/token.py): nothing in the table, and so nothing a user route writes, makes a
    login a platform operator. `amr` says how the user signed in (the password; and ``otp`` after a
    TOTP code): a tenant that requires a second factor refuses tokens without ``otp`` (signin/service.py)."""
    from ..ports import signing

    s = get_settings()
    if s.identity_provider != "local":
        raise RuntimeError("the product's own identity provider is not enabled")
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": user_id, "iat": now,
        "exp": now + (ttl_seconds or s.token_ttl_seconds), "token_use": "id",
        "cognito:username": username(tenant_id, user_id), "name": name, "amr": list(amr),
    }
    if tenant_id:
        claims[TENANT_CLAIM] = tenant_id
    if platform_admin:
        claims[GROUPS_CLAIM] = [PLATFORM_GROUP]
    return signing.encode(claims)
