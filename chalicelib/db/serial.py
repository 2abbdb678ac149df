"""Items as the attribute maps DynamoDB takes, exactly as PynamoDB's `Model.serialize()` writes
them, without its walk through every attribute's descriptor (a getattr, a map-attribute test and a
name lookup per attribute per item). For the writes of many items at once (an import's records and
log entries: db/batch.py), where that walk was a large part of building each request.

A class is planned once: its attributes' names, DynamoDB names and types, and whether the value is
stored as given (a plain string) or through the attribute's own `serialize`. A class with a map or
list attribute (PynamoDB validates those recursively) is serialized by PynamoDB itself.
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import Attribute, ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.exceptions import AttributeNullError

from .base import Item, walk_keys

# (python name, DynamoDB name, DynamoDB type, serializer or None when stored as given, may be null)
_Plan = list[tuple[str, str, str, Any, bool]]
_plans: dict[type, _Plan | None] = {}


def _plan(cls: type) -> _Plan | None:
    if cls in _plans:
        return _plans[cls]
    attrs: dict[str, Attribute] = cls.get_attributes()  # type: ignore[attr-defined]
    plan: _Plan | None = None
    if not any(isinstance(a, (ListAttribute, MapAttribute)) for a in attrs.values()):
        plan = [(name, a.attr_name, a.attr_type, None if type(a) is UnicodeAttribute else a.serialize, bool(a.null))
                for name, a in attrs.items()]
    _plans[cls] = plan
    return plan


def serialized(item: Item, null_check: bool = True) -> dict[str, dict[str, Any]]:
    """`item.serialize()` (the tenant-walk keys set as Item.serialize sets them), planned per class."""
    plan = _plan(type(item))
    if plan is None:
        return item.serialize(null_check=null_check)
    values = item.attribute_values
    pk = values.get("pk")
    if pk:
        walk = walk_keys(pk)
        if walk is not None:
            values["gsi4pk"], values["gsi4sk"] = walk
    out: dict[str, dict[str, Any]] = {}
    for name, dynamo_name, attr_type, serialize, null in plan:
        value = values.get(name)
        if value is not None and serialize is not None:
            value = serialize(value)
        if value is None:
            if null_check and not null:
                raise AttributeNullError(name)
            continue
        out[dynamo_name] = {attr_type: value}
    return out
