"""API contract of targets (业绩目标 / 销售计划), achievement and territories (销售地域): bodies and answers
(built on first use; the query strings are in queries.py, which the routes need at import).

Money comes back as decimal text with 2 decimals ("12000.00"), rates as % with 2 decimals."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .queries import Subject

Amount = Annotated[Decimal, Field(strict=False, ge=0, le=Decimal("1e13"), decimal_places=2)]  # a number or decimal text

_ID = r"^[A-Za-z0-9_-]{1,40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, defer_build=True)


class _Out(BaseModel):
    model_config = ConfigDict(defer_build=True)


class TargetRowIn(_Strict):
    subject: Subject
    months: list[Amount] = Field(min_length=12, max_length=12, description="January … December, each ≥ 0")


class TargetsIn(_Strict):
    name: str | None = Field(None, max_length=60, description="the sales plan's name (销售计划); null: kept")
    notes: str | None = Field(None, max_length=2000, description="null: kept")
    rows: list[TargetRowIn] = Field(max_length=2000, description="the rows the caller may set, in full (rows left out are removed)")
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class TargetSubjectOut(_Out):
    subject: str
    kind: Literal["company", "department", "user"]
    id: str | None
    name: str | None


class TargetRowOut(TargetSubjectOut):
    months: list[Decimal]
    quarters: list[Decimal]
    total: Decimal


class TargetsOut(_Out):
    year: int
    metric: str
    name: str | None
    notes: str | None
    rows: list[TargetRowOut]
    version: int


class SalesPlansOut(_Out):
    year: int
    items: list[TargetsOut]


class TargetFigures(_Out):
    target: Decimal
    actual: Decimal
    rate: Decimal | None = Field(description="actual / target in %; null without a target")


class TargetPeriodFigures(TargetFigures):
    period: str = Field(description="2026-11 | 2026-Q4 | 2026")


class TargetMemberOut(TargetSubjectOut):
    items: list[TargetPeriodFigures]
    total: TargetFigures


class AchievementOut(_Out):
    year: int
    metric: str
    period: str
    subject: TargetSubjectOut
    items: list[TargetPeriodFigures]
    total: TargetFigures
    members: list[TargetMemberOut] | None = Field(None, description="a department's users (and its sub-departments')")


class TerritoryIn(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=40)
    regions: list[Annotated[str, Field(min_length=2, max_length=12)]] = Field(
        min_length=1, max_length=500, description="codes of the region dictionary (GET /v1/regions)")
    department_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    user_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=200)
    notes: str | None = Field(None, max_length=500)


class TerritoriesIn(_Strict):
    territories: list[TerritoryIn] = Field(max_length=200)
    version: int | None = Field(None, ge=0, description="or If-Match; not needed for the first save")


class TerritoryTeamMember(_Out):
    id: str
    name: str | None


class TerritoryOut(_Out):
    id: str
    name: str
    regions: list[str]
    region_names: list[str | None]
    department_ids: list[str]
    user_ids: list[str]
    departments: list[TerritoryTeamMember]
    users: list[TerritoryTeamMember]
    notes: str | None = None


class TerritoriesOut(_Out):
    territories: list[TerritoryOut]
    version: int


class TerritoryRegionOut(_Out):
    code: str | None
    name: str | None


class TerritoryOwnerOut(_Out):
    region: TerritoryRegionOut
    territory: TerritoryOut | None
