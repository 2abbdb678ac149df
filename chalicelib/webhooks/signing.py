"""How deliveries are signed, and how a receiver checks them.

Every delivery carries
    X-CRM-Timestamp: <Unix seconds when this attempt was sent>
    X-CRM-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
    X-CRM-Event:     <event type, e.g. customers.customer.created>
    X-CRM-Delivery:  <delivery id: the same for every attempt of one delivery>
A receiver recomputes the HMAC over the raw body bytes with the webhook's secret, compares in
constant time, and refuses a timestamp more than TOLERANCE_SECONDS away from its own clock (a
replayed request carries an old timestamp, and changing it breaks the signature). `verify` below
is that receiver, in full (README: Webhooks).

Inbound channels (integrations/service.py) verify their senders the same way; a sender that adds an
Idempotency-Key signs it too — v1=HMAC-SHA256(secret, "<timestamp>.<key>.<raw body>") — so the key
cannot be swapped on a captured request (`key=` below).
"""
from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300
VERSION = "v1"


def signed_content(timestamp: int, body: bytes, key: str | None = None) -> bytes:
    """What the HMAC covers: "<timestamp>.<raw body>", or "<timestamp>.<key>.<raw body>" with a key."""
    return f"{timestamp}.".encode() + (f"{key}.".encode() if key else b"") + body


def signature(secret: str, timestamp: int, body: bytes, key: str | None = None) -> str:
    mac = hmac.new(secret.encode(), signed_content(timestamp, body, key), hashlib.sha256).hexdigest()
    return f"{VERSION}={mac}"


def headers(secret: str, timestamp: int, body: bytes, event_type: str, delivery_id: str) -> dict[str, str]:
    return {"X-CRM-Timestamp": str(timestamp), "X-CRM-Signature": signature(secret, timestamp, body),
            "X-CRM-Event": event_type, "X-CRM-Delivery": delivery_id}


def verify(secret: str, body: bytes, timestamp: str | None, signature_header: str | None, *,
           now: float | None = None, tolerance: int = TOLERANCE_SECONDS, key: str | None = None) -> bool:
    """True when the request is ours and fresh: the signature matches and the timestamp is within
    `tolerance` seconds of `now` (the receiver's clock). With `key`, the signature must cover it."""
    try:
        ts = int(timestamp or "")
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    expected = signature(secret, ts, body, key)
    given = [s.strip() for s in (signature_header or "").split(",")]  # v1=…, room for a v2 beside it
    return any(hmac.compare_digest(expected, g) for g in given)
