"""Conversations between users (内部消息): direct (one per pair) and groups, messages with
idempotency keys, read markers, unread counts per conversation and in total, and the pull
endpoint's long-poll (see `poll`). Notifications stay in chalicelib/notifications; the counts
and the poll include them.

A message is one transaction: the message, the conversation's last activity, and for each active
member their list position (gsi1sk), unread count and mailbox version. So a group has at most
MAX_MEMBERS members (DynamoDB takes 100 writes in a transaction).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, i18n, ids
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed, invalid
from ..core.observability import metric
from ..core.settings import get_settings
from ..db import idempotency, keys, query, tx
from ..db.base import Item
from ..files import service as files
from ..org import service as org
from . import mailbox
from .models import Conversation, Member, Message

MAX_MEMBERS = 40
MAX_FILES = 5
PREVIEW = 60
ENTITY = "CONVERSATION"


class _Conflict(Exception):
    pass


# ---- keys -------------------------------------------------------------------------------------
def _pk(tenant_id: str, cid: str) -> str:
    return keys.k(tenant_id, "CONV", cid)


def _list_pk(tenant_id: str, user_id: str) -> str:
    return keys.k(tenant_id, "CONVS", user_id)


def direct_id(a: str, b: str) -> str:
    """The one conversation of a pair of users, whoever opens it."""
    return "d" + hashlib.sha256("|".join(sorted((a, b))).encode()).hexdigest()[:25]


def _msg_id() -> str:
    """Time-ordered by the product clock (a moved clock in tests moves message order with it)."""
    return ids.derived_id(int(clock.now().timestamp() * 1000), ids.new_id())


# ---- reading -------------------------------------------------------------------------------------
def _conversation(tenant_id: str, cid: str) -> Conversation:
    try:
        c = Conversation.get(_pk(tenant_id, cid), "#")
    except DoesNotExist:
        raise NotFound("entity.conversation") from None
    if not isinstance(c, Conversation):
        raise NotFound("entity.conversation")
    return c


def _member(tenant_id: str, cid: str, user_id: str) -> Member | None:
    try:
        m = Member.get(_pk(tenant_id, cid), f"M#{user_id}", consistent_read=True)
    except DoesNotExist:
        return None
    return m if isinstance(m, Member) else None


def _mine(cid: str) -> tuple[Conversation, Member]:
    """The conversation, when the caller is an active member; else 404 (whether it exists is not told)."""
    ctx = context.current()
    if len(cid) > 40:
        raise NotFound("entity.conversation")
    m = _member(ctx.tenant_id, cid, ctx.user_id)
    if m is None or m.left_at:
        raise NotFound("entity.conversation")
    return _conversation(ctx.tenant_id, cid), m


def file_ref(cid: str, message_id: str) -> str:
    """What a file sent in a message is linked to: the message (<conversation id>/<message id>)."""
    return f"{cid}/{message_id}"


def require_reader(ref: str) -> None:
    """A file sent in a conversation is readable by the members who may read its message: those who
    were members when it was sent (the manifest's reader check; 404 otherwise). A link of a file
    sent before files were linked per message names the conversation only: the members from its
    start read it (anyone added later might not have been there)."""
    cid, _, message_id = ref.partition("/")
    c, m = _mine(cid)
    if message_id:
        if f"MSG#{message_id}" < _first_sk(m):
            raise NotFound("entity.file")
    elif m.joined_at > c.created_at:
        raise NotFound("entity.file")


def _first_sk(m: Member) -> str:
    """The sort key from which a member reads: the messages sent since they (last) joined — message
    ids start with their time, so this is one key condition."""
    ms = int(clock.parse_iso(m.joined_at).timestamp() * 1000)
    return f"MSG#{ids.derived_id(ms, '')[:10]}"


def _readable(m: Member) -> Any:
    return Message.sk.between(_first_sk(m), "MSG#~")


def _out(c: Conversation, m: Member | None) -> dict[str, Any]:
    last = c.last_message_id if m is None or f"MSG#{c.last_message_id}" >= _first_sk(m) else None
    return {"id": c.id, "kind": c.kind, "name": c.name, "member_ids": list(c.member_ids or []), "admin_ids": list(c.admin_ids or []),
            "created_at": c.created_at, "last_message_at": c.last_message_at if last else None,
            "last_message_preview": c.last_preview if last else None, "last_sender_id": c.last_sender_id if last else None,
            "unread": max(0, int(m.unread or 0)) if m else 0, "last_read_id": m.last_read_id if m else None}


def _msg_out(msg: Message) -> dict[str, Any]:
    text = msg.text
    if msg.kind == "system" and msg.event:
        text = system_text(msg.tenant_id, msg.event, list(msg.user_ids or []), context.locale())
    return {"id": msg.id, "conversation_id": msg.conversation_id, "sender_id": msg.sender_id, "text": text,
            "file_ids": list(msg.file_ids or []), "kind": msg.kind, "event": msg.event, "user_ids": list(msg.user_ids or []),
            "created_at": msg.created_at}


def system_text(tenant_id: str, event: str, user_ids: list[str], locale: str) -> str:
    """A group's system line in `locale`: "王经理、李娜 加入了群聊" / "王经理, 李娜 joined"."""
    people = org.load(tenant_id).users
    names = [people[u].name if u in people else u for u in user_ids]
    return i18n.text(f"messages.system.{event}", locale, names=(", " if locale == "en" else "、").join(names))


def get(cid: str) -> dict[str, Any]:
    c, m = _mine(cid)
    return _out(c, m)


def list_mine(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """My conversations, the latest activity first (one Query on gsi1 + one BatchGet)."""
    ctx = context.current()
    members, nxt = query.page(Member, _list_pk(ctx.tenant_id, ctx.user_id), index="gsi1", limit=limit, cursor=cursor)
    members = [m for m in members if isinstance(m, Member)]
    convs = {c.id: c for c in Conversation.batch_get([(_pk(ctx.tenant_id, m.conversation_id), "#") for m in members])
             if isinstance(c, Conversation)}
    return [_out(convs[m.conversation_id], m) for m in members if m.conversation_id in convs], nxt


def messages(cid: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The conversation's messages the caller may read (those sent since they joined), newest first."""
    ctx = context.current()
    _, m = _mine(cid)
    items, nxt = query.page(Message, _pk(ctx.tenant_id, cid), limit=limit, cursor=cursor, range_condition=_readable(m))
    return [_msg_out(m) for m in items if isinstance(m, Message)], nxt


# ---- members -------------------------------------------------------------------------------------
def _check_users(user_ids: list[str], field: str) -> list[str]:
    ctx = context.current()
    data = org.principal().org
    wanted = list(dict.fromkeys(user_ids))
    for i, u in enumerate(wanted):
        user = data.users.get(u)
        if user is None or not user.active:
            raise invalid(f"{field}[{i}]", "user", "field.user")
    if ctx.user_id in wanted:
        wanted.remove(ctx.user_id)
    return wanted


def _member_item(tenant_id: str, cid: str, user_id: str, at: str) -> Member:
    return Member(pk=_pk(tenant_id, cid), sk=f"M#{user_id}", tenant_id=tenant_id, conversation_id=cid, user_id=user_id,
                  joined_at=at, unread=0, gsi1pk=_list_pk(tenant_id, user_id), gsi1sk=f"{at}#{cid}")


def open_direct(other_id: str) -> dict[str, Any]:
    """The direct conversation with another user, made on first use (idempotent: one per pair)."""
    ctx = context.current()
    if ctx.is_system:
        raise Forbidden("SYSTEM_NO_USER")
    if other_id == ctx.user_id:
        raise invalid("user_id", "self", "messages.field.self")
    _check_users([other_id], "user_id")
    cid = direct_id(ctx.user_id, other_id)
    try:
        c = _conversation(ctx.tenant_id, cid)
    except NotFound:
        now = clock.now_iso()
        c = Conversation(pk=_pk(ctx.tenant_id, cid), sk="#", tenant_id=ctx.tenant_id, id=cid, kind="direct",
                         member_ids=sorted((ctx.user_id, other_id)), admin_ids=[], created_by=ctx.user_id, created_at=now,
                         version=1)
        try:
            tx.write([tx.put(c, condition=Conversation.pk.does_not_exist(), on_conflict=_Conflict),
                      *[tx.put(_member_item(ctx.tenant_id, cid, u, now)) for u in c.member_ids]])
        except _Conflict:
            c = _conversation(ctx.tenant_id, cid)  # opened by the other side at the same moment
        metric("messages.conversation.created")
    return _out(c, _member(ctx.tenant_id, cid, ctx.user_id))


def create_group(name: str, member_ids: list[str]) -> dict[str, Any]:
    ctx = context.current()
    if ctx.is_system:
        raise Forbidden("SYSTEM_NO_USER")
    others = _check_users(member_ids, "member_ids")
    if len(others) + 1 > MAX_MEMBERS:
        raise invalid("member_ids", "length", "field.max_items", max=MAX_MEMBERS - 1)
    cid, now = ids.new_id(), clock.now_iso()
    everyone = [ctx.user_id, *others]
    c = Conversation(pk=_pk(ctx.tenant_id, cid), sk="#", tenant_id=ctx.tenant_id, id=cid, kind="group", name=name,
                     member_ids=everyone, admin_ids=[ctx.user_id], created_by=ctx.user_id, created_at=now, version=1)
    tx.write([tx.put(c), *[tx.put(_member_item(ctx.tenant_id, cid, u, now)) for u in everyone],
              *[mailbox.bump_op(ctx.tenant_id, u) for u in others]])
    metric("messages.conversation.created")
    return _out(c, _member(ctx.tenant_id, cid, ctx.user_id))


def _group_as_admin(cid: str) -> tuple[Conversation, Member]:
    c, m = _mine(cid)
    if c.kind != "group":
        raise ValidationFailed("INVALID_STATE", reason="messages.reason.direct")
    if context.current().user_id not in (c.admin_ids or []):
        raise Forbidden(module="messages", action="manage")
    return c, m


def _save_conversation(c: Conversation, extra: list[tx.Op]) -> None:
    expected = int(c.version or 0)
    c.version = expected + 1
    try:
        tx.write([tx.put(c, condition=Conversation.version == expected, on_conflict=_Conflict), *extra])
    except _Conflict:
        raise Conflict("VERSION_CONFLICT") from None


def add_members(cid: str, user_ids: list[str]) -> dict[str, Any]:
    ctx = context.current()
    c, me = _group_as_admin(cid)
    new = [u for u in _check_users(user_ids, "user_ids") if u not in (c.member_ids or [])]
    if len(c.member_ids or []) + len(new) > MAX_MEMBERS:
        raise invalid("user_ids", "length", "field.max_items", max=MAX_MEMBERS - len(c.member_ids or []))
    if not new:
        return _out(c, me)
    now = clock.now_iso()
    stay = list(c.member_ids or [])
    c.member_ids = [*stay, *new]
    # a member who comes back starts reading from now on (joined_at), as a new one does: the line
    # saying they joined is the first thing they read
    line = _system_line(c, "joined", new)
    _save_conversation(c, [*[tx.put(_member_item(ctx.tenant_id, cid, u, now)) for u in new],
                           *[mailbox.bump_op(ctx.tenant_id, u) for u in new], *_system_ops(line, stay)])
    return _out(c, me)


def _system_line(c: Conversation, event: str, user_ids: list[str]) -> Message:
    ctx = context.current()
    mid = _msg_id()
    return Message(pk=_pk(ctx.tenant_id, c.id), sk=f"MSG#{mid}", tenant_id=ctx.tenant_id, id=mid, conversation_id=c.id,
                   sender_id=ctx.user_id, text=system_text(ctx.tenant_id, event, user_ids, i18n.DEFAULT_LOCALE), kind="system",
                   event=event, user_ids=user_ids, created_at=clock.now_iso())


def _system_ops(line: Message, members: list[str]) -> list[tx.Op]:
    """The line, and for each of `members` (active) their list position and mailbox version (the
    poll brings it), in the transaction that changes the members; it is nobody's unread message."""
    t, cid = line.tenant_id, line.conversation_id
    ops = [tx.put(line, condition=Message.pk.does_not_exist())]
    for u in members:
        ops.append(tx.update(Member(pk=_pk(t, cid), sk=f"M#{u}"), [Member.gsi1sk.set(f"{line.created_at}#{cid}")],
                             condition=Member.left_at.does_not_exist()))
        ops.append(mailbox.bump_op(t, u))
    return ops


def _drop(c: Conversation, user_id: str, event: str) -> None:
    ctx = context.current()
    m = _member(ctx.tenant_id, c.id, user_id)
    if m is None or m.left_at or user_id not in (c.member_ids or []):
        raise NotFound("entity.user")
    c.member_ids = [u for u in c.member_ids if u != user_id]
    c.admin_ids = [u for u in (c.admin_ids or []) if u != user_id]
    if not c.admin_ids and c.member_ids:
        c.admin_ids = [c.member_ids[0]]  # a group keeps an administrator
    unread = int(m.unread or 0)
    m.left_at, m.unread, m.gsi1pk, m.gsi1sk = clock.now_iso(), 0, None, None
    line = _system_line(c, event, [user_id])
    _save_conversation(c, [tx.put(m), mailbox.bump_op(ctx.tenant_id, user_id, -unread), *_system_ops(line, list(c.member_ids))])


def remove_member(cid: str, user_id: str) -> dict[str, Any]:
    ctx = context.current()
    if user_id == ctx.user_id:
        return leave(cid)
    c, me = _group_as_admin(cid)
    _drop(c, user_id, "removed")
    return _out(c, me)


def leave(cid: str) -> dict[str, Any]:
    ctx = context.current()
    c, m = _mine(cid)
    if c.kind != "group":
        raise ValidationFailed("INVALID_STATE", reason="messages.reason.direct")
    _drop(c, ctx.user_id, "left")
    return {**_out(c, None), "left": True}


# ---- sending -------------------------------------------------------------------------------------
def send(cid: str, text: str, file_ids: list[str], idempotency_key: str | None) -> dict[str, Any]:
    ctx = context.current()
    c, _ = _mine(cid)
    text = text.strip()
    if not text and not file_ids:
        raise invalid("text", "required", "messages.field.empty")
    if len(file_ids) > MAX_FILES:
        raise invalid("file_ids", "length", "field.max_items", max=MAX_FILES)
    for i, fid in enumerate(dict.fromkeys(file_ids)):
        if files.usable(ctx.tenant_id, ctx.user_id, fid) is None:
            raise invalid(f"file_ids[{i}]", "file", "field.file")
    body = {"conversation_id": cid, "text": text, "file_ids": file_ids}

    def do_send(extra: list[tx.Op], bind: Callable[[str], None]) -> dict[str, Any]:
        mid, now = _msg_id(), clock.now_iso()
        bind(mid)
        msg = Message(pk=_pk(ctx.tenant_id, cid), sk=f"MSG#{mid}", tenant_id=ctx.tenant_id, id=mid, conversation_id=cid,
                      sender_id=ctx.user_id, text=text, file_ids=list(dict.fromkeys(file_ids)) or None, created_at=now)
        tx.write([*extra, *_message_ops(c, msg),
                  *files.link_ops(ctx.tenant_id, ENTITY, file_ref(cid, mid), [], msg.file_ids or [], ctx.user_id)])
        metric("messages.message.sent")
        return _msg_out(msg)

    def replay(mid: str) -> dict[str, Any]:
        return _msg_out(Message.get(_pk(ctx.tenant_id, cid), f"MSG#{mid}"))

    return idempotency.run(ctx.tenant_id, ctx.user_id, idempotency_key, body, "MESSAGE", do_send, replay)


def _message_ops(c: Conversation, msg: Message) -> list[tx.Op]:
    """The message, the conversation's last activity and every active member's list position,
    unread count and mailbox, together (a member added or removed meanwhile fails the version check)."""
    t, cid = msg.tenant_id, msg.conversation_id
    ops = [tx.put(msg, condition=Message.pk.does_not_exist()),
           tx.update(Conversation(pk=_pk(t, cid), sk="#"),
                     [Conversation.last_message_id.set(msg.id), Conversation.last_message_at.set(msg.created_at),
                      Conversation.last_preview.set(msg.text[:PREVIEW]), Conversation.last_sender_id.set(msg.sender_id)],
                     condition=Conversation.version == int(c.version or 0), on_conflict=lambda: Conflict("VERSION_CONFLICT"))]
    for u in c.member_ids or []:
        mine = u == msg.sender_id
        actions = [Member.gsi1sk.set(f"{msg.created_at}#{cid}")]
        actions.append(Member.last_read_id.set(msg.id) if mine else Member.unread.add(1))
        ops.append(tx.update(Member(pk=_pk(t, cid), sk=f"M#{u}"), actions, condition=Member.left_at.does_not_exist()))
        ops.append(mailbox.bump_op(t, u, 0 if mine else 1))
    return ops


# ---- read marks and counts -------------------------------------------------------------------------
def mark_read(cid: str, message_id: str | None) -> dict[str, Any]:
    """Everything up to `message_id` (default: the latest) is read; the unread count is what others
    wrote after it. Moving the marker back is ignored. Retries when a message arrives meanwhile."""
    ctx = context.current()
    for _attempt in range(5):
        c, m = _mine(cid)
        upto = message_id or c.last_message_id
        if upto is None or (m.last_read_id and upto <= m.last_read_id):
            return _out(c, m)
        if message_id and (len(message_id) != 26 or upto > (c.last_message_id or "")):
            raise invalid("message_id", "unknown", "messages.field.message")
        newer = Message.query(_pk(ctx.tenant_id, cid), Message.sk > f"MSG#{upto}", consistent_read=True,
                              filter_condition=Message.sender_id != ctx.user_id)
        first = _first_sk(m)
        unread = sum(1 for x in newer if isinstance(x, Message) and x.sk >= first and x.kind != "system")
        before = int(m.unread or 0)
        try:
            tx.write([tx.update(Member(pk=m.pk, sk=m.sk), [Member.last_read_id.set(upto), Member.unread.set(unread)],
                                condition=(Member.unread == before) & Member.left_at.does_not_exist(), on_conflict=_Conflict),
                      mailbox.bump_op(ctx.tenant_id, ctx.user_id, unread - before)])
        except _Conflict:
            continue
        m.last_read_id, m.unread = upto, unread
        return _out(c, m)
    raise Conflict("VERSION_CONFLICT")


def counts() -> dict[str, Any]:
    """Unread messages per conversation (those with any) and in total, unread notifications, and
    the sum: one GetItem for the totals, one Query of my conversations for the per-conversation figures."""
    from ..notifications import service as notifications

    ctx = context.current()
    version, unread_messages = mailbox.read(ctx.tenant_id, ctx.user_id, consistent=True)
    notes = notifications.unread_count()
    per = [{"conversation_id": m.conversation_id, "unread": int(m.unread)}
           for m in Item.gsi1.query(_list_pk(ctx.tenant_id, ctx.user_id), filter_condition=Member.unread > 0,
                                      scan_index_forward=False)
           if isinstance(m, Member)]
    return {"messages": unread_messages, "notifications": notes, "total": unread_messages + notes,
            "conversations": per, "version": version}


# ---- pull delivery -------------------------------------------------------------------------------
def sleep(seconds: float) -> None:
    """How the poll waits between looks at the mailbox (tests replace it with a clock move)."""
    time.sleep(seconds)


OVERLAP_MS = 2000  # items this much older than the cursor come again: a write that committed late is not missed


def _cursor(version: int, at: str) -> str:
    return f"{version}.{int(clock.parse_iso(at).timestamp() * 1000)}"


def _parse(since: str | None) -> tuple[int, int] | None:
    if not since:
        return None
    try:
        v, ms = since.split(".", 1)
        version, at = int(v), int(ms)
    except ValueError:
        raise invalid("since", "format", "messages.field.cursor") from None
    if version < 0 or not 0 <= at < 10**13:  # a moment this side of the year 2286
        raise invalid("since", "format", "messages.field.cursor")
    return version, at


def poll(since: str | None, wait: float) -> dict[str, Any]:
    """Long-poll the caller's mailbox: answer at once when its version moved since the cursor (or
    without a cursor), else look again every `messages_poll_interval_seconds` until `wait` seconds
    passed. The answer: new messages of my conversations and new notifications since the cursor
    (ids are stable: a client keeps the ones it has not seen), the counts, and the next cursor."""
    ctx = context.current()
    settings = get_settings()
    wait = max(0.0, min(float(wait), float(settings.messages_poll_max_wait_seconds)))
    seen = _parse(since)
    deadline = clock.now().timestamp() + wait
    while True:
        version, _ = mailbox.read(ctx.tenant_id, ctx.user_id, consistent=True)
        now = clock.now_iso()
        if seen is None or version != seen[0] or clock.now().timestamp() >= deadline:
            break
        sleep(min(settings.messages_poll_interval_seconds, max(0.0, deadline - clock.now().timestamp())))
    changed = seen is None or version != seen[0]
    out: dict[str, Any] = {"changed": changed, "messages": [], "notifications": [], "cursor": _cursor(version, now)}
    if seen is not None and changed:
        out["messages"], out["notifications"] = _since(seen[1] - OVERLAP_MS)
    out["counts"] = counts()
    return out


def _since(ms: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from ..notifications import service as notifications

    ctx = context.current()
    at = clock.iso(datetime.fromtimestamp(ms / 1000, UTC))
    lower = ids.derived_id(ms, "")[:10]  # the id's time part: messages from `ms` on sort after it
    found: list[dict[str, Any]] = []
    for m in Item.gsi1.query(_list_pk(ctx.tenant_id, ctx.user_id), Member.gsi1sk > at, scan_index_forward=False, limit=50):
        if not isinstance(m, Member):
            continue
        for msg in Message.query(m.pk, Message.sk.between(max(f"MSG#{lower}", _first_sk(m)), "MSG#~"), scan_index_forward=False,
                                 limit=50):
            if isinstance(msg, Message) and msg.created_at >= at:
                found.append(_msg_out(msg))
    found.sort(key=lambda x: x["id"])
    notes = [n for n in notifications.inbox(False, 50, None)[0] if n["created_at"] >= at]
    return found, notes
