"""Backups (PLAT-12): a tenant's data to an archive in S3, on demand or every day; restores of a
backup into an empty tenant by the platform operators.

- A tenant administrator (backups: manage) starts a backup; it runs as a background job
  (runner.py) that walks every item of the tenant (walk.py) into the archive (archive.py).
- The tenant's schedule (`PUT /v1/backups/schedule`) is one recurring EventBridge Scheduler
  schedule `backup-<tenant>` (cron, at a local hour, the tenant's time zone) whose target
  (functions/reminders.py, kind "backup") starts the day's backup as the administrator who set
  the schedule; the backup id is derived from the hour, so a repeated delivery makes one backup.
- A platform operator restores a backup into a tenant that holds nothing yet (409 otherwise):
  the restore marker is written first (one at a time per tenant), then a job in the new tenant
  writes every item with the tenant part of its keys and values rewritten, copies the files,
  signs the users up with the identity provider and rebuilds the tenant's search index.

Identities: users keep their ids, mobiles, roles and departments in the new tenant; with the
local identity provider their credentials are restored with them (the same mobile and password
sign in to the new tenant code); with Cognito (username `<tenant>.<user>`) each active user gets
a new login with a random password, which an administrator resets (passwords cannot be exported).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist, PutError

from ..core import clock, context, ids
from ..core.errors import Conflict, NotFound
from ..core.observability import metric
from ..core.permissions import OrgSnapshot, Principal
from ..db import changes, query
from ..db.base import Item
from ..jobs import service as jobs
from ..org import service as org
from ..ports import scheduler
from . import archive, walk
from .models import Backup, BackupSchedule, Restore

MODULE = "backups"
KIND_BACKUP = "backup"
KIND_RESTORE = "restore"
SCHEDULE_KIND = "backup"  # the Scheduler target's payload kind (functions/reminders.py)
LINK_SECONDS = 900


# ---- what the API shows ---------------------------------------------------------------------
def _status(b: Backup, p: Principal | None) -> tuple[str, str | None]:
    if b.status == "succeeded" or not b.job_id or p is None:
        return b.status, None
    try:
        job = jobs.readable(p, b.job_id)
    except NotFound:
        return b.status, None
    return (job.status if job.status in ("failed", "cancelled") else b.status), job.error


def out(b: Backup, p: Principal | None = None, *, links: bool = False) -> dict[str, Any]:
    status, error = _status(b, p)
    item: dict[str, Any] = {
        "id": b.id, "tenant_id": b.tenant_id, "trigger": b.trigger, "status": status, "job_id": b.job_id, "error": error,
        "created_at": b.created_at, "created_by": b.created_by, "finished_at": b.finished_at,
        "items": None if b.items is None else int(b.items), "files": None if b.files is None else int(b.files),
        "bytes": None if b.bytes is None else int(b.bytes), "counts": b.counts or {},
        "format_version": archive.FORMAT_VERSION if status == "succeeded" else None}
    if links and status == "succeeded":
        item["download_url"] = archive.presign(archive.manifest_key(b.tenant_id, b.id), "manifest.json", LINK_SECONDS)
        item["manifest_sha256"] = b.manifest_sha256
        item["parts"] = [{**part, "download_url": archive.presign(archive.prefix(b.tenant_id, b.id) + part["name"], part["name"],
                                                                  LINK_SECONDS)} for part in (b.parts or [])]
        item["download_expires_at"] = clock.iso(clock.now() + timedelta(seconds=LINK_SECONDS))
    return item


def _admin() -> Principal:
    p = org.principal()
    p.require(MODULE, "manage")
    return p


def _load(tenant_id: str, backup_id: str) -> Backup:
    try:
        return Backup.get(*Backup.key(tenant_id, backup_id))
    except (DoesNotExist, ValueError):
        raise NotFound("entity.backup") from None


# ---- backups ----------------------------------------------------------------------------------
def start(p: Principal, backup_id: str | None = None, trigger: str = "manual") -> dict[str, Any] | None:
    """Write the backup item and queue its job; None when a backup of that id exists already."""
    backup_id = backup_id or ids.new_id()
    now = clock.now_iso()
    b = Backup(tenant_id=p.tenant_id, id=backup_id, trigger=trigger, status="queued", created_at=now, created_by=p.user_id,
               updated_at=now, updated_by=p.user_id, gsi1pk=Backup.by_id(backup_id), gsi1sk="#",
               gsi2pk=Backup.listing(p.tenant_id), gsi2sk=f"{now}#{backup_id}")
    b.pk, b.sk = Backup.key(p.tenant_id, backup_id)
    try:
        b.save(condition=Backup.pk.does_not_exist())
    except PutError:
        return None
    job = jobs.create(p, KIND_BACKUP, {"backup_id": backup_id}, label=("备份租户数据", "Back up the tenant's data"))
    b.update(actions=[Backup.job_id.set(job["id"])])
    metric("backups.backup.started")
    return out(b, p)


def create() -> dict[str, Any]:
    return start(_admin())  # type: ignore[return-value] - a new id never exists


def list_backups(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = _admin()
    items, nxt = query.page(Backup, Backup.listing(p.tenant_id), index="gsi2", limit=limit, cursor=cursor)
    return [out(b, p) for b in items if isinstance(b, Backup)], nxt


def get(backup_id: str) -> dict[str, Any]:
    p = _admin()
    return out(_load(p.tenant_id, backup_id), p, links=True)


# ---- the schedule -----------------------------------------------------------------------------
def schedule_name(tenant_id: str) -> str:
    return scheduler.schedule_name("backup", tenant_id)


def _schedule(tenant_id: str) -> BackupSchedule | None:
    try:
        return BackupSchedule.get(*BackupSchedule.key(tenant_id))
    except DoesNotExist:
        return None


def schedule_out(s: BackupSchedule | None) -> dict[str, Any]:
    if s is None:
        return {"enabled": False, "hour": 3, "timezone": "Asia/Shanghai", "version": 0, "next_run_at": None}
    enabled = s.enabled == "true"
    return {"enabled": enabled, "hour": int(s.hour), "timezone": s.timezone, "version": s.version,
            "next_run_at": clock.iso(next_run(int(s.hour), s.timezone)) if enabled else None}


def next_run(hour: int, tz: str, after: datetime | None = None) -> datetime:
    local = (after or clock.now()).astimezone(ZoneInfo(tz))
    run = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return run if run > local else run + timedelta(days=1)


def get_schedule() -> dict[str, Any]:
    return schedule_out(_schedule(_admin().tenant_id))


def put_schedule(body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """Turn the daily backup on or off, at a local hour; the Scheduler schedule follows."""
    p = _admin()
    s = _schedule(p.tenant_id)
    values = {"enabled": "true" if body["enabled"] else "false", "hour": int(body["hour"]), "timezone": body["timezone"]}
    if s is None:
        at = clock.now_iso()
        s = BackupSchedule(tenant_id=p.tenant_id, created_at=at, created_by=p.user_id, updated_at=at, updated_by=p.user_id,
                           **values)
        s.pk, s.sk = BackupSchedule.key(p.tenant_id)
        changes.create(s, "backup_schedule", p.tenant_id, p.user_id)
    else:
        if expected is None:
            from ..core.errors import PreconditionRequired

            raise PreconditionRequired()
        changes.save(s, "backup_schedule", p.tenant_id, p.user_id, values, expected)
    if s.enabled == "true":
        scheduler.upsert_recurring(schedule_name(p.tenant_id), f"cron(0 {int(s.hour)} * * ? *)",
                                   {"kind": SCHEDULE_KIND, "tenant_id": p.tenant_id}, s.timezone)
    else:
        scheduler.delete(schedule_name(p.tenant_id))
    return schedule_out(s)


def fire_scheduled(tenant_id: str) -> bool:
    """The schedule's target: the backup of this hour, as the administrator who set the schedule
    (once: the id is derived from the hour). False when the schedule is off or the backup exists."""
    s = _schedule(tenant_id)
    if s is None or s.enabled != "true":
        return False
    local = clock.now().astimezone(ZoneInfo(s.timezone))
    p = Principal(tenant_id, s.updated_by, org.load(tenant_id).snapshot)
    with context.acting_as(context.RequestContext(tenant_id=tenant_id, user_id=s.updated_by)):
        started = start(p, f"auto-{local.strftime('%Y%m%d%H')}", trigger="scheduled")
    return started is not None


# ---- restore (platform operators) ------------------------------------------------------------------
def _find(backup_id: str) -> Backup:
    found = [b for b in Item.gsi1.query(Backup.by_id(backup_id), limit=1) if isinstance(b, Backup)] if backup_id else []
    if not found:
        raise NotFound("entity.backup")
    return found[0]


def restore(backup_id: str, target_tenant_id: str, name: str | None = None) -> dict[str, Any]:
    """Restore a finished backup into `target_tenant_id`, which must hold nothing (409 otherwise)."""
    b = _find(backup_id)
    if b.status != "succeeded":
        raise Conflict("BACKUP_NOT_READY")
    if not walk.is_empty(target_tenant_id):
        raise Conflict("RESTORE_TARGET_NOT_EMPTY", tenant=target_tenant_id)
    operator = f"platform:{context.current().user_id or 'operator'}"
    now = clock.now_iso()
    marker = Restore(tenant_id=target_tenant_id, source_tenant_id=b.tenant_id, backup_id=b.id, created_at=now,
                     created_by=operator, name=name or "")
    marker.pk, marker.sk = Restore.key(target_tenant_id)
    try:
        marker.save(condition=Restore.pk.does_not_exist())
    except PutError:
        raise Conflict("RESTORE_TARGET_NOT_EMPTY", tenant=target_tenant_id) from None
    p = _operator(target_tenant_id, operator)
    job = jobs.create(p, KIND_RESTORE, {"backup_id": b.id, "source_tenant_id": b.tenant_id, "name": name},
                      label=("从备份恢复租户", "Restore a tenant from a backup"))
    marker.update(actions=[Restore.job_id.set(job["id"])])
    metric("backups.restore.started")
    return restore_out(marker, job)


def _operator(tenant_id: str, operator: str) -> Principal:
    """The platform operator as the restore job's creator: no member of the tenant, so no
    organisation is read for them (a snapshot read while the restore writes would be cached
    half-made)."""
    return Principal(tenant_id, operator, OrgSnapshot(tenant_id, {}, {}, {}))


def restore_out(marker: Restore, job: dict[str, Any]) -> dict[str, Any]:
    return {"target_tenant_id": marker.tenant_id, "source_tenant_id": marker.source_tenant_id, "backup_id": marker.backup_id,
            "job_id": marker.job_id or job.get("id"), "status": job.get("status"), "progress": job.get("progress"),
            "result": job.get("result"), "error": job.get("error"), "created_at": marker.created_at}


def restore_status(target_tenant_id: str) -> dict[str, Any]:
    try:
        marker = Restore.get(*Restore.key(target_tenant_id))
    except (DoesNotExist, ValueError):
        raise NotFound("entity.restore") from None
    p = _operator(target_tenant_id, marker.created_by)
    return restore_out(marker, jobs.shown(jobs.readable(p, marker.job_id)) if marker.job_id else {"status": "queued"})
