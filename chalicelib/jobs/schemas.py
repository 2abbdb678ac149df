"""API contract of background jobs (后台任务)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..core.pagination import Page, PageQuery


class JobProgress(BaseModel):
    total: int | None = Field(None, description="units of work in all (rows, records), when known")
    done: int = Field(description="units finished")
    errors: int = Field(description="units that failed (e.g. rejected rows)")


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="import | export | backup | restore …")
    label: str = Field(description="what the job does, in the creator's language")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: JobProgress
    result: dict[str, Any] | None = Field(None, description="what the job produced (its kind says what)")
    error: str | None = Field(None, description="why the last attempt failed")
    cancel_requested: bool
    attempts: int = Field(description="invocations that ran it (a failed one is retried from the last checkpoint)")
    created_by: str
    created_at: str
    updated_at: str
    finished_at: str | None = None


class JobPage(Page[JobOut]):
    pass


class JobQuery(PageQuery):
    all: bool = Field(False, description="every job of the tenant (administrators), not only mine")
