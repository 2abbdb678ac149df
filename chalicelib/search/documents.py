"""Engine records (engine/store.py) -> index documents (the one place that decides what a
document holds).

A document is {"source": what a hit returns, "values": index field -> value(s),
"team": [{"user_id", "access", "until"}]}. `source` is the record as the API would show
it before field rules (the service applies field rules to hits, as it does to records);
`values` holds the built-in fields, the meta fields and the custom fields in their slots.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..db.base import plain
from . import schema
from .query import IndexOp


def _value(v: Any) -> Any:
    """The indexed form of a value: region -> its code, reference -> the record id."""
    if isinstance(v, Decimal):
        return plain(v)
    if isinstance(v, dict):
        return v.get("code") or v.get("id")
    return v


def document(rec, custom_slots: dict[str, str]) -> dict[str, Any]:
    """`custom_slots`: custom field key -> slot (cf_n1) for the record's tenant and entity."""
    es = schema.get(rec.entity)
    src = source(rec)
    values: dict[str, Any] = {}
    for f in es.fields:
        v = src.get(f)
        if v is None or v == [] or v == "":
            continue
        values[f] = [_value(x) for x in v] if f in es.multi else _value(v)
    for key, v in src["custom"].items():
        slot = custom_slots.get(key)
        if slot and v not in (None, "", []):
            values[slot] = [_value(x) for x in v] if isinstance(v, list) else _value(v)
    team = [{"user_id": u, "access": g.get("access"), "until": g.get("until")} for u, g in sorted((rec.team or {}).items())]
    return {"source": src, "values": values, "team": team}


def source(rec) -> dict[str, Any]:
    """The record as stored, in plain JSON values: what a hit returns and what `present()` shapes."""
    return {**{k: plain(v) for k, v in rec.values().items()}, "id": rec.id, "custom": plain(rec.custom or {}),
            "created_at": rec.created_at, "created_by": rec.created_by, "updated_at": rec.updated_at,
            "updated_by": rec.updated_by, "version": rec.version, "team": plain(rec.team or {})}


def index_op(rec, custom_slots: dict[str, str]) -> IndexOp:
    """Index a live record; a soft-deleted one leaves the index."""
    if rec.deleted_at:
        return IndexOp("delete", rec.entity, rec.tenant_id, rec.id, int(rec.version or 0))
    return IndexOp("index", rec.entity, rec.tenant_id, rec.id, int(rec.version or 0), document(rec, custom_slots))


def delete_op(rec) -> IndexOp:
    """A record removed from the table for good (purge): its delete outranks every version it had."""
    return IndexOp("delete", rec.entity, rec.tenant_id, rec.id, int(rec.version or 0) + 1)
