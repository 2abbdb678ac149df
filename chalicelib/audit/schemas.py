"""API contract of the operation log (操作记录 / 系统日志)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..core.inputs import Month
from ..core.pagination import Page, PageQuery


class Change(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class AuditOut(BaseModel):
    id: str
    entity: str
    record_id: str
    action: str
    actor_id: str
    at: str
    changes: list[Change]
    note: str | None = None


class AuditPage(Page[AuditOut]):
    pass


class RecordLogQuery(PageQuery):
    limit: int = Field(50, ge=1, le=100)


class AuditQuery(PageQuery):
    month: Month | None = Field(None, description="YYYY-MM, month 01–12 (default: this month)")
    user_id: str | None = Field(None, description="only what this user did (all months)")
    limit: int = Field(50, ge=1, le=100)
