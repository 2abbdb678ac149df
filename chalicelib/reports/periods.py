"""The period a work report covers, in the tenant's calendar: the day (daily, `2026-12-01`), the ISO
week (weekly, `2026-W49`, Monday to Sunday) or the month (monthly, `2026-12`)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core import clock
from ..core.settings import get_settings

KINDS = ("daily", "weekly", "monthly")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    kind: str
    key: str  # 2026-12-01 | 2026-W49 | 2026-12
    start: date
    end: date  # inclusive: the period's last day

    def instants(self, zone: ZoneInfo) -> dict[str, str]:
        """The period as UTC instants [start, day after end), for date-time fields (created_at)."""
        return {"gte": clock.iso(datetime.combine(self.start, time(), zone)),
                "lt": clock.iso(datetime.combine(self.end + timedelta(days=1), time(), zone))}

    def days(self) -> dict[str, str]:
        """The period as dates, for date fields (paid_on)."""
        return {"gte": self.start.isoformat(), "lte": self.end.isoformat()}


def zone() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


def today() -> date:
    return date.fromisoformat(clock.local_today(get_settings().default_timezone))


def of(kind: str, day: date) -> Period:
    """The period of `kind` that holds `day`."""
    if kind == "daily":
        return Period(kind, day.isoformat(), day, day)
    if kind == "weekly":
        year, week, _ = day.isocalendar()
        start = day - timedelta(days=day.isoweekday() - 1)
        return Period(kind, f"{year:04d}-W{week:02d}", start, start + timedelta(days=6))
    if kind == "monthly":
        start = day.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, f"{day.year:04d}-{day.month:02d}", start, nxt - timedelta(days=1))
    raise ValueError(kind)


def parse(kind: str, value: str | None) -> Period | None:
    """A period named by its key (2026-W49, 2026-12) or by any day in it (2026-12-01); None when the
    value names no period of `kind`. Without a value: the current period."""
    if not value:
        return of(kind, today())
    value = value.strip()
    try:
        if kind == "weekly" and (m := _WEEK.match(value)):
            return of(kind, date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1))
        if kind == "monthly" and (m := _MONTH.match(value)):
            return of(kind, date(int(m.group(1)), int(m.group(2)), 1))
        return of(kind, date.fromisoformat(value))
    except ValueError:
        return None
