"""Recurring events: RRULE (RFC 5545) parsed, bounded and expanded in the tenant's time zone.

A rule is read by python-dateutil (imported when a rule is first read). What a calendar of people
needs is allowed — FREQ DAILY / WEEKLY / MONTHLY / YEARLY with INTERVAL, COUNT or UNTIL, BYDAY,
BYMONTHDAY, BYMONTH, WKST — and nothing finer than a day (no BYHOUR / BYMINUTE / BYSECOND), so an
occurrence is named by its local date (`exdates`, `overrides` and the occurrence routes use it).
A series holds at most MAX_COUNT occurrences when it ends; an open series is expanded only within
the range asked for.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core import clock
from ..core.settings import get_settings

FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST")
MAX_COUNT = 1000  # occurrences of a series that ends
MAX_YEARS = 20  # an UNTIL at most this far after the first start
OPEN_END = "2200-12-31T00:00:00.000Z"  # the span end of a series without COUNT or UNTIL
MAX_DURATION = timedelta(days=31)  # one occurrence
_DAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


class RuleError(ValueError):
    """A rule the calendar refuses; `str(e)` is the i18n key of the reason."""


def tz() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


def parse(rule: str) -> dict[str, str]:
    """The rule's parts (upper-cased), checked: known parts only, a known FREQ, numbers in range."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for piece in filter(None, text.split(";")):
        key, sep, value = piece.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not value or key in parts:
            raise RuleError("calendar.rrule.syntax")
        if key not in PARTS:
            raise RuleError("calendar.rrule.part")
        parts[key] = value
    if parts.get("FREQ") not in FREQS:
        raise RuleError("calendar.rrule.freq")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("calendar.rrule.syntax")
    for key, low, high in (("INTERVAL", 1, 366), ("COUNT", 1, MAX_COUNT)):
        if key in parts and (not parts[key].isdigit() or not low <= int(parts[key]) <= high):
            raise RuleError("calendar.rrule.range")
    if "BYDAY" in parts and not all(_DAY.match(x) for x in parts["BYDAY"].split(",")):
        raise RuleError("calendar.rrule.syntax")
    if "WKST" in parts and parts["WKST"] not in ("MO", "TU", "WE", "TH", "FR", "SA", "SU"):
        raise RuleError("calendar.rrule.syntax")
    for key, high in (("BYMONTHDAY", 31), ("BYMONTH", 12)):
        for x in parts.get(key, "").split(",") if key in parts else ():
            if not re.fullmatch(r"-?\d{1,2}", x) or not 1 <= abs(int(x)) <= high or (key == "BYMONTH" and int(x) < 0):
                raise RuleError("calendar.rrule.range")
    if "UNTIL" in parts:
        until(parts)
    return parts


def until(parts: Mapping[str, str]) -> datetime | None:
    """UNTIL as an instant: a date means the end of that local day; a local time is the tenant's."""
    v = parts.get("UNTIL")
    if not v:
        return None
    try:
        if re.fullmatch(r"\d{8}", v):
            return datetime.combine(date(int(v[:4]), int(v[4:6]), int(v[6:8])), datetime.max.time(), tz()).astimezone(UTC)
        m = re.fullmatch(r"(\d{8})T(\d{6})(Z?)", v)
        if not m:
            raise ValueError(v)
        at = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
        return at.replace(tzinfo=UTC) if m.group(3) else at.replace(tzinfo=tz()).astimezone(UTC)
    except ValueError:
        raise RuleError("calendar.rrule.syntax") from None


def normalized(parts: Mapping[str, str]) -> str:
    """The rule as stored and served (UNTIL in UTC, parts in a fixed order)."""
    out = dict(parts)
    if "UNTIL" in out:
        out["UNTIL"] = until(parts).strftime("%Y%m%dT%H%M%SZ")  # type: ignore[union-attr]
    return ";".join(f"{k}={out[k]}" for k in PARTS if k in out)


def _rule(parts: Mapping[str, str], start: datetime) -> Any:
    from dateutil import rrule as du  # lazily: only calendars with recurring events pay for it

    rest = {k: v for k, v in parts.items() if k != "UNTIL"}
    text = ";".join(f"{k}={v}" for k, v in rest.items())
    end = until(parts)
    r = du.rrulestr(text, dtstart=start.astimezone(tz()), cache=False)
    return r.replace(until=end.astimezone(tz())) if end else r


@dataclass(frozen=True)
class Occurrence:
    key: str  # the local date of its original start: 2026-12-07
    start: datetime  # UTC
    end: datetime
    moved: bool = False


def local_date(at: datetime) -> str:
    return at.astimezone(tz()).date().isoformat()


def _starts(values: Mapping[str, Any]) -> tuple[datetime, timedelta]:
    start = clock.parse_iso(str(values["start_at"]))
    return start, clock.parse_iso(str(values["end_at"])) - start


def series(values: Mapping[str, Any], upto: datetime | None = None) -> Iterator[tuple[str, datetime]]:
    """(key, original start) of each occurrence in order, exceptions not applied; stops after `upto`."""
    start, _ = _starts(values)
    rule = values.get("rrule")
    if not rule:
        yield local_date(start), start
        return
    fraction = timedelta(microseconds=start.microsecond)  # the rule counts whole seconds
    for n, at in enumerate(_rule(parse(str(rule)), start)):
        at = at.astimezone(UTC) + fraction
        if n >= MAX_COUNT * 10 or (upto is not None and at > upto):
            return
        yield local_date(at), at


def occurrences(values: Mapping[str, Any], frm: datetime, to: datetime) -> list[Occurrence]:
    """Occurrences overlapping [frm, to): cancelled dates (`exdates`) left out, moved ones (`overrides`)
    at their new times — a moved occurrence counts where it now is."""
    start, length = _starts(values)
    skipped = set(values.get("exdates") or [])
    moved = {str(o.get("date")): o for o in values.get("overrides") or [] if o.get("date")}
    out: list[Occurrence] = []
    for key, at in series(values, upto=to):
        if key in skipped or key in moved:
            continue
        if at < to and at + length > frm:
            out.append(Occurrence(key, at, at + length))
    for key, o in moved.items():
        if key in skipped or not o.get("start_at") or not o.get("end_at"):
            continue
        s, e = clock.parse_iso(str(o["start_at"])), clock.parse_iso(str(o["end_at"]))
        if s < to and e > frm:
            out.append(Occurrence(key, s, e, moved=True))
    return sorted(out, key=lambda o: (o.start, o.key))


def find(values: Mapping[str, Any], key: str) -> datetime | None:
    """The original start of the occurrence named `key` (its local date); None when the series has none."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        return None
    upto = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz()).astimezone(UTC)
    for k, at in series(values, upto=upto):
        if k == key:
            return at
    return None


def span(values: Mapping[str, Any]) -> tuple[str, str]:
    """(first start, last end) of the whole series, moved occurrences included; the last end of a
    series without an end is OPEN_END. Indexed, so one range query finds every series that may
    overlap a period; its candidates are then expanded."""
    start, length = _starts(values)
    first, last = start, start + length
    rule = values.get("rrule")
    if rule:
        parts = parse(str(rule))
        if "COUNT" in parts or "UNTIL" in parts:
            *_, (_, at) = series(values)
            last = at + length
        else:
            last = None  # type: ignore[assignment]
    for o in values.get("overrides") or []:
        if o.get("start_at") and o.get("end_at"):
            first = min(first, clock.parse_iso(str(o["start_at"])))
            if last is not None:
                last = max(last, clock.parse_iso(str(o["end_at"])))
    return clock.iso(first), clock.iso(last) if last is not None else OPEN_END


def next_start(values: Mapping[str, Any], after: datetime) -> Occurrence | None:
    """The first occurrence (exceptions applied) starting after `after`, looking up to two years on."""
    horizon = after + timedelta(days=731)
    for o in occurrences(values, after, horizon):
        if o.start > after:
            return o
    return None
