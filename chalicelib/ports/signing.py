"""Token signing keys of the product's own identity provider: one interface, two adapters.

- ``KmsSigner``: asymmetric KMS keys (``SIGN_VERIFY``; ``RSA_2048`` -> RS256, ``ECC_NIST_P256`` ->
  ES256), the setting ``CRM_TOKEN_SIGNING_KEYS`` (key ids, ARNs or aliases, comma-separated). The
  private key never leaves KMS: a token is signed with ``kms:Sign``; the public keys are read once
  per container with ``kms:GetPublicKey`` and verification is local.
- ``SoftwareSigner``: PEM key files (``CRM_LOCAL_IDP_KEY_FILE``, comma-separated), for the local
  stack and the tests; a missing file is created (RSA 2048).

Rotation: the first key signs, every listed key verifies. Add a new key in front, keep the old one
listed for at least a token lifetime, then drop it. Each key's ``kid`` is its RFC 7638 thumbprint
(derived from the public key: stable, the same for every container, nothing to configure); tokens
name it in their header and verification picks the key by it (core/auth.py).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

#: KMS key spec -> (JWS algorithm, KMS signing algorithm)
KMS_ALGORITHMS = {
    "RSA_2048": ("RS256", "RSASSA_PKCS1_V1_5_SHA_256"),
    "RSA_3072": ("RS256", "RSASSA_PKCS1_V1_5_SHA_256"),
    "RSA_4096": ("RS256", "RSASSA_PKCS1_V1_5_SHA_256"),
    "ECC_NIST_P256": ("ES256", "ECDSA_SHA_256"),
}
#: The largest message KMS signs as it is (MessageType RAW); a JWT's header and claims are far smaller.
KMS_RAW_LIMIT = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of a public RSA or EC key: the key's ``kid``."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(public_key: Any) -> tuple[dict[str, Any], str]:
    """A public key (cryptography) as a JWK with ``kid``, ``alg`` and ``use``; and its JWS algorithm."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        size = (numbers.n.bit_length() + 7) // 8
        jwk = {"kty": "RSA", "n": b64url(numbers.n.to_bytes(size, "big")), "e": b64url(numbers.e.to_bytes(3, "big").lstrip(b"\0"))}
        alg = "RS256"
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        numbers = public_key.public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}
        alg = "ES256"
    else:
        raise ValueError(f"unsupported signing key: {type(public_key).__name__}")
    return {**jwk, "kid": thumbprint(jwk), "alg": alg, "use": "sig"}, alg


def der_to_raw(signature: bytes, size: int = 32) -> bytes:
    """An ECDSA signature as KMS returns it (DER ``SEQUENCE {r, s}``) as JWS wants it (``r || s``, fixed width)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    jwk: dict[str, Any]
    ref: Any  # the adapter's handle: a private key object, or a KMS key id


class TokenSigner(Protocol):
    def active(self) -> SigningKey: ...
    def sign(self, message: bytes) -> tuple[str, str, bytes]: ...  # (kid, alg, JWS signature)
    def jwks(self) -> dict[str, Any]: ...


class SoftwareSigner:
    """Keys in PEM files (the first signs). Local stack and tests only: the private key is on disk."""

    def __init__(self, paths: list[str]) -> None:
        if not paths:
            raise ValueError("no key file")
        self.paths = paths
        self._keys: list[SigningKey] | None = None
        self._lock = threading.Lock()

    def _load(self, path: str) -> SigningKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: use theirs
                pass
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(pem)
        with open(path, "rb") as f:
            private = serialization.load_pem_private_key(f.read(), password=None)
        jwk, alg = public_jwk(private.public_key())
        return SigningKey(kid=jwk["kid"], alg=alg, jwk=jwk, ref=private)

    def keys(self) -> list[SigningKey]:
        with self._lock:
            if self._keys is None:
                self._keys = [self._load(p) for p in self.paths]
            return self._keys

    def active(self) -> SigningKey:
        return self.keys()[0]

    def sign(self, message: bytes) -> tuple[str, str, bytes]:
        from jwt.algorithms import get_default_algorithms

        key = self.active()
        return key.kid, key.alg, get_default_algorithms()[key.alg].sign(message, key.ref)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self.keys()]}


class KmsSigner:
    """Asymmetric KMS keys (the first signs). Public keys are read once (``GetPublicKey``) and kept for
    the life of the container; a signature names the key KMS actually used, so an alias moved to
    another key is noticed on the next signature."""

    def __init__(self, key_ids: list[str]) -> None:
        if not key_ids:
            raise ValueError("no KMS key")
        self.key_ids = key_ids
        self._keys: dict[str, SigningKey] = {}  # configured id -> key
        self._lock = threading.Lock()

    def _client(self) -> Any:
        from . import client

        return client("kms")

    def _load(self, key_id: str) -> SigningKey:
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        out = self._client().get_public_key(KeyId=key_id)
        spec = out.get("KeySpec") or out.get("CustomerMasterKeySpec", "")
        if out.get("KeyUsage") != "SIGN_VERIFY" or spec not in KMS_ALGORITHMS:
            raise ValueError(f"KMS key {key_id} is not a SIGN_VERIFY key of a supported spec ({spec or 'unknown'})")
        jwk, alg = public_jwk(load_der_public_key(out["PublicKey"]))
        if alg != KMS_ALGORITHMS[spec][0]:
            raise ValueError(f"KMS key {key_id}: {spec} does not sign {alg}")
        return SigningKey(kid=jwk["kid"], alg=alg, jwk=jwk, ref=out["KeyId"])  # KeyId: the key's ARN

    def key(self, key_id: str, *, reload: bool = False) -> SigningKey:
        with self._lock:
            if reload or key_id not in self._keys:
                self._keys[key_id] = self._load(key_id)
            return self._keys[key_id]

    def active(self) -> SigningKey:
        return self.key(self.key_ids[0])

    def sign(self, message: bytes) -> tuple[str, str, bytes]:
        if len(message) > KMS_RAW_LIMIT:
            raise ValueError(f"token too large to sign ({len(message)} bytes)")
        key = self.active()
        out = self._client().sign(KeyId=self.key_ids[0], Message=message, MessageType="RAW",
                                  SigningAlgorithm=KMS_ALGORITHMS_BY_ALG[key.alg])
        if out.get("KeyId") and _key_uuid(out["KeyId"]) != _key_uuid(key.ref):  # the alias now names another key
            key = self.key(self.key_ids[0], reload=True)
            if _key_uuid(out["KeyId"]) != _key_uuid(key.ref):
                raise RuntimeError("KMS signed with a key it does not describe")
        signature = out["Signature"]
        return key.kid, key.alg, der_to_raw(signature) if key.alg == "ES256" else signature

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key(k).jwk for k in self.key_ids]}


def _key_uuid(key_id: str) -> str:
    """``arn:…:key/<uuid>`` or ``<uuid>`` -> ``<uuid>`` (KMS names the same key either way)."""
    return key_id.rsplit("/", 1)[-1]


KMS_ALGORITHMS_BY_ALG = {"RS256": "RSASSA_PKCS1_V1_5_SHA_256", "ES256": "ECDSA_SHA_256"}

_signers: dict[tuple[str, str], TokenSigner] = {}
_signers_lock = threading.Lock()


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def signer() -> TokenSigner:
    """The signer the settings name: KMS keys when ``CRM_TOKEN_SIGNING_KEYS`` is set, else the key files."""
    from ..core.settings import get_settings

    s = get_settings()
    kms_keys, files = s.token_signing_keys.strip(), s.local_idp_key_file
    with _signers_lock:
        found = _signers.get((kms_keys, files))
        if found is None:
            found = KmsSigner(_csv(kms_keys)) if kms_keys else SoftwareSigner(_csv(files))
            _signers[(kms_keys, files)] = found
        return found


def reset() -> None:
    """Forget loaded keys (tests; a restored SnapStart snapshot keeps them: public keys and key ids only for KMS)."""
    with _signers_lock:
        _signers.clear()


def encode(claims: dict[str, Any], *, _again: bool = True) -> str:
    """A compact JWS (JWT) of `claims`, signed by the active key and naming it (``kid``)."""
    s = signer()
    key = s.active()
    header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header, separators=(',', ':')).encode())}." \
                    f"{b64url(json.dumps(claims, separators=(',', ':'), ensure_ascii=False).encode())}"
    kid, alg, signature = s.sign(signing_input.encode())
    if (kid, alg) != (key.kid, key.alg):  # the key moved under an alias between reading and signing: sign again
        if not _again:
            raise RuntimeError("the signing key keeps changing")
        return encode(claims, _again=False)
    return f"{signing_input}.{b64url(signature)}"
