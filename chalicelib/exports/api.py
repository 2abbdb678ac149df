"""HTTP routes of exports (导出): records of any type, and a month of the operation log."""
from __future__ import annotations

from chalice import Blueprint, Response

from ..core.api import ApiRequest, LazyModels, route

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "exports"


@route(bp, "/exports", "POST", summary="Export records of a type to XLSX or CSV (导出): selected ids, or everything the list with "
       "these parameters shows me (data scope and field rules applied); the type's export action", tag=TAG, body=s.ExportIn,
       response=s.ExportOut, status=202,
       description="Answers 202 with a job (GET /v1/exports/{id} until `status` is succeeded, then download `link`). "
                   "A small export (≤ 2,000 rows) is answered at once as the file itself (200) when the request's Accept names the "
                   "format's media type (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or text/csv) and "
                   "`background` is not set. Logged in the operation log (who, what, how many rows).")
def create_export(req: ApiRequest) -> Response | dict:
    from . import service

    how, result = service.start(req.body.model_dump(mode="json", exclude_none=True), req.headers.get("accept"))
    if how == "file":
        data, name, media = result
        return Response(body=data, status_code=200, headers={
            "Content-Type": media if media != "text/csv" else "text/csv; charset=utf-8",
            "Content-Disposition": service.attachment(name), "Cache-Control": "no-store"})
    return result


@route(bp, "/exports/{job_id}", summary="An export: status, rows and, once done, a presigned download link (its creator or an "
       "admin)", tag=TAG, response=s.ExportOut)
def get_export(req: ApiRequest, job_id: str) -> dict:
    from . import service

    return service.get(job_id)


@route(bp, "/audit/export", "POST", summary="Export a month of the operation log to XLSX or CSV (admins: audit list), as a job; "
       "archived entries included", tag=TAG, body=s.AuditExportIn, response=s.ExportOut, status=202)
def export_audit(req: ApiRequest) -> dict:
    from . import service

    return service.start_audit(req.body.model_dump(mode="json"))
