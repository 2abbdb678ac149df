"""API contract of the dashboard (仪表盘): the query of every card and the chart-ready answers.
Amounts are JSON numbers in yuan with two decimals (summed as Decimal); null = not computable for
the caller (a field they may not read, a record type they may not list) or, for targets, not set."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import cursor_param

Scope = Literal["self", "subordinates", "department", "company"]
Range = Literal["today", "yesterday", "week", "last_week", "month", "last_month", "quarter", "last_quarter", "year", "last_year"]


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    scope: Scope = Field("self", description="whose records: mine, mine and my reports', my department (and below), the company "
                                             "— always within my data scope (a wider choice is narrowed to it, never refused)")
    range: Range | None = Field(None, description="a period of the tenant's calendar (default: month); or give start and end")
    start: dt.date | None = Field(None, description="first day (YYYY-MM-DD), with end")
    end: dt.date | None = Field(None, description="last day, included (at most 3 years after start)")
    stage_group: str | None = Field(None, max_length=40, description="funnel: the stage group (default: the first group open to me)")


class ForgottenQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    days: Literal["7", "15", "30", "90", "180"] = Field("7", description="not contacted for at least this many days")
    scope: Scope = "self"
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)


class PeriodOut(_Out):
    range: str | None
    start: str
    end: str = Field(description="included")
    previous_start: str
    previous_end: str
    time_zone: str


class Omitted(_Out):
    figure: str
    field: str
    code: str


class Brief(_Out):
    count: int | None
    previous_count: int | None
    count_change: float | None = Field(description="% against the previous period; null when it had none")
    amount: float | None = None
    previous_amount: float | None = None
    amount_change: float | None = None


class BriefingOut(_Out):
    customers: Brief
    contacts: Brief
    opportunities: Brief = Field(description="new opportunities and their expected amount")
    contracts: Brief = Field(description="new contracts (count)")
    contract_amount: Brief = Field(description="approved contracts signed in the period (void ones excluded)")
    payment_amount: Brief = Field(description="approved payments received in the period")
    followups: Brief


class Achieved(_Out):
    actual: float | None
    target: float | None = Field(description="null until targets are set")
    rate: float | None = Field(description="% of the target")


class AchievementCard(_Out):
    contract: Achieved
    payment: Achieved


class FunnelStage(_Out):
    stage: str
    name: str
    win_rate: int
    count: int | None
    amount: float | None
    weighted_amount: float | None


class Outcome(_Out):
    count: int | None
    amount: float | None


class FunnelOut(_Out):
    stage_group: dict[str, str]
    stages: list[FunnelStage] = Field(description="open opportunities now, per stage in order")
    won: Outcome = Field(description="closed as won in the period")
    lost: Outcome


class TrendPoint(_Out):
    month: str
    count: int | None
    amount: float | None
    target: float | None


class TrendOut(_Out):
    months: list[str]
    contract: list[TrendPoint]
    payment: list[TrendPoint]


class ForgottenBucket(_Out):
    days: int
    count: int | None


class ForgottenOut(_Out):
    buckets: list[ForgottenBucket] = Field(description="customers not contacted for at least N days (7 includes 15 …)")


class Counted(_Out):
    count: int | None


class Money(_Out):
    count: int | None
    amount: float | None
    outstanding: float | None = None
    days: int | None = None


class Soon(_Out):
    count: int | None
    days: int


class TodoOut(_Out):
    followups_today: Counted = Field(description="follow-ups whose next contact time is today")
    pending_approvals: Counted = Field(description="approval tasks waiting for my decision")
    plans_due: Money = Field(description="payment plans due in the next days, not yet paid")
    plans_overdue: Money
    contracts_expiring: Money = Field(description="approved contracts in force ending in the next days")
    customers_to_pool: Soon = Field(description="customers that enter a public pool by the end of the 7th day (as /v1/pools/upcoming)")


class DashboardOut(_Out):
    scope: str
    period: PeriodOut
    omitted: list[Omitted] = Field(description="figures left out: they need a field the caller may not read")
    briefing: BriefingOut | None = None
    achievement: AchievementCard | None = None
    funnel: FunnelOut | None = None
    trend: TrendOut | None = None
    forgotten: ForgottenOut | None = None
    todo: TodoOut | None = None
