"""API contract of numbering rules."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..core.errors import Problem

RULE_KEY = r"^[a-z][a-z0-9_]{1,39}$"


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=40)
    prefix: str = Field("", max_length=12, pattern=r"^[A-Za-z0-9_-]*$")
    date_format: Literal["YYYYMMDD", "YYYYMM", "YYYY", "none"] = "YYYYMMDD"
    reset: Literal["daily", "monthly", "yearly", "never"] = "daily"
    seq_width: int = Field(4, ge=1, le=10)
    version: int | None = Field(None, description="required when changing an existing rule")

    @model_validator(mode="after")
    def _reset_fits_date(self) -> "RuleIn":
        finest = {"YYYYMMDD": "daily", "YYYYMM": "monthly", "YYYY": "yearly", "none": "never"}[self.date_format]
        order = ["daily", "monthly", "yearly", "never"]
        if order.index(self.reset) < order.index(finest):
            raise Problem("numbering.reset", "invalid")
        return self


class RuleOut(BaseModel):
    key: str
    name: str
    prefix: str
    date_format: str
    reset: str
    seq_width: int
    version: int


class RuleList(BaseModel):
    items: list[RuleOut]


class NumberOut(BaseModel):
    rule: str
    number: str
    sequence: int
