"""Token verification (every environment) and the local development identity provider.

The API verifies each bearer token itself: RS256 signature against the JWKS, issuer,
audience, expiry, token use. In AWS the JWKS is the Cognito user pool's; locally it is
the local IdP's key (file:// or derived from its key file). Tokens carry the tenant in
`custom:tenant_id`, as the Cognito pools are configured to do (infra/).
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from .errors import Unauthenticated
from .settings import get_settings

TENANT_CLAIM = "custom:tenant_id"
#: Platform operators are the members of this Cognito group (``cognito:groups`` in the ID token). Group
#: membership is changed only by people with console or CLI access: the API's role may not add or remove
#: members (infra/components/api.py), and no attribute a user route writes makes anyone an operator.
GROUPS_CLAIM = "cognito:groups"
PLATFORM_GROUP = "platform-admins"


@dataclass(frozen=True)
class Claims:
    tenant_id: str
    user_id: str
    issued_at: int
    platform_admin: bool
    raw: dict[str, Any]


class _Jwks:
    """JWKS keys by kid, cached for 10 minutes, refreshed once on an unknown kid."""

    def __init__(self) -> None:
        self._keys: dict[str, Any] = {}
        self._loaded_at = 0.0
        self._source = ""
        self._lock = threading.Lock()

    def _load(self, source: str) -> None:
        if source.startswith("local-key:"):
            doc = local_jwks(source.split(":", 1)[1])
        elif source.startswith("file://"):
            with open(source[7:], encoding="utf-8") as f:
                doc = json.load(f)
        else:
            with urllib.request.urlopen(source, timeout=5) as r:  # noqa: S310 (configured https URL)
                doc = json.load(r)
        self._keys = {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in doc.get("keys", [])}
        self._loaded_at = time.monotonic()
        self._source = source

    def key(self, kid: str) -> Any:
        source = jwks_source()
        with self._lock:
            stale = time.monotonic() - self._loaded_at > 600 or source != self._source
            if stale or kid not in self._keys:
                self._load(source)
            if kid not in self._keys:
                raise Unauthenticated("INVALID_TOKEN", reason="unknown signing key")
            return self._keys[kid]


_jwks = _Jwks()


def jwks_source() -> str:
    s = get_settings()
    if s.jwks_url:
        return s.jwks_url
    if s.identity_provider == "cognito":
        from .partition import endpoint_host  # the region's domain: amazonaws.com.cn in China

        return f"https://{endpoint_host('cognito-idp', s.region)}/{s.cognito_user_pool_id}/.well-known/jwks.json"
    return f"local-key:{s.local_idp_key_file}"


def verify(token: str) -> Claims:
    s = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise Unauthenticated("INVALID_TOKEN", reason="malformed") from e
    if header.get("alg") != "RS256" or not header.get("kid"):
        raise Unauthenticated("INVALID_TOKEN", reason="unsupported algorithm")
    key = _jwks.key(header["kid"])
    try:
        claims = jwt.decode(token, key=key, algorithms=["RS256"], audience=s.jwt_audience, issuer=s.jwt_issuer,
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
    return Claims(tenant_id=tenant or "", user_id=user_id_of(claims, tenant or ""), issued_at=int(claims["iat"]),
                  platform_admin=platform, raw=claims)


def username(tenant_id: str, user_id: str) -> str:
    """The sign-in username of a user: `<tenant>.<user id>` (Cognito's `cognito:username`)."""
    return f"{tenant_id}.{user_id}" if tenant_id else user_id


def user_id_of(claims: dict[str, Any], tenant_id: str) -> str:
    """Our user id. Cognito's `sub` is its own UUID, so the id is read from the username."""
    name = str(claims.get("cognito:username") or claims["sub"])
    prefix = f"{tenant_id}."
    return name[len(prefix):] if tenant_id and name.startswith(prefix) else name


# ---- local development identity provider ---------------------------------------------

_key_lock = threading.Lock()
_loaded_keys: dict[tuple[str, float], Any] = {}


def _private_key(path: str):
    """The local IdP's RSA key, created on first use; parsed once per file version."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    with _key_lock:
        if os.path.exists(path):
            cached = _loaded_keys.get((path, os.path.getmtime(path)))
            if cached is not None:
                return cached
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        _loaded_keys[(path, os.path.getmtime(path))] = key
        return key


def _kid(public_jwk: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256((public_jwk["n"] + public_jwk["e"]).encode()).hexdigest()[:16]


def local_jwks(path: str) -> dict[str, Any]:
    key = _private_key(path)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": _kid(jwk), "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def issue_local_token(tenant_id: str, user_id: str, *, name: str = "", platform_admin: bool = False,
                      ttl_seconds: int | None = None, issued_at: int | None = None) -> str:
    """Sign an id token the way Cognito shapes them (local IdP only). Platform operators of the local IdP
    exist only as tokens signed with its key file (devstack/token.py): nothing in the table, and so
    nothing a user route writes, makes a login a platform operator."""
    s = get_settings()
    if s.identity_provider != "local":
        raise RuntimeError("the local identity provider is not enabled")
    key = _private_key(s.local_idp_key_file)
    jwk = local_jwks(s.local_idp_key_file)["keys"][0]
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {
        "iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": user_id, "iat": now,
        "exp": now + (ttl_seconds or s.token_ttl_seconds), "token_use": "id",
        "cognito:username": username(tenant_id, user_id), "name": name,
    }
    if tenant_id:
        claims[TENANT_CLAIM] = tenant_id
    if platform_admin:
        claims[GROUPS_CLAIM] = [PLATFORM_GROUP]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwk["kid"]})
