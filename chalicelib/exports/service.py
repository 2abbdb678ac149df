"""Exports (导出, PLAT-8): the records of any type a caller selects or filters, and a month of the
operation log, as XLSX or CSV.

Which records: the list's own parameters (q, filters, sort, saved view, scope) or a selection of
ids, run through the list's search (search/service.py: list_page) — the caller's data scope is
inside the engine query, never applied after it. Which columns and values: tabular.columns for
the caller (hidden fields absent), each row as engine.service.present shows the record to them
(masked fields masked), codes as names in the caller's language, custom fields included.

How: a small export (≤ DIRECT_MAX rows) that the client asks for as a file (Accept names the
XLSX or CSV media type) is answered at once; anything else is a job (chalicelib/jobs) that
pages through the index with search_after cursors, writes the file to a temporary file
(constant memory: rows go straight to disk), uploads it to the files bucket under
tenants/<t>/exports/<id>/ (multipart above 8 MB) and answers with a presigned download link.
Every export is in the operation log: who exported which type, how many rows, in what format
(entity EXPORT, the tenant's monthly log and the user's).
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from ..core import clock, context, i18n, ids
from ..core.api import accepts
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.observability import metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import audit, tx
from ..engine import registry
from ..engine.definition import EntityDef
from ..org import service as org
from ..tabular import MEDIA

DIRECT_BYTES = 4 * 1024 * 1024  # a file answered at once stays under Lambda's 6 MB once base64-encoded
DIRECT_MAX = 2000  # rows answered in the request itself (when the client asks for the file)
PAGE = 500  # records per search page
KIND, AUDIT_KIND = "export", "audit_export"
LOG_ENTITY = "EXPORT"
SPOOL = 4 * 1024 * 1024  # a file stays in memory up to this size, then goes to disk
SAVE_EVERY = 2000  # rows between progress saves of a job


def definition(p: Principal, type_name: str) -> EntityDef:
    d = registry.find(type_name, p.tenant_id)
    if d is None:
        raise ValidationFailed(details=[detail("type", "unknown", "object.unknown_type")])
    return d


def selection(ids_: list[str] | None, query: dict[str, Any] | None) -> dict[str, Any]:
    """The list parameters of an export (search.list_page reads them): the query's, newest first
    unless it sorts (a relevance order only reaches the first 10,000 hits), narrowed to `ids`."""
    q = dict(query or {})
    params: dict[str, Any] = {"q": q.get("q"), "filters": list(q.get("filters") or []), "view": q.get("view"),
                              "scope": q.get("scope"), "sort": q.get("sort") or (None if q.get("view") else "-created_at")}
    if ids_:
        params["ids"] = list(dict.fromkeys(ids_))
    return params


def _search_params(params: dict[str, Any]) -> dict[str, Any]:
    from ..search.query import Filter

    out = {k: v for k, v in params.items() if k != "ids"}
    if params.get("ids"):  # a selection: ids are facts every reader of the list may filter on
        out["conditions"] = [Filter("id", "in", [str(i) for i in params["ids"]])]
    return out


def records(p: Principal, d: EntityDef, params: dict[str, Any], page_size: int | None = None) -> Iterator[dict[str, Any]]:
    """Every record the list with `params` shows `p`, as engine.present shows it, page by page
    (search_after: constant memory, no 10,000 limit)."""
    from ..engine import service as engine
    from ..search import service as search

    es = engine.search_schema(d)
    base = _search_params(params)
    cursor = None
    while True:
        page = search.list_page(p, es, {**base, "limit": page_size or PAGE, "cursor": cursor}, lambda src, who: engine.present(d, src, who))
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor or not page["items"]:
            return


def count(p: Principal, d: EntityDef, params: dict[str, Any]) -> int:
    """How many records the export holds (checks the parameters as the list does: a bad filter is a 422)."""
    from ..engine import service as engine
    from ..search import service as search

    page = search.list_page(p, engine.search_schema(d), {**_search_params(params), "limit": 1}, lambda src, who: {})
    return int(page["total"])


def file_name(label: str, fmt: str, locale: str) -> str:
    stamp = clock.now().astimezone(_tz()).strftime("%Y%m%d-%H%M")
    return f"{label}-{stamp}.{fmt}"


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(get_settings().default_timezone)


def write_records(out: IO[bytes], p: Principal, d: EntityDef, params: dict[str, Any], fmt: str, locale: str,
                  progress: Callable[[int], None] | None = None) -> int:
    """The export file of `d`'s records into `out`; returns the rows written."""
    from ..tabular import columns as tcols
    from ..tabular import sheets

    cols = tcols.columns(d, p, "export", locale)
    rows = 0
    with sheets.writer(out, fmt, d.label_in(locale)) as w:
        w.header(cols)
        for record in records(p, d, params):
            w.row(tcols.cells(cols, record))
            rows += 1
            if progress is not None and rows % SAVE_EVERY == 0:
                progress(rows)
    return rows


def log(p: Principal, export_id: str, what: str, rows: int, fmt: str, params: dict[str, Any] | None = None) -> None:
    """The export in the operation log: who took which records (type, filters or ids), how many rows."""
    changes = [{"field": "type", "before": None, "after": what}, {"field": "rows", "before": None, "after": rows},
               {"field": "format", "before": None, "after": fmt}]
    if params:
        shown = {k: v for k, v in params.items() if v not in (None, [], "") and k != "sort"}
        if shown:
            changes.append({"field": "selection", "before": None, "after": json.dumps(shown, ensure_ascii=False, default=str)[:2000]})
    tx.write([tx.put(audit.entry(p.tenant_id, LOG_ENTITY, export_id, "export", p.user_id, changes, note=f"{what} × {rows}"))])
    metric("records.exported", rows)


# ---- the request -------------------------------------------------------------------------------
def wants_file(accept: str | None, fmt: str) -> bool:
    """The client asks for the file itself: Accept names its media type (not just */*)."""
    named = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    return MEDIA[fmt] in named and accepts(accept, MEDIA[fmt])


def start(body: dict[str, Any], accept: str | None) -> tuple[str, Any]:
    """("file", (bytes, name, media)) for a small export asked as a file; else ("job", the export as a job)."""
    p = org.principal()
    d = definition(p, body["type"])
    p.require(d.module, "export")
    fmt, locale = body.get("format") or "xlsx", context.locale()
    params = selection(body.get("ids"), body.get("query"))
    total = count(p, d, params)
    name = file_name(d.label_in(locale), fmt, locale)
    if wants_file(accept, fmt) and not body.get("background") and total <= DIRECT_MAX:
        export_id = ids.new_id()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL) as f:
            rows = write_records(f, p, d, params, fmt, locale)
            size = f.tell()
            f.seek(0)
            data = f.read() if size <= DIRECT_BYTES else None
        if data is not None:
            log(p, export_id, d.name, rows, fmt, params)
            return "file", (data, name, MEDIA[fmt])
        # too large for one API answer (Lambda answers at most 6 MB, binary bodies go base64): a job and a link instead
    from ..jobs import service as jobs

    job = jobs.create(p, kind=KIND, params={"type": d.name, "format": fmt, "params": params, "locale": locale, "file_name": name},
                      total=total, label=(f"导出{d.label_in('zh-CN')}", f"Export {d.label_in('en')}"))
    return "job", shown(p, job)


def start_audit(body: dict[str, Any]) -> dict[str, Any]:
    """A month of the tenant's operation log as a job (admins: audit:list)."""
    p = org.principal()
    p.require("audit", "list")
    fmt, locale, month = body.get("format") or "xlsx", context.locale(), body["month"]
    name = f"{i18n.text('exports.audit_log', locale)}-{month}.{fmt}"
    from ..jobs import service as jobs

    job = jobs.create(p, kind=AUDIT_KIND, params={"month": month, "format": fmt, "locale": locale, "file_name": name},
                      label=(f"导出操作日志 {month}", f"Export the operation log {month}"))
    return shown(p, job)


def get(export_id: str) -> dict[str, Any]:
    """An export job (its creator, or a tenant admin) with a fresh download link once it is done."""
    from ..jobs import service as jobs

    p = org.principal()
    job = jobs.as_dict(jobs.readable(p, export_id))
    if job.get("kind") not in (KIND, AUDIT_KIND):
        raise NotFound("entity.export")
    return shown(p, job)


def shown(p: Principal, job: dict[str, Any]) -> dict[str, Any]:
    result = job.get("result") or {}
    link = None
    if job.get("status") == "succeeded" and result.get("file_key"):
        from ..ports import files

        link = files.presign_download(result["file_key"], result.get("file_name") or "export",
                                      result.get("content_type") or "application/octet-stream",
                                      get_settings().file_download_url_minutes * 60)
    params = job.get("params") or {}
    return {"id": job["id"], "kind": job.get("kind"), "status": job.get("status"), "progress": job.get("progress") or {},
            "rows": result.get("rows"), "file_name": result.get("file_name") or params.get("file_name"), "link": link,
            "error": job.get("error"), "created_at": job.get("created_at"), "updated_at": job.get("updated_at")}


def attachment(name: str) -> str:
    """Content-Disposition of a file to save: an ASCII name for old clients and the real one (RFC 6266 / 5987)."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def export_key(tenant_id: str, export_id: str, name: str) -> str:
    from ..ports import files

    return files.tenant_key(tenant_id, "exports", export_id, files.safe_name(name))
