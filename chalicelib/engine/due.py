"""Schedules that follow a record: due-date reminders of any record type, and a type's own timers.

A date or datetime field declared with `remind_days_before` reminds the record's owner through
a real Scheduler schedule — one per record and field, moved when the value changes, removed
when it is cleared or the record is deleted, re-created on restore (the engine calls `sync`
after each of these writes, transfers and hand-overs included).

A type's timers (EntityDef.timers, e.g. a customer's pool recycling and its warning) follow the
record through the table stream (functions/record_timers.py → `follow`): each change of a record
compares the moment its old and new images say, and only a moved moment costs Scheduler calls —
never in the request that wrote it, so a write's latency does not depend on Scheduler, a failed
Scheduler call is retried with the stream batch, and an import does not wait for schedules. When a
timer fires the record is read again — a schedule whose moment the record no longer says is stale
and does nothing.
A recurring timer (a contact's yearly birthday reminder) arms its next moment
when it fires, without writing the record; its `following` names that one, so it is removed with
the moment it followed.

A date field reminds at 09:00 (tenant time) N days before; a datetime field at its own time,
N days before (0: at the moment itself — a follow-up's next contact time). The schedule names
the value it was made for: a changed or deleted record makes it stale and it delivers nothing.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core import clock, i18n
from ..core.errors import NotFound
from ..core.observability import logger, metric
from ..core.settings import get_settings
from ..db.base import plain
from ..notifications import service as notifications
from ..ports import scheduler
from . import fieldtypes, registry, store, visibility
from .definition import EntityDef

KIND = "record_due"  # the schedule payload's kind (functions/reminders.py)
TIMER_KIND = "record_timer"
SOON = timedelta(minutes=1)  # a moment that has passed is scheduled this far ahead (Scheduler wants the future)


def reminding(d: EntityDef) -> list[fieldtypes.FieldSpec]:
    return [f for f in d.fields if f.remind_days_before is not None and f.type in ("date", "datetime")]


def schedule_name(rec: store.EntityRecord, f: fieldtypes.FieldSpec) -> str:
    return _name("due", rec, f.key)


def _name(prefix: str, rec: store.EntityRecord, key: str) -> str:
    return _digest_name(prefix, rec.tenant_id, rec.entity, rec.id, key)


def _digest_name(prefix: str, tenant_id: str, entity: str, record_id: str, key: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}|{entity}|{record_id}|{key}".encode()).hexdigest()[:24]
    return scheduler.schedule_name(prefix, digest)


def _timer_name(tenant_id: str, d: EntityDef, record_id: str, key: str, at: str) -> str:
    return _digest_name("timer", tenant_id, d.entity, record_id, f"{key}|{at}")


def remind_at(f: fieldtypes.FieldSpec, value: str, now: datetime) -> datetime | None:
    """When to remind of `value`; soon, when that moment has passed but the due date or time has
    not; None once it is over."""
    days = int(f.remind_days_before or 0)
    if f.type == "datetime":
        due_at = clock.parse_iso(str(value))
        when = due_at - timedelta(days=days)
        if when > now:
            return when
        return now + SOON if due_at > now else None
    tz = ZoneInfo(get_settings().default_timezone)
    due = date.fromisoformat(str(value)[:10])
    when = datetime.combine(due - timedelta(days=days), time(9), tzinfo=tz)
    if when > now:
        return when
    if due >= now.astimezone(tz).date():
        return now + SOON
    return None


def sync(d: EntityDef, rec: store.EntityRecord, before: dict | None = None) -> None:
    """After a write, delete or restore: each reminding field has its schedule, or none. `before`:
    the values before a create ({}) or an update — a field whose value did not change is left alone,
    so most writes call Scheduler not at all."""
    for f in reminding(d):
        name = schedule_name(rec, f)
        value = (rec.data or {}).get(f.key)
        if before is not None and not rec.deleted_at and before.get(f.key) == value:
            continue
        when = None if rec.deleted_at or value is None else remind_at(f, str(value), clock.now())
        if when is None:
            scheduler.delete(name)
            continue
        scheduler.upsert(name, when, {"kind": KIND, "tenant_id": rec.tenant_id, "entity": d.name, "record_id": rec.id,
                                      "field": f.key, "due": str(value)})


def live_values(rec: store.EntityRecord | None) -> dict | None:
    """What a record's timers read of it: its values with its owner; None when it is not live."""
    return None if rec is None or rec.deleted_at else rec.values()


def follow(d: EntityDef, tenant_id: str, record_id: str, before: dict | None, after: dict | None) -> int:
    """One change of a record (its live values before and after; None: absent or deleted): each
    timer whose moment moved loses the schedule of the old moment and gets one for the new. One
    schedule per timer and moment: the name carries the moment, so a timer that moves while its
    schedule is firing never collides with that one. Idempotent (a replayed change repeats the same
    delete and upsert). Returns the Scheduler calls made."""
    calls = 0
    for t in d.timers:
        old = t.at(before) if before is not None else None
        new = t.at(after) if after is not None else None
        if old == new:
            continue
        if old:
            scheduler.delete(_timer_name(tenant_id, d, record_id, t.key, old))
            calls += 1
            nxt = t.following(before) if t.following and before is not None else None
            if nxt and nxt != new and clock.parse_iso(old) <= clock.now():  # it may have fired and armed the next
                scheduler.delete(_timer_name(tenant_id, d, record_id, t.key, nxt))
                calls += 1
        if new:
            arm(d, tenant_id, record_id, t.key, new)
            calls += 1
    return calls


def arm(d: EntityDef, tenant_id: str, record_id: str, key: str, at: str) -> None:
    """The schedule of one timer's moment (idempotent)."""
    scheduler.upsert(_timer_name(tenant_id, d, record_id, key, at), max(clock.parse_iso(at), clock.now() + SOON),
                     {"kind": TIMER_KIND, "tenant_id": tenant_id, "entity": d.name, "record_id": record_id,
                      "timer": key, "at": at})


def fire_timer(tenant_id: str, entity: str, record_id: str, key: str, at: str) -> bool:
    """A timer's schedule target: the type acts, if the record still says this moment."""
    d = registry.find(entity, tenant_id)
    t = next((x for x in d.timers if x.key == key), None) if d else None
    if d is None or t is None:
        return False
    try:
        rec = store.get(tenant_id, d.entity, record_id, d.name_key, consistent=True)
    except NotFound:
        return False
    current = t.at(rec.values())
    if current != at:
        logger.info("stale timer ignored", extra={"record_id": record_id, "timer": key})
        if t.following and current:  # a recurring moment rolls on unwritten (a late birthday): keep its next one armed
            arm(d, tenant_id, record_id, key, current)
        return False
    acted = t.fire(d, rec, at)
    metric(f"records.timer.{key}")
    return acted


def fire(tenant_id: str, entity: str, record_id: str, field: str, due: str) -> bool:
    """The schedule target: tell the owner. Idempotent (one notification per record, field and
    value); a changed or deleted record makes the schedule stale."""
    d = registry.find(entity, tenant_id)
    f = d.field(field) if d else None
    if d is None or f is None:
        return False
    try:
        rec = store.get(tenant_id, d.entity, record_id, d.name_key)
    except NotFound:
        logger.info("record gone", extra={"record_id": record_id})
        return False
    if str((rec.data or {}).get(field)) != due:
        logger.info("stale due-date schedule ignored", extra={"record_id": record_id, "field": field})
        return False
    owner = visibility.reader(tenant_id, rec.owner_id)  # the text shows what the owner's field rules let them see
    shown = due[:16].replace("T", " ") if f.type == "datetime" else due[:10]
    shown_due = owner.shape(d.module, {field: shown}).get(field) or "—"
    title = (rec.data or {}).get(d.title_field)
    text = {loc: i18n.text("notify.record.due", loc, title=visibility.title(owner, d, plain(title), loc) or "",
                           field=f.label_in(loc), date=shown_due) for loc in i18n.LOCALES}
    moment = clock.parse_iso(due) if f.type == "datetime" else datetime.combine(date.fromisoformat(due[:10]), time(0), tzinfo=UTC)
    new = notifications.deliver(tenant_id, rec.owner_id, KIND, text, link={"entity": d.name, "id": rec.id},
                                source=f"due:{rec.id}:{field}:{due}", occurred_at=moment)  # a retried delivery is the same one
    metric("records.reminder.delivered")
    return new
