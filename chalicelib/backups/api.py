"""HTTP routes of backups (tenant administrators) and restores (platform operators)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "backups"


@route(bp, "/backups", "POST", summary="Back up the tenant's data now (a background job; administrators)", tag=TAG,
       response=s.BackupOut, status=202)
def create_backup(req: ApiRequest) -> dict:
    return service.create()


@route(bp, "/backups", summary="The tenant's backups, newest first (administrators)", tag=TAG, query=s.PageQuery,
       response=s.BackupPage)
def list_backups(req: ApiRequest) -> dict:
    items, nxt = service.list_backups(req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/backups/{backup_id}", summary="A backup, with presigned links to its manifest and parts (administrators)",
       tag=TAG, response=s.BackupOut)
def get_backup(req: ApiRequest, backup_id: str) -> dict:
    return service.get(backup_id)


@route(bp, "/backup-schedule", summary="The daily backup setting (administrators)", tag=TAG, response=s.ScheduleOut)
def get_schedule(req: ApiRequest) -> dict:
    return service.get_schedule()


@route(bp, "/backup-schedule", "PUT", summary="Turn the daily backup on or off, at a local hour (administrators)", tag=TAG,
       body=s.ScheduleIn, response=s.ScheduleOut, versioned_write=True)
def put_schedule(req: ApiRequest) -> dict:
    body = req.body
    expected = body.version if body.version is not None else (req.expected_version() if req.headers.get("if-match") else None)
    return service.put_schedule(body.model_dump(exclude={"version"}), expected)


@route(bp, "/backups/{backup_id}/restore", "POST", summary="Restore a backup into a new, empty tenant (platform operators)",
       tag="platform", body=s.RestoreIn, response=s.RestoreOut, status=202)
def restore(req: ApiRequest, backup_id: str) -> dict:
    return service.restore(backup_id, req.body.target_tenant_id, req.body.name)


@route(bp, "/platform/tenants/{tenant_id}/restore", summary="How the restore into a tenant goes (platform operators)",
       tag="platform", response=s.RestoreOut)
def restore_status(req: ApiRequest, tenant_id: str) -> dict:
    return service.restore_status(tenant_id)
