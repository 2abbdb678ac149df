"""API contract of the customer care rules (客户关怀)."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..core.errors import Problem

Kind = Literal["birthday", "after_deal", "not_contacted", "holiday"]
# days each kind takes: before the birthday or holiday (0 = on the day), after the deal, without contact
DAYS: dict[str, tuple[int, int]] = {"birthday": (0, 90), "holiday": (0, 90), "after_deal": (1, 3650), "not_contacted": (1, 3650)}
_FULL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEARLY = re.compile(r"^\d{2}-\d{2}$")


def holiday_date(value: str) -> str:
    """YYYY-MM-DD (that year only) or MM-DD (every year; 02-29 is refused: it has no yearly date)."""
    try:
        if _FULL.match(value):
            date.fromisoformat(value)
            return value
        if _YEARLY.match(value) and value != "02-29":
            date.fromisoformat(f"2001-{value}")
            return value
    except ValueError:
        pass
    raise Problem("care.holiday_date", "format")


class CareHoliday(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=20, description="春节, 中秋节, 国庆节 …")
    date: str = Field(min_length=5, max_length=10, description="YYYY-MM-DD for that year only (lunar holidays such as 春节 "
                                                                "and 中秋节 move: list each year's date), MM-DD for every "
                                                                "year (元旦 01-01, 国庆节 10-01)")

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        return holiday_date(v)


class CareRule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$", description="kept across saves; new rules get one")
    kind: Kind = Field(description="birthday 联系人生日 / after_deal 成交后回访 / not_contacted 遗忘客户 / holiday 节日问候")
    name: str | None = Field(None, max_length=40)
    enabled: bool = True
    days: int = Field(ge=0, le=3650, description="birthday, holiday: days before (0..90, 0 = on the day); after_deal: days "
                                                 "after the deal (1..3650); not_contacted: days without a follow-up (1..3650)")
    levels: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20, description="customer levels it applies to (empty: every level); for a holiday "
                                                        "rule, the customers counted")
    holidays: list[CareHoliday] = Field(default_factory=list, max_length=30, validate_default=True,
                                    description="holiday rules only: the holidays")

    @field_validator("days")
    @classmethod
    def _days(cls, v: int, info: ValidationInfo) -> int:
        low, high = DAYS.get(str(info.data.get("kind")), (0, 3650))
        if not low <= v <= high:
            raise Problem("field.between", "range", min=low, max=high)
        return v

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, v: list[CareHoliday], info: ValidationInfo) -> list[CareHoliday]:
        kind = info.data.get("kind")
        if kind == "holiday" and not v:
            raise Problem("care.holidays_required", "missing")
        if kind != "holiday" and v:
            raise Problem("care.holidays_only", "invalid")
        return v


class CareRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rules: list[CareRule] = Field(max_length=50)
    version: int | None = Field(None, description="the version you read (or If-Match); not needed for the first rules")


class CareHolidayOut(BaseModel):
    name: str
    date: str


class CareRuleOut(BaseModel):
    id: str
    kind: Kind
    name: str | None
    enabled: bool
    days: int
    levels: list[str]
    holidays: list[CareHolidayOut]


class CareRulesOut(BaseModel):
    rules: list[CareRuleOut]
    version: int = Field(description="0: never saved (no rules)")
