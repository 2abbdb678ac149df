"""One source of 'now', so tests can move time."""
from __future__ import annotations

from datetime import UTC, datetime

_offset_seconds = 0.0
_frozen: datetime | None = None


def now() -> datetime:
    from datetime import timedelta

    return (_frozen or datetime.now(UTC)) + timedelta(seconds=_offset_seconds)


def now_iso() -> str:
    return iso(now())


def iso(value: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, sortable as text."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def travel(seconds: float) -> None:
    """Shift the clock (tests only)."""
    global _offset_seconds
    _offset_seconds += seconds


def freeze() -> None:
    """Stop the clock where it is; travel() still moves it (tests only)."""
    global _frozen
    _frozen = datetime.now(UTC)


def reset() -> None:
    global _offset_seconds, _frozen
    _offset_seconds = 0.0
    _frozen = None


def local_today(tz_name: str) -> str:
    """Today's date (YYYY-MM-DD) in a time zone (the tenant's: settings.default_timezone)."""
    from zoneinfo import ZoneInfo

    return now().astimezone(ZoneInfo(tz_name)).date().isoformat()


def day_after(day: str, tz_name: str) -> str:
    """The moment the day after `day` (YYYY-MM-DD…) starts in a time zone, as UTC ISO: when something
    due on `day` becomes late, or valid until `day` lapses."""
    from datetime import date, time, timedelta
    from zoneinfo import ZoneInfo

    return iso(datetime.combine(date.fromisoformat(str(day)[:10]) + timedelta(days=1), time.min, ZoneInfo(tz_name)))
