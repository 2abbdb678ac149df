"""API contract of customers' own routes (lock, ownership limits)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..core.errors import Problem

Id = Annotated[str, Field(min_length=1, max_length=40)]


class LockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    version: int | None = Field(None, description="the version you read (or If-Match)")


class LimitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: Id | None = Field(None, description="a user's own limit…")
    department_id: Id | None = Field(None, description="…or a department's (its sub-departments inherit it)")
    owned: int | None = Field(None, ge=0, le=100000, description="拥有客户数上限")
    locked: int | None = Field(None, ge=0, le=100000, description="锁定客户数上限")
    exclude_closed: bool = Field(False, description="closed-deal customers do not count against `owned`")

    @model_validator(mode="after")
    def _one_target(self) -> LimitRule:
        if (self.user_id is None) == (self.department_id is None):
            raise Problem("limits.one_target", "target")
        return self


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    rules: list[LimitRule] = Field(max_length=500)
    version: int | None = None


class LimitsOut(BaseModel):
    rules: list[LimitRule]
    version: int


class HeldLimit(BaseModel):
    owned: int | None
    locked: int | None
    exclude_closed: bool


class Holdings(BaseModel):
    user_id: str
    owned: int
    open: int
    locked: int
    limit: HeldLimit | None


class HoldingsQuery(BaseModel):
    user_id: Id | None = Field(None, description="another user's (customers:manage)")
