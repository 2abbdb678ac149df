"""Reminders before an event: a timer of the record (EntityDef.timers, engine/due.py).

The timer's moment is `reminder_minutes` before the event's current occurrence — the first one
(cancelled dates left out, moved ones where they now are) whose reminder is not more than GRACE
in the past. It follows the record through the table stream like every record timer: a create
arms it, a change that moves it (times, recurrence, a moved or cancelled occurrence,
`reminder_minutes`) replaces the schedule, a delete removes it, a restore re-arms it — never on
the request path. When it fires, everyone whose time the event takes (owner and participants, as
they are then) gets one inbox message per occurrence (the notification's `source`), and the next
occurrence's moment is armed without writing the event; a schedule whose moment the event no
longer says delivers nothing.

Events created before reminders became record timers have schedules of their own (payload kind
`event_reminder`, one per occurrence; `fire_legacy`) and no timer until they are next written.
When such a schedule fires it hands over to the timer: due now, the timer fires in its place
(same notification source as before, so a reminder already given is not given again) and arms
the next occurrence's; otherwise the event's current moment is armed. Old schedules so migrate
themselves as they fire.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core import clock, i18n
from ..core.observability import metric
from ..db.base import plain
from ..engine.definition import EntityDef
from . import recurrence

KIND = "event_reminder"  # the notification's kind
LEGACY_KIND = "event_reminder"  # the payload kind of the schedules armed before reminders were record timers
TIMER = "reminder"
GRACE = timedelta(minutes=15)  # a reminder this late is still delivered; an older one is passed over


def _current(values: Mapping[str, Any] | None, now: datetime,
             after: datetime | None = None) -> tuple[recurrence.Occurrence, datetime] | None:
    """The occurrence whose reminder is due next (its moment after `after`, default: GRACE ago), and that moment."""
    if not values or not values.get("start_at") or not values.get("end_at") or values.get("reminder_minutes") is None:
        return None
    minutes = timedelta(minutes=int(values["reminder_minutes"]))
    o = recurrence.next_start(values, (after or now - GRACE) + minutes)
    return (o, o.start - minutes) if o else None


def remind_at(values: Mapping[str, Any]) -> str | None:
    """The timer's moment (EntityDef.timers): the current occurrence's reminder."""
    cur = _current(values, clock.now())
    return clock.iso(cur[1]) if cur else None


def following(values: Mapping[str, Any]) -> str | None:
    """The reminder after the current one (the next occurrence's), which firing the current one arms."""
    cur = _current(values, clock.now())
    nxt = _current(values, clock.now(), after=cur[1]) if cur else None
    return clock.iso(nxt[1]) if nxt else None


def fire(d: EntityDef, rec: Any, at: str) -> bool:
    """Tell everyone taking part, once per occurrence; then arm the next occurrence's reminder."""
    from ..engine import due, visibility
    from ..notifications import service as notifications

    values = rec.values()
    cur = _current(values, clock.now())
    if cur is None:
        return False
    o = cur[0]
    start = clock.iso(o.start)
    local = o.start.astimezone(recurrence.tz()).strftime("%Y-%m-%d %H:%M")
    title = plain((rec.data or {}).get("title"))
    told = False
    for user_id in values.get("busy_ids") or [rec.owner_id]:
        reader = visibility.reader(rec.tenant_id, user_id)
        text = {loc: i18n.text("notify.event.reminder", loc, title=visibility.title(reader, d, title, loc) or "", at=local)
                for loc in i18n.LOCALES}
        told |= notifications.deliver(rec.tenant_id, user_id, KIND, text,
                                      link={"entity": d.name, "id": rec.id, "occurrence": o.key},
                                      source=f"event:{rec.id}:{start}", occurred_at=clock.parse_iso(at))
    nxt = following(values)
    if nxt:
        due.arm(d, rec.tenant_id, rec.id, TIMER, nxt)
    metric("calendar.reminder.delivered")
    return told


def fire_legacy(tenant_id: str, event_id: str, at: str) -> bool:
    """An old per-occurrence schedule fired: move the event onto its record timer (see the module text)."""
    from ..core.errors import NotFound
    from ..engine import due, registry, store

    d = registry.find("event", tenant_id)
    if d is None:
        return False
    try:
        rec = store.get(tenant_id, d.entity, event_id, d.name_key, consistent=True)
    except NotFound:
        return False
    current = None if rec.deleted_at else remind_at(rec.values())
    if current is None:
        return False
    if current == at:
        return due.fire_timer(tenant_id, d.name, event_id, TIMER, at)  # delivers once, arms the next occurrence
    due.arm(d, tenant_id, event_id, TIMER, current)
    return False
