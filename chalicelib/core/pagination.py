"""Cursor pagination: one codec for every cursor the API hands out; a page costs the same at any table size.

A cursor is ``base64url(tag ‖ body)`` without padding (URL-safe, usually 100–200 characters):

- body: compact JSON ``[expires, state]``. ``state`` is whatever the listing needs to go on (a
  DynamoDB start key, the search engine's search_after values, an offset); ``expires`` is a Unix
  time in seconds (``CRM_CURSOR_TTL_SECONDS`` after it was issued).
- tag: HMAC-SHA256 under the deployment's secret (``CRM_CURSOR_SECRET``), truncated to 16 bytes,
  over the body *and its context*: the tenant and user of the request and the listing the cursor
  was issued for (the caller names it: a partition with its index and conditions, a search
  fingerprint, a filter set). The context is not stored in the cursor — it is known again when
  the cursor comes back — so cursors stay short, and one issued for another listing, another
  user or another tenant simply does not verify.

`decode` refuses everything else with 400 INVALID_CURSOR: characters outside base64url, a wrong
tag (made up, modified, another secret, another context), a body that is not ours, an expired
cursor. A verified state is then checked by the caller's `check` (shape, types, ranges) before it
reaches a query: the signature guards against tampering, it is no reason to trust the value, so
even a leaked secret cannot turn a cursor into a 500.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from . import clock, context
from .errors import InvalidCursor, invalid
from .settings import get_settings

T = TypeVar("T")

#: Longest cursor accepted (characters). Typical cursors are far shorter; search cursors carry the
#: sort value of the last hit, which may be a long text.
MAX_CURSOR = 4000
TAG_BYTES = 16
_DOMAIN = b"crm-cursor/1\n"
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
MIN_SECRET = 32

CURSOR_DESCRIPTION = ("Opaque token issued by the API: the `next_cursor` of the previous page of the same listing (same "
                      "filters and sort, same user and tenant). Cursors are signed and expire; a made-up, modified, expired "
                      "or foreign cursor is answered with 400 INVALID_CURSOR.")


def cursor_param() -> Any:
    """The `cursor` field of a list's query model."""
    return Field(None, max_length=MAX_CURSOR, description=CURSOR_DESCRIPTION)


class Page(BaseModel, Generic[T]):
    """One page of any list: subclass as `class ThingPage(Page[ThingOut])`."""

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page; null on the last page")


class PageQuery(BaseModel):
    """The paging part of every list's query string (subclass to add filters)."""

    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()


# ---- the codec ----------------------------------------------------------------------------
_process_key: bytes | None = None


def _key() -> bytes:
    """The signing key: CRM_CURSOR_SECRET; on the local and test stages without one, a key of this
    process (its cursors work until it exits). A deployed stage without a secret refuses loudly."""
    global _process_key
    s = get_settings()
    secret = s.cursor_secret.get_secret_value()
    if secret:
        if len(secret) < MIN_SECRET:
            raise RuntimeError(f"CRM_CURSOR_SECRET must have at least {MIN_SECRET} characters")
        return secret.encode()
    if s.stage in ("local", "test"):
        if _process_key is None:
            _process_key = secrets.token_bytes(32)
        return _process_key
    raise RuntimeError("CRM_CURSOR_SECRET is not set: page cursors cannot be signed")


def _tag(listing: str, body: bytes) -> bytes:
    ctx = context.maybe_current()
    bound = json.dumps([ctx.tenant_id if ctx else "", ctx.user_id if ctx else "", listing],
                       ensure_ascii=False, separators=(",", ":")).encode()
    # JSON never holds a raw newline, so context and body cannot be shifted into each other
    return hmac.new(_key(), _DOMAIN + bound + b"\n" + body, hashlib.sha256).digest()[:TAG_BYTES]


def encode(state: Any, listing: str) -> str | None:
    """A cursor continuing `listing` from `state` (JSON-able), for the current tenant and user; None for no state."""
    if state is None:
        return None
    expires = int(clock.now().timestamp()) + get_settings().cursor_ttl_seconds
    body = json.dumps([expires, state], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(_tag(listing, body) + body).decode().rstrip("=")


def _open(cursor: str, listing: str) -> Any:
    """The state inside a cursor this deployment issued for `listing`, this tenant and user, still valid."""
    if len(cursor) > MAX_CURSOR or not _ALPHABET.fullmatch(cursor):
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise InvalidCursor() from None
    tag, body = raw[:TAG_BYTES], raw[TAG_BYTES:]
    if not body or not hmac.compare_digest(tag, _tag(listing, body)):
        raise InvalidCursor()
    try:
        expires, state = json.loads(body)
    except (ValueError, TypeError):
        raise InvalidCursor() from None
    if type(expires) is not int or expires < clock.now().timestamp():
        raise InvalidCursor()
    return state


def decode(cursor: str | None, listing: str, check: Callable[[Any], T]) -> T | None:
    """The state of `cursor` (None without one), checked by `check` — which returns the value to use
    and raises ValueError/TypeError (or InvalidCursor) for anything a query must not see."""
    if not cursor:
        return None
    state = _open(cursor, listing)
    try:
        return check(state)
    except (ValueError, TypeError, KeyError, IndexError):
        raise InvalidCursor() from None


def fingerprint(parts: Any) -> str:
    """A short stable digest of a listing's parameters (filters, sort …), to name it as a cursor's listing."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:16]


def page_size(raw: str | None) -> int:
    s = get_settings()
    if raw in (None, ""):
        return s.page_size_default
    try:
        n = int(raw)
    except ValueError as e:
        raise invalid("limit", "int", "field.integer") from e
    if not 1 <= n <= s.page_size_max:
        raise invalid("limit", "range", "field.between", min=1, max=s.page_size_max)
    return n
