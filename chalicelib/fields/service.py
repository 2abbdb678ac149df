"""Custom field definitions and the validation of custom values on records.

Each field gets a typed search slot (search/schema.py) when it is created; list filters,
sort and facets address it as `custom.<key>`, the index stores it in its slot.
"""
from __future__ import annotations

from typing import Any

from ..core import context, session
from ..core.cache import TenantCache
from ..core.errors import NotFound, ValidationFailed, invalid
from ..core.settings import get_settings
from ..db import changes, tx
from ..db.base import Item
from ..engine import fieldtypes
from ..search import schema
from .models import CustomField, SlotClaim

MODULE = "fields"
KIND = {"text": schema.TEXT, "textarea": schema.TEXT, "number": schema.NUMBER, "money": schema.NUMBER, "date": schema.DATE,
        "datetime": schema.DATE, "boolean": schema.BOOLEAN, "select": schema.KEYWORD, "multiselect": schema.KEYWORD,
        "mobile": schema.PREFIX, "email": schema.PREFIX, "users": schema.KEYWORD}


def _load(tenant: str) -> dict[str, list[CustomField]]:
    out: dict[str, list[CustomField]] = {}
    for f in Item.query(CustomField.pk_of(tenant)):
        if isinstance(f, CustomField):
            out.setdefault(f.entity, []).append(f)
    for fields in out.values():
        fields.sort(key=lambda f: (int(f.sort_order or 0), f.key))
    return out


_cache: TenantCache[dict[str, list[CustomField]]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def definitions(tenant: str, entity: str, *, fresh: bool = False) -> list[CustomField]:
    return _cache.get(tenant, fresh=fresh).get(entity.upper(), [])


def slots(tenant: str, entity: str) -> dict[str, str]:
    """custom key -> search slot, for the indexer (every field, active or not)."""
    return {f.key: f.slot for f in definitions(tenant, entity)}


def entity_of(path_value: str) -> str:
    try:
        return schema.get(path_value).entity
    except KeyError:
        raise NotFound("entity.custom_field") from None


def out(f: CustomField) -> dict[str, Any]:
    return {"entity": f.entity.lower(), "key": f.key, "filter_field": f"custom.{f.key}", "version": f.version, **f.values()}


def list_fields(entity: str) -> list[dict[str, Any]]:
    return [out(f) for f in definitions(context.current().tenant_id, entity_of(entity))]


def create(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    entity = entity_of(entity)
    existing = definitions(ctx.tenant_id, entity, fresh=True)
    if any(f.key == body["key"] for f in existing):
        raise ValidationFailed("DUPLICATE", field="label.key", value=body["key"])
    kind = KIND[body["field_type"]]
    multi = body["field_type"] in ("multiselect", "users")
    used = {f.slot for f in existing}
    free = [name for n in range(1, schema.SLOTS_PER_KIND + 1) if (name := schema.slot_name(kind, n, multi)) not in used]
    if not free:
        raise ValidationFailed("CUSTOM_FIELD_LIMIT", kind=f"kind.{kind}", limit=schema.SLOTS_PER_KIND)
    if body["field_type"] in ("select", "multiselect") and not body.get("options"):
        raise invalid("options", "missing", "field.options_missing")
    f = CustomField(tenant_id=ctx.tenant_id, entity=entity, key=body["key"], label=body["label"], field_type=body["field_type"],
                    options=[dict(o) for o in body.get("options") or []], required=body.get("required", False),
                    allow_negative=bool(body.get("allow_negative")), active=True,
                    slot=free[0], sort_order=body.get("sort_order", 0))
    f.pk, f.sk = CustomField.key_of(ctx.tenant_id, entity, body["key"])
    changes.stamp(f, ctx.user_id, new=True)
    claim = SlotClaim(pk=f.pk, sk=f"SLOT#{entity}#{f.slot}", tenant_id=ctx.tenant_id, entity=entity, field_key=f.key)
    changes.create(f, "custom_field", f"{entity}:{f.key}", ctx.user_id,
                   extra=[tx.put(claim, condition=SlotClaim.pk.does_not_exist(), on_conflict=lambda: ValidationFailed(
                       "DUPLICATE", field="label.slot", value=f.slot))],
                   on_conflict=lambda: ValidationFailed("DUPLICATE", field="label.key", value=body["key"]))
    _cache.invalidate(ctx.tenant_id)
    return out(f)


def update(entity: str, key: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    entity = entity_of(entity)
    try:
        f = CustomField.get(*CustomField.key_of(ctx.tenant_id, entity, key))
    except CustomField.DoesNotExist:
        raise NotFound("entity.custom_field") from None
    if "options" in values:
        values["options"] = [dict(o) for o in values["options"] or []]
    changes.save(f, "custom_field", f"{entity}:{key}", ctx.user_id, values, expected)
    _cache.invalidate(ctx.tenant_id)
    return out(f)


def spec(f: CustomField) -> fieldtypes.FieldSpec:
    """A custom field as the field-type engine reads it."""
    return fieldtypes.FieldSpec(key=f.key, type=f.field_type, label=(f.label, f.label), required=bool(f.required),
                                allow_negative=bool(f.allow_negative),
                                options=tuple((o["code"], o["label"], o.get("label_en") or o["label"]) for o in f.options or []),
                                order=int(f.sort_order or 0), precision=4 if f.field_type == "number" else None)


def validate(tenant: str, entity: str, custom: dict[str, Any], resolver: fieldtypes.Resolver, *,
             current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Checked custom values merged onto `current` (None on create). null removes a value.

    Required custom fields bind on create; on update only a value being removed counts, so
    records older than the rule stay editable without it."""
    defs = {f.key: f for f in definitions(tenant, entity)}
    if any(k not in defs for k in custom):
        defs = {f.key: f for f in definitions(tenant, entity, fresh=True)}  # a field added a moment ago
    active = [spec(f) for f in defs.values() if f.active]
    clean = fieldtypes.validate(active, custom, resolver, creating=current is None, prefix="custom.")
    merged = dict(current or {})
    for k, v in clean.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged
