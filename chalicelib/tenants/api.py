"""HTTP routes of tenants: platform operators create tenants; members read their own."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")


@route(bp, "/platform/tenants", "POST", summary="Create a tenant with its first super administrator (platform operators)",
       tag="platform", body=s.TenantIn, response=s.TenantCreated, status=201)
def create_tenant(req: ApiRequest) -> dict:
    return service.create_tenant(req.body.model_dump())


@route(bp, "/platform/tenants", summary="Tenants (platform operators)", tag="platform", query=s.PageQuery, response=s.TenantPage)
def list_tenants(req: ApiRequest) -> dict:
    items, nxt = service.list_tenants(req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/platform/tenants/{tenant_id}", "PATCH", summary="Rename a tenant or set its own rate limit (platform operators)",
       tag="platform", body=s.TenantPatch, response=s.TenantOut, versioned_write=True)
def update_tenant(req: ApiRequest, tenant_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update_tenant(tenant_id, changes, req.expected_version(req.body.version))


@route(bp, "/tenant", summary="The caller's tenant", tag="tenants", response=s.TenantOut)
def current_tenant(req: ApiRequest) -> dict:
    return service.get_current()
