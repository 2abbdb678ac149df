"""API contracts shared by every module list, global search and saved views."""
from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..core.errors import Problem
from ..core.pagination import cursor_param
from ..core.patch import Patch

FILTERS_DOC = ('JSON list of conditions, e.g. [{"field":"level","op":"in","value":["A","B"]},'
               '{"field":"created_at","op":"period","value":"本月"},{"field":"custom.budget","op":"range","value":{"gte":1000}}]. '
               "op: eq | in | range (gte/gt/lte/lt) | exists | missing | contains | period (today, yesterday, this_week, last_week, "
               "this_month/本月, last_month/上月, this_quarter, last_quarter, this_year, last_year)")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=60, description="built-in field or custom.<key>")
    op: Literal["eq", "in", "range", "exists", "missing", "contains", "period"] = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _period(self) -> "Condition":
        if self.op == "period":
            from .rules import PERIODS  # when used: the rules module is not every route's to import

            if not isinstance(self.value, str) or self.value not in PERIODS:
                raise Problem("field.period", "option", periods=", ".join(sorted(set(PERIODS.values()))))
        return self


class SelectionQuery(BaseModel):
    """Which records a list, or figures over a list, covers: text, filters, a saved view, the scope."""

    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(None, max_length=100, description="full-text query (Chinese 2-character terms, mobile/email prefixes)")
    filters: str | None = Field(None, max_length=4000, description=FILTERS_DOC)
    view: str | None = Field(None, max_length=40, description="apply a saved view (场景) under these parameters")
    scope: Literal["visible", "mine", "team"] | None = Field(None, description="visible = my data scope; mine = I own; team = shared with me")

    @field_validator("filters")
    @classmethod
    def _filters(cls, v: str | None) -> str | None:
        if v:
            try:
                data = json.loads(v)
            except ValueError:
                raise Problem("field.filters_json", "json") from None
            if not isinstance(data, list):
                raise Problem("field.filters_json", "json")
            for c in data:
                Condition.model_validate(c)
        return v

    def params(self) -> dict[str, Any]:
        return {"q": self.q, "filters": json.loads(self.filters) if self.filters else [], "view": self.view, "scope": self.scope}


class ListQuery(SelectionQuery):
    """Query string of every module list (served from the search index)."""

    sort: str | None = Field(None, max_length=61, pattern=r"^[-+]?[a-z][a-z0-9_.]*$",
                             description="field to sort by, '-' for descending (default: relevance with q, else -created_at)")
    facets: str | None = Field(None, max_length=600, description="comma-separated fields to count values of, e.g. level,industry")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()

    def params(self) -> dict[str, Any]:
        return {**super().params(), "sort": self.sort, "facets": [f.strip() for f in (self.facets or "").split(",") if f.strip()],
                "limit": self.limit, "cursor": self.cursor}


class FacetBucket(BaseModel):
    value: Any
    count: int


class PageMeta(BaseModel):
    next_cursor: str | None = None
    total: int = Field(0, description="records matching (within your data scope)")
    facets: dict[str, list[FacetBucket]] = Field(default_factory=dict)


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=100)
    types: str | None = Field(None, max_length=200, description="comma-separated entity types, e.g. customer")
    limit: int = Field(5, ge=1, le=50, description="hits per type")


class SearchHit(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    id: str
    title: str | None = None
    subtitle: str | None = None
    highlight: dict[str, str] = {}


class SearchGroup(BaseModel):
    type: str
    total: int
    hits: list[SearchHit]


class SearchOut(BaseModel):
    q: str
    total: int
    groups: list[SearchGroup]


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=40)
    shared: bool = Field(False, description="visible to everyone (needs search:manage)")
    q: str | None = Field(None, max_length=100)
    filters: list[Condition] | None = Field(None, max_length=20)
    sort: str | None = Field(None, max_length=61, pattern=r"^[-+]?[a-z][a-z0-9_.]*$")
    facets: list[str] | None = Field(None, max_length=10)
    scope: Literal["visible", "mine", "team"] | None = None


class ViewPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=40)  # type: ignore[assignment]
    q: str | None = Field(None, max_length=100)
    filters: list[Condition] | None = Field(None, max_length=20)
    sort: str | None = Field(None, max_length=61, pattern=r"^[-+]?[a-z][a-z0-9_.]*$")
    facets: list[str] | None = Field(None, max_length=10)
    scope: Literal["visible", "mine", "team"] | None = None
    version: int | None = None


class ViewOut(BaseModel):
    id: str
    entity: str
    name: str
    shared: bool
    owner_id: str
    q: str | None = None
    filters: list[Condition] = []
    sort: str | None = None
    facets: list[str] = []
    scope: str | None = None
    editable: bool
    version: int
    updated_at: str


class ViewList(BaseModel):
    items: list[ViewOut]
