"""HTTP routes of the operation log."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "audit"


@route(bp, "/records/{entity}/{record_id}/logs", summary="Operation log of one record (操作记录), newest first", tag=TAG,
       query=s.RecordLogQuery, response=s.AuditPage)
def record_log(req: ApiRequest, entity: str, record_id: str) -> dict:
    items, nxt = service.record_log(entity, record_id, req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/audit", summary="The tenant's operation and login log (系统日志, admins)", tag=TAG, query=s.AuditQuery, response=s.AuditPage)
def tenant_log(req: ApiRequest) -> dict:
    q = req.query
    items, nxt = service.tenant_log(q.month, q.user_id, q.limit, q.cursor)
    return {"items": items, "next_cursor": nxt}
