"""Stage groups (商机组): each an ordered list of stages with win rates (赢率), available to the
whole company or to some departments (and their sub-departments).

A tenant that has not set any gets one standard group. Groups and stages are never removed once
saved — an opportunity keeps pointing at its stage — they are switched off (`active: false`):
an inactive group takes no new opportunities and an inactive stage is not offered as a next
stage. Win rates are read when an opportunity changes (a new rate reaches an opportunity at its
next change); won counts 100 %, lost and invalid 0 %.
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
from ..org import service as org
from .models import StageGroups

MODULE = "opportunities"
STANDARD = [{"id": "standard", "name": "标准销售流程", "department_ids": [], "active": True, "stages": [
    {"id": "contact", "name": "初步接洽", "win_rate": 10, "active": True},
    {"id": "needs", "name": "需求确认", "win_rate": 30, "active": True},
    {"id": "proposal", "name": "方案报价", "win_rate": 50, "active": True},
    {"id": "negotiation", "name": "谈判审核", "win_rate": 70, "active": True},
]}]


def _load(tenant_id: str) -> tuple[list[dict[str, Any]], int]:
    try:
        item = StageGroups.get(*StageGroups.key(tenant_id))
    except DoesNotExist:
        return [dict(g) for g in STANDARD], 0
    return list(plain(item.groups) or []), int(item.version)


_cache: TenantCache[tuple[list[dict[str, Any]], int]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def groups(tenant_id: str) -> list[dict[str, Any]]:
    return _cache.get(tenant_id)[0]


def group(tenant_id: str, group_id: str | None) -> dict[str, Any] | None:
    return next((g for g in groups(tenant_id) if g["id"] == group_id), None)


def stage(g: dict[str, Any], stage_id: str | None) -> dict[str, Any] | None:
    return next((s for s in g["stages"] if s["id"] == stage_id), None)


def open_to(p: Principal, g: dict[str, Any], user_id: str | None = None) -> bool:
    """A group takes new opportunities of a user when it is active and not limited to departments
    the user's department is outside of."""
    if not g.get("active", True):
        return False
    if not g.get("department_ids"):
        return True
    user = p.org.users.get(user_id or p.user_id)
    return user is not None and any(user.department_id in p.org.department_tree(d) for d in g["department_ids"])


def out(p: Principal, found: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {"groups": [{**g, "open_to_me": open_to(p, g)} for g in found], "version": version}


def get_groups() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    return out(p, *_cache.get(p.tenant_id, fresh=True))


def _problems(p: Principal, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    group_ids = Counter(g["id"] for g in after)
    for i, g in enumerate(after):
        if group_ids[g["id"]] > 1:
            problems.append(detail(f"groups.{i}.id", "duplicate", "opportunity.id_twice"))
        stage_ids = Counter(s["id"] for s in g["stages"])
        problems += [detail(f"groups.{i}.stages.{j}.id", "duplicate", "opportunity.id_twice")
                     for j, s in enumerate(g["stages"]) if stage_ids[s["id"]] > 1]
        problems += [detail(f"groups.{i}.department_ids.{j}", "not_found", "field.department")
                     for j, d in enumerate(g["department_ids"]) if d not in p.org.departments]
        if not any(s.get("active", True) for s in g["stages"]):
            problems.append(detail(f"groups.{i}.stages", "empty", "opportunity.no_active_stage"))
    kept = {g["id"]: {s["id"] for s in g["stages"]} for g in after}
    for g in before:  # never removed: opportunities point at them
        if g["id"] not in kept:
            problems.append(detail("groups", "removed", "opportunity.group_removed", name=g["name"]))
            continue
        problems += [detail("groups", "removed", "opportunity.stage_removed", name=s["name"])
                     for s in g["stages"] if s["id"] not in kept[g["id"]]]
    return problems


def put_groups(given: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the stage groups (opportunities:manage); the first save needs no version."""
    p = org.principal()
    p.require(MODULE, "manage")
    before, _version = _cache.get(p.tenant_id, fresh=True)
    problems = _problems(p, before, given)  # the standard group counts as saved: opportunities may use it
    if problems:
        raise ValidationFailed(details=problems)
    item = changes.put_setting(StageGroups, StageGroups.key(p.tenant_id), p.tenant_id, p.user_id, "stage_groups", "groups",
                               {"groups": given}, expected)
    _cache.invalidate(p.tenant_id)
    return out(p, given, int(item.version))
