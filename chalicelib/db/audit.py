"""Operation log (操作记录): who changed what, when, with field-level before/after.

Key design (AuditEntry):
- pk = T#<t>#LOG#<ENTITY>#<id>, sk = <at>#<entry id>   -> the log of one record, one Query.
- gsi2pk = T#<t>#AUDIT#<yyyy-mm>, gsi2sk = <at>#<id>    -> the tenant's log by month (admins).
- gsi1pk = T#<t>#AUDIT#USER#<actor>, gsi1sk = <at>      -> what one user did.
- expires_at: TTL; the stream's TTL removals are archived to S3 (functions/audit_archiver.py).

Entries are written in the same transaction as the change they describe.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pynamodb.attributes import UnicodeAttribute

from ..core import clock, ids
from ..core.settings import get_settings
from . import keys
from .base import Item

REDACTED_FIELDS = {"password", "password_hash", "secret"}


class AuditEntry(Item, discriminator="AUDIT"):
    entity = UnicodeAttribute()
    record_id = UnicodeAttribute()
    action = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    at = UnicodeAttribute()
    changes = UnicodeAttribute(default="[]")  # JSON [{field, before, after}]
    note = UnicodeAttribute(null=True)


def log_pk(tenant_id: str, entity: str, record_id: str) -> str:
    """The partition of one record's operation log."""
    return keys.k(tenant_id, "LOG", entity.upper(), record_id)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Field-level changes between two plain dicts (missing = None)."""
    before, after = before or {}, after or {}
    out = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b != a:
            if name in REDACTED_FIELDS:
                b, a = ("***" if b else None), ("***" if a else None)
            out.append({"field": name, "before": b, "after": a})
    return out


def entry(tenant_id: str, entity: str, record_id: str, action: str, actor_id: str,
          changes: list[dict[str, Any]] | None = None, note: str | None = None) -> AuditEntry:
    now = clock.now()
    at = clock.iso(now)
    entry_id = ids.new_id()
    ttl_days = get_settings().audit_ttl_days
    return AuditEntry(
        pk=log_pk(tenant_id, entity, record_id),
        sk=f"{at}#{entry_id}",
        tenant_id=tenant_id,
        entity=entity.lower(),
        record_id=record_id,
        action=action,
        actor_id=actor_id,
        at=at,
        changes=json.dumps(changes or [], ensure_ascii=False, default=str),
        note=note,
        gsi1pk=keys.k(tenant_id, "AUDIT", "USER", actor_id),
        gsi1sk=f"{at}#{entry_id}",
        gsi2pk=keys.k(tenant_id, "AUDIT", at[:7]),
        gsi2sk=f"{at}#{entry_id}",
        expires_at=now + timedelta(days=ttl_days),
    )


def as_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.sk.split("#", 1)[1],
        "entity": e.entity,
        "record_id": e.record_id,
        "action": e.action,
        "actor_id": e.actor_id,
        "at": e.at,
        "changes": json.loads(e.changes or "[]"),
        "note": e.note,
    }
