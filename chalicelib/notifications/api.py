"""HTTP routes of the notification inbox (内部消息)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "notifications"


@route(bp, "/notifications", summary="My notifications, newest first (?unread=true for unread only)", tag=TAG,
       query=s.InboxQuery, response=s.NotificationPage)
def inbox(req: ApiRequest) -> dict:
    items, nxt = service.inbox(req.query.unread, req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/notifications/unread-count", summary="Number of unread notifications", tag=TAG, response=s.UnreadOut)
def unread_count(req: ApiRequest) -> dict:
    return {"unread": service.unread_count()}


@route(bp, "/notifications/{notification_id}/read", "POST", summary="Mark one notification read", tag=TAG, response=s.NotificationOut)
def mark_read(req: ApiRequest, notification_id: str) -> dict:
    return service.mark_read(notification_id)


@route(bp, "/notifications/read-all", "POST", summary="Mark every notification read", tag=TAG, response=s.ReadAllOut)
def mark_all_read(req: ApiRequest) -> dict:
    return {"marked": service.mark_all_read()}
