"""API contract of public pools."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import PageQuery
from ..core.patch import Patch

Id = Annotated[str, Field(min_length=1, max_length=40)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["no_followup", "no_opportunity", "no_deal"] = Field(description="未跟进 / 未新建商机 / 未成交")
    days: int = Field(ge=1, le=3650)
    levels: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20, description="customer levels it applies to (empty: every level)")


class PoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=40)
    admin_ids: list[Id] = Field(default_factory=list, max_length=50)
    member_user_ids: list[Id] = Field(default_factory=list, max_length=500)
    member_department_ids: list[Id] = Field(default_factory=list, max_length=100)
    daily_claim_cap: int | None = Field(None, ge=1, le=1000, description="claims per member per day")
    reclaim_cooldown_days: int = Field(0, ge=0, le=365, description="before the previous owner may claim it back")
    rules: list[Rule] = Field(default_factory=list, max_length=20, description="recycling rules (自动回收)")
    remind_days_before: int = Field(0, ge=0, le=365, description="待进入公海提醒: warn the owner this many days before (0: no warning)")
    include_closed: bool = Field(False, description="closed-deal (已成交) customers are recycled too")
    include_open_opportunities: bool = Field(False, description="customers with open opportunities are recycled too")


class PoolPatch(Patch):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=40)
    admin_ids: list[Id] = Field(None, max_length=50)
    member_user_ids: list[Id] = Field(None, max_length=500)
    member_department_ids: list[Id] = Field(None, max_length=100)
    daily_claim_cap: int | None = Field(None, ge=1, le=1000)
    reclaim_cooldown_days: int = Field(None, ge=0, le=365)
    rules: list[Rule] = Field(None, max_length=20)
    remind_days_before: int = Field(None, ge=0, le=365)
    include_closed: bool = Field(None)
    include_open_opportunities: bool = Field(None)
    version: int | None = None


class PoolOut(BaseModel):
    id: str
    name: str
    admin_ids: list[str]
    member_user_ids: list[str]
    member_department_ids: list[str]
    daily_claim_cap: int | None
    reclaim_cooldown_days: int
    rules: list[Rule]
    remind_days_before: int
    include_closed: bool
    include_open_opportunities: bool
    version: int


class PoolList(BaseModel):
    items: list[PoolOut]


class PutBackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    pool_id: Id
    reason: str = Field(min_length=1, max_length=200, description="放入公海的原因")
    version: int | None = None


class DistributeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ids: list[Id] = Field(min_length=1, max_length=100)
    to_user_id: Id


class PoolCustomersQuery(PageQuery):
    pass


class UpcomingQuery(PageQuery):
    within: Literal["tomorrow", "week"] = Field("week", description="entering by the end of tomorrow, or of the next 7 days")
    pool_id: str | None = Field(None, min_length=1, max_length=40, description="only those entering this pool")
