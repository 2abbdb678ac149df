"""The calendar: day / week / month views of a user, a department or a team, an occurrence moved or
cancelled alone, and what other modules put in the calendar (their `calendar` sources).

A view is one index query for the events whose series span overlaps the range (recurring ones
expanded, exceptions applied) plus one index query per source the caller may list. Whose events:
a user's are those that take their time (owner or participant); a department's are those of its
calendar and of everyone in it (sub-departments included). What the caller sees of each: all of
it when they take part or their data scope covers it and it is not private; otherwise only that
the time is taken (忙碌 / Busy).

A team's calendar (`calendar: "team"`, `team_name`) is not a stored object: it is the team events the
caller may read — those they take part in (owner or participant) and, unless private, those their
data scope or the record's team grants them — so a team calendar needs nobody to administer it and
shows nobody anything the events themselves would not. The teams a caller can open are the distinct
`team_name`s among those events (one index aggregation).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core import clock, context, i18n
from ..core.errors import DomainError, NotFound, ValidationFailed, invalid
from ..core.modules import CalendarSource
from ..core.permissions import Principal
from ..db.base import plain
from ..engine import visibility
from ..engine.definition import write_options
from ..search import rules, schema
from ..search.query import Aggregation, EntityQuery, Filter, Scope, SearchRequest, any_of
from ..search.service import run
from . import recurrence
from .entity import EVENT, MAX_EXDATES, MAX_MOVED, team_name_of

MAX_RANGE = timedelta(days=62)
MAX_EVENTS = 1000
MAX_TEAMS = 500


class TeamNotFound(NotFound):
    """No team calendar of that name among the events the caller may read."""

    code = "TEAM_CALENDAR_NOT_FOUND"


def _principal() -> Principal:
    from ..org import service as org

    return org.principal()


# ---- reading events ----------------------------------------------------------------------------
def events_between(tenant_id: str, frm: datetime, to: datetime, *, people: list[str] | None = None,
                   departments: list[str] | None = None, limit: int = MAX_EVENTS) -> list[dict[str, Any]]:
    """Sources of the events (any owner) whose series may overlap [frm, to) and that take the time of
    one of `people` or belong to one of `departments`' calendars: one index query."""
    whose = [*([Filter("busy_ids", "in", list(people))] if people else []),
             *([Filter("department_id", "in", list(departments))] if departments else [])]
    if not whose:
        return []
    filters = [Filter("span_start", "range", {"lt": clock.iso(to)}), Filter("span_end", "range", {"gt": clock.iso(frm)}),
               whose[0] if len(whose) == 1 else any_of(*whose)]
    res = run(SearchRequest(tenant_id, [EntityQuery(EVENT.entity, Scope(None))], filters=filters,
                            sort=[("span_start", "asc")], limit=limit))
    return [h.source for h in res.hits]


def _sees(p: Principal, src: Mapping[str, Any]) -> bool:
    if p.user_id in (src.get("busy_ids") or []) or p.user_id == src.get("owner_id"):
        return True
    if src.get("private"):
        return False
    return p.record_access(EVENT.module, src["owner_id"], src.get("team") or {}, clock.now_iso()) is not None


def shown_occurrence(p: Principal, src: Mapping[str, Any], o: recurrence.Occurrence) -> dict[str, Any]:
    """One occurrence as the caller may see it: in full, or only as busy time."""
    base = {"type": "event", "start_at": clock.iso(o.start), "end_at": clock.iso(o.end), "all_day": bool(src.get("all_day")),
            "occurrence": o.key if src.get("rrule") else None, "recurring": bool(src.get("rrule")), "moved": o.moved}
    if not _sees(p, src):
        return {**base, "id": None, "title": i18n.text("calendar.busy", context.locale()), "busy": True, "location": None,
                "owner_id": None, "participant_ids": [], "private": bool(src.get("private")), "source": None}
    shown = visibility.some(p, EVENT, dict(src), ("title", "location"))
    return {**base, "id": src["id"], "title": shown.get("title"), "busy": False, "location": shown.get("location"),
            "owner_id": src["owner_id"], "participant_ids": list(src.get("participant_ids") or []),
            "private": bool(src.get("private")), "source": None}


def _range(frm: datetime, to: datetime) -> None:
    if to <= frm:
        raise invalid("to", "range", "calendar.end_before_start")
    if to - frm > MAX_RANGE:
        raise invalid("to", "range", "calendar.range_too_long", days=MAX_RANGE.days)


def view(frm: datetime, to: datetime, user_id: str | None = None, department_id: str | None = None,
         p: Principal | None = None, team_name: str | None = None) -> dict[str, Any]:
    """GET /v1/calendar: the occurrences and source items in [frm, to), by start."""
    p = p or _principal()
    p.require(EVENT.module, "list")
    _range(frm, to)
    if len([x for x in (user_id, department_id, team_name) if x]) > 1:
        raise ValidationFailed(details=[{"field": "department_id" if department_id else "team_name", "kind": "conflict",
                                         "message": i18n.text("calendar.one_calendar", context.locale())}])
    if team_name:
        return team_view(p, team_name, frm, to)
    people: list[str]
    departments: list[str] = []
    if department_id:
        if department_id not in p.org.departments:
            raise NotFound("entity.department")
        departments = sorted(p.org.department_tree(department_id))
        people = sorted(p.org.users_in(set(departments)))
    else:
        user_id = user_id or p.user_id
        if user_id not in p.org.users:
            raise NotFound("entity.user")
        people = [user_id]
    items = []
    for src in events_between(p.tenant_id, frm, to, people=people, departments=departments):
        items += [shown_occurrence(p, src, o) for o in recurrence.occurrences(src, frm, to)]
    items += source_items(p, people, frm, to)
    items.sort(key=lambda x: (x["start_at"], x["end_at"]))
    return {"from": clock.iso(frm), "to": clock.iso(to), "user_id": None if department_id else user_id,
            "department_id": department_id, "team_name": None, "items": items}


# ---- participants -------------------------------------------------------------------------------
def after_write(wc: Any) -> None:
    """Participants are told they take part — on create, and those a change adds, once
    (notifications/participants.py)."""
    from ..notifications import participants

    start = clock.parse_iso(str((wc.record.data or {}).get("start_at")))
    participants.notify_added(wc, "event_participant", "notify.event.participant",
                              at=start.astimezone(recurrence.tz()).strftime("%Y-%m-%d %H:%M"))


# ---- team calendars -----------------------------------------------------------------------------
def _readable_events(p: Principal) -> list[EntityQuery]:
    """The events the caller may read, as index scopes (either one matches): their data scope and the
    record team's grants, or taking part (owner or participant)."""
    return [rules.entity_query(p, schema.get(EVENT.entity)),
            EntityQuery(EVENT.entity, Scope(None), filters=(Filter("busy_ids", "eq", p.user_id),))]


def _team_filters(p: Principal) -> list[Filter]:
    """Team events, private ones only for those who take part."""
    return [Filter("calendar", "eq", "team"), any_of(Filter("private", "eq", False), Filter("busy_ids", "eq", p.user_id))]


def team_view(p: Principal, team_name: str, frm: datetime, to: datetime) -> dict[str, Any]:
    """One team's calendar: its events the caller may read, occurrences in [frm, to). A team none of
    whose events the caller may read is 404 TEAM_CALENDAR_NOT_FOUND (nothing tells whether it exists)."""
    name = team_name_of(team_name)
    if name is None:
        raise invalid("team_name", "required", "field.required")
    field = rules.index_field(p, schema.get(EVENT.entity), "team_name")  # hidden from the caller: 422 FIELD_NOT_READABLE
    whose = [*_team_filters(p), Filter(field, "eq", name)]
    filters = [Filter("span_start", "range", {"lt": clock.iso(to)}), Filter("span_end", "range", {"gt": clock.iso(frm)}), *whose]
    res = run(SearchRequest(p.tenant_id, _readable_events(p), filters=filters, sort=[("span_start", "asc")], limit=MAX_EVENTS))
    if not res.hits and run(SearchRequest(p.tenant_id, _readable_events(p), filters=whose, limit=1)).total == 0:
        raise TeamNotFound(team=name)
    items = []
    for h in res.hits:
        if _sees(p, h.source):  # the index said so; the record's own rules say it again
            items += [shown_occurrence(p, h.source, o) for o in recurrence.occurrences(h.source, frm, to)]
    items.sort(key=lambda x: (x["start_at"], x["end_at"]))
    return {"from": clock.iso(frm), "to": clock.iso(to), "user_id": None, "department_id": None, "team_name": name,
            "items": items}


def teams(p: Principal | None = None) -> dict[str, Any]:
    """GET /v1/calendar/teams: the team calendars the caller can open — the team names among the team
    events they may read, with how many of those events each has (one index aggregation)."""
    p = p or _principal()
    p.require(EVENT.module, "list")
    field = rules.index_field(p, schema.get(EVENT.entity), "team_name")
    res = run(SearchRequest(p.tenant_id, _readable_events(p), filters=[*_team_filters(p), Filter(field, "exists")], limit=1,
                            aggregations={"teams": Aggregation(by=(field,), size=MAX_TEAMS)}, figures_only=True))
    items = [{"team_name": b.key[field], "events": b.count} for b in res.aggregations.get("teams", []) if b.key.get(field)]
    return {"items": sorted(items, key=lambda x: x["team_name"])}


# ---- other modules' items ---------------------------------------------------------------------
def sources() -> list[CalendarSource]:
    from .. import manifest

    return [s for m in manifest.modules() for s in getattr(m, "calendar", ())]


def source_items(p: Principal, people: list[str], frm: datetime, to: datetime) -> list[dict[str, Any]]:
    """What the modules' calendar sources have for these people in [frm, to), within the caller's
    data scope and field rules. A source of a record type this process does not know, or that the
    caller may not list, gives nothing."""
    out: list[dict[str, Any]] = []
    for s in sources():
        if s.items is not None:
            out += s.items(p, people, clock.iso(frm), clock.iso(to))
            continue
        try:
            es = schema.get(s.entity)
        except KeyError:
            continue
        if not p.can(es.module, "list"):
            continue
        try:
            field = rules.index_field(p, es, s.field)
            whose = [Filter(rules.index_field(p, es, f), "in", people) for f in s.people]
        except (DomainError, ValueError, KeyError):
            continue  # a field the caller may not read (or that the type lacks) shows nothing
        filters = [Filter(field, "range", {"gte": clock.iso(frm), "lt": clock.iso(to)}),
                   whose[0] if len(whose) == 1 else any_of(*whose), *rules.scoped_filters(es)]
        res = run(SearchRequest(p.tenant_id, [rules.entity_query(p, es)], filters=filters, sort=[(field, "asc")],
                                limit=MAX_EVENTS))
        from ..engine import registry

        d = registry.find(s.entity, p.tenant_id)
        for h in res.hits:
            title_key = s.title_field or (d.title_field if d else "id")
            shown = visibility.some(p, d, h.source, (title_key, s.field)) if d else h.source
            at = shown.get(s.field)
            if not at:
                continue
            out.append({"type": s.entity, "source": s.key, "id": h.id, "title": plain(shown.get(title_key)) or "",
                        "start_at": _instant(str(at)), "end_at": _instant(str(at)), "all_day": len(str(at)) == 10,
                        "busy": False, "location": None, "owner_id": h.source.get("owner_id"), "participant_ids": [],
                        "private": False, "occurrence": None, "recurring": False, "moved": False})
    return out


def _instant(value: str) -> str:
    """A date field's day (at 00:00 tenant time) or a datetime field's instant, as UTC ISO."""
    if len(value) == 10:
        from datetime import date, time

        return clock.iso(datetime.combine(date.fromisoformat(value), time(0), recurrence.tz()))
    return clock.iso(clock.parse_iso(value))


# ---- one occurrence -----------------------------------------------------------------------------
def change_occurrence(event_id: str, key: str, body: dict[str, Any], expected: int, options: dict[str, Any]) -> dict[str, Any]:
    """PATCH /v1/events/{id}/occurrences/{date}: move one occurrence (start_at / end_at) or cancel it
    (cancelled=true); the rest of the series stays. Conflicts are checked for that occurrence only."""
    from ..engine import service as engine

    p = _principal()
    rec = engine.load(EVENT, p, event_id, "update")
    values = rec.values()
    if not values.get("rrule"):
        raise ValidationFailed(details=[{"field": "rrule", "kind": "required",
                                         "message": i18n.text("calendar.not_recurring", context.locale())}])
    original = recurrence.find(values, key)
    if original is None:
        raise NotFound("entity.occurrence")
    exdates = [d for d in plain(values.get("exdates") or []) if d != key]
    overrides = [o for o in plain(values.get("overrides") or []) if o.get("date") != key]
    if body.get("cancelled"):
        exdates.append(key)
        if len(exdates) > MAX_EXDATES:
            raise invalid("cancelled", "length", "calendar.too_many_cancelled", max=MAX_EXDATES)
    else:
        if len(overrides) >= MAX_MOVED:
            raise invalid("start_at", "length", "calendar.too_many_moved", max=MAX_MOVED)
        length = clock.parse_iso(str(values["end_at"])) - clock.parse_iso(str(values["start_at"]))
        start = body.get("start_at") or original
        end = body.get("end_at") or (start + length)
        overrides.append({"date": key, "start_at": clock.iso(start), "end_at": clock.iso(end)})
    with write_options({**options, "occurrence": key}):
        return engine.update_record(EVENT, p, rec, {"exdates": exdates or None, "overrides": overrides or None}, expected)


# ---- the iCalendar feed -------------------------------------------------------------------------
FEED_PATH = "/v1/calendar/feed/{token}.ics"
FEED_PAST = timedelta(days=92)
FEED_AHEAD = timedelta(days=366)


def _digest(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def create_feed_link() -> dict[str, Any]:
    """A new secret link to my calendar as iCalendar; an earlier link stops working (rotation)."""
    import secrets

    from .models import FeedLink

    p = _principal()
    p.require(EVENT.module, "list")
    secret = secrets.token_urlsafe(32)
    token = f"{p.tenant_id}.{p.user_id}.{secret}"
    pk, sk = FeedLink.key(p.tenant_id, p.user_id)
    now = clock.now_iso()
    FeedLink(pk=pk, sk=sk, tenant_id=p.tenant_id, user_id=p.user_id, secret_hash=_digest(secret), created_at=now).save()
    return {"url": FEED_PATH.format(token=token), "token": token, "created_at": now}


def revoke_feed_link() -> None:
    from .models import FeedLink

    p = _principal()
    FeedLink(*FeedLink.key(p.tenant_id, p.user_id)).delete()


def _feed_owner(token: str) -> tuple[str, str]:
    """(tenant, user) of a valid feed token; the same 404 for every wrong one (nothing tells which part)."""
    import hmac

    from pynamodb.exceptions import DoesNotExist

    from .models import FeedLink

    parts = token.split(".")
    tenant_id, user_id, secret = (parts + ["", "", ""])[:3] if len(parts) == 3 else ("", "", "")
    stored = "0" * 64
    if tenant_id and user_id and secret and len(token) <= 300:
        try:
            link = FeedLink.get(*FeedLink.key(tenant_id, user_id))
            stored = link.secret_hash if isinstance(link, FeedLink) else stored
        except DoesNotExist:
            pass
    if not hmac.compare_digest(_digest(secret), stored) or not secret:
        raise NotFound("entity.calendar_feed")
    return tenant_id, user_id


def feed(name: str) -> str:
    """GET /v1/calendar/feed/{token}.ics (no sign-in: the secret link is the key): the user's events from
    three months back on (at most MAX_EVENTS) and their sources' items up to a year ahead, as the user may
    see them."""
    from ..core import ratelimit
    from ..org import service as org
    from . import ics

    if not name.endswith(".ics"):
        raise NotFound("entity.calendar_feed")
    tenant_id, user_id = _feed_owner(name[:-4])
    ratelimit.charge(tenant_id)
    data = org.load(tenant_id)
    u = data.users.get(user_id)
    if u is None or not getattr(u, "active", True) or getattr(u, "status", "active") != "active":
        raise NotFound("entity.calendar_feed")
    locale = context.locale()
    with context.acting_as(context.RequestContext(tenant_id=tenant_id, user_id=user_id, locale=locale)):
        p = Principal(tenant_id, user_id, data.snapshot)
        if not p.can(EVENT.module, "list"):
            raise NotFound("entity.calendar_feed")
        now = clock.now()
        frm, to = now - FEED_PAST, now + FEED_AHEAD
        host = "crm"
        stamp = ics.utc(now)
        busy = i18n.text("calendar.busy", locale)
        blocks = []
        for src in events_between(tenant_id, frm, clock.parse_iso(recurrence.OPEN_END), people=[user_id]):  # every coming event
            full = _sees(p, src)
            shown = {**src, **visibility.some(p, EVENT, dict(src), ("title", "location", "description"))} if full else src
            blocks.append(ics.event_lines(shown, host, stamp, full, busy))
        blocks += [ics.item_lines(i, host, stamp) for i in source_items(p, [user_id], frm, to)]
        return ics.calendar(u.name, blocks)
