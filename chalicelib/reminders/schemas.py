"""API contract of reminders."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import Instant
from ..core.pagination import Page, PageQuery
from ..core.patch import Patch


class ReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=200)
    remind_at: Instant = Field(description="when to remind, with offset, e.g. 2026-11-23T09:00:00+08:00 (in the future, "
                                           "before 2201)")
    note: str | None = Field(None, max_length=2000)
    link: dict[str, Any] | None = Field(None, description='a related record, e.g. {"entity": "customer", "id": "…"}')


class ReminderPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(None, min_length=1, max_length=200)
    remind_at: Instant = None  # type: ignore[assignment]
    note: str | None = None
    status: Literal["cancelled"] = None  # type: ignore[assignment]
    version: int | None = None


class ReminderOut(BaseModel):
    id: str
    title: str
    note: str | None
    remind_at: str
    status: str
    link: dict[str, Any] | None
    delivered_at: str | None
    schedule_name: str
    version: int


class ReminderPage(Page[ReminderOut]):
    pass


class ReminderQuery(PageQuery):
    pass
