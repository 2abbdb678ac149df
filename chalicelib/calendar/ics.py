"""iCalendar (RFC 5545) text of a user's calendar: a feed a calendar app subscribes to.

One VEVENT per event (its RRULE and EXDATEs, and a VEVENT with RECURRENCE-ID per moved occurrence)
and one per source item (a follow-up's next contact, a contract's end); times in UTC, text escaped,
lines folded at 75 octets, CRLF line ends.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..core import clock
from . import recurrence


def escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Lines longer than 75 octets go on in continuation lines starting with a space (never inside a
    UTF-8 character)."""
    out, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode())
        if size + n > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def utc(value: str | datetime) -> str:
    at = clock.parse_iso(value) if isinstance(value, str) else value
    return clock.parse_iso(clock.iso(at)).strftime("%Y%m%dT%H%M%SZ")


def _exdate(values: Mapping[str, Any], key: str) -> str | None:
    at = recurrence.find(values, key)
    return utc(at) if at else None


def event_lines(src: Mapping[str, Any], host: str, stamp: str, full: bool, busy_title: str) -> list[str]:
    uid = f"{src['id']}@{host}"
    head = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", f"DTSTART:{utc(str(src['start_at']))}",
            f"DTEND:{utc(str(src['end_at']))}"]
    body = [f"SUMMARY:{escape(str(src.get('title') or ''))}"] if full else [f"SUMMARY:{escape(busy_title)}", "CLASS:PRIVATE"]
    if full and src.get("location"):
        body.append(f"LOCATION:{escape(str(src['location']))}")
    if full and src.get("description"):
        body.append(f"DESCRIPTION:{escape(str(src['description']))}")
    lines = [*head, *body]
    if src.get("rrule"):
        lines.append(f"RRULE:{src['rrule']}")
        cancelled = [x for x in (_exdate(src, k) for k in sorted(src.get("exdates") or [])) if x]
        if cancelled:
            lines.append("EXDATE:" + ",".join(cancelled))
    lines.append("END:VEVENT")
    for o in src.get("overrides") or [] if src.get("rrule") else []:
        key = str(o.get("date"))
        if key in (src.get("exdates") or []) or not _exdate(src, key):
            continue
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", f"RECURRENCE-ID:{_exdate(src, key)}",
                  f"DTSTART:{utc(str(o['start_at']))}", f"DTEND:{utc(str(o['end_at']))}", *body, "END:VEVENT"]
    return lines


def item_lines(item: Mapping[str, Any], host: str, stamp: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{item['source']}-{item['id']}@{host}", f"DTSTAMP:{stamp}",
            f"DTSTART:{utc(item['start_at'])}", f"DTEND:{utc(item['end_at'])}", f"SUMMARY:{escape(str(item['title']))}",
            "TRANSP:TRANSPARENT", "END:VEVENT"]


def calendar(name: str, blocks: Iterable[list[str]]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//CRM//Calendar//ZH", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{escape(name)}"]
    for b in blocks:
        lines += b
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(x) for x in lines) + "\r\n"
