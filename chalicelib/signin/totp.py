"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 30-second steps,
6 digits — what every authenticator app (Google Authenticator, Microsoft Authenticator,
1Password, 腾讯身份验证器 …) reads from an ``otpauth://totp/…`` URI. Standard library only."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of now: a clock 30 s off still signs in


def new_secret() -> str:
    """160 random bits (RFC 4226's recommended key size), base32 without padding."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    s = secret.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def step_of(unix_seconds: float) -> int:
    return int(unix_seconds // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """The code of a time step (HOTP with the step as counter)."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def code(secret: str, unix_seconds: float) -> str:
    return code_at(secret, step_of(unix_seconds))


def matching_step(secret: str, candidate: str, unix_seconds: float, window: int = WINDOW) -> int | None:
    """The time step within ±window of now whose code is `candidate` (newest first), else None.
    Compared in constant time; anything but 6 digits never matches."""
    candidate = (candidate or "").strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isdigit():
        return None
    now = step_of(unix_seconds)
    found = None
    for step in range(now + window, now - window - 1, -1):
        if hmac.compare_digest(code_at(secret, step), candidate) and found is None:
            found = step
    return found


def uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (as a QR code) or imports."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS},
                      quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def main(argv: list[str] | None = None) -> int:
    """An authenticator for scripts and the README's examples: the code of now (or of the next step, which
    the server accepts too: a script that just used this step's code need not wait for the next)."""
    import argparse
    import time

    ap = argparse.ArgumentParser(description="print a TOTP code for a base32 secret")
    ap.add_argument("secret")
    ap.add_argument("--next", action="store_true", help="the next 30-second step's code")
    args = ap.parse_args(argv)
    print(code_at(args.secret, step_of(time.time()) + (1 if args.next else 0)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
