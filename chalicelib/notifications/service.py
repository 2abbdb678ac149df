"""The inbox: deliver (exactly once per notification id), list, unread count, mark read."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, ids
from ..core.errors import NotFound
from ..core.observability import metric
from ..db import keys, query, tx
from ..db.base import Item
from ..messages import mailbox
from .models import Notification, UnreadCount


def _inbox(tenant_id: str, user_id: str) -> str:
    return keys.k(tenant_id, "INBOX", user_id)


class _Duplicate(Exception):
    pass


def deliver(tenant_id: str, user_id: str, kind: str, title: dict[str, str], *, body: dict[str, str] | None = None,
            link: dict[str, Any] | None = None, source: str | None = None, occurred_at: datetime | None = None) -> bool:
    """Put a notification in a user's inbox. With `source` (e.g. "reminder:<id>:<time>") the
    id is derived from it (and `occurred_at`, e.g. the reminder's due time), so delivering
    the same thing twice is a no-op. Ids sort by time either way. True if new."""
    at = clock.now_iso()
    when = occurred_at or clock.now()
    nid = ids.derived_id(int(when.timestamp() * 1000), source) if source else ids.new_id()
    inbox = _inbox(tenant_id, user_id)
    n = Notification(pk=inbox, sk=f"N#{nid}", tenant_id=tenant_id, id=nid, user_id=user_id, kind=kind, title=title,
                     body=body, link=link, created_at=at, gsi1pk=f"{inbox}#UNREAD", gsi1sk=at)
    counter = UnreadCount(pk=inbox, sk="#COUNT")
    try:
        tx.write([tx.put(n, condition=Notification.pk.does_not_exist(), on_conflict=_Duplicate),
                  tx.update(counter, [UnreadCount.count.add(1), UnreadCount.tenant_id.set(tenant_id), UnreadCount.type.set(UnreadCount)]),
                  mailbox.bump_op(tenant_id, user_id)])  # an open client's long-poll hears of it
    except _Duplicate:
        return False
    metric("notifications.delivered")
    return True


def _out(n: Notification, locale: str) -> dict[str, Any]:
    pick = lambda d: (d or {}).get(locale) or next(iter((d or {}).values()), None)  # noqa: E731
    return {"id": n.id, "kind": n.kind, "title": pick(n.title), "body": pick(n.body) if n.body else None, "link": n.link,
            "created_at": n.created_at, "read_at": n.read_at}


def inbox(unread: bool, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    ctx = context.current()
    box = _inbox(ctx.tenant_id, ctx.user_id)
    if unread:
        items, nxt = query.page(Notification, f"{box}#UNREAD", index="gsi1", limit=limit, cursor=cursor)
    else:
        items, nxt = query.page(Notification, box, limit=limit, cursor=cursor, range_condition=Notification.sk.startswith("N#"))
    return [_out(n, ctx.locale) for n in items if isinstance(n, Notification)], nxt


def unread_count() -> int:
    ctx = context.current()
    try:
        return max(0, int(UnreadCount.get(_inbox(ctx.tenant_id, ctx.user_id), "#COUNT").count))
    except DoesNotExist:
        return 0


def _mark(n: Notification) -> bool:
    if n.read_at:
        return False
    inbox = n.pk
    n.read_at = clock.now_iso()
    n.gsi1pk = None
    n.gsi1sk = None
    try:
        tx.write([tx.put(n, condition=Notification.read_at.does_not_exist(), on_conflict=_Duplicate),
                  tx.update(UnreadCount(pk=inbox, sk="#COUNT"), [UnreadCount.count.add(-1)])])
    except _Duplicate:
        return False  # marked read concurrently: counted once
    return True


def mark_read(notification_id: str) -> dict[str, Any]:
    ctx = context.current()
    try:
        n = Notification.get(_inbox(ctx.tenant_id, ctx.user_id), f"N#{notification_id}")
    except DoesNotExist:
        raise NotFound("entity.notification") from None
    _mark(n)
    return _out(n, ctx.locale)


def mark_all_read() -> int:
    ctx = context.current()
    box = _inbox(ctx.tenant_id, ctx.user_id)
    marked = 0
    for n in Item.gsi1.query(f"{box}#UNREAD"):
        if isinstance(n, Notification):
            marked += _mark(n)
    return marked
