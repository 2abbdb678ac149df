"""API contract of contracts' own routes: change requests, termination, void, renewal."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class ChangeIn(_Strict):
    changes: dict[str, Any] = Field(min_length=1, description="the new terms, as in PATCH /v1/contracts/{id} (amount, lines, dates, "
                                                               "signers …)")
    comment: str | None = Field(None, max_length=2000, description="why, for the approvers")
    version: int | None = Field(None, ge=1, description="or If-Match")


class StateIn(_Strict):
    reason: str = Field(min_length=1, max_length=200)
    version: int | None = Field(None, ge=1, description="or If-Match")


class RenewIn(_Strict):
    name: str | None = Field(None, min_length=1, max_length=100, description="default: the contract's name with （续签）")
    start_date: str = Field(min_length=10, max_length=10, description="YYYY-MM-DD")
    end_date: str = Field(min_length=10, max_length=10, description="YYYY-MM-DD")


class SalesRules(_Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True, strict=True)  # no true for 1
    quote_discount_threshold: float = Field(ge=0, le=100, description="% off list prices above which a quote needs approval "
                                                                      "before it is sent (报价折扣阈值; default 10)")
    credit_control: Literal["off", "block", "approval"] = Field(
        description="a contract over its customer's credit limit: refused (block, the default), sent to the credit flow "
                    "(approval), or not checked (off)")
    credit_flow: str = Field(pattern=r"^[a-z][A-Za-z0-9_.:-]{0,79}$",
                             description="business type of the special flow when credit_control is approval (default contract_credit)")


class SalesRulesIn(SalesRules):
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class SalesRulesOut(SalesRules):
    model_config = ConfigDict(extra="ignore", defer_build=True, strict=False)
    version: int
