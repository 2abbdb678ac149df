"""Announcements' own rules: columns with publish rights, the audience, rich text, read receipts,
who has and has not read, and the notification to the audience on publish (a background job)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, i18n, ids
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed, detail, invalid
from ..core.observability import metric
from ..core.pagination import decode, encode, fingerprint
from ..core.permissions import OrgSnapshot, Principal
from ..db import keys, tx
from ..db.base import plain
from ..engine.definition import Derivation, WriteContext
from ..org import service as org
from . import sanitize
from .models import Column, Receipt

MODULE = "announcements"
JOB = "announcement_notify"
NOTIFY_KIND = "announcement"
DEFAULT_COLUMNS = (("news", "新闻", ("admin", "sales_manager")), ("notice", "公告", ("admin",)), ("rules", "规章制度", ("admin",)))


class _Exists(Exception):
    pass


# ---- who is in an audience -------------------------------------------------------------------------
def _departments_up(snapshot: OrgSnapshot, department_id: str | None) -> list[str]:
    out: list[str] = []
    while department_id and department_id not in out:
        out.append(department_id)
        department_id = snapshot.departments.get(department_id)
    return out


def keys_of(snapshot: OrgSnapshot, user_id: str) -> tuple[str, ...]:
    """A user's audience keys: everyone, their department and the ones above it, their roles, themselves."""
    u = snapshot.users.get(user_id)
    if u is None:
        return ()
    return ("all", f"user:{user_id}", *(f"dept:{d}" for d in _departments_up(snapshot, u.department_id)),
            *(f"role:{r}" for r in u.role_ids))


def reader_keys(p: Principal) -> tuple[str, ...] | None:
    """EntityDef.audience: the managers of announcements see every one; anyone else their audience's."""
    if p.can(MODULE, "manage"):
        return None
    return keys_of(p.org, p.user_id)


def audience_of(snapshot: OrgSnapshot, record_keys: list[str]) -> list[str]:
    """The active users an announcement reaches (its author is not counted unless in the audience)."""
    wanted = {k for k in record_keys if not k.startswith("user:")}
    if not wanted:
        return []
    return sorted(u.id for u in snapshot.users.values() if u.active and wanted & set(keys_of(snapshot, u.id)))


# ---- columns -------------------------------------------------------------------------------------------
def _col_pk(tenant_id: str) -> str:
    return keys.k(tenant_id, "ANNCOL")


def _col_out(c: Column) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "publisher_roles": list(c.publisher_roles or []),
            "publisher_user_ids": list(c.publisher_user_ids or []), "sort_order": int(c.sort_order or 0), "version": int(c.version)}


def _column(tenant_id: str, column_id: str) -> Column | None:
    if not column_id or len(column_id) > 40:
        return None
    try:
        c = Column.get(_col_pk(tenant_id), f"C#{column_id}")
    except DoesNotExist:
        return None
    return c if isinstance(c, Column) else None


def may_publish(p: Principal, c: Column) -> bool:
    if p.can(MODULE, "manage"):
        return True
    u = p.org.users.get(p.user_id)
    return p.user_id in (c.publisher_user_ids or []) or bool(u and set(u.role_ids) & set(c.publisher_roles or []))


def list_columns() -> list[dict[str, Any]]:
    p = org.principal()
    p.require(MODULE, "read")
    cols = [c for c in Column.query(_col_pk(p.tenant_id)) if isinstance(c, Column)]
    return [{**_col_out(c), "may_publish": may_publish(p, c)} for c in sorted(cols, key=lambda c: (c.sort_order, c.id))]


def _check_publishers(p: Principal, body: Mapping[str, Any]) -> None:
    for i, r in enumerate(body.get("publisher_roles") or []):
        if r not in p.org.roles:
            raise invalid(f"publisher_roles[{i}]", "not_found", "announcements.field.role")
    for i, u in enumerate(body.get("publisher_user_ids") or []):
        if u not in p.org.users:
            raise invalid(f"publisher_user_ids[{i}]", "not_found", "field.user")


def create_column(body: dict[str, Any]) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    _check_publishers(p, body)
    cid = body.get("id") or ids.new_id().lower()
    c = Column(pk=_col_pk(p.tenant_id), sk=f"C#{cid}", tenant_id=p.tenant_id, id=cid, name=body["name"],
               publisher_roles=list(dict.fromkeys(body.get("publisher_roles") or [])),
               publisher_user_ids=list(dict.fromkeys(body.get("publisher_user_ids") or [])),
               sort_order=body.get("sort_order") or 0, version=1, created_at=clock.now_iso())
    try:
        tx.write([tx.put(c, condition=Column.pk.does_not_exist(), on_conflict=_Exists)])
    except _Exists:
        raise Conflict("ANNOUNCEMENT_COLUMN_EXISTS", id=cid) from None
    return _col_out(c)


def update_column(column_id: str, changes: dict[str, Any], expected: int) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    c = _column(p.tenant_id, column_id)
    if c is None:
        raise NotFound("entity.announcement_column")
    _check_publishers(p, changes)
    for k in ("name", "publisher_roles", "publisher_user_ids", "sort_order"):
        if k in changes and changes[k] is not None:
            setattr(c, k, changes[k])
    c.version = expected + 1
    try:
        tx.write([tx.put(c, condition=Column.version == expected, on_conflict=lambda: Conflict("VERSION_CONFLICT"))])
    except Conflict:
        raise
    return _col_out(c)


def delete_column(column_id: str) -> None:
    p = org.principal()
    p.require(MODULE, "manage")
    c = _column(p.tenant_id, column_id)
    if c is None:
        raise NotFound("entity.announcement_column")
    c.delete()


def seed(tenant_id: str, actor: str) -> None:
    """A new tenant's columns: 新闻 (administrators and sales managers publish), 公告 and 规章制度 (administrators)."""
    now = clock.now_iso()
    with Column.batch_write() as batch:
        for i, (cid, name, roles) in enumerate(DEFAULT_COLUMNS):
            batch.save(Column(pk=_col_pk(tenant_id), sk=f"C#{cid}", tenant_id=tenant_id, id=cid, name=name,
                              publisher_roles=list(roles), publisher_user_ids=[], sort_order=i, version=1, created_at=now))


# ---- the record type's hooks -------------------------------------------------------------------------
def validate(ctx: WriteContext) -> None:
    p, v = ctx.principal, ctx.values
    if ctx.action == "update" and ctx.record.owner_id != p.user_id and not p.can(MODULE, "manage"):
        raise Forbidden(module=MODULE, action="update")
    if "body" in v:
        v["body"] = sanitize.clean(str(v["body"]))
        if not v["body"].strip():
            raise ValidationFailed(details=[_detail("body", "required", "announcements.field.body")])
    c = _column(p.tenant_id, str(v.get("column") or ""))
    if c is None:
        raise ValidationFailed(details=[_detail("column", "not_found", "announcements.field.column")])
    if not may_publish(p, c):
        raise Forbidden("ANNOUNCEMENT_COLUMN_FORBIDDEN", column=c.name)
    audience = v.get("audience") or "all"
    if audience == "departments":
        depts = v.get("audience_departments") or []
        if not depts:
            raise ValidationFailed(details=[_detail("audience_departments", "required", "announcements.field.departments")])
        for i, d in enumerate(depts):
            if d not in p.org.departments:
                raise ValidationFailed(details=[_detail(f"audience_departments[{i}]", "not_found", "field.department")])
    if audience == "roles":
        roles = v.get("audience_roles") or []
        if not roles:
            raise ValidationFailed(details=[_detail("audience_roles", "required", "announcements.field.roles")])
        for i, r in enumerate(roles):
            if r not in p.org.roles:
                raise ValidationFailed(details=[_detail(f"audience_roles[{i}]", "not_found", "announcements.field.role")])
    expires = v.get("expires_at")
    changed = ctx.action == "create" or plain((ctx.before or {}).get("expires_at")) != plain(expires)
    if expires and changed and str(expires) <= clock.now_iso():
        raise ValidationFailed(details=[_detail("expires_at", "past", "field.future")])


def before_delete(ctx: WriteContext) -> None:
    if ctx.record.owner_id != ctx.principal.user_id and not ctx.principal.can(MODULE, "manage"):
        raise Forbidden(module=MODULE, action="delete")


def _detail(field: str, kind: str, key: str) -> dict[str, Any]:
    return detail(field, kind, key)


def derive(dv: Derivation) -> dict[str, Any]:
    """Who it reaches (audience keys; a draft only its author), when it was published, its list order."""
    data = dv.data
    published = data.get("status") == "published"
    published_at = data.get("published_at") or (clock.now_iso() if published else None)
    found = [f"user:{dv.owner_id}"]
    if published:
        audience = data.get("audience") or "all"
        if audience == "all":
            found.append("all")
        elif audience == "departments":
            found += [f"dept:{d}" for d in data.get("audience_departments") or []]
        elif audience == "roles":
            found += [f"role:{r}" for r in data.get("audience_roles") or []]
    rank = ("1" if data.get("pinned") else "0") + str(published_at or dv.created_at)
    return {"audience_keys": found, "published_at": published_at, "rank": rank}


def after_write(ctx: WriteContext) -> None:
    """Newly published: the audience hears of it through a background job (one write here, whatever its size)."""
    was = (ctx.before or {}).get("status")
    if ctx.values.get("status") == "published" and was != "published":
        from ..jobs import service as jobs

        jobs.create(ctx.principal, JOB, {"announcement_id": ctx.record.id},
                    label=("公告通知", "Announcement notifications"))


# ---- the notification job -------------------------------------------------------------------------------
BATCH = 50


def notify_job(jc: Any) -> bool:
    """Deliver 'new announcement' to each reader of the audience (idempotent per reader: a rerun of a
    chunk delivers nothing twice), in chunks with a checkpoint."""
    from ..engine import store
    from ..notifications import service as notifications
    from .entity import ANNOUNCEMENT

    tenant_id = jc.principal.tenant_id
    aid = jc.job_item.params["announcement_id"]
    try:
        rec = store.get(tenant_id, ANNOUNCEMENT.entity, aid, ANNOUNCEMENT.name_key)
    except NotFound:
        jc.finish({"delivered": 0})
        return True
    data = plain(rec.data or {})
    if data.get("status") != "published":
        jc.finish({"delivered": 0})
        return True
    users = [u for u in audience_of(org.load(tenant_id).snapshot, data.get("audience_keys") or []) if u != rec.owner_id]
    start = int(jc.checkpoint.get("next", 0))
    delivered = int(jc.checkpoint.get("delivered", 0))
    title = {loc: i18n.text("announcements.notify.title", loc, title=data.get("title", "")) for loc in i18n.LOCALES}
    text = sanitize.text_of(str(data.get("body") or ""))
    for i in range(start, len(users), BATCH):
        for u in users[i:i + BATCH]:
            delivered += notifications.deliver(tenant_id, u, NOTIFY_KIND, title, body={"zh-CN": text, "en": text},
                                               link={"entity": "announcement", "id": aid}, source=f"announcement:{aid}",
                                               occurred_at=clock.parse_iso(str(data.get("published_at") or clock.now_iso())))
        jc.save(checkpoint={"next": i + BATCH, "delivered": delivered}, done=min(i + BATCH, len(users)), total=len(users))
        if jc.time_left() <= 0:
            return False
    metric("announcements.notified", delivered)
    jc.finish({"delivered": delivered, "audience": len(users)})
    return True


# ---- read receipts ----------------------------------------------------------------------------------------
def _readable(announcement_id: str) -> tuple[Principal, Any]:
    from ..engine import service as engine
    from .entity import ANNOUNCEMENT

    p = org.principal()
    return p, engine.load(ANNOUNCEMENT, p, announcement_id, "read")


def _receipt_pk(tenant_id: str, announcement_id: str) -> str:
    return keys.k(tenant_id, "ANNREAD", announcement_id)


def mark_read(announcement_id: str) -> dict[str, Any]:
    """I have read it (idempotent: the first time stays)."""
    p, rec = _readable(announcement_id)
    if (rec.data or {}).get("status") != "published":
        raise ValidationFailed("INVALID_STATE", reason="announcements.reason.draft")
    r = Receipt(pk=_receipt_pk(p.tenant_id, rec.id), sk=f"U#{p.user_id}", tenant_id=p.tenant_id, announcement_id=rec.id,
                user_id=p.user_id, read_at=clock.now_iso())
    try:
        tx.write([tx.put(r, condition=Receipt.pk.does_not_exist(), on_conflict=_Exists)])
        metric("announcements.read")
    except _Exists:
        r = Receipt.get(r.pk, r.sk, consistent_read=True)
    return {"announcement_id": rec.id, "user_id": p.user_id, "read_at": r.read_at}


def _after(value: Any) -> str:
    """A readers cursor: ["after", <the last user id of the page>]."""
    if type(value) is not list or len(value) != 2 or value[0] != "after" or type(value[1]) is not str \
            or not 0 < len(value[1]) <= 64:
        raise ValueError("not a readers cursor")
    return value[1]


def readers(announcement_id: str, read: bool, limit: int, cursor: str | None) -> dict[str, Any]:
    """Who of the audience has (read=true) or has not (read=false) read it, by user id, paged; and the
    counts. For its author and the module's managers."""
    p, rec = _readable(announcement_id)
    if rec.owner_id != p.user_id and reader_keys(p) is not None:
        raise Forbidden(module=MODULE, action="manage")
    data = org.load(p.tenant_id)
    audience = audience_of(data.snapshot, plain((rec.data or {}).get("audience_keys")) or [])
    receipts = {r.user_id: r.read_at for r in Receipt.query(_receipt_pk(p.tenant_id, rec.id)) if isinstance(r, Receipt)}
    rows = [u for u in audience if (u in receipts) == read]
    listing = "announcement-readers|" + fingerprint([rec.id, read])
    after = decode(cursor, listing, _after)
    if after:
        rows = [u for u in rows if u > after]
    page = rows[:limit]
    nxt = encode(["after", page[-1]], listing) if len(rows) > limit else None
    done = sum(1 for u in audience if u in receipts)
    return {"items": [{"user_id": u, "name": data.users[u].name if u in data.users else u, "read_at": receipts.get(u)}
                      for u in page],
            "next_cursor": nxt, "audience": len(audience), "read": done, "unread": len(audience) - done}
