"""API contract of the calendar's own routes (the event record's routes come from the engine)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import BodyInstant, Instant, StrictBody


class ConflictQuery(BaseModel):
    """How a create or a move of an event treats a conflict with the participants' other events."""

    model_config = ConfigDict(extra="forbid")
    on_conflict: Literal["warn", "error"] = Field("warn", description="warn: 409 EVENT_CONFLICT unless force=true; "
                                                                      "error: 409 EVENT_CONFLICT_BLOCKED, not overridable")
    force: bool = Field(False, description="write the event despite the conflicts of a warning")


class CalendarQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_: Instant = Field(alias="from", description="start of the range, with offset, e.g. 2026-12-07T00:00:00+08:00")
    to: Instant = Field(description="end of the range (exclusive), at most 62 days after `from`")
    user_id: str | None = Field(None, max_length=64, description="whose calendar (default: mine)")
    department_id: str | None = Field(None, max_length=64, description="a department's calendar (its people and sub-departments)")
    team_name: str | None = Field(None, min_length=1, max_length=100,
                                  description="a team's calendar: its events I may read (names from GET /v1/calendar/teams)")


class CalendarItem(BaseModel):
    type: str  # event | followup | contract | approval | …
    source: str | None  # the calendar source of another module's item (None for events)
    id: str | None  # None for a private event of someone else
    title: str | None
    start_at: str
    end_at: str
    all_day: bool
    busy: bool  # someone else's private event: only the time is shown
    location: str | None
    owner_id: str | None
    participant_ids: list[str]
    private: bool
    occurrence: str | None  # a recurring event's occurrence (its original local date)
    recurring: bool
    moved: bool


class CalendarOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    user_id: str | None
    department_id: str | None
    team_name: str | None = None
    items: list[CalendarItem]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class TeamCalendar(BaseModel):
    team_name: str
    events: int  # team events I may read


class TeamCalendarsOut(BaseModel):
    items: list[TeamCalendar]


class OccurrencePatch(StrictBody):
    start_at: BodyInstant | None = None
    end_at: BodyInstant | None = None
    cancelled: bool = Field(False, description="cancel this occurrence only")
    version: int | None = Field(None, description="the event's version (or If-Match)")


class FeedLinkOut(BaseModel):
    url: str  # path of the feed under the API's host; whoever has it reads the calendar
    token: str
    created_at: str
