"""API contract of quotes' own routes: send, the customer's answer, conversion to a contract."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class VersionIn(_Strict):
    version: int | None = Field(None, ge=1, description="or If-Match")


class AnswerIn(VersionIn):
    note: str | None = Field(None, max_length=200, description="what the customer said")


class ConvertIn(VersionIn):
    name: str | None = Field(None, min_length=1, max_length=100, description="the contract's name (default: the quote's)")
    sign_date: str | None = Field(None, min_length=10, max_length=10, description="YYYY-MM-DD")
    start_date: str | None = Field(None, min_length=10, max_length=10, description="YYYY-MM-DD")
    end_date: str | None = Field(None, min_length=10, max_length=10, description="YYYY-MM-DD")


class ConvertOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    quote: dict[str, Any]
    contract: dict[str, Any]
