"""Approval flows (admin side): definitions, their immutable versions, copies, and the one
enabled flow per business type. Built-in templates (templates.py) become flows through
`create_flow(spec, enabled, template=code)`."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..core import clock, ids
from ..core.errors import NotFound, ValidationFailed, detail, invalid
from ..core.observability import metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import audit, changes, keys, query, tx
from ..db.base import Item, plain
from ..org import service as org
from ..ports import scheduler
from .models import ApprovalFlow, FlowVersion, flow_list, flow_pk

MODULE = "approvals"  # the permission module: "manage" administers flows, "read" sees every instance
WATCH_KIND = "approvals_watch"  # the daily check of stuck approvals (schedule payload, functions/reminders.py)
WATCH_HOUR = 9  # local time of the daily check


def arm_watch(tenant_id: str, after: datetime | None = None) -> str:
    """The tenant's daily check of approvals no active person can act on: one schedule, at the
    next 09:00 (tenant time) after `after`, re-armed by each firing. Armed whenever a flow is
    created or changed, so every tenant with approvals has it. Returns its time."""
    tz = ZoneInfo(get_settings().default_timezone)
    local = (after or clock.now()).astimezone(tz)
    at = local.replace(hour=WATCH_HOUR, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    when = clock.iso(at)
    name = scheduler.schedule_name("approvals-watch", hashlib.sha256(tenant_id.encode()).hexdigest()[:24])
    scheduler.upsert(name, at, {"kind": WATCH_KIND, "tenant_id": tenant_id, "at": when})
    return when


def flow_out(f: ApprovalFlow) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "business_type": f.business_type, "model": f.model, "enabled": bool(f.enabled),
            "current_version": int(f.current_version), "spec": plain(f.spec), "created_at": f.created_at,
            "updated_at": f.updated_at, "version": f.version}


def _admin() -> Principal:
    p = org.principal()
    p.require(MODULE, "manage")
    return p


def _check_refs(p: Principal, spec: dict[str, Any]) -> None:
    """Every user, role and department a flow names must exist (422 lists what does not)."""
    data = org.load(p.tenant_id)
    errors: list[dict[str, str]] = []

    def user(u: str, where: str) -> None:
        if u not in data.users:
            errors.append(detail(where, "not_found", "field.user"))

    def walk(nodes: list[dict[str, Any]], path: str) -> None:
        for i, n in enumerate(nodes):
            rule = n.get("approvers") or {}
            for u in rule.get("user_ids") or []:
                user(u, f"{path}{i}.approvers.user_ids")
            if rule.get("role_id") and rule["role_id"] not in data.roles:
                errors.append(detail(f"{path}{i}.approvers.role_id", "not_found", "field.role"))
            if rule.get("department_id") and rule["department_id"] not in data.departments:
                errors.append(detail(f"{path}{i}.approvers.department_id", "not_found", "field.department"))
            for j, b in enumerate(n.get("branches") or []):
                walk(b.get("nodes") or [], f"{path}{i}.branches.{j}.nodes.")

    walk(spec["nodes"], "nodes.")
    for u in spec.get("admin_user_ids") or []:
        user(u, "admin_user_ids")
    for u in spec.get("cc_user_ids") or []:
        user(u, "cc_user_ids")
    if errors:
        raise ValidationFailed(details=errors)


def load_flow(tenant_id: str, flow_id: str) -> ApprovalFlow:
    return query.one(ApprovalFlow, flow_pk(tenant_id, flow_id), keys.RECORD_SK, "entity.approval_flow")  # type: ignore[return-value]


def business_type_of(tenant_id: str, flow_id: str) -> str:
    """The business type a flow serves (a form binds only a flow of its own type)."""
    return load_flow(tenant_id, flow_id).business_type


def enabled_of(tenant_id: str, business_type: str) -> list[ApprovalFlow]:
    return [f for f in Item.gsi2.query(flow_list(tenant_id), Item.gsi2sk.startswith(f"{business_type}#"))
            if isinstance(f, ApprovalFlow) and f.enabled and f.business_type == business_type]


def _disable_others(tenant_id: str, business_type: str, keep: str, actor: str) -> list[tx.Op]:
    """One enabled flow per business type: enabling one disables the others (same transaction)."""
    ops = []
    for other in enabled_of(tenant_id, business_type):
        if other.id != keep:
            other.enabled = False
            changes.stamp(other, actor)
            ops += [tx.put(other), tx.put(audit.entry(tenant_id, "approval_flow", other.id, "disable", actor,
                                                      [{"field": "enabled", "before": True, "after": False}]))]
    return ops


def create_flow(spec: dict[str, Any], enabled: bool, *, template: str | None = None) -> dict[str, Any]:
    p = _admin()
    _check_refs(p, spec)
    fid = ids.new_id()
    f = ApprovalFlow(pk=flow_pk(p.tenant_id, fid), sk=keys.RECORD_SK, tenant_id=p.tenant_id, id=fid, name=spec["name"],
                     business_type=spec["business_type"], model=spec.get("model", "fixed"), enabled=enabled, current_version=1,
                     spec=spec, template=template, gsi2pk=flow_list(p.tenant_id), gsi2sk=f"{spec['business_type']}#{fid}")
    changes.stamp(f, p.user_id, new=True)
    v = FlowVersion(pk=f.pk, sk=FlowVersion.sk_of(1), tenant_id=p.tenant_id, flow_id=fid, number=1, spec=spec,
                    created_at=f.created_at, created_by=p.user_id)
    extra = [tx.put(v)] + (_disable_others(p.tenant_id, f.business_type, fid, p.user_id) if enabled else [])
    changes.create(f, "approval_flow", fid, p.user_id, extra=extra)
    arm_watch(p.tenant_id)
    metric("approvals.flow.created")
    return flow_out(f)


def list_flows(business_type: str | None) -> list[dict[str, Any]]:
    p = _admin()
    cond = Item.gsi2sk.startswith(f"{business_type}#") if business_type else None
    return [flow_out(f) for f in Item.gsi2.query(flow_list(p.tenant_id), cond) if isinstance(f, ApprovalFlow)]


def get_flow(flow_id: str) -> dict[str, Any]:
    p = _admin()
    return flow_out(load_flow(p.tenant_id, flow_id))


def update_flow(flow_id: str, spec: dict[str, Any] | None, enabled: bool | None, expected: int) -> dict[str, Any]:
    """A new spec is a new version; running instances keep the plan they started with."""
    p = _admin()
    f = load_flow(p.tenant_id, flow_id)
    values: dict[str, Any] = {}
    extra: list[tx.Op] = []
    if spec is not None:
        _check_refs(p, spec)
        if spec["business_type"] != f.business_type:
            raise invalid("spec.business_type", "immutable", "approval.business_type_fixed")
        number = int(f.current_version) + 1
        values.update(spec=spec, name=spec["name"], model=spec.get("model", "fixed"), current_version=number)
        extra.append(tx.put(FlowVersion(pk=f.pk, sk=FlowVersion.sk_of(number), tenant_id=p.tenant_id, flow_id=f.id, number=number,
                                        spec=spec, created_at=clock.now_iso(), created_by=p.user_id),
                            condition=FlowVersion.pk.does_not_exist()))
    if enabled is not None:
        values["enabled"] = enabled
        if enabled:
            extra += _disable_others(p.tenant_id, f.business_type, f.id, p.user_id)
    changes.save(f, "approval_flow", f.id, p.user_id, values, expected, extra=extra)
    arm_watch(p.tenant_id)
    return flow_out(f)


def copy_flow(flow_id: str, name: str, business_type: str | None) -> dict[str, Any]:
    p = _admin()
    src = load_flow(p.tenant_id, flow_id)
    spec = {**plain(src.spec), "name": name, "business_type": business_type or src.business_type}
    return create_flow(spec, False)


def versions(flow_id: str) -> list[dict[str, Any]]:
    p = _admin()
    f = load_flow(p.tenant_id, flow_id)
    return [{"flow_id": v.flow_id, "number": int(v.number), "spec": plain(v.spec), "created_at": v.created_at, "created_by": v.created_by}
            for v in FlowVersion.query(f.pk, FlowVersion.sk.startswith("V#")) if isinstance(v, FlowVersion)]


def spec_of(flow_id: str, version: int | None) -> dict[str, Any]:
    p = _admin()
    f = load_flow(p.tenant_id, flow_id)
    if version is None or version == int(f.current_version):
        return plain(f.spec)
    try:
        return plain(FlowVersion.get(f.pk, FlowVersion.sk_of(version)).spec)
    except DoesNotExist:
        raise NotFound("entity.approval_flow") from None
