"""Schedules that follow a record: due-date reminders of any record type, and a type's own timers.

A date or datetime field declared with `remind_days_before` reminds the record's owner through
a real Scheduler schedule — one per record and field, moved when the value changes, removed
when it is cleared or the record is deleted, re-created on restore (the engine calls `sync`
after each of these writes, transfers and hand-overs included).

A type's timers (EntityDef.timers, e.g. a customer's pool recycling and its warning) work the
same way: the moment is read from the record's stored values, the schedule is upserted only
when that moment changed, and when it fires the record is read again — a schedule whose
moment the record no longer says is stale and does nothing. A recurring timer (a contact's
yearly birthday reminder) arms its next moment when it fires, without writing the record; its
`following` names that one, so it is removed with the moment it followed.

A date field reminds at 09:00 (tenant time) N days before; a datetime field at its own time,
N days before (0: at the moment itself — a follow-up's next contact time). The schedule names
the value it was made for: a changed or deleted record makes it stale and it delivers nothing.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
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
    digest = hashlib.sha256(f"{rec.tenant_id}|{rec.entity}|{rec.id}|{key}".encode()).hexdigest()[:24]
    return scheduler.schedule_name(prefix, digest)


def timer_name(rec: store.EntityRecord, key: str, at: str) -> str:
    return _name("timer", rec, f"{key}|{at}")


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
    """After a write, delete or restore: each reminding field and each timer has its schedule, or
    none. `before`: the record's values before an update (timers whose moment did not move are
    left alone, so most writes call Scheduler not at all)."""
    _sync_timers(d, rec, before)
    for f in reminding(d):
        name = schedule_name(rec, f)
        value = (rec.data or {}).get(f.key)
        when = None if rec.deleted_at or value is None else remind_at(f, str(value), clock.now())
        if when is None:
            scheduler.delete(name)
            continue
        scheduler.upsert(name, when, {"kind": KIND, "tenant_id": rec.tenant_id, "entity": d.name, "record_id": rec.id,
                                      "field": f.key, "due": str(value)})


def _sync_timers(d: EntityDef, rec: store.EntityRecord, before: dict | None) -> None:
    """One schedule per timer and moment: the name carries the moment, so a timer that moves while
    its schedule is firing (the recycling re-checks and moves on) never collides with that one."""
    if not d.timers:
        return
    values = rec.values()
    for t in d.timers:
        old = t.at(before if before is not None else values)
        new = None if rec.deleted_at else t.at(values)
        if before is not None and old == new:
            continue
        if old and old != new:
            scheduler.delete(timer_name(rec, t.key, old))
            after = t.following(before if before is not None else values) if t.following else None
            if after and after != new and clock.parse_iso(old) <= clock.now():  # it may have fired and armed the next
                scheduler.delete(timer_name(rec, t.key, after))
        if new:
            _arm(d, rec, t.key, new)


def _arm(d: EntityDef, rec: store.EntityRecord, key: str, at: str) -> None:
    scheduler.upsert(timer_name(rec, key, at), max(clock.parse_iso(at), clock.now() + SOON),
                     {"kind": TIMER_KIND, "tenant_id": rec.tenant_id, "entity": d.name, "record_id": rec.id,
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
            _arm(d, rec, key, current)
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
    new = notifications.deliver(tenant_id, rec.owner_id, KIND, text, link={"entity": d.name, "id": rec.id},
                                source=f"due:{rec.id}:{field}:{due}")
    metric("records.reminder.delivered")
    return new
