"""API contract of contracts' own routes: change requests, termination, void, renewal."""
from __future__ import annotations

from typing import Any

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
