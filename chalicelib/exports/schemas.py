"""API contract of exports (导出): records of any type, and a month of the operation log."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import Month
from ..search.schemas import Condition

Format = Literal["xlsx", "csv"]


class ExportQuery(BaseModel):
    """Which records: the parameters the type's list endpoint takes (filters as a list here)."""

    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(None, max_length=100, description="full-text query, as in the list")
    filters: list[Condition] = Field(default_factory=list, max_length=50, description="conditions, as the list's `filters`")
    sort: str | None = Field(None, max_length=61, pattern=r"^[-+]?[a-z][a-z0-9_.]*$",
                             description="field to sort by, '-' for descending (default: newest first)")
    view: str | None = Field(None, max_length=40, description="a saved view (场景) applied under these parameters")
    scope: Literal["visible", "mine", "team"] | None = Field(None, description="visible = my data scope; mine = I own; team = shared with me")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=60, description="record type: customer, contact, obj_<key> …")
    format: Format = "xlsx"
    ids: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(
        None, min_length=1, max_length=5000, description="just these records (selected in a list)")
    query: ExportQuery | None = Field(None, description="all records the list with these parameters shows (default: all I may see)")
    background: bool = Field(False, description="always as a job, even when the file could be answered at once")


class AuditExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: Month
    format: Format = "xlsx"


class Progress(BaseModel):
    total: int | None = None
    done: int = 0
    errors: int = 0


class ExportOut(BaseModel):
    id: str
    kind: str = Field(description="export (records) | audit_export (operation log)")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: Progress = Field(default_factory=Progress)
    rows: int | None = Field(None, description="rows in the file (when done)")
    file_name: str | None = None
    link: str | None = Field(None, description="presigned download of the file (when done; valid a few minutes: GET again for a new one)")
    error: Any = None
    created_at: str | None = None
    updated_at: str | None = None
