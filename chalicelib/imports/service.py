"""导入: record import of every record type, generic over its EntityDef (PLAT-8).

Flow: `create()` names the file (type, name, size, SHA-256, format) and answers a presigned PUT
of `tenants/<t>/imports/<id>/<name>` in the files bucket; `mapping()` reads the header row back
and suggests a column for each header (the user's last mapping for the type first, then labels in
zh-CN or en, then field keys); `start()` runs the rows as a job (runner.py) — a dry run that only
reports, or the import itself with skip / overwrite / create for rows matching a record —;
`get()` shows the progress (rows done / total / rejected) and the counts; `errors()` pages the
run's rejected rows, `skipped()` the rows skipped as duplicates (with the record each matched),
and `rejected()` gives the rejected rows as a file with an error column; `cancel()` stops the job
at its next chunk. Every import is its creator's: another user gets 404.

Who may import: the type's 导入 (`import`) action and its `create`, checked on every step that
makes, runs or prepares an import (create, mapping, start, template).

Limits of a file (besides MAX_BYTES): at most MAX_COLUMNS header cells of at most MAX_HEADER
characters (422 IMPORT_HEADERS, in the API and again in the job); an XLSX's zip is checked before
it is opened (tabular.xlsx: entries, unpacked sizes, compression ratio; 422 IMPORT_TOO_LARGE).
"""
from __future__ import annotations

import base64
import re
import tempfile
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, i18n, ids
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.permissions import FieldAccess, Principal
from ..core.settings import get_settings
from ..db import changes, keys, query
from ..engine import registry
from ..engine.definition import EntityDef
from ..org import service as org
from ..ports import files as storage
from ..tabular import MEDIA
from . import rows as rows_
from .models import Import, ImportMapping, RowError, RowSkipped

MODES = ("skip", "overwrite", "create")
MAX_BYTES = 200 * 1024 * 1024
MAX_COLUMNS = 500  # header cells of a file
MAX_HEADER = 200  # characters of one header
URL_SECONDS = 15 * 60
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
ERROR_HEADER = {"zh-CN": "错误原因", "en": "Error"}


def importable(p: Principal, type_: str) -> EntityDef:
    """A record type the caller may import records of (its `import` action and `create`), by API
    name (customer, obj_ad_order) or a custom object's key (ad_order); 404 for a type there is not."""
    d = registry.find(type_, p.tenant_id) or registry.find(registry.CUSTOM_PREFIX + type_, p.tenant_id)
    if d is None:
        raise NotFound("entity.record_type")
    p.require(d.module, "import")
    p.require(d.module, "create")
    return d


def file_error(e: Exception, fmt: str) -> ValidationFailed:
    """A file the readers refuse (tabular.sheets / tabular.xlsx), as the 422 told to its importer."""
    from ..tabular import sheets, xlsx

    if isinstance(e, sheets.HeaderTooLarge):
        key = "imports.max_columns" if e.what == "columns" else "imports.max_header"
        return ValidationFailed("IMPORT_HEADERS", columns=MAX_COLUMNS, length=MAX_HEADER,
                                details=[detail("headers", "range", key, max=MAX_COLUMNS if e.what == "columns" else MAX_HEADER)])
    if isinstance(e, xlsx.TooLarge):
        return ValidationFailed("IMPORT_TOO_LARGE", max=e.value,
                                details=[detail("file", "range", f"imports.zip_{e.limit}", max=e.value)])
    return ValidationFailed("IMPORT_FORMAT", format=fmt)


def read_headers(f: Any, fmt: str) -> list[str]:
    """The header row of an uploaded file within the limits (422 otherwise), each header stripped."""
    from ..tabular import sheets, xlsx

    try:
        first = sheets.header_row(f, fmt, MAX_COLUMNS, MAX_HEADER)
    except (sheets.FormatError, sheets.HeaderTooLarge, xlsx.TooLarge) as e:
        raise file_error(e, fmt) from None
    return [str(h if h is not None else "").strip() for h in first]


def _load(p: Principal, import_id: str) -> Import:
    try:
        imp = Import.get(*Import.key(p.tenant_id, import_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("entity.import") from None
    if imp.tenant_id != p.tenant_id or imp.created_by != p.user_id:
        raise NotFound("entity.import")
    return imp


def create(type_: str, file_name: str, size: int, sha256: str, fmt: str) -> dict[str, Any]:
    p = org.principal()
    d = importable(p, type_)
    name = re.split(r"[\\/]", file_name.strip())[-1].strip()[:200]
    errors = []
    if not name:
        errors.append(detail("file_name", "missing", "field.missing"))
    if size > MAX_BYTES:
        errors.append(detail("size", "range", "imports.too_large", max=f"{MAX_BYTES // (1024 * 1024)} MB"))
    if not _HEX.match(sha256.strip()):
        errors.append(detail("sha256", "format", "file.sha256"))
    if errors:
        raise ValidationFailed(details=errors)
    iid = ids.new_id()
    imp = Import(*Import.key(p.tenant_id, iid), tenant_id=p.tenant_id, id=iid, entity=d.name, file_name=name,
                 file_key=storage.tenant_key(p.tenant_id, "imports", iid, storage.safe_name(name)), format=fmt, size=size,
                 sha256=sha256.strip().lower(), status="created", runs=0, result={})
    changes.stamp(imp, p.user_id, new=True)
    imp.gsi1pk, imp.gsi1sk = keys.k(p.tenant_id, "IMPORT", "USER", p.user_id), f"{imp.created_at}#{iid}"
    changes.create(imp, "import", iid, p.user_id)
    b64 = base64.b64encode(bytes.fromhex(imp.sha256)).decode()
    url, headers = storage.presign_upload(imp.file_key, MEDIA[fmt], size, b64, URL_SECONDS)
    return {**out(imp), "upload": {"url": url, "method": "PUT", "headers": headers,
                                   "expires_at": clock.iso(clock.now() + timedelta(seconds=URL_SECONDS))}}


def out(imp: Import, job: dict[str, Any] | None = None) -> dict[str, Any]:
    status = "created" if not imp.job_id else (job or {}).get("status") or "queued"
    progress = (job or {}).get("progress") or {"total": None, "done": 0, "errors": 0}
    result = (job or {}).get("result") or (imp.result if imp.finished_run and imp.finished_run == imp.runs else None)
    return {"id": imp.id, "type": imp.entity, "file_name": imp.file_name, "format": imp.format, "size": int(imp.size),
            "status": status, "run": int(imp.runs or 0), "dry_run": bool(imp.dry_run), "job_id": imp.job_id,
            "progress": progress, "result": result, "error": (job or {}).get("error"),
            "created_at": imp.created_at, "updated_at": imp.updated_at, "version": int(imp.version)}


def _job(p: Principal, imp: Import) -> dict[str, Any] | None:
    if not imp.job_id:
        return None
    from ..jobs import service as jobs

    return jobs.get(p, imp.job_id)


def get(import_id: str) -> dict[str, Any]:
    p = org.principal()
    imp = _load(p, import_id)
    return out(imp, _job(p, imp))


# ---- the file ------------------------------------------------------------------------------------
def _uploaded(imp: Import) -> None:
    h = storage.head(imp.file_key)
    want = base64.b64encode(bytes.fromhex(imp.sha256)).decode()
    if h is None or h["size"] != int(imp.size) or (h.get("sha256") and h["sha256"] != want):
        raise ValidationFailed("IMPORT_NOT_UPLOADED")


def headers_of(imp: Import) -> list[str]:
    """The upload's header row: read from the file once (it is downloaded for that; only the row
    itself is parsed, within the limits), then kept on the import."""
    if imp.headers is not None:
        return list(imp.headers)
    with tempfile.TemporaryFile() as f:
        storage.download(imp.file_key, f)
        f.seek(0)
        headers = read_headers(f, imp.format)
    imp.update(actions=[Import.headers.set(headers)])  # versioned: a concurrent change of the import wins, read again later
    return headers


def _saved(p: Principal, entity: str) -> dict[str, str | None]:
    try:
        return dict(ImportMapping.get(*ImportMapping.key(p.tenant_id, p.user_id, entity)).mapping or {})
    except DoesNotExist:
        return {}


def mapping(import_id: str) -> dict[str, Any]:
    """The file's headers, the columns it may fill and a suggested mapping (editable, sent to start)."""
    p = org.principal()
    imp = _load(p, import_id)
    d = importable(p, imp.entity)
    _uploaded(imp)
    headers = headers_of(imp)
    cols = rows_.columns(d, p, context.locale())
    return {"headers": headers, "mapping": rows_.suggest(headers, cols, _saved(p, d.name)),
            "columns": [{"key": c.key, "label": c.label, "type": c.type, "required": bool(c.required),
                         "choices": list(c.choices or ())} for c in cols]}


# ---- running -------------------------------------------------------------------------------------
def start(import_id: str, mapping_: dict[str, str | None] | None, duplicates: str, dry_run: bool) -> dict[str, Any]:
    from ..jobs import service as jobs

    p = org.principal()
    imp = _load(p, import_id)
    d = importable(p, imp.entity)
    job = _job(p, imp)
    if job and job.get("status") in ("queued", "running"):
        raise ValidationFailed("IMPORT_RUNNING")
    if imp.imported and (job or {}).get("status") == "succeeded" and not imp.dry_run:
        raise ValidationFailed("IMPORT_DONE")
    _uploaded(imp)
    headers = headers_of(imp)
    cols = rows_.columns(d, p, context.locale())
    known = {c.key for c in cols}
    if mapping_ is None:
        mapping_ = rows_.suggest(headers, cols, _saved(p, d.name))
    present = set(headers)
    problems = [detail(f"mapping.{str(h)[:MAX_HEADER]}", "option", "imports.not_a_header", header=str(h)[:60])
                for h in mapping_ if h not in present]
    problems += [detail(f"mapping.{h}", "option", "imports.unknown_column", column=str(k)[:60])
                 for h, k in mapping_.items() if h in present and k is not None and k not in known]
    taken: dict[str, str] = {}
    for h, k in mapping_.items():
        if k and k in taken:
            problems.append(detail(f"mapping.{h}", "duplicate", "imports.column_twice", column=taken[k]))
        elif k:
            taken[k] = h
    if problems:
        raise ValidationFailed(details=problems)
    if not any(mapping_.get(h) for h in headers):
        raise ValidationFailed("IMPORT_NOTHING_MAPPED")
    ImportMapping(*ImportMapping.key(p.tenant_id, p.user_id, d.name), tenant_id=p.tenant_id,
                  mapping={h: k for h, k in mapping_.items() if h in headers}).save()
    run = int(imp.runs or 0) + 1
    params = {"import_id": imp.id, "run": run, "dry_run": dry_run, "duplicates": duplicates, "locale": context.locale(),
              "mapping": {h: k for h, k in mapping_.items() if h in headers}, "rerun": bool(imp.imported) and not dry_run}
    created = jobs.create(p, kind="import", params=params, total=None, queue=False,
                          label=(f"导入{d.label[0]}", f"Import {d.label[1].lower()}"))
    # the run is the import's (versioned) before its job is queued: of two starts at once, one gets 409 and its job never runs
    changes.save(imp, "import", imp.id, p.user_id, {"runs": run, "job_id": created["id"], "dry_run": int(dry_run),
                                                    "imported": 1 if not dry_run else int(imp.imported or 0),
                                                    "status": "started"}, int(imp.version))
    return out(imp, jobs.start(p.tenant_id, created["id"]))


def cancel(import_id: str) -> dict[str, Any]:
    from ..jobs import service as jobs

    p = org.principal()
    imp = _load(p, import_id)
    if not imp.job_id:
        raise ValidationFailed("IMPORT_NOT_STARTED")
    return out(imp, jobs.cancel(p, imp.job_id))


# ---- rejected rows -------------------------------------------------------------------------------
def errors(import_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The current run's rejected rows in file order (the dry run's preview), a page at a time."""
    p = org.principal()
    imp = _load(p, import_id)
    items, next_cursor = query.page(RowError, RowError.partition(p.tenant_id, imp.id, int(imp.runs or 0)), limit=limit,
                                    cursor=cursor, newest_first=False)
    return {"items": [{"row": int(e.row), "errors": list(e.errors or []), "truncated": bool(e.truncated)}
                      for e in items if isinstance(e, RowError)],
            "next_cursor": next_cursor}


def skipped(import_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The current run's rows skipped as duplicates, in file order: the record each matched (its id
    and title when the caller may read it; an earlier row of the file by its number) and the columns
    whose values matched."""
    p = org.principal()
    imp = _load(p, import_id)
    d = registry.find(imp.entity, p.tenant_id)
    items, next_cursor = query.page(RowSkipped, RowSkipped.partition(p.tenant_id, imp.id, int(imp.runs or 0)), limit=limit,
                                    cursor=cursor, newest_first=False)
    rows = [e for e in items if isinstance(e, RowSkipped)]
    shown = _readable(p, d, [e.record_id for e in rows if e.record_id and e.earlier_row is None]) if d else {}
    out = []
    for e in rows:
        rec = shown.get(e.record_id) if e.record_id else None
        if e.earlier_row is not None:
            key, params = "imports.skipped_row", {"row": int(e.earlier_row)}
        elif rec is not None:
            key, params = "imports.skipped_record", {"title": rec["title"] or rec["id"]}
        else:
            key, params = "imports.skipped_hidden", {}
        out.append({"row": int(e.row), "columns": list(e.columns or []),
                    "record": rec if e.earlier_row is None else ({"id": e.record_id, "title": None} if e.record_id else None),
                    "earlier_row": int(e.earlier_row) if e.earlier_row is not None else None,
                    "message": i18n.text(key, context.locale(), **params)})
    return {"items": out, "next_cursor": next_cursor}


def _readable(p: Principal, d: EntityDef, record_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{id: {id, title}} of the records the caller may read among `record_ids` (a skipped row never
    tells a record the caller may not see: only that one exists)."""
    from ..engine import store

    if not record_ids:
        return {}
    now = clock.now_iso()
    out = {}
    if not p.can(d.module, "read"):
        return {}
    title_field = d.title_field if d.title_field and p.field_access(d.module, d.title_field) >= FieldAccess.READ else None
    for rec in store.batch_get(p.tenant_id, d.entity, list(dict.fromkeys(record_ids))):
        if p.record_access(d.module, rec.owner_id, rec.team, now) is not None:
            title = (rec.data or {}).get(title_field) if title_field else None
            out[rec.id] = {"id": rec.id, "title": str(title) if title is not None else None}
    return out


def rejected(import_id: str, fmt: str) -> dict[str, Any]:
    """The current run's rejected rows as a file: the upload's columns plus 错误原因 / Error."""
    from ..tabular import sheets

    p = org.principal()
    imp = _load(p, import_id)
    run = int(imp.runs or 0)
    if not run:
        raise ValidationFailed("IMPORT_NOT_STARTED")
    locale = context.locale()
    headers = headers_of(imp)
    n = 0
    with tempfile.TemporaryFile() as f:
        with sheets.writer(f, fmt, "rejected") as w:
            w.row([*headers, ERROR_HEADER.get(locale, ERROR_HEADER["en"])])
            for e in RowError.query(RowError.partition(p.tenant_id, imp.id, run)):
                if not isinstance(e, RowError):
                    continue
                cells = list(e.cells or [])
                cells += [""] * (len(headers) - len(cells))
                sep = "; " if locale == "en" else "；"
                w.row([*cells[:len(headers)], sep.join(f"{x['column']}: {x['message']}" if x.get("column") else x["message"]
                                                       for x in e.errors or [])])
                n += 1
        f.seek(0)
        stem = imp.file_name.rsplit(".", 1)[0]
        name = f"{stem}-{'rejected' if locale == 'en' else '错误行'}.{fmt}"
        key = storage.tenant_key(p.tenant_id, "imports", imp.id, f"rejected-{run}.{fmt}")
        storage.upload(key, f, MEDIA[fmt])
    url = storage.presign_download(key, name, MEDIA[fmt], get_settings().file_upload_url_minutes * 60)
    return {"url": url, "rows": n, "file_name": name, "format": fmt}


def template(type_: str, fmt: str) -> tuple[bytes, str]:
    """The import template of a record type: its importable columns, headers in the caller's language."""
    from ..tabular import sheets

    p = org.principal()
    d = importable(p, type_)
    locale = context.locale()
    label = d.label[0] if locale == "zh-CN" else d.label[1]
    name = f"{label}{'导入模板' if locale == 'zh-CN' else ' import template'}.{fmt}"
    return sheets.template(d, p, fmt, locale), name
