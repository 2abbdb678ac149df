"""Identifiers: time-ordered, URL-safe, 26 characters (ULID layout)."""
from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A ULID: 48-bit millisecond timestamp + 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def derived_id(at_ms: int, source: str) -> str:
    """A deterministic id that still sorts by time: ULID layout, randomness from `source`."""
    import hashlib

    value = (at_ms << 80) | int.from_bytes(hashlib.sha256(source.encode()).digest()[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
