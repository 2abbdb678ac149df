"""Custom field definitions and the validation of custom values on records.

Each field gets a typed search slot (search/schema.py) when it is created; list filters,
sort and facets address it as `custom.<key>`, the index stores it in its slot.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..core import context
from ..core.cache import TenantCache
from ..core.errors import NotFound, ValidationFailed
from ..core.settings import get_settings
from ..db import changes, tx
from ..db.base import Item
from ..search import schema
from .models import CustomField, SlotClaim

MODULE = "fields"
KIND = {"text": schema.TEXT, "textarea": schema.TEXT, "number": schema.NUMBER, "money": schema.NUMBER, "date": schema.DATE,
        "datetime": schema.DATE, "boolean": schema.BOOLEAN, "select": schema.KEYWORD, "multiselect": schema.KEYWORD,
        "mobile": schema.PREFIX, "email": schema.PREFIX}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    from ..org import service as org

    ctx = context.current()
    org.principal().require(MODULE, "manage")
    entity = entity_of(entity)
    existing = definitions(ctx.tenant_id, entity, fresh=True)
    if any(f.key == body["key"] for f in existing):
        raise ValidationFailed("DUPLICATE", field="key", value=body["key"])
    kind = KIND[body["field_type"]]
    multi = body["field_type"] == "multiselect"
    used = {f.slot for f in existing}
    free = [name for n in range(1, schema.SLOTS_PER_KIND + 1) if (name := schema.slot_name(kind, n, multi)) not in used]
    if not free:
        raise ValidationFailed("CUSTOM_FIELD_LIMIT", kind=kind, limit=schema.SLOTS_PER_KIND)
    if body["field_type"] in ("select", "multiselect") and not body.get("options"):
        raise ValidationFailed(details=[{"field": "options", "type": "missing", "message": "select fields need options"}])
    f = CustomField(tenant_id=ctx.tenant_id, entity=entity, key=body["key"], label=body["label"], field_type=body["field_type"],
                    options=[dict(o) for o in body.get("options") or []], required=body.get("required", False), active=True,
                    slot=free[0], sort_order=body.get("sort_order", 0))
    f.pk, f.sk = CustomField.key_of(ctx.tenant_id, entity, body["key"])
    changes.stamp(f, ctx.user_id, new=True)
    claim = SlotClaim(pk=f.pk, sk=f"SLOT#{entity}#{f.slot}", tenant_id=ctx.tenant_id, entity=entity, field_key=f.key)
    changes.create(f, "custom_field", f"{entity}:{f.key}", ctx.user_id,
                   extra=[tx.put(claim, condition=SlotClaim.pk.does_not_exist(), on_conflict=lambda: ValidationFailed(
                       "DUPLICATE", field="slot", value=f.slot))],
                   on_conflict=lambda: ValidationFailed("DUPLICATE", field="key", value=body["key"]))
    _cache.invalidate(ctx.tenant_id)
    return out(f)


def update(entity: str, key: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    from ..org import service as org

    ctx = context.current()
    org.principal().require(MODULE, "manage")
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


def _coerce(f: CustomField, value: Any) -> Any:
    return coerce(f.field_type, f.options or [], value)


def coerce(t: str, options: list[dict[str, Any]], value: Any) -> Any:
    """One value of a field type (PLAT-4), checked and normalised; ValueError says why (中文 / English)."""
    codes = {o["code"] for o in options}
    if t in ("text", "textarea"):
        if not isinstance(value, str) or len(value) > (2000 if t == "textarea" else 200):
            raise ValueError("文本过长或类型不对 / text expected (≤200, textarea ≤2000)")
        return value.strip()
    if t in ("number", "money"):
        if isinstance(value, bool):
            raise ValueError("应为数字 / a number expected")
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("应为数字 / a number expected") from None
        if not d.is_finite() or abs(d) >= Decimal("1e15"):
            raise ValueError("数字超出范围 / number out of range")
        d = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if t == "money" else d  # 四舍五入
        return int(d) if d == d.to_integral_value() else float(d)  # JSON-stored (≤15 digits stay exact)
    if t == "date":
        return date.fromisoformat(str(value)).isoformat()
    if t == "datetime":
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError("需要时区 / an ISO instant with a time zone is expected")
        return value
    if t == "boolean":
        if not isinstance(value, bool):
            raise ValueError("应为 true 或 false / true or false expected")
        return value
    if t == "select":
        if value not in codes:
            raise ValueError(f"不是可选项 / not one of {sorted(codes)}")
        return value
    if t == "multiselect":
        if not isinstance(value, list) or any(v not in codes for v in value):
            raise ValueError(f"应为可选项列表 / a list of {sorted(codes)} expected")
        return list(dict.fromkeys(value))
    if t == "mobile" and not _MOBILE.match(str(value)):
        raise ValueError("手机号格式不正确 / not a mobile number")
    if t == "email" and not _EMAIL.match(str(value)):
        raise ValueError("邮箱格式不正确 / not an e-mail address")
    return str(value)


def validate(tenant: str, entity: str, custom: dict[str, Any], *, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Checked custom values merged onto `current` (None on create). null removes a value."""
    defs = {f.key: f for f in definitions(tenant, entity)}
    if any(k not in defs for k in custom):
        defs = {f.key: f for f in definitions(tenant, entity, fresh=True)}  # a field added a moment ago
    merged = dict(current or {})
    errors = []
    for k, v in custom.items():
        f = defs.get(k)
        if f is None or not f.active:
            errors.append({"field": f"custom.{k}", "type": "unknown", "message": "没有这个自定义字段 / no such custom field"})
            continue
        if v is None or v == "" or v == []:
            merged.pop(k, None)
            continue
        try:
            merged[k] = _coerce(f, v)
        except ValueError as e:
            errors.append({"field": f"custom.{k}", "type": "invalid", "message": str(e)})
    for f in defs.values():
        # required on create; on update only a value being removed counts (records older than
        # the rule stay editable without it)
        missing = f.key not in merged and (current is None or f.key in custom)
        if f.active and f.required and missing:
            errors.append({"field": f"custom.{f.key}", "type": "missing", "message": f"「{f.label}」必填 / required"})
    if errors:
        raise ValidationFailed(details=errors)
    return merged
