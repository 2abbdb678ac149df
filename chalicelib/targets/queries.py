"""Query strings of targets' routes (the routes need them when they are imported; bodies and answers
are in schemas.py, built on first use)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Metric = Literal["contract_amount", "payment_amount"]
Year = Annotated[int, Field(ge=2000, le=2100, description="default: this year")]
Subject = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^(company|department:[^:\s]{1,64}|user:[^:\s]{1,64})$",
                               description="company | department:<id> | user:<id>")]


class _Query(BaseModel):  # query strings: text turned into numbers
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class TargetsQuery(_Query):
    year: Year | None = None
    metric: Metric = Field("contract_amount", description="合同金额 (approved contracts by sign date) or 回款金额 (approved payments)")


class SalesPlansQuery(_Query):
    year: Year | None = None


class AchievementQuery(_Query):
    year: Year | None = None
    metric: Metric = "contract_amount"
    period: Literal["month", "quarter", "year"] = "month"
    subject: Subject | None = Field(None, description="default: the company, else my department, else me — what I reach")


class TerritoryOwnerQuery(_Query):
    region: str | None = Field(None, min_length=2, max_length=60, description="a region code (440305) or full name (广东省/深圳市/南山区)")
    customer: str | None = Field(None, min_length=1, max_length=64, description="or a customer id: its region field or map location")
