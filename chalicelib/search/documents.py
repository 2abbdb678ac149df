"""Engine records (engine/store.py) -> index documents (the one place that decides what a
document holds).

A document is {"source": what a hit returns, "values": index field -> value(s),
"team": [{"user_id", "access", "until"}]}. `source` is the record as the API would show
it before field rules (the service applies field rules to hits, as it does to records);
`values` holds the built-in fields, the meta fields and the custom fields in their slots
(and, for record types that declare duplicate checks, their normalised duplicate keys).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..db.base import plain
from ..duplicates import normalize
from . import schema
from .query import IndexOp


def _value(v: Any) -> Any:
    """The indexed form of a value: region -> its code, reference -> the record id."""
    if isinstance(v, Decimal):
        return plain(v)
    if isinstance(v, dict):
        return v.get("code") or v.get("id")
    return v


def _put(values: dict[str, Any], name: str, v: Any, multi: bool) -> None:
    if v is None or v == [] or v == "":
        return
    values[name] = [_value(x) for x in v] if multi or isinstance(v, list) else _value(v)


def document(rec, custom_slots: dict[str, str], es: schema.EntitySchema | None = None) -> dict[str, Any]:
    """`custom_slots`: custom field key -> slot (cf_n1) for the record's tenant and entity; `es`:
    the record type's schema (a custom object's, with its field slots) when it is not standard."""
    es = es or schema.get(rec.entity)
    src = source(rec)
    values: dict[str, Any] = {}
    for f in es.fields:
        _put(values, f, src.get(f), f in es.multi)
    slotted = dict(es.aliases) if es.object_key else {}
    for key, slot in custom_slots.items():
        slotted[f"custom.{key}"] = slot
    for api_name, slot in slotted.items():
        v = src["custom"].get(api_name[7:]) if api_name.startswith("custom.") else src.get(api_name)
        _put(values, slot, v, es.is_multi(slot))
        if schema.slot_kind(slot) in (schema.TEXT, schema.PREFIX) and isinstance(v, str):
            src[slot] = v  # highlights are cut from the source: text in slots gets a copy under its slot
    if es.object_key:
        values["object"] = es.object_key
    if es.duplicates:  # 查重: normalised keys (dup_company, dup_phone …), for duplicate checks only
        values.update(normalize.index_values(es.duplicates, src))
    team = [{"user_id": u, "access": g.get("access"), "until": g.get("until")} for u, g in sorted((rec.team or {}).items())]
    return {"source": src, "values": values, "team": team}


def source(rec) -> dict[str, Any]:
    """The record as stored, in plain JSON values: what a hit returns and what `present()` shapes."""
    return {**{k: plain(v) for k, v in rec.values().items()}, "id": rec.id, "custom": plain(rec.custom or {}),
            "created_at": rec.created_at, "created_by": rec.created_by, "updated_at": rec.updated_at,
            "updated_by": rec.updated_by, "version": rec.version, "team": plain(rec.team or {})}


def index_op(rec, custom_slots: dict[str, str], es: schema.EntitySchema | None = None) -> IndexOp:
    """Index a live record; a soft-deleted one leaves the index."""
    es = es or schema.get(rec.entity)
    if rec.deleted_at:
        return IndexOp("delete", es.entity, rec.tenant_id, rec.id, int(rec.version or 0))
    return IndexOp("index", es.entity, rec.tenant_id, rec.id, int(rec.version or 0), document(rec, custom_slots, es))


def delete_op(rec, es: schema.EntitySchema | None = None) -> IndexOp:
    """A record removed from the table for good (purge): its delete outranks every version it had."""
    return IndexOp("delete", (es or schema.get(rec.entity)).entity, rec.tenant_id, rec.id, int(rec.version or 0) + 1)
