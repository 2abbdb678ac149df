"""API contract of the recycle bin (回收站)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class BinItem(BaseModel):
    entity: str
    id: str
    name: str | None
    owner_id: str
    deleted_at: str
    deleted_by: str | None
    version: int


class BinPage(BaseModel):
    items: list[BinItem]
    next_cursor: str | None = None


class BinQuery(BaseModel):
    mine: bool = Field(False, description="my own bin of private records instead of the tenant's")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = None
