"""The export jobs (chalicelib/jobs runs them; registered in module.py): a type's records, or a
month of the operation log, written to a temporary file and uploaded to the files bucket.

A job acts as the user who started it (ctx.principal): their data scope and field rules as they
are when it runs. A file is written in one invocation (100,000 rows take well under a minute);
an attempt that fails starts the file again from the first row, so a retry never leaves half a
file behind. Progress is saved every few thousand rows, which is also when a cancel is seen.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from ..core import clock, i18n
from ..core.errors import ValidationFailed
from ..core.permissions import Principal
from ..core.settings import get_settings
from . import service

AUDIT_PAGE = 500


def run(ctx: Any) -> bool:
    """An export of records (kind "export")."""
    job, p = ctx.job, ctx.principal
    prm = job["params"]
    fmt, locale = prm["format"], prm.get("locale") or "zh-CN"
    d = service.definition(p, prm["type"])
    p.require(d.module, "export")  # still allowed now that it runs
    with tempfile.TemporaryFile() as f:
        rows = service.write_records(f, p, d, prm["params"], fmt, locale,
                                     progress=lambda n: ctx.save(checkpoint={"rows": n}, done=n))
        key = _upload(f, p.tenant_id, job["id"], prm["file_name"], fmt)
    service.log(p, job["id"], d.name, rows, fmt, prm["params"])
    ctx.save(checkpoint={"rows": rows}, done=rows, total=rows)
    ctx.finish(result={"file_key": key, "rows": rows, "file_name": prm["file_name"], "content_type": service.MEDIA[fmt]})
    return True


def _upload(f: Any, tenant_id: str, export_id: str, name: str, fmt: str) -> str:
    from ..ports import files

    f.seek(0)
    key = service.export_key(tenant_id, export_id, name)
    files.upload(key, f, service.MEDIA[fmt], export=True)
    return key


# ---- the operation log of a month ---------------------------------------------------------------
AUDIT_COLUMNS = ("at", "actor", "action", "entity", "record_id", "changes", "note")


def run_audit(ctx: Any) -> bool:
    """A month of the tenant's operation log (kind "audit_export"): the archived entries (S3) when the
    month reaches past the table's TTL, then those the table still holds, oldest first."""
    from ..tabular import sheets

    job, p = ctx.job, ctx.principal
    prm = job["params"]
    fmt, locale, month = prm["format"], prm.get("locale") or "zh-CN", prm["month"]
    p.require("audit", "list")
    names = _Names(p, locale)
    rows = 0
    with tempfile.TemporaryFile() as f:
        with sheets.writer(f, fmt, month) as w:
            w.header([i18n.text(f"exports.audit.{c}", locale) for c in AUDIT_COLUMNS])
            for entry in entries(p.tenant_id, month):
                w.row(names.row(entry))
                rows += 1
                if rows % service.SAVE_EVERY == 0:
                    ctx.save(checkpoint={"rows": rows}, done=rows)
        key = _upload(f, p.tenant_id, job["id"], prm["file_name"], fmt)
    service.log(p, job["id"], f"audit:{month}", rows, fmt)
    ctx.save(checkpoint={"rows": rows}, done=rows, total=rows)
    ctx.finish(result={"file_key": key, "rows": rows, "file_name": prm["file_name"], "content_type": service.MEDIA[fmt]})
    return True


COLD = ("GLACIER", "DEEP_ARCHIVE")  # storage classes whose objects must be restored before they can be read


def archived_months_reach(month: str) -> bool:
    """Some of the month's entries may have left the table (its first day is older than the TTL)."""
    first = date.fromisoformat(f"{month}-01")
    return first < (clock.now() - timedelta(days=get_settings().audit_ttl_days)).date()


def entries(tenant_id: str, month: str) -> Iterator[dict[str, Any]]:
    if archived_months_reach(month):
        yield from archived(tenant_id, month)
    yield from logged(tenant_id, month)


def archived(tenant_id: str, month: str) -> Iterator[dict[str, Any]]:
    """The month's entries archived to S3 by functions/audit_archiver.py (one object per entry), by key: day, then time."""
    from ..ports import client, files

    bucket = get_settings().archive_bucket
    prefix = files.tenant_key(tenant_id, "audit", month[:4], month[5:7]) + "/"
    s3 = client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents") or []:
            if obj.get("StorageClass") in COLD:  # moved to Glacier by the bucket's lifecycle: GetObject would refuse it
                raise ValidationFailed("AUDIT_ARCHIVE_COLD", month=month)
            item = json.loads(files.get(obj["Key"]))
            changes = item.get("changes")
            yield {"at": item.get("at"), "actor_id": item.get("actor_id"), "action": item.get("action"),
                   "entity": item.get("entity"), "record_id": item.get("record_id"),
                   "changes": json.loads(changes) if isinstance(changes, str) else (changes or []), "note": item.get("note")}


def logged(tenant_id: str, month: str) -> Iterator[dict[str, Any]]:
    """The month's entries the table holds (gsi2: the tenant's log by month), oldest first, page by page."""
    from ..db import audit, keys
    from ..db import query as q
    from ..db.audit import AuditEntry

    cursor = None
    while True:
        items, cursor = q.page(AuditEntry, keys.k(tenant_id, "AUDIT", month), index="gsi2", limit=AUDIT_PAGE, cursor=cursor,
                               newest_first=False)
        for e in items:
            if isinstance(e, AuditEntry):
                yield audit.as_dict(e)
        if not cursor:
            return


class _Names:
    """Entries as a reader of the log sees them: local times, people and record types by name, the
    changes with field labels and the reader's field rules applied."""

    def __init__(self, p: Principal, locale: str) -> None:
        from ..tabular.columns import Lookup

        self.p, self.locale = p, locale
        self.lookup = Lookup(p)
        self.tz = service._tz()
        self._defs: dict[str, Any] = {}

    def _definition(self, entity: str) -> Any:
        if entity not in self._defs:
            from ..engine import registry

            self._defs[entity] = registry.find(entity, self.p.tenant_id)
        return self._defs[entity]

    def _text(self, key: str, fallback: str) -> str:
        return i18n.text(key, self.locale) if key in i18n.MESSAGES else fallback

    def row(self, e: dict[str, Any]) -> list[Any]:
        entity = str(e.get("entity") or "")
        d = self._definition(entity)
        at = e.get("at")
        when = clock.parse_iso(at).astimezone(self.tz).replace(tzinfo=None) if at else None
        kind = d.label_in(self.locale) if d is not None else self._text(f"entity.{entity.lower()}", entity)
        action = str(e.get("action") or "")
        named = self._text(f"action.{action}", action)
        return [when, self.lookup.user_name(str(e.get("actor_id") or "")), named[:1].upper() + named[1:], kind,
                e.get("record_id"), self._changes(d, e.get("changes") or []), e.get("note")]

    def _changes(self, d: Any, changes: list[dict[str, Any]]) -> str:
        if d is not None:
            from ..engine import visibility

            changes = visibility.changes(self.p, d, changes)
        parts = []
        for ch in changes:
            name = str(ch.get("field"))
            f = d.field(name) if d is not None else None
            before, after = ch.get("before"), ch.get("after")
            if name == "owner_id":
                label = i18n.text("tabular.owner", self.locale)
                before, after = (self.lookup.user_name(v) if isinstance(v, str) else v for v in (before, after))
            else:
                label = f.label_in(self.locale) if f is not None else name
            parts.append(f"{label}: {_short(before)} → {_short(after)}")
        return "; ".join(parts)[:32000]  # a cell holds 32,767 characters


def _short(v: Any) -> str:
    if v is None or v == "":
        return "∅"
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
