"""Conflicts: does a new or moved event take time some participant has already given away?

One search-index query finds every event of any of the people (owner and participants) whose
series span overlaps the window (`busy_ids` in the people, `span_start` < window end, `span_end` >
window start); recurring candidates are then expanded and each occurrence compared — no scan of
a person's calendar, and no DynamoDB read at all: a check costs one index round trip. The index
follows the table within about a second, so an event written a moment ago may be missed.

`?on_conflict=warn` (default): a conflict answers 409 EVENT_CONFLICT naming the conflicting events
per participant, and the same request with `force=true` writes the event anyway.
`?on_conflict=error`: the 409 cannot be overridden. Private events of others are shown as
忙碌 / Busy, without title, place or id.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core import clock
from ..core.errors import Conflict
from ..core.permissions import Principal
from ..engine.definition import options
from . import recurrence

WINDOW = timedelta(days=92)  # a recurring event is checked over its first three months
MAX_CANDIDATES = 500
ROUND_TRIPS = {"search": 0}  # index queries made (the bench reads it)


def _window(values: Mapping[str, Any]) -> tuple[datetime, datetime]:
    start = clock.parse_iso(str(values["start_at"]))
    first, last = recurrence.span(values)
    return min(start, clock.parse_iso(first)), min(clock.parse_iso(last), start + WINDOW)


def find(p: Principal, values: Mapping[str, Any], owner_id: str, exclude_id: str | None = None) -> list[dict[str, Any]]:
    """[{user_id, events: [shown event …]}] for each person whose time the event would double-book."""
    from . import service

    people = list(dict.fromkeys([owner_id, *(values.get("participant_ids") or [])]))
    frm, to = _window(values)
    mine = recurrence.occurrences(values, frm, to)
    only = options().get("occurrence")  # one occurrence moved alone: only it is checked
    if only:
        mine = [o for o in mine if o.key == only]
    if not mine:
        return []
    hits = service.events_between(p.tenant_id, frm, to, people=people, limit=MAX_CANDIDATES)
    ROUND_TRIPS["search"] += 1
    by_person: dict[str, list[dict[str, Any]]] = {}
    for src in hits:
        if src["id"] == exclude_id:
            continue
        theirs = recurrence.occurrences(src, frm, to)
        clash = next(((a, b) for a in mine for b in theirs if a.start < b.end and b.start < a.end), None)
        if clash is None:
            continue
        shown = service.shown_occurrence(p, src, clash[1])
        for person in people:
            if person in (src.get("busy_ids") or []):
                by_person.setdefault(person, []).append(shown)
    return [{"user_id": u, "events": evs} for u, evs in by_person.items()]


def check(p: Principal, values: Mapping[str, Any], owner_id: str, exclude_id: str | None = None) -> None:
    """Raise 409 EVENT_CONFLICT when the event double-books someone (unless forced, see the module doc)."""
    asked = options()
    mode = asked.get("on_conflict") or "warn"
    if mode == "warn" and asked.get("force"):
        return
    found = find(p, values, owner_id, exclude_id)
    if found:
        names = {u.id: u.name for u in _users(p)}
        for c in found:
            c["user_name"] = names.get(c["user_id"], c["user_id"])
        count = sum(len(c["events"]) for c in found)
        raise Conflict("EVENT_CONFLICT" if mode == "warn" else "EVENT_CONFLICT_BLOCKED",
                       details={"conflicts": found, "overridable": mode == "warn"}, count=count)


def _users(p: Principal) -> list[Any]:
    from ..org import service as org

    return list(org.load(p.tenant_id).users.values())
