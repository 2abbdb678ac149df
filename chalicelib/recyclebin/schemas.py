"""API contract of the recycle bin (回收站)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from ..core.pagination import Page, PageQuery


class BinItem(BaseModel):
    entity: str
    id: str
    name: str | None
    owner_id: str
    deleted_at: str
    deleted_by: str | None
    version: int
    merged_into: str | None = Field(None, description="merged into this record of the same type (合并); restoring undoes the merge")


class BinPage(Page[BinItem]):
    pass


class BinQuery(PageQuery):
    mine: bool = Field(False, description="my own bin of private records instead of the tenant's")
