"""Request and response models of work reports' own routes (the record's come from the engine)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core.errors import Problem
from ..core.inputs import StrictBody

Kind = Literal["daily", "weekly", "monthly"]
_KEY = r"^[a-z][a-z0-9_]{0,39}$"


class _Strict(StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class WorkReportVersionIn(_Strict):
    version: int | None = Field(None, ge=1, description="or If-Match")


class WorkReportReviewIn(_Strict):
    remark: str | None = Field(None, max_length=2000, description="批阅意见 (optional)")


class WorkReportMissingQuery(_Query):
    kind: Kind = "daily"
    period: str | None = Field(None, max_length=10, description="2026-12-01 (daily), 2026-W49 or a day (weekly), 2026-12 or a "
                                                                "day (monthly); default the current period")
    department_id: str | None = Field(None, max_length=64, description="this department and the ones below it")


class WorkReportMissingUser(BaseModel):
    user_id: str
    name: str | None
    department_id: str
    report_id: str | None = Field(description="their draft, if they started one")
    status: Literal["none", "draft"]


class WorkReportMissingOut(BaseModel):
    kind: Kind
    period: str
    period_start: str
    period_end: str
    expected: int = Field(description="people who have to report (my data scope, the department if named)")
    submitted: int
    missing: list[WorkReportMissingUser]


class WorkReportLabel(_Strict):
    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=100)
    model_config = ConfigDict(str_strip_whitespace=True, populate_by_name=True)


class WorkReportSection(_Strict):
    key: str = Field(pattern=_KEY, description="stable key of the section (done, plan, problems …)")
    label: WorkReportLabel
    required: bool = False


def _unique(rows: list[WorkReportSection]) -> list[WorkReportSection]:
    if len({r.key for r in rows}) != len(rows):
        raise Problem("work_report.template_keys", "unique")
    return rows


class WorkReportTemplates(_Strict):
    daily: list[WorkReportSection] = Field(min_length=1, max_length=20)
    weekly: list[WorkReportSection] = Field(min_length=1, max_length=20)
    monthly: list[WorkReportSection] = Field(min_length=1, max_length=20)

    _check = field_validator("daily", "weekly", "monthly")(_unique)


class WorkReportTemplatesIn(_Strict):
    templates: WorkReportTemplates
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class WorkReportTemplatesOut(BaseModel):
    templates: dict[str, list[dict]]
    version: int


class WorkReportReminder(_Strict):
    enabled: bool
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time HH:MM (tenant's time zone)")
    days: list[int] = Field(min_length=1, max_length=31, description="ISO weekdays (1 = Monday) for daily and weekly reports; "
                                                                     "days of the month (-1 = the last) for monthly ones")


class WorkReportReminders(_Strict):
    daily: WorkReportReminder
    weekly: WorkReportReminder
    monthly: WorkReportReminder

    @model_validator(mode="after")
    def _days(self) -> "WorkReportReminders":
        for kind, top in (("daily", 7), ("weekly", 7), ("monthly", 31)):
            days = getattr(self, kind).days
            if any(not (1 <= d <= top or (kind == "monthly" and d == -1)) for d in days):
                raise Problem("work_report.days", "range")
        return self


class WorkReportRemindersIn(_Strict):
    reminders: WorkReportReminders
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class WorkReportRemindersOut(BaseModel):
    reminders: dict[str, dict]
    version: int


