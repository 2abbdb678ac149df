"""HTTP routes of imports (导入): template, upload, mapping, dry run / start, progress, cancel, rejected rows."""
from __future__ import annotations

from chalice import Blueprint, Response

from ..core.api import ApiRequest, LazyModels, accepts, route
from ..core.errors import NotAcceptable
from ..tabular import MEDIA

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "imports"


def _service():  # noqa: ANN202 - the module, imported on first use (not with the API)
    from . import service

    return service


@route(bp, "/imports/templates/{type}", summary="The import template of a record type (导入模板), headers in my language",
       tag=TAG, query=s.FormatQuery, produces=MEDIA["xlsx"],
       description="An XLSX (send `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` or */*) or CSV "
                   "(`format=csv`, `Accept: text/csv` or */*; UTF-8 with a BOM) file with the columns I may fill on create (required ones marked *, choices listed), built "
                   "from the current field configuration.")
def template(req: ApiRequest, type: str) -> Response:
    from urllib.parse import quote

    fmt = req.query.format
    media = MEDIA[fmt]
    if not accepts(req.headers.get("accept"), media):  # both are binary types of the app: API Gateway passes bytes
        raise NotAcceptable(media=media)
    body, name = _service().template(type, fmt)
    return Response(body=body, status_code=200, headers={
        "Content-Type": media,
        "Content-Disposition": f"attachment; filename=\"template.{fmt}\"; filename*=UTF-8''{quote(name, safe='')}",
        "Cache-Control": "no-store"})


@route(bp, "/imports", "POST", summary="Start an import: name the file, get a presigned upload (PUT)", tag=TAG, body=s.ImportIn,
       response=s.ImportCreated, status=201)
def create(req: ApiRequest) -> dict:
    b = req.body
    return _service().create(b.type, b.file_name, b.size, b.sha256, b.format)


@route(bp, "/imports/{import_id}", summary="An import: status and progress of its current run (rows done / total / rejected)",
       tag=TAG, response=s.ImportOut)
def get(req: ApiRequest, import_id: str) -> dict:
    return _service().get(import_id)


@route(bp, "/imports/{import_id}/mapping", summary="The uploaded file's headers and the suggested column mapping", tag=TAG,
       response=s.MappingOut)
def mapping(req: ApiRequest, import_id: str) -> dict:
    return _service().mapping(import_id)


@route(bp, "/imports/{import_id}/start", "POST", summary="Run the import (or a dry run) as a background job", tag=TAG,
       body=s.StartIn, response=s.ImportOut, status=202)
def start(req: ApiRequest, import_id: str) -> dict:
    b = req.body
    return _service().start(import_id, b.mapping, b.duplicates, b.dry_run)


@route(bp, "/imports/{import_id}/cancel", "POST", summary="Cancel the running import (stops at its next chunk)", tag=TAG,
       response=s.ImportOut)
def cancel(req: ApiRequest, import_id: str) -> dict:
    return _service().cancel(import_id)


@route(bp, "/imports/{import_id}/errors", summary="The current run's rejected rows: row number, column and reason", tag=TAG,
       query=s.PageQuery, response=s.ErrorsPage)
def errors(req: ApiRequest, import_id: str) -> dict:
    return _service().errors(import_id, req.query.limit, req.query.cursor)


@route(bp, "/imports/{import_id}/skipped", summary="The current run's rows skipped as duplicates, with the record each matched",
       tag=TAG, query=s.PageQuery, response=s.SkippedPage)
def skipped(req: ApiRequest, import_id: str) -> dict:
    return _service().skipped(import_id, req.query.limit, req.query.cursor)


@route(bp, "/imports/{import_id}/rejected", summary="The rejected rows as a file with an error column (presigned link)", tag=TAG,
       query=s.FormatQuery, response=s.RejectedOut)
def rejected(req: ApiRequest, import_id: str) -> dict:
    return _service().rejected(import_id, req.query.format)
