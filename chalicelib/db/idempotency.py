"""Idempotency keys on creates, inside the create's own transaction.

Key design: pk = T#<t>#IDEM#<user>#<key>, sk = "#", TTL = settings.idempotency_ttl_hours.
The marker is written in the same transaction as the record, with attribute_not_exists:
same key + same body replays the first result; same key + other body is refused (422).
No extra round trip in the common path.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from pynamodb.attributes import UnicodeAttribute

from ..core import clock
from ..core.errors import ValidationFailed, invalid
from ..core.settings import get_settings
from . import keys, tx
from .base import Item

T = TypeVar("T")


class IdempotencyMarker(Item, discriminator="IDEM"):
    body_hash = UnicodeAttribute()
    entity = UnicodeAttribute()
    record_id = UnicodeAttribute()


class _Replay(Exception):
    pass


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def run(tenant_id: str, user_id: str, key: str | None, body: Any, entity: str,
        create: Callable[[list[tx.Op], Callable[[str], None]], T], replay: Callable[[str], T]) -> T:
    """Create once per (user, key).

    `create(extra_ops, bind)` must call `bind(record_id)` before writing and include
    `extra_ops` in its transaction; `replay(record_id)` returns the earlier result.
    """
    if not key:
        return create([], lambda _id: None)
    if len(key) > 128:
        raise invalid("Idempotency-Key", "length", "field.id_length")
    digest = body_hash(body)
    pk = _pk(tenant_id, user_id, key)
    marker = IdempotencyMarker(pk=pk, sk="#", tenant_id=tenant_id, body_hash=digest, entity=entity, record_id="",
                               expires_at=clock.now() + timedelta(hours=get_settings().idempotency_ttl_hours))
    ops = [tx.put(marker, condition=IdempotencyMarker.pk.does_not_exist(), on_conflict=_Replay)]

    def bind(record_id: str) -> None:
        marker.record_id = record_id

    try:
        return create(ops, bind)
    except _Replay:
        earlier = IdempotencyMarker.get(pk, "#", consistent_read=True)
        if earlier.body_hash != digest:
            raise ValidationFailed("IDEMPOTENCY_KEY_REUSED") from None
        return replay(earlier.record_id)


def _pk(tenant_id: str, user_id: str, key: str) -> str:
    return keys.k(tenant_id, "IDEM", user_id, hashlib.sha256(key.encode()).hexdigest()[:32])


def earlier(tenant_id: str, user_id: str, key: str | None, body: Any) -> str | None:
    """The record an earlier request with this key created (consistent read), for a check that
    runs before the create's transaction and would otherwise refuse its own retry; None when
    there was none. The same key with another body is refused as in `run`."""
    if not key or len(key) > 128:
        return None
    try:
        marker = IdempotencyMarker.get(_pk(tenant_id, user_id, key), "#", consistent_read=True)
    except IdempotencyMarker.DoesNotExist:
        return None
    if marker.body_hash != body_hash(body):
        raise ValidationFailed("IDEMPOTENCY_KEY_REUSED")
    return marker.record_id or None
