"""API contract of reminders."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.pagination import Page, PageQuery
from ..core.patch import Patch


class _When(BaseModel):
    @field_validator("remind_at", check_fields=False)
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("请带上时区，例如 2026-11-23T09:00:00+08:00 / include a time zone offset")
        return v


class ReminderIn(_When):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=200)
    remind_at: datetime = Field(description="when to remind, with offset, e.g. 2026-11-23T09:00:00+08:00")
    note: str | None = Field(None, max_length=2000)
    link: dict[str, Any] | None = Field(None, description='a related record, e.g. {"entity": "customer", "id": "…"}')


class ReminderPatch(_When, Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(None, min_length=1, max_length=200)
    remind_at: datetime = None  # type: ignore[assignment]
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
