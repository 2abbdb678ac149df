"""Reminders before an event: one Scheduler schedule for the next occurrence's reminder.

The schedule is named after the event and the occurrence it reminds of, so a write that moves the
event (or changes `reminder_minutes`) deletes the old one and upserts the new one, a delete removes
it, a restore re-creates it. When it fires, every participant (and the owner) gets one inbox
message (idempotent per occurrence), and the next occurrence's schedule is armed — a recurring
event is reminded of each occurrence without writing the event. A schedule the event no longer
says (moved, cancelled, deleted) delivers nothing.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core import clock, i18n
from ..core.errors import NotFound
from ..core.observability import logger, metric
from ..db.base import plain
from ..engine.definition import WriteContext
from ..notifications import service as notifications
from ..ports import scheduler
from . import recurrence

KIND = "event_reminder"


def name(tenant_id: str, event_id: str, start: str) -> str:
    return scheduler.schedule_name("evr", hashlib.sha256(f"{tenant_id}|{event_id}|{start}".encode()).hexdigest()[:24])


def upcoming(values: Mapping[str, Any] | None, after: datetime) -> tuple[recurrence.Occurrence, datetime] | None:
    """The first occurrence whose reminder moment comes after `after`, and that moment."""
    if not values or not values.get("start_at") or values.get("reminder_minutes") is None:
        return None
    minutes = timedelta(minutes=int(values["reminder_minutes"]))
    o = recurrence.next_start(values, after + minutes)
    return (o, o.start - minutes) if o else None


def _arm(tenant_id: str, event_id: str, nxt: tuple[recurrence.Occurrence, datetime]) -> None:
    o, at = nxt
    scheduler.upsert(name(tenant_id, event_id, clock.iso(o.start)), at,
                     {"kind": KIND, "tenant_id": tenant_id, "event_id": event_id, "start": clock.iso(o.start), "at": clock.iso(at)})


def after_write(ctx: WriteContext) -> None:
    rec, now = ctx.record, clock.now()
    old = upcoming(ctx.before, now) if ctx.before else None
    new = None if rec.deleted_at else upcoming(rec.values(), now)
    if old and (new is None or old[0].start != new[0].start):
        scheduler.delete(name(rec.tenant_id, rec.id, clock.iso(old[0].start)))
    if new and (old is None or old != new or ctx.action == "restore"):
        _arm(rec.tenant_id, rec.id, new)


def on_delete(ctx: WriteContext) -> None:
    rec = ctx.record
    old = upcoming(rec.values(), clock.now())
    if old:
        scheduler.delete(name(rec.tenant_id, rec.id, clock.iso(old[0].start)))


def fire(tenant_id: str, event_id: str, start: str, at: str) -> bool:
    """The schedule target: remind everyone taking part, once; then arm the next occurrence."""
    from ..engine import store, visibility
    from .entity import EVENT

    try:
        rec = store.get(tenant_id, EVENT.entity, event_id, EVENT.name_key, consistent=True)
    except NotFound:
        return False
    values = rec.values()
    begins = clock.parse_iso(start)
    current = upcoming(values, clock.parse_iso(at) - timedelta(milliseconds=1))
    if current is None or current[0].start != begins or current[1] != clock.parse_iso(at):
        logger.info("stale event reminder ignored", extra={"event_id": event_id, "start": start})
        return False
    o = current[0]
    told = False
    local = o.start.astimezone(recurrence.tz()).strftime("%Y-%m-%d %H:%M")
    for user_id in values.get("busy_ids") or [rec.owner_id]:
        reader = visibility.reader(tenant_id, user_id)
        title = plain((rec.data or {}).get("title"))
        text = {loc: i18n.text("notify.event.reminder", loc, title=visibility.title(reader, EVENT, title, loc) or "", at=local)
                for loc in i18n.LOCALES}
        told |= notifications.deliver(tenant_id, user_id, KIND, text, link={"entity": "event", "id": event_id,
                                                                             "occurrence": o.key},
                                      source=f"event:{event_id}:{start}", occurred_at=clock.parse_iso(at))
    nxt = upcoming(values, o.start)
    if nxt:
        _arm(tenant_id, event_id, nxt)
    metric("calendar.reminder.delivered")
    return told
