"""HTTP routes of the recycle bin."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "recyclebin"


@route(bp, "/recycle-bin", summary="Deleted records, newest first: all for recycle-bin admins, otherwise those the caller could restore (types they may delete, within their data scope); ?mine=true: my own deleted private records (reminders)",
       tag=TAG, query=s.BinQuery, response=s.BinPage)
def list_bin(req: ApiRequest) -> dict:
    items, nxt = service.list_bin(req.query.limit, req.query.cursor, mine=req.query.mine)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/recycle-bin/{entity}/{record_id}/restore", "POST", summary="Restore a deleted record", tag=TAG, response=s.BinItem)
def restore(req: ApiRequest, entity: str, record_id: str) -> dict:
    return service.restore(entity, record_id)


@route(bp, "/recycle-bin/{entity}/{record_id}", "DELETE", summary="Purge a deleted record for good (admins; owners their private records)", tag=TAG, status=204)
def purge(req: ApiRequest, entity: str, record_id: str) -> None:
    service.purge(entity, record_id)
