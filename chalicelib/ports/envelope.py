"""Envelope encryption of small secrets at rest (TOTP seeds): one interface, two adapters.

Each secret is encrypted (AES-256-GCM) with a data key of its own; the data key is stored next to it
encrypted by a key-encryption key, with that key's id:

- ``KmsKeys``: a symmetric KMS key (``CRM_MFA_SEED_KEY``: id, ARN or alias). ``kms:GenerateDataKey``
  when a secret is written, ``kms:Decrypt`` when it is read; the key itself never leaves KMS.
- ``SoftwareKeys``: a 256-bit key in a file (``CRM_LOCAL_MFA_SEED_KEY_FILE``, created on first use),
  for the local stack and the tests, as ports/signing.py does for token keys.

Both bind the data key to an encryption context (the tenant, the purpose) and the secret's ciphertext
to its owner (associated data), so a stored secret copied to another tenant or user does not decrypt.
Decrypted data keys are kept per container (at most ``CACHE_SIZE``, least recently used out), so
checking the same user's codes again costs no KMS call.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

CACHE_SIZE = 512
LOCAL_PREFIX = "local:"
NONCE_BYTES = 12


class Unreadable(Exception):
    """A sealed secret that does not open: another owner's or context's, altered, or its key unknown here."""


@dataclass(frozen=True)
class Sealed:
    """A secret as stored: its ciphertext (nonce + AES-GCM output), its data key encrypted, the key's id."""
    ciphertext: str
    data_key: str
    key_id: str


class KeyEncryptionKeys(Protocol):
    def key_id(self) -> str: ...
    def generate(self, context: dict[str, str]) -> tuple[bytes, bytes, str]: ...  # (plain key, encrypted key, key id)
    def unwrap(self, encrypted: bytes, context: dict[str, str], key_id: str) -> bytes: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


def _context_bytes(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class SoftwareKeys:
    """A key file (created 0600 on first use). Local stack and tests only: the key is on disk."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _master(self) -> bytes:
        with self._lock:
            if self._key is None:
                if not os.path.exists(self.path):
                    os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                    try:
                        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    except FileExistsError:  # another process created it first: use theirs
                        pass
                    else:
                        with os.fdopen(fd, "wb") as f:
                            f.write(os.urandom(32))
                with open(self.path, "rb") as f:
                    key = f.read()
                if len(key) != 32:
                    raise ValueError(f"{self.path} is not a 256-bit key")
                self._key = key
            return self._key

    def key_id(self) -> str:
        return LOCAL_PREFIX + hashlib.sha256(self._master()).hexdigest()[:16]

    def generate(self, context: dict[str, str]) -> tuple[bytes, bytes, str]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        plain, nonce = os.urandom(32), os.urandom(NONCE_BYTES)
        return plain, nonce + AESGCM(self._master()).encrypt(nonce, plain, _context_bytes(context)), self.key_id()

    def unwrap(self, encrypted: bytes, context: dict[str, str], key_id: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if key_id != self.key_id():
            raise ValueError(f"sealed with {key_id}, not with the key file's {self.key_id()}")
        return AESGCM(self._master()).decrypt(encrypted[:NONCE_BYTES], encrypted[NONCE_BYTES:], _context_bytes(context))


class KmsKeys:
    """A symmetric KMS key (``SYMMETRIC_DEFAULT``)."""

    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    def _client(self) -> Any:
        from . import client

        return client("kms")

    def key_id(self) -> str:
        return self._key_id

    def generate(self, context: dict[str, str]) -> tuple[bytes, bytes, str]:
        out = self._client().generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        return out["Plaintext"], out["CiphertextBlob"], out["KeyId"]  # KeyId: the key's ARN

    def unwrap(self, encrypted: bytes, context: dict[str, str], key_id: str) -> bytes:
        return self._client().decrypt(CiphertextBlob=encrypted, EncryptionContext=context, KeyId=key_id)["Plaintext"]


class _DataKeyCache:
    """Decrypted data keys by their encrypted form, least recently used out beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, encrypted: bytes) -> bytes | None:
        with self._lock:
            found = self._keys.get(encrypted)
            if found is not None:
                self._keys.move_to_end(encrypted)
            return found

    def put(self, encrypted: bytes, plain: bytes) -> None:
        with self._lock:
            self._keys[encrypted] = plain
            self._keys.move_to_end(encrypted)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


data_keys = _DataKeyCache(CACHE_SIZE)
_adapters: dict[str, KeyEncryptionKeys] = {}
_adapters_lock = threading.Lock()


def _seed_key_file() -> str:
    """CRM_LOCAL_MFA_SEED_KEY_FILE, else ``mfa-seed-key`` next to the local IdP's first key file."""
    from ..core.settings import get_settings

    s = get_settings()
    if s.local_mfa_seed_key_file:
        return s.local_mfa_seed_key_file
    first = s.local_idp_key_file.split(",")[0].strip()
    return os.path.join(os.path.dirname(os.path.abspath(first)), "mfa-seed-key")


def keys(key_id: str | None = None) -> KeyEncryptionKeys:
    """The adapter for a stored key id (``local:…`` = the key file, anything else = KMS), or with no id the
    configured one: KMS when ``CRM_MFA_SEED_KEY`` is set, else the key file."""
    from ..core.settings import get_settings

    if key_id is None:
        configured = get_settings().mfa_seed_key.strip()
        name = configured or f"{LOCAL_PREFIX}{_seed_key_file()}"
    else:
        name = f"{LOCAL_PREFIX}{_seed_key_file()}" if key_id.startswith(LOCAL_PREFIX) else key_id
    with _adapters_lock:
        found = _adapters.get(name)
        if found is None:
            found = SoftwareKeys(name[len(LOCAL_PREFIX):]) if name.startswith(LOCAL_PREFIX) else KmsKeys(name)
            _adapters[name] = found
        return found


def seal(plaintext: str, context: dict[str, str], owner: str) -> Sealed:
    """Encrypt `plaintext` under a new data key; `context` binds the data key, `owner` the ciphertext."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    plain_key, encrypted_key, key_id = keys().generate(context)
    data_keys.put(encrypted_key + _context_bytes(context), plain_key)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = nonce + AESGCM(plain_key).encrypt(nonce, plaintext.encode(), owner.encode())
    return Sealed(ciphertext=_b64(ciphertext), data_key=_b64(encrypted_key), key_id=key_id)


def open_sealed(sealed: Sealed, context: dict[str, str], owner: str) -> str:
    """The plaintext of a sealed secret (its data key from the cache, else unwrapped by its key); Unreadable
    when it does not open. A KMS outage is no Unreadable: it propagates (a 500, not a wrong answer)."""
    from botocore.exceptions import ClientError
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        encrypted_key = _unb64(sealed.data_key)
        cache_key = encrypted_key + _context_bytes(context)  # a cached key answers only in its own context
        plain_key = data_keys.get(cache_key)
        if plain_key is None:
            plain_key = keys(sealed.key_id).unwrap(encrypted_key, context, sealed.key_id)
            data_keys.put(cache_key, plain_key)
        raw = _unb64(sealed.ciphertext)
        return AESGCM(plain_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode()).decode()
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("InvalidCiphertextException", "IncorrectKeyException"):
            raise Unreadable(str(e)) from e
        raise
    except (InvalidTag, ValueError) as e:
        raise Unreadable(str(e) or type(e).__name__) from e


def reset() -> None:
    """Forget adapters and cached data keys (tests; a settings change)."""
    with _adapters_lock:
        _adapters.clear()
    data_keys.clear()
