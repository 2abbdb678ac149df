"""Events (日程): a meeting, a visit, a call — for a user, a department or a team — with participants,
a location, an optional recurrence and a reminder before it starts.

An event is a record type on the engine. Its own rules: the end comes after the start and the
event lasts at most 31 days; participants are active people of the tenant (at most 20, as a task's);
a recurrence (RRULE) is parsed and bounded (recurrence.py); at most MAX_EXDATES occurrences are
cancelled and MAX_MOVED moved, each cancelled or moved one an occurrence of the series (a 422 naming
the date otherwise), a moved one lasting at most 31 days; a create, and a change that moves it or changes who takes part, is
checked for conflicts with every participant's other events (conflicts.py — a 409 naming them,
which `force=true` overrides unless `on_conflict=error`); the reminder before each occurrence is a
record timer (reminders.py: a Scheduler schedule that follows the event through the table stream). Derived, read-only: `span_start` / `span_end` (the whole
series, so one indexed range query finds every series that may overlap a period) and `busy_ids`
(the owner and the participants: whose time it takes).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from ..core import clock
from ..core.errors import ValidationFailed, detail
from ..engine.definition import Derivation, EntityDef, Features, Hooks, Timer, WriteContext, lazy
from ..engine.fieldtypes import FieldSpec as F
from ..org.service import MAX_PARTICIPANTS
from . import recurrence

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "export")
CALENDARS = (("user", "个人日程", "Personal"), ("department", "部门日程", "Department"), ("team", "团队日程", "Team"))
MAX_EXDATES = 200  # cancelled occurrences of one series
MAX_MOVED = 100  # moved occurrences of one series
DEFAULT_LENGTH = timedelta(hours=1)
SERVICE = "chalicelib.calendar.service"
REMINDERS = "chalicelib.calendar.reminders"
MOVES = ("start_at", "end_at", "participant_ids", "rrule", "exdates", "overrides", "all_day")


def _problem(field: str, kind: str, key: str, **params: Any) -> dict[str, Any]:
    return detail(field, kind, key, **params)


def _validate(ctx: WriteContext) -> None:  # noqa: C901 - one check per field
    v, errors = ctx.values, []
    if ctx.action not in ("create", "update"):
        return
    start = clock.parse_iso(str(v["start_at"]))
    if not v.get("end_at"):  # an event without an end takes an hour (an all-day one, its day)
        v["end_at"] = clock.iso(start + (timedelta(days=1) if v.get("all_day") else DEFAULT_LENGTH))
    end = clock.parse_iso(str(v["end_at"]))
    if end <= start:
        errors.append(_problem("end_at", "range", "calendar.end_before_start"))
    elif end - start > recurrence.MAX_DURATION:
        errors.append(_problem("end_at", "range", "calendar.too_long", days=recurrence.MAX_DURATION.days))
    calendar = v.get("calendar") or "user"
    if "team_name" in v:
        v["team_name"] = team_name_of(v["team_name"])
    if calendar == "department" and not v.get("department_id"):
        errors.append(_problem("department_id", "required", "field.required"))
    if calendar == "team" and not v.get("team_name"):
        errors.append(_problem("team_name", "required", "field.required"))
    if v.get("rrule"):
        try:
            parts = recurrence.parse(str(v["rrule"]))
            end_of = recurrence.until(parts)
            if end_of is not None and end_of > start + timedelta(days=366 * recurrence.MAX_YEARS):
                raise recurrence.RuleError("calendar.rrule.range")
            v["rrule"] = recurrence.normalized(parts)
            if recurrence.find(v, recurrence.local_date(start)) != start:  # the first occurrence is the event's start
                raise recurrence.RuleError("calendar.rrule.start")
            recurrence.span(v)
            errors += _exception_problems(v)
        except recurrence.RuleError as e:
            errors.append(_problem("rrule", "invalid", str(e)))
        except ValueError:  # a rule dateutil refuses
            errors.append(_problem("rrule", "invalid", "calendar.rrule.syntax"))
    elif v.get("exdates") or v.get("overrides"):
        errors.append(_problem("rrule", "required", "calendar.rrule.needed"))
    if errors:
        raise ValidationFailed(details=errors)
    if ctx.action == "create" or any(ctx.before.get(k) != v.get(k) for k in MOVES):
        from . import conflicts

        conflicts.check(ctx.principal, v, ctx.record.owner_id if ctx.record is not None else ctx.principal.user_id,
                        exclude_id=ctx.record.id if ctx.record is not None else None)


def _exception_problems(v: dict[str, Any]) -> list[dict[str, Any]]:
    """Each cancelled date (`exdates`) and each moved occurrence (`overrides.N.date`) names an occurrence
    of the series (its original local date); a moved one, like any event, ends after it starts and
    lasts at most MAX_DURATION."""
    moved = v.get("overrides") or []
    named = [(f"exdates.{n}", d) for n, d in enumerate(v.get("exdates") or [])]
    named += [(f"overrides.{n}.date", o.get("date")) for n, o in enumerate(moved)]
    errors = _not_occurrences(v, named)
    for n, o in enumerate(moved):
        if not o.get("start_at") or not o.get("end_at"):
            errors.append(_problem(f"overrides.{n}", "required", "calendar.end_before_start"))
            continue
        length = clock.parse_iso(str(o["end_at"])) - clock.parse_iso(str(o["start_at"]))
        if length <= timedelta(0):
            errors.append(_problem(f"overrides.{n}.end_at", "range", "calendar.end_before_start"))
        elif length > recurrence.MAX_DURATION:
            errors.append(_problem(f"overrides.{n}.end_at", "range", "calendar.too_long", days=recurrence.MAX_DURATION.days))
    return errors


def _not_occurrences(v: dict[str, Any], named: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """A problem for each (field, date) that is not a date, or not an occurrence of the series —
    one expansion of the series up to the latest date named."""
    days = [str(d) for _, d in named if _is_date(d)]
    occurring: set[str] = set()
    if days:
        last = datetime.combine(date.fromisoformat(max(days)) + timedelta(days=1), time(0), recurrence.tz())
        occurring = {key for key, _ in recurrence.series(v, upto=last)}
    errors = []
    for field, day in named:
        if not _is_date(day):
            errors.append(_problem(field, "format", "field.date"))
        elif str(day) not in occurring:
            errors.append(_problem(field, "not_found", "calendar.not_an_occurrence", date=str(day)))
    return errors


def team_name_of(value: Any) -> str | None:
    """A team's name as stored and asked for: trimmed, inner runs of spaces as one."""
    text = " ".join(str(value or "").split())
    return text or None


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 10


def _derive(dv: Derivation) -> dict[str, Any]:
    """Whose time it takes and the span of the whole series (read by the calendar's range queries)."""
    data = dv.data
    if not data.get("start_at") or not data.get("end_at"):
        return {}
    first, last = recurrence.span(data)
    busy = list(dict.fromkeys([dv.owner_id, *(data.get("participant_ids") or [])]))
    return {"span_start": first, "span_end": last, "busy_ids": busy}


EVENT = EntityDef(
    name="event",
    module="calendar",
    label=("日程", "Event"),
    path="/events",
    title_field="title",
    card_fields=("start_at", "location"),
    actions=ACTIONS,
    features=Features(handover=True, custom_fields=True),
    fields=(
        F("title", "text", ("主题", "Title"), required=True, max_length=200, searchable=True),
        F("description", "textarea", ("内容", "Description"), max_length=5000, searchable=True),
        F("start_at", "datetime", ("开始时间", "Starts"), required=True),
        F("end_at", "datetime", ("结束时间", "Ends"), description="default: an hour after the start (all day: a day)"),
        F("all_day", "boolean", ("全天", "All day"), default=False),
        F("location", "text", ("地点", "Location"), max_length=300, searchable=True),
        F("participant_ids", "users", ("参与人", "Participants"), max_items=MAX_PARTICIPANTS,
          description=f"user ids of the people taking part (active users, at most {MAX_PARTICIPANTS})"),
        F("calendar", "select", ("日程类型", "Calendar"), default="user", options=CALENDARS),
        F("department_id", "department", ("部门", "Department")),
        F("team_name", "text", ("团队", "Team"), max_length=100),
        F("private", "boolean", ("私密", "Private"), default=False,
          description="others see only that the time is taken (忙碌 / Busy)"),
        F("rrule", "text", ("重复规则", "Recurrence (RRULE)"), max_length=300,
          description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO;COUNT=10 (DAILY/WEEKLY/MONTHLY/YEARLY)"),
        F("exdates", "tags", ("取消的日期", "Cancelled dates"), max_length=10, max_items=MAX_EXDATES, filterable=False,
          sortable=False, description=f"local dates (YYYY-MM-DD) of occurrences cancelled (at most {MAX_EXDATES})"),
        F("overrides", "table", ("调整的日程", "Moved occurrences"), max_rows=MAX_MOVED, columns=(
            F("date", "date", ("原日期", "Original date"), required=True),
            F("start_at", "datetime", ("开始时间", "Starts"), required=True),
            F("end_at", "datetime", ("结束时间", "Ends"), description="default: an hour after the start (all day: a day)"),
        )),
        F("reminder_minutes", "number", ("提前提醒（分钟）", "Remind before (minutes)"), min=0, max=7 * 24 * 60),
        F("span_start", "datetime", ("系列开始", "Series starts"), readonly=True, hidden=True),
        F("span_end", "datetime", ("系列结束", "Series ends"), readonly=True, hidden=True),
        F("busy_ids", "tags", ("占用时间的人", "Busy people"), readonly=True, hidden=True, max_length=64),
    ),
    write_query="chalicelib.calendar.schemas.ConflictQuery",
    hooks=Hooks(validate=_validate, derive=_derive, after_write=lazy(SERVICE, "after_write")),
    timers=(Timer("reminder", lazy(REMINDERS, "remind_at"), lazy(REMINDERS, "fire"), following=lazy(REMINDERS, "following")),),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "delete", "transfer"), "scope": "self"},
        "service_agent": {"actions": ("create", "update", "list", "read", "delete"), "scope": "self"},
    },
)
