"""API contract of opportunities' own routes: stage groups, stage moves, closing, board, forecast."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..search.schemas import SelectionQuery

_ID = r"^[A-Za-z0-9_-]{1,40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, defer_build=True)


class Stage(_Strict):
    id: str = Field(pattern=_ID, description="kept for good: opportunities point at it")
    name: str = Field(min_length=1, max_length=30)
    win_rate: int = Field(ge=0, le=100, description="赢率 in %")
    active: bool = Field(True, description="false: not offered as a next stage (stages are never removed)")


class StageGroup(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=40)
    department_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50, description="empty: every department; else these and their sub-departments")
    active: bool = Field(True, description="false: takes no new opportunities (groups are never removed)")
    stages: list[Stage] = Field(min_length=1, max_length=20, description="in order")


class StageGroupsIn(_Strict):
    groups: list[StageGroup] = Field(min_length=1, max_length=30)
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class StageGroupOut(StageGroup):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    open_to_me: bool


class StageGroupsOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    groups: list[StageGroupOut]
    version: int


class MoveIn(_Strict):
    stage_id: str = Field(min_length=1, max_length=40, description="any active stage of its group, forward or back")
    note: str | None = Field(None, max_length=500)
    version: int | None = Field(None, ge=1, description="or If-Match")


class CloseIn(_Strict):
    outcome: Literal["won", "lost", "invalid"]
    loss_reason: str | None = Field(None, max_length=40, description="lost only, required: a code of the loss_reason dictionary")
    note: str | None = Field(None, max_length=500)
    version: int | None = Field(None, ge=1, description="or If-Match")


class ReopenIn(_Strict):
    note: str | None = Field(None, max_length=500)
    version: int | None = Field(None, ge=1, description="or If-Match")


class BoardQuery(SelectionQuery):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    stage_group: str | None = Field(None, max_length=40, description="default: the first group open to me")


class Figures(BaseModel):
    model_config = ConfigDict(defer_build=True)
    count: int
    amount: float
    weighted_amount: float


class Column(Figures):
    stage: str
    name: str
    win_rate: int
    active: bool


class BoardOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    stage_group: dict[str, str]
    columns: list[Column]
    won: Figures
    lost: Figures
    invalid: Figures


class ForecastQuery(SelectionQuery):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    period: Literal["month", "quarter", "year"] = "month"
    by: Literal["none", "owner", "department"] = "none"


class ForecastRow(Figures):
    period: str | None
    owner_id: str | None = None
    department_id: str | None = None


class ForecastOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    period: str
    by: str
    items: list[ForecastRow]
    totals: Figures
