"""Comments (评论) on any record whose type switches them on (EntityDef.features.comments).

Who may do what (one rule for every type):
- reading a record's comments, and commenting, need read access to the record: commenting is
  taking part in a conversation, not editing the record (a task's participant reads and comments);
- a comment is deleted by its author, or by an administrator of the type's records (a super
  administrator, or whoever may delete every record of the type: scope 全部); deleted comments are gone from the
  list and the timeline (the item stays, marked, for the audit trail).
Comments are plain text: stored and served exactly as written, never turned into HTML (a client
renders them as text).

@mentions: the users named in `mentions` (ids) and those written as `@姓名` in the text (an active
user of the tenant with that exact name; the longest name wins). Each mentioned user who may read the
record gets an inbox notification (once per comment, whatever retries); one who may not is not told
— neither of the record nor of the comment — and the response lists them under `not_notified`, so
the author knows the mention reached nobody.
"""
from __future__ import annotations

import re
from typing import Any

from ..core import clock, i18n, ids
from ..core.errors import Forbidden, NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import ALL_OWNERS, Principal
from ..db import query, tx
from ..db.base import plain
from ..engine import fieldtypes, store, visibility
from ..engine.definition import EntityDef
from ..notifications import service as notifications
from ..org import service as org
from .models import Comment

KIND = "mention"  # the notification kind
MAX_BODY = 5000
MAX_MENTIONS = 20
_AT = re.compile(r"@(\S{1,40})")


def _record(d: EntityDef, record_id: str) -> tuple[Principal, store.EntityRecord]:
    if not d.features.comments:
        raise NotFound(d.name_key)
    from ..engine import service as engine  # the engine imports this package's model for its timeline

    p = org.principal()
    return p, engine.load(d, p, record_id, "read")


def out(c: Comment) -> dict[str, Any]:
    return {"id": c.id, "body": c.body, "author_id": c.author_id, "mentions": list(c.mentions or []),
            "created_at": c.created_at}


def list_comments(d: EntityDef, record_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """A record's comments, oldest first (a conversation reads down)."""
    p, rec = _record(d, record_id)
    items, nxt = query.page(Comment, Comment.partition(p.tenant_id, d.entity, rec.id), limit=limit, cursor=cursor,
                            newest_first=False)
    return {"items": [out(c) for c in items if isinstance(c, Comment) and not c.deleted_at], "next_cursor": nxt}


def mentioned(p: Principal, body: str, explicit: list[str]) -> list[str]:
    """The users a comment mentions: explicit ids (each must be a user of the tenant) and @姓名 in the text."""
    bad = [i for i, u in enumerate(explicit) if u not in p.org.users]
    if bad:
        raise ValidationFailed(details=[fieldtypes.error(f"mentions.{i}", "not_found", "field.user") for i in bad])
    by_name: dict[str, str] = {}
    for u in org.load(p.tenant_id).users.values():
        if u.status == "active" and u.name:
            by_name.setdefault(u.name, u.id)
    found: list[str] = list(explicit)
    for m in _AT.finditer(body):
        word = m.group(1)
        names = [n for n in by_name if word.startswith(n)]
        if names:
            found.append(by_name[max(names, key=len)])
    return list(dict.fromkeys(found))


def may_read(d: EntityDef, rec: store.EntityRecord, user_id: str) -> bool:
    """Whether `user_id` may read the record (their own roles, scope and the record team)."""
    who = visibility.reader(rec.tenant_id, user_id)
    return who.can(d.module, "read") and who.record_access(d.module, rec.owner_id, rec.team, clock.now_iso()) is not None


def add(d: EntityDef, record_id: str, body: str, mentions: list[str]) -> dict[str, Any]:
    """A comment by the caller; the mentioned users who may read the record are notified."""
    p, rec = _record(d, record_id)
    text = body.strip()
    if not text:
        raise ValidationFailed(details=[fieldtypes.error("body", "required", "field.required", label="body")])
    users = [u for u in mentioned(p, text, mentions) if u != p.user_id]
    if len(users) > MAX_MENTIONS:
        raise ValidationFailed(details=[fieldtypes.error("mentions", "length", "field.max_items", max=MAX_MENTIONS)])
    now = clock.now_iso()
    cid = ids.new_id()
    readers = [u for u in users if may_read(d, rec, u)]
    c = Comment(pk=Comment.partition(p.tenant_id, d.entity, rec.id), sk=f"C#{cid}", tenant_id=p.tenant_id, id=cid,
                entity=d.entity, record_id=rec.id, author_id=p.user_id, body=text, mentions=users, notified=readers,
                created_at=now, gsi3pk=store.parent_partition(p.tenant_id, d.entity, rec.id), gsi3sk=f"COMMENT#{now}#{cid}")
    tx.write([tx.put(c)])
    metric("comments.created")
    author = org.user_name(p.tenant_id, p.user_id)
    for u in readers:
        _notify_mention(d, rec, c, u, author)
    return {**out(c), "notified": readers, "not_notified": [u for u in users if u not in readers]}


def _notify_mention(d: EntityDef, rec: store.EntityRecord, c: Comment, user_id: str, author: str) -> None:
    who = visibility.reader(rec.tenant_id, user_id)
    value = (rec.data or {}).get(d.title_field)
    title = {loc: i18n.text("notify.comment.mention", loc, name=author,
                            title=visibility.title(who, d, plain(value), loc) or d.label_in(loc)) for loc in i18n.LOCALES}
    excerpt = c.body if len(c.body) <= 200 else c.body[:199] + "…"
    notifications.deliver(rec.tenant_id, user_id, KIND, title, body={loc: excerpt for loc in i18n.LOCALES},
                          link={"entity": d.name, "id": rec.id, "comment_id": c.id}, source=f"mention:{c.id}:{user_id}")


def _moderates(p: Principal, d: EntityDef) -> bool:
    """An administrator of the type's records: a super administrator, or who may delete any of them."""
    return p.is_super or (p.can(d.module, "delete") and p.visible_owners(d.module) is ALL_OWNERS)


def delete(d: EntityDef, record_id: str, comment_id: str) -> None:
    """By its author or an administrator of the type's records (_moderates)."""
    p, rec = _record(d, record_id)
    try:
        c = Comment.get(Comment.partition(p.tenant_id, d.entity, rec.id), f"C#{comment_id}")
    except Comment.DoesNotExist:
        raise NotFound("entity.comment") from None
    if not isinstance(c, Comment) or c.deleted_at:
        raise NotFound("entity.comment")
    if c.author_id != p.user_id and not _moderates(p, d):
        raise Forbidden("RECORD_FORBIDDEN")
    c.deleted_at, c.deleted_by = clock.now_iso(), p.user_id
    c.gsi3pk = c.gsi3sk = None
    tx.write([tx.put(c)])
