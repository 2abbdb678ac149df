"""API contract of commission (销售提成): plans, statements, closing a month — bodies and answers, built on
first use (the query string is in queries.py).

Money and rates come back as decimal text ("1234.50"), exact to 2 decimals (rates up to 4)."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

_ID = r"^[A-Za-z0-9_-]{1,40}$"
Rate = Annotated[Decimal, Field(strict=False, ge=0, le=100, decimal_places=4, description="% of the base")]
RefId = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, defer_build=True)


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)


class CommissionProductRate(_Strict):
    product_id: RefId
    rate: Rate


class CommissionCategoryRate(_Strict):
    category_id: RefId = Field(description="a category of GET /v1/product-categories (its sub-categories too)")
    rate: Rate


class CommissionTier(_Strict):
    from_rate: Decimal = Field(strict=False, ge=0, le=10000, decimal_places=2, description="from this achievement of the month's target, in %")
    multiplier: Decimal = Field(strict=False, ge=0, le=10, decimal_places=4, description="× the month's commission")


class CommissionPlanIn(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=60)
    active: bool = True
    base: Literal["payment_amount", "contract_amount"] = Field(
        "payment_amount", description="approved payments by payment date, or approved contracts by sign date")
    default_rate: Rate = Field(description="for products and categories without a rate, and contracts without lines")
    product_rates: list[CommissionProductRate] = Field(default_factory=list, max_length=500)
    category_rates: list[CommissionCategoryRate] = Field(default_factory=list, max_length=200)
    tiers: list[CommissionTier] = Field(default_factory=list, max_length=20, description="by achievement of the rep's target of the month")
    department_ids: list[RefId] = Field(default_factory=list, max_length=50, description="with their sub-departments")
    user_ids: list[RefId] = Field(default_factory=list, max_length=500, description="neither users nor departments: everyone")


class CommissionPlansIn(_Strict):
    plans: list[CommissionPlanIn] = Field(max_length=50, description="in order: a rep's plan is the first active one that applies")
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class CommissionProductRateOut(_Out):
    product_id: str
    rate: Decimal


class CommissionCategoryRateOut(_Out):
    category_id: str
    rate: Decimal


class CommissionTierOut(_Out):
    from_rate: Decimal
    multiplier: Decimal


class CommissionPlanOut(_Out):
    id: str
    name: str
    active: bool
    base: str
    default_rate: Decimal
    product_rates: list[CommissionProductRateOut]
    category_rates: list[CommissionCategoryRateOut]
    tiers: list[CommissionTierOut]
    department_ids: list[str]
    user_ids: list[str]


class CommissionPlansOut(_Out):
    plans: list[CommissionPlanOut]
    version: int


class CommissionLine(_Out):
    kind: Literal["contract", "payment"]
    id: str
    number: str | None
    date: str | None
    contract_id: str | None
    base_amount: Decimal
    rate: Decimal = Field(description="% (the contract's lines' rates weighted by subtotal)")
    commission: Decimal


class CommissionPlanRef(_Out):
    id: str
    name: str
    base: str


class CommissionStatementOut(_Out):
    user_id: str
    name: str | None
    period: str
    plan: CommissionPlanRef
    target: Decimal
    actual: Decimal
    achievement_rate: Decimal | None
    multiplier: Decimal
    lines: list[CommissionLine]
    commission_before_tier: Decimal
    commission_total: Decimal


class CommissionStatementsOut(_Out):
    period: str
    closed: bool
    closed_at: str | None
    closed_by: str | None
    items: list[CommissionStatementOut]
    base_total: Decimal
    commission_total: Decimal


class CommissionCloseIn(_Strict):
    pass
