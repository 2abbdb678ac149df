"""Input values every module shares, with their sane bounds: calendar dates and instants
within years 1900–2200 (the field-type engine's default too), months YYYY-MM (01–12).

Each is an annotated type for request models; a bad value raises `Problem`, so the 422
names the field in the caller's language.

`StrictBody` is the base of request bodies: an unknown field is refused by name (not dropped)
and a value is taken as JSON sends it (no "5" for 5, no 0 for false, no 1.0 for 1). JSON has no
instant type, so a body's instant is `BodyInstant`: ISO text (never a number), checked as `Instant`.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from . import clock
from .errors import Problem

DATE_MIN, DATE_MAX = "1900-01-01", "2200-12-31"  # dates and instants outside are typing mistakes, not plans
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month(value: str) -> str:
    """YYYY-MM with a month 01–12, within the date bounds."""
    m = _MONTH.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Problem("field.month", "format")
    if not DATE_MIN[:7] <= value <= DATE_MAX[:7]:
        raise Problem("field.date_min" if value < DATE_MIN[:7] else "field.date_max", "range", min=DATE_MIN, max=DATE_MAX)
    return value


def within_bounds(when: datetime) -> datetime:
    """An instant with a time zone, within the date bounds."""
    if when.tzinfo is None:
        raise Problem("field.timezone", "format")
    try:
        day = when.astimezone(UTC).date().isoformat()
    except OverflowError:  # 0001-01-01T00:00+08:00 is before the first instant Python can hold in UTC
        raise Problem("field.date_min" if when.year < 2000 else "field.date_max", "range", min=DATE_MIN, max=DATE_MAX) from None
    if day < DATE_MIN:
        raise Problem("field.date_min", "range", min=DATE_MIN)
    if day > DATE_MAX:
        raise Problem("field.date_max", "range", max=DATE_MAX)
    return when


def instant_text(value: str) -> str:
    """An ISO-8601 instant given as text, checked like `Instant` and stored as clock.iso (UTC, Z)."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Problem("field.datetime", "format") from None
    return clock.iso(within_bounds(when))


Month = Annotated[str, AfterValidator(month), Field(description="YYYY-MM (month 01–12)", examples=["2026-11"])]
Instant = Annotated[datetime, AfterValidator(within_bounds),
                    Field(description=f"ISO-8601 with a time zone offset, {DATE_MIN[:4]}–{DATE_MAX[:4]}")]
InstantText = Annotated[str, AfterValidator(instant_text),
                        Field(description=f"ISO-8601 with a time zone offset, {DATE_MIN[:4]}–{DATE_MAX[:4]}")]


def _iso_text(value: object) -> object:
    """What a JSON body may send for an instant: text (or an instant already parsed), never a number."""
    if isinstance(value, (str, datetime)):
        return value
    raise Problem("field.datetime", "type")


BodyInstant = Annotated[Instant, Strict(False), BeforeValidator(_iso_text)]


class StrictBody(BaseModel):
    """The base of a request body: unknown fields are refused by name, values are taken as JSON sends them."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class NoBody(StrictBody):
    """The body of a write route that takes no input: nothing, {} or null; any field is refused by name."""

    model_config = ConfigDict(json_schema_extra={"type": ["object", "null"]})
