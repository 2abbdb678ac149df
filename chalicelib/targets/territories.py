"""Sales territories (销售地域, SALES-15): regions of the region dictionary (行政区划) assigned to
teams — departments and/or users. One versioned settings item per tenant, read by everyone with
`territories:read`, replaced whole by `territories:manage` (administrators).

A region belongs to the territory that names it or, failing that, the nearest region above it:
a territory of 广东省 owns 深圳市 unless another territory names 深圳市 (the most specific one
wins). A region is named by at most one territory. `owner_of` answers which team a region — or a
customer, by its region field (省/市/区 text) or the region code of its map location — belongs to.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core.cache import TenantCache
from ..core.errors import ValidationFailed, detail
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import changes
from ..db.base import plain
from ..dictionaries import regions
from ..org import service as org
from .models import Territories

MODULE = "territories"


def _load(tenant_id: str) -> tuple[list[dict[str, Any]], int]:
    try:
        item = Territories.get(*Territories.key(tenant_id))
    except DoesNotExist:
        return [], 0
    return list(plain(item.territories) or []), int(item.version)


_cache: TenantCache[tuple[list[dict[str, Any]], int]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def _territory_out(p: Principal, t: dict[str, Any]) -> dict[str, Any]:
    data = org.load(p.tenant_id)
    return {**t, "region_names": [regions.name(c) for c in t["regions"]],
            "departments": [{"id": d, "name": data.departments[d].name if d in data.departments else None} for d in t["department_ids"]],
            "users": [{"id": u, "name": data.users[u].name if u in data.users else None} for u in t["user_ids"]]}


def _out(p: Principal, found: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {"territories": [_territory_out(p, t) for t in found], "version": version}


def get_territories() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    return _out(p, *_cache.get(p.tenant_id, fresh=True))


def _problems(p: Principal, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    ids = Counter(t["id"] for t in given)
    named = Counter(c for t in given for c in t["regions"])
    for i, t in enumerate(given):
        if ids[t["id"]] > 1:
            problems.append(detail(f"territories.{i}.id", "duplicate", "territory.id_twice"))
        for j, code in enumerate(t["regions"]):
            if not regions.known(code):
                problems.append(detail(f"territories.{i}.regions.{j}", "not_found", "territory.region_unknown", code=code))
            elif named[code] > 1:
                problems.append(detail(f"territories.{i}.regions.{j}", "duplicate", "territory.region_twice",
                                       region=regions.name(code) or code))
        problems += [detail(f"territories.{i}.department_ids.{j}", "not_found", "field.department")
                     for j, d in enumerate(t["department_ids"]) if d not in p.org.departments]
        problems += [detail(f"territories.{i}.user_ids.{j}", "not_found", "field.user")
                     for j, u in enumerate(t["user_ids"]) if u not in p.org.users]
        if not t["department_ids"] and not t["user_ids"]:
            problems.append(detail(f"territories.{i}", "missing", "territory.no_team"))
    return problems


def put_territories(given: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the territories (territories:manage); the first save needs no version."""
    p = org.principal()
    p.require(MODULE, "manage")
    problems = _problems(p, given)
    if problems:
        raise ValidationFailed(details=problems)
    item = changes.put_setting(Territories, Territories.key(p.tenant_id), p.tenant_id, p.user_id, "territories", "territories",
                               {"territories": given}, expected)
    _cache.invalidate(p.tenant_id)
    return _out(p, given, int(item.version))


def territory_of(tenant_id: str, code: str) -> dict[str, Any] | None:
    """The territory a region code belongs to (its own, else the nearest region's above), or None."""
    found, _ = _cache.get(tenant_id)
    by_code = {c: t for t in found for c in t["regions"]}
    return next((by_code[c] for c in regions.lineage(code) if c in by_code), None)


def _customer_region(customer_id: str) -> str | None:
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine

    shown = engine.get(CUSTOMER, customer_id)  # read access and field rules apply
    text = shown.get("region")
    code = regions.code_of(text) if isinstance(text, str) and text else None
    located = (shown.get("location") or {}).get("region") if isinstance(shown.get("location"), dict) else None
    if code is None and isinstance(located, dict) and located.get("code"):
        code = regions.code_of(str(located["code"]))
    return code


def owner_of(region: str | None, customer_id: str | None) -> dict[str, Any]:
    """Which team a region (a code or a full name, 广东省/深圳市) — or a customer's region — belongs to."""
    p = org.principal()
    p.require(MODULE, "read")
    if bool(region) == bool(customer_id):
        raise ValidationFailed(details=[detail("region", "missing", "territory.region_or_customer")])
    code = regions.code_of(region) if region else _customer_region(str(customer_id))
    if region and code is None:
        raise ValidationFailed(details=[detail("region", "not_found", "territory.region_unknown", code=region)])
    t = territory_of(p.tenant_id, code) if code else None
    return {"region": {"code": code, "name": regions.name(code) if code else None},
            "territory": _territory_out(p, t) if t else None}
