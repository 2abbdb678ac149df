"""HTTP routes of announcements' own rules: columns, read receipts, readers. The announcements
themselves are the record type's generated routes (/v1/announcements)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.inputs import NoBody
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "announcements"


@route(bp, "/announcement-columns", summary="Announcement columns (新闻/公告/规章制度…), with whether I may publish in each",
       tag=TAG, response=s.AnnouncementColumnList)
def list_columns(req: ApiRequest) -> dict:
    return {"items": service.list_columns()}


@route(bp, "/announcement-columns", "POST", summary="Add a column and who may publish in it (managers)", tag=TAG,
       body=s.AnnouncementColumnIn, response=s.AnnouncementColumnOut, status=201)
def create_column(req: ApiRequest) -> dict:
    return service.create_column(req.body.model_dump())


@route(bp, "/announcement-columns/{column_id}", "PATCH", summary="Rename a column or change its publishers (managers)", tag=TAG,
       body=s.AnnouncementColumnPatch, response=s.AnnouncementColumnOut, versioned_write=True)
def update_column(req: ApiRequest, column_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update_column(column_id, changes, req.expected_version(req.body.version))


@route(bp, "/announcement-columns/{column_id}", "DELETE", summary="Remove a column (managers)", tag=TAG, status=204)
def delete_column(req: ApiRequest, column_id: str) -> None:
    service.delete_column(column_id)


@route(bp, "/announcements/{announcement_id}/read", "POST", summary="I have read it (read receipt; idempotent)", tag=TAG,
       body=NoBody, response=s.ReceiptOut)
def mark_read(req: ApiRequest, announcement_id: str) -> dict:
    return service.mark_read(announcement_id)


@route(bp, "/announcements/{announcement_id}/readers", summary="Who of the audience has read it, or not (author, managers)",
       tag=TAG, query=s.ReadersQuery, response=s.ReadersOut)
def readers(req: ApiRequest, announcement_id: str) -> dict:
    return service.readers(announcement_id, req.query.read, req.query.limit, req.query.cursor)
