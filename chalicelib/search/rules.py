"""What a caller's list or search request may ask, turned into engine terms: the data
scope as a filter, the text fields the caller may read, API field names -> index fields
(custom fields and custom-object fields live in slots), and checked filter conditions.
Both the list service and saved views use these rules, so a saved view is checked exactly
as the request it stands for."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core import clock
from ..core.errors import Problem, ValidationFailed, detail
from ..core.permissions import ALL_OWNERS, FieldAccess, Principal
from ..core.settings import get_settings
from ..fields import service as fields
from . import schema
from .query import ANY, OPS, EntityQuery, Filter, Scope

PERIODS = {
    "today": "today", "今天": "today", "yesterday": "yesterday", "昨天": "yesterday",
    "this_week": "this_week", "本周": "this_week", "last_week": "last_week", "上周": "last_week",
    "this_month": "this_month", "本月": "this_month", "last_month": "last_month", "上月": "last_month",
    "this_quarter": "this_quarter", "本季度": "this_quarter", "last_quarter": "last_quarter", "上季度": "last_quarter",
    "this_year": "this_year", "本年": "this_year", "今年": "this_year", "last_year": "last_year", "去年": "last_year",
}
MAX_FILTERS = 20
MAX_FACETS = 10



# ---- scope and fields -----------------------------------------------------------------
def scope_for(p: Principal, module: str, which: str = "visible", now: str | None = None) -> Scope:
    """The data scope of `module` as an engine filter (visible | mine | team).

    Mirrors Principal.record_access: owners from visible_owners(), plus team grants of an
    active user that have not expired at `now`."""
    now = now or clock.now_iso()
    me = p.org.users.get(p.user_id)
    team_user = p.user_id if me is not None and me.active else None
    if which == "mine":
        return Scope(frozenset({p.user_id}) if team_user else frozenset(), team_user, now, only_owners=True)
    if which == "team":
        return Scope(frozenset(), team_user, now, only_team=True)
    owners = p.visible_owners(module)
    return Scope(None if owners is ALL_OWNERS else frozenset(owners), team_user, now)


def _readable(p: Principal, module: str, api_field: str) -> bool:
    return p.field_access(module, api_field) >= FieldAccess.READ


def entity_query(p: Principal, es: schema.EntitySchema, which: str = "visible", now: str | None = None,
                 custom: dict[str, tuple[str, str]] | None = None) -> EntityQuery:
    """What one entity contributes to a query: scope + the text fields the caller may read
    (custom: key -> (slot, type); the tenant's definitions when not given). Engines match and
    highlight only these fields, so snippets never show what field rules hide."""
    text = [f for f in es.text_fields() if _readable(p, es.module, f)]
    prefix = [f for f in es.prefix_fields() if _readable(p, es.module, f)]
    if es.object_key:
        custom = {}
        slotted = {key: slot for key, slot in es.aliases.items()}
    else:
        custom = _custom_slots(p.tenant_id, es.entity) if custom is None else custom
        slotted = {f"custom.{key}": slot for key, (slot, _type) in custom.items()}
    for api_name, slot in slotted.items():
        kind = schema.slot_kind(slot)
        if kind in (schema.TEXT, schema.PREFIX) and _readable(p, es.module, api_name):
            (text if kind == schema.TEXT else prefix).append(slot)
    return EntityQuery(es.entity, scope_for(p, es.module, which, now), tuple(text), tuple(prefix), tuple(text + prefix))


def slot_names(p: Principal, es: schema.EntitySchema) -> dict[str, str]:
    """Index slot -> the API field it holds (custom.<key>, or a custom object's field)."""
    if es.object_key:
        return {slot: key for key, slot in es.aliases.items()}
    return {slot: f"custom.{key}" for key, (slot, _type) in _custom_slots(p.tenant_id, es.entity).items()}


def scoped_filters(es: schema.EntitySchema, p: Principal | None = None) -> list[Filter]:
    """Conditions every query of this record type carries (a custom object keeps to itself; a type
    whose records reach an audience shows the caller only those they are in, unexpired)."""
    out = [Filter("object", "eq", es.object_key)] if es.object_key else []
    return [*out, *audience_filters(p, es)] if p is not None and not es.object_key else out


def audience_filters(p: Principal, es: schema.EntitySchema) -> list[Filter]:
    from ..engine import registry  # the engine imports search: looked up when used

    d = registry.find(es.entity)
    if d is None or d.audience is None:
        return []
    keys = d.audience.keys(p)
    if keys is None:
        return []
    out = [Filter(d.audience.field, "in", list(keys))]
    if d.audience.until:
        out.append(Filter(d.audience.until, ANY, (Filter(d.audience.until, "missing"),
                                                  Filter(d.audience.until, "range", {"gt": clock.now_iso()}))))
    return out


def _custom_slots(tenant_id: str, entity: str) -> dict[str, tuple[str, str]]:
    return {f.key: (f.slot, f.field_type) for f in fields.definitions(tenant_id, entity)}


def index_field(p: Principal, es: schema.EntitySchema, api_field: str) -> str:
    """API field name (name, level, custom.budget, created_at) -> index field, checking it may be used."""
    if es.object_key:
        if api_field not in es.aliases and api_field not in schema.META:
            raise ValidationFailed("UNKNOWN_FILTER_FIELD", field=api_field, details={"field": api_field})
        target = es.aliases.get(api_field, api_field)
    elif api_field.startswith("custom."):
        slot = _custom_slots(p.tenant_id, es.entity).get(api_field[7:])
        if slot is None:
            raise ValidationFailed("UNKNOWN_FILTER_FIELD", field=api_field, details={"field": api_field})
        target = slot[0]
    elif api_field in es.fields and not api_field.startswith("cf_"):
        target = api_field
    else:
        raise ValidationFailed("UNKNOWN_FILTER_FIELD", field=api_field, details={"field": api_field})
    if api_field not in schema.META and not _readable(p, es.module, api_field):
        raise ValidationFailed("FIELD_NOT_READABLE", field=api_field, details={"field": api_field})
    return target


def period_range(period: str, tz: str | None = None) -> dict[str, str]:
    """本月 / last_month … -> {"gte": …, "lt": …} as UTC instants, in the tenant's time zone."""
    key = PERIODS.get(period)
    if key is None:
        raise ValidationFailed("INVALID_FILTER", reason=Problem("field.period", periods=", ".join(sorted(set(PERIODS.values())))))
    zone = ZoneInfo(tz or get_settings().default_timezone)
    now = clock.now().astimezone(zone)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def month_start(d: datetime, shift: int = 0) -> datetime:
        m = d.month - 1 + shift
        return d.replace(year=d.year + m // 12, month=m % 12 + 1, day=1)

    if key in ("today", "yesterday"):
        start = day - timedelta(days=1 if key == "yesterday" else 0)
        end = start + timedelta(days=1)
    elif key in ("this_week", "last_week"):
        start = day - timedelta(days=day.weekday() + (7 if key == "last_week" else 0))
        end = start + timedelta(days=7)
    elif key in ("this_month", "last_month"):
        start = month_start(day, -1 if key == "last_month" else 0)
        end = month_start(start, 1)
    elif key in ("this_quarter", "last_quarter"):
        q = month_start(day, -((day.month - 1) % 3))
        start = month_start(q, -3) if key == "last_quarter" else q
        end = month_start(start, 3)
    else:
        start = day.replace(month=1, day=1, year=day.year - (1 if key == "last_year" else 0))
        end = start.replace(year=start.year + 1)
    return {"gte": clock.iso(start), "lt": clock.iso(end)}


def translate_filters(p: Principal, es: schema.EntitySchema, raw: list[dict[str, Any]]) -> list[Filter]:
    if len(raw) > MAX_FILTERS:
        raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.too_many", max=MAX_FILTERS),
                               details=[detail("filters", "length", "field.max_items", max=MAX_FILTERS)])
    out = []
    for i, f in enumerate(raw):
        field, op, value = f.get("field"), f.get("op", "eq"), f.get("value")
        if not isinstance(field, str):
            raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.no_field", n=i + 1),
                                   details=[detail(f"filters.{i}.field", "missing", "field.missing")])
        target = index_field(p, es, field)
        kind = es.kind(target)
        if op == "period":
            if kind != schema.DATE:
                raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.period_field"),
                                       details=[detail(f"filters.{i}.field", "type", "filter.period_field")])
            out.append(Filter(target, "range", period_range(str(value))))
            continue
        if op not in OPS:
            raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.op"), details=[detail(f"filters.{i}.op", "option", "filter.op")])
        try:
            value = _check_value(kind, op, value)
        except Problem as e:
            raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.condition", n=i + 1, problem=e),
                                   details=[detail(f"filters.{i}.value", "invalid", e.key, **e.params)]) from None
        except (TypeError, ValueError):
            raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.condition", n=i + 1, problem=Problem("filter.single")),
                                   details=[detail(f"filters.{i}.value", "invalid", "filter.single")]) from None
        out.append(Filter(target, op, value))
    return out


def _scalar(kind: str, v: Any) -> Any:
    if isinstance(v, (dict, list)) or v is None:
        raise Problem("filter.single")
    if kind == schema.NUMBER:
        if isinstance(v, bool):
            raise Problem("filter.number")
        try:
            n = float(v)
        except (TypeError, ValueError):
            raise Problem("filter.number") from None
        if n != n or n in (float("inf"), float("-inf")):
            raise Problem("filter.finite")
        return n
    if kind == schema.BOOLEAN:
        if v not in (True, False, "true", "false"):
            raise Problem("filter.boolean")
        return v in (True, "true")
    if kind == schema.DATE:
        from .values import to_millis

        if to_millis(v) is None:
            raise Problem("filter.date")
        return str(v)
    if not isinstance(v, (str, int, float)) or isinstance(v, bool) or len(str(v)) > 200:
        raise Problem("filter.text")
    return str(v)


def _check_value(kind: str, op: str, value: Any) -> Any:
    if op in ("exists", "missing"):
        return None
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= 100:
            raise Problem("filter.list")
        return [_scalar(kind, v) for v in value]
    if op == "range":
        if not isinstance(value, dict) or not value or set(value) - {"gte", "gt", "lte", "lt"}:
            raise Problem("filter.range")
        if kind not in (schema.NUMBER, schema.DATE, schema.KEYWORD, schema.TEXT, schema.PREFIX):
            raise Problem("filter.range_kind")
        return {k: _scalar(kind, v) for k, v in value.items()}
    if op == "contains":
        if kind not in (schema.KEYWORD, schema.TEXT, schema.PREFIX) or not isinstance(value, str) or not value.strip():
            raise Problem("filter.contains")
        return value.strip()[:100]
    return _scalar(kind, value)
