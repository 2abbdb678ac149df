"""The job runners of backups and restores (chalicelib/jobs): chunked, resumable, constant memory.

Backup: pages of the tenant walk go into archive parts; after each stored part the job saves
its checkpoint {position in the walk, parts written, counts}, so an attempt that fails or runs
out of time resumes at the next part (a part written again from the same position is the same
part). The manifest is written last, then the backup item says "succeeded".

Restore: part by part, each part checked against the manifest, every item rewritten for the
new tenant and written (a repeated write of a part is harmless); then the files are copied, the
tenant's directory item is written (last: until then the tenant does not sign in), logins are
made where the identity provider needs them, and the tenant's search index is rebuilt.
"""
from __future__ import annotations

import base64
import secrets
from typing import Any

from ..core import clock
from ..core.observability import logger, metric
from ..jobs import service as jobs
from ..org import service as org
from ..ports import files as storage
from . import archive, walk
from .models import Backup

LOW_SECONDS = 30  # stop at a part boundary when less time is left


def _count_key(item: dict[str, Any]) -> str:
    kind = walk.type_of(item)
    entity = (item.get("entity") or {}).get("S")
    return f"{kind}:{entity}" if kind == "REC" and entity else kind


def _file_line(item: dict[str, Any]) -> dict[str, Any] | None:
    if walk.type_of(item) != "FILE" or (item.get("status") or {}).get("S") != "uploaded":
        return None
    return {"id": item["id"]["S"], "key": item["key"]["S"], "name": item["name"]["S"], "size": int(item["size"]["N"]),
            "sha256": item["sha256"]["S"]}


def run_backup(ctx: jobs.JobContext) -> bool:
    tenant_id, backup_id = ctx.job["tenant_id"], ctx.job["params"]["backup_id"]
    b = Backup.get(*Backup.key(tenant_id, backup_id))
    cp = dict(ctx.checkpoint)
    if not cp:
        b.update(actions=[Backup.status.set("running")])
        cp = {"position": None, "items": [], "files": [], "counts": {}, "total": 0, "file_count": 0, "file_bytes": 0, "walked": False}
    items, files = archive.Part("items"), archive.Part("files")

    def store() -> None:
        if items.lines:
            cp["items"].append(items.store(tenant_id, backup_id, len(cp["items"]) + 1))
        if files.lines:
            cp["files"].append(files.store(tenant_id, backup_id, len(cp["files"]) + 1))

    if not cp["walked"]:
        for page, position in walk.pages(tenant_id, cp["position"]):
            for item in page:
                items.add(walk.archived(item))  # no signing secrets in an archive
                key = _count_key(item)
                cp["counts"][key] = cp["counts"].get(key, 0) + 1
                cp["total"] += 1
                line = _file_line(item)
                if line is not None:
                    files.add(line)
                    cp["file_count"] += 1
                    cp["file_bytes"] += line["size"]
            if items.full or files.full or position is None:
                store()
                cp["position"], cp["walked"] = position, position is None
                ctx.save(checkpoint=cp, done=cp["total"])
                items, files = archive.Part("items"), archive.Part("files")
                if position is not None and ctx.time_left() < LOW_SECONDS:
                    return False
    manifest = archive.write_manifest(tenant_id, backup_id, {
        "backup_id": backup_id, "tenant_id": tenant_id, "created_at": b.created_at, "created_by": b.created_by,
        "finished_at": clock.now_iso(), "items": cp["total"], "counts": cp["counts"], "parts": cp["items"],
        "files": {"count": cp["file_count"], "bytes": cp["file_bytes"], "parts": cp["files"],
                  "storage": "in place: the files bucket (objects never change once confirmed); pinned by key and SHA-256"}})
    size = sum(int(p["bytes"]) for p in cp["items"] + cp["files"]) + manifest["bytes"]
    b.update(actions=[Backup.status.set("succeeded"), Backup.finished_at.set(clock.now_iso()), Backup.items.set(cp["total"]),
                      Backup.counts.set(cp["counts"]), Backup.files.set(cp["file_count"]), Backup.bytes.set(size),
                      Backup.parts.set(cp["items"] + cp["files"]), Backup.manifest_sha256.set(manifest["sha256"])])
    metric("backups.backup.items", cp["total"])
    ctx.finish({"backup_id": backup_id, "items": cp["total"], "files": cp["file_count"], "bytes": size,
                "manifest_key": manifest["key"]})
    return True


def _logins(target: str) -> int:
    """Sign-in accounts of the restored users where the identity provider keeps them apart from the
    table (Cognito): a random password each, for an administrator to reset."""
    from ..ports import identity

    idp = identity.provider()
    if isinstance(idp, identity.LocalIdentity):
        return 0  # the credentials came back with the users
    made = 0
    for user_id, user in org.load(target, fresh=True).users.items():
        if user.status == "active":
            idp.create_login(target, user_id, user.mobile, secrets.token_urlsafe(12) + "aA1!")
            made += 1
    return made


def run_restore(ctx: jobs.JobContext) -> bool:
    target, params = ctx.job["tenant_id"], ctx.job["params"]
    source, backup_id = params["source_tenant_id"], params["backup_id"]
    manifest = archive.read_manifest(source, backup_id)
    cp = dict(ctx.checkpoint) or {"part": 0, "file_part": 0, "done": 0, "files_copied": 0, "files_missing": 0, "tenant": None}
    parts, file_parts = manifest["parts"], manifest["files"]["parts"]
    while cp["part"] < len(parts):
        batch: list[dict[str, Any]] = []
        for item in archive.read_part(source, backup_id, parts[cp["part"]]):
            moved = walk.restored(walk.rewrite(item, source, target))  # webhooks, channels: disabled, no secret
            if walk.type_of(moved) in walk.NOT_BACKED_UP:
                continue  # a backup made before a type was left out (second factors) does not bring it back
            if walk.type_of(moved) == "TENANT":
                if params.get("name"):
                    moved["name"] = {"S": params["name"]}
                cp["tenant"] = moved  # written last
                continue
            batch.append(moved)
            if len(batch) >= 100:
                walk.put_many(batch)
                batch = []
        walk.put_many(batch)
        cp["done"] += int(parts[cp["part"]]["lines"])
        cp["part"] += 1
        ctx.save(checkpoint=cp, done=cp["done"], total=int(manifest["items"]))
        if ctx.time_left() < LOW_SECONDS:
            return False
    while cp["file_part"] < len(file_parts):
        for f in archive.read_part(source, backup_id, file_parts[cp["file_part"]]):
            copied = storage.copy_file(f["key"], walk.text(f["key"], source, target))
            if copied is None or base64.b64decode(copied).hex() != f["sha256"]:
                cp["files_missing"] += 1  # gone since the backup (or other bytes: never, a confirmed file does not change)
                logger.warning("backed-up file is gone or changed", extra={"tenant_id": source, "file_id": f["id"]})
            else:
                cp["files_copied"] += 1
        cp["file_part"] += 1
        ctx.save(checkpoint=cp)
        if ctx.time_left() < LOW_SECONDS:
            return False
    if cp["tenant"] is not None:
        walk.put_many([cp["tenant"]])
    org.invalidate(target)
    logins = _logins(target)
    from functions.reindex import reindex  # the jobs Lambda ships functions/ (the API never runs a restore)

    indexed = reindex(target, drop=True)
    org.invalidate(target)  # again: whatever read the organisation while the items were written
    metric("backups.restore.items", cp["done"])
    ctx.finish({"target_tenant_id": target, "source_tenant_id": source, "backup_id": backup_id, "items": cp["done"],
                "files_copied": cp["files_copied"], "files_missing": cp["files_missing"], "logins_created": logins,
                "indexed": indexed.get("indexed", 0)})
    return True
