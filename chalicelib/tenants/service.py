"""Tenant lifecycle: a tenant is created with its top department, built-in roles, first
super administrator, default dictionaries and numbering rules. Platform operators set a
tenant's own rate limit (core/ratelimit.py reads it through `rate_limit`)."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from .. import manifest
from ..core import clock, context, ratelimit
from ..core.errors import NotFound, ValidationFailed
from ..core.observability import metric
from ..db import audit, changes, query, tx
from ..engine import family
from ..org import service as org
from .models import Tenant

# Built-in roles of every tenant (editable except the super administrator). Grants on record
# types come from their definitions through the manifest (see builtin_roles()).
BUILTIN_ROLES: list[dict[str, Any]] = [
    {"id": "super_admin", "name": "超级管理员", "is_super": True, "description": "拥有全部权限 / everything"},
    {"id": "admin", "name": "系统管理员", "description": "组织、角色、字典与日志 / organisation, roles, settings, logs",
     "actions": {"org": ["create", "update", "delete", "list", "read", "manage"], "roles": ["manage"],
                 "dictionaries": ["manage"], "numbering": ["manage"], "fields": ["manage"], "search": ["manage"], "audit": ["list"],
                 "recyclebin": ["list", "manage"], "approvals": ["manage", "read"], "forms": ["manage", "create"]}},
    {"id": "sales_manager", "name": "销售经理", "description": "本人及下属的客户 / own and subordinates' customers",
     "actions": {"org": ["list", "read"], "forms": ["create"]}},
    {"id": "sales_rep", "name": "销售代表", "description": "本人的客户 / own customers",
     "actions": {"org": ["list", "read"], "forms": ["create"]}},
    {"id": "service_agent", "name": "客服", "description": "本部门客户只读，手机号脱敏 / department's customers, read-only, masked mobile",
     "actions": {"org": ["list", "read"], "forms": ["create"]}},
]


def builtin_roles() -> list[dict[str, Any]]:
    """BUILTIN_ROLES with what every module of the manifest grants each role."""
    grants = manifest.role_defaults()
    out = []
    for role in BUILTIN_ROLES:
        r = {**role, "actions": dict(role.get("actions") or {}), "scopes": dict(role.get("scopes") or {}),
             "fields": dict(role.get("fields") or {})}
        for module, g in grants.get(role["id"], {}).items():
            r["actions"][module] = list(g.get("actions") or ())
            if g.get("scope"):
                r["scopes"][module] = g["scope"]
            if g.get("fields"):
                r["fields"][module] = dict(g["fields"])
        out.append(r)
    return out


def out(t: Tenant) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "status": t.status, "rate_limit": t.rate_limit(), "created_at": t.created_at,
            "version": t.version}


def _rate_limit_fields(limit: dict[str, Any] | None) -> dict[str, Any]:
    return {"rate_limit_per_second": limit["per_second"] if limit else None, "rate_limit_burst": limit["burst"] if limit else None}


def create_tenant(body: dict[str, Any], actor: str = "platform") -> dict[str, Any]:
    """One transaction for the tenant, top department, roles and first super admin; then defaults."""
    tenant_id = body["id"]
    at = clock.now_iso()
    t = Tenant(tenant_id=tenant_id, id=tenant_id, name=body["name"], status="active", created_at=at, created_by=actor,
               updated_at=at, updated_by=actor, gsi2pk="PLATFORM#TENANTS", gsi2sk=f"{at}#{tenant_id}",
               **_rate_limit_fields(body.get("rate_limit")))
    t.pk, t.sk = Tenant.key(tenant_id)
    root = org.new_top_department(tenant_id, actor, body.get("top_department_name") or "办公室")
    roles = [org.new_role(tenant_id, actor, r["id"], r["name"], is_super=r.get("is_super", False), builtin=True,
                          description=r.get("description"), actions=r.get("actions"), scopes=r.get("scopes"), fields=r.get("fields"))
             for r in builtin_roles()]
    admin, user_ops = org.new_user_ops(tenant_id, actor, {
        "mobile": body["admin_mobile"], "name": body["admin_name"], "department_id": root.id, "position": "gm",
        "role_ids": ["super_admin"], "password": body["admin_password"]})
    ops = [tx.put(t, condition=Tenant.pk.does_not_exist(),
                  on_conflict=lambda: ValidationFailed("DUPLICATE", field="label.tenant_id", value=tenant_id)),
           tx.put(root), *[tx.put(r) for r in roles], *user_ops,
           tx.put(audit.entry(tenant_id, "tenant", tenant_id, "create", actor, audit.diff(None, t.values()))),
           family.ready_op(tenant_id)]  # nothing written before the family index: its 360s take the one-Query path
    tx.write(ops)
    for module in manifest.modules():  # each module seeds what a new tenant starts with
        if module.seed:
            module.seed(tenant_id, actor)
    from ..ports import identity

    idp = identity.provider()
    if not isinstance(idp, identity.LocalIdentity):
        idp.create_login(tenant_id, admin.id, admin.mobile, body["admin_password"])
    org.invalidate(tenant_id)
    ratelimit.forget(tenant_id)
    metric("tenants.tenant.created")
    return {"tenant": out(t), "admin_user_id": admin.id, "top_department_id": root.id}


def _get(tenant_id: str) -> Tenant:
    try:
        return Tenant.get(*Tenant.key(tenant_id))
    except (DoesNotExist, ValueError):  # ValueError: not a tenant id at all
        raise NotFound("entity.tenant") from None


def name_of(tenant_id: str) -> str | None:
    """The tenant's name (a printed document's company, unless its template names another)."""
    try:
        return _get(tenant_id).name
    except NotFound:
        return None


def get_current() -> dict[str, Any]:
    ctx = context.current()
    org.principal()
    return out(_get(ctx.tenant_id))


def update_tenant(tenant_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    """Rename a tenant or set its own rate limit (`rate_limit: None` = the product defaults); platform operators."""
    t = _get(tenant_id)
    if "rate_limit" in values:
        values = {**{k: v for k, v in values.items() if k != "rate_limit"}, **_rate_limit_fields(values["rate_limit"])}
    changes.save(t, "tenant", tenant_id, context.current().user_id or "platform", values, expected)
    ratelimit.forget(tenant_id)
    return out(t)


def rate_limit(tenant_id: str) -> ratelimit.Limit | None:
    """The tenant's own rate limit (None: the product defaults): one GetItem, cached by core/ratelimit."""
    try:
        own = Tenant.get(*Tenant.key(tenant_id)).rate_limit()
    except DoesNotExist:
        return None
    return ratelimit.Limit(own["per_second"], own["burst"]) if own else None


def list_tenants(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    items, nxt = query.page(Tenant, "PLATFORM#TENANTS", index="gsi2", limit=limit, cursor=cursor)
    return [out(t) for t in items if isinstance(t, Tenant)], nxt
