"""API contract of imports (导入)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import cursor_param

Format = Literal["csv", "xlsx"]


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(min_length=1, max_length=64, description="record type: customer, lead, contact, followup, product, obj_<key> …")
    file_name: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=1, description="bytes of the file (the upload must have exactly this size)")
    sha256: str = Field(min_length=64, max_length=64, description="SHA-256 of the file, hex")
    format: Format


class Upload(BaseModel):
    url: str
    method: str
    headers: dict[str, str] = Field(description="send these headers with the PUT")
    expires_at: str


class Progress(BaseModel):
    total: int | None = None
    done: int = 0
    errors: int = 0


class ImportOut(BaseModel):
    id: str
    type: str
    file_name: str
    format: str
    size: int
    status: str = Field(description="created (not started), queued, running, succeeded, failed, cancelled — of the current run")
    run: int = Field(description="runs started so far (dry runs included)")
    dry_run: bool = Field(description="the current run only checks: nothing is written")
    job_id: str | None = None
    progress: Progress
    result: dict[str, Any] | None = Field(None, description="the finished run's counts: total, created, overwritten, skipped, rejected")
    error: Any = None
    created_at: str
    updated_at: str
    version: int


class ImportCreated(ImportOut):
    upload: Upload


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping: dict[str, str | None] | None = Field(None, description="file header -> column key (null: not imported); "
                                                                    "default: the suggested mapping")
    duplicates: Literal["skip", "overwrite", "create"] = Field("skip", description="rows matching a record under the "
                                                               "duplicate rules: skip them, overwrite that record with the "
                                                               "row's values, or create anyway (never past a block rule)")
    dry_run: bool = Field(False, description="check every row and report, write nothing")


class ColumnOut(BaseModel):
    key: str
    label: str
    type: str
    required: bool
    choices: list[str]


class MappingOut(BaseModel):
    headers: list[str]
    mapping: dict[str, str | None]
    columns: list[ColumnOut]


class RowErrorItem(BaseModel):
    column: str | None = None
    message: str


class RowErrorOut(BaseModel):
    row: int = Field(description="the row number as the spreadsheet shows it (the header is row 1)")
    errors: list[RowErrorItem] = Field(description="every reason of the row: cells that could not be read and the "
                                                   "create's checks of the others")
    truncated: bool = Field(False, description="the row's cells were cut to be kept (each at most 1,000 characters, "
                                               "20,000 in all): the rejected-rows file shows them cut, ending with …")


class SkippedRecord(BaseModel):
    id: str
    title: str | None = None


class SkippedOut(BaseModel):
    row: int = Field(description="the row number as the spreadsheet shows it (the header is row 1)")
    columns: list[str] = Field(description="the columns whose values matched")
    record: SkippedRecord | None = Field(None, description="the record it duplicates, when I may read it (null: one I "
                                                           "may not see, or an earlier row's)")
    earlier_row: int | None = Field(None, description="the earlier row of the file it duplicates")
    message: str = Field(description="why it was skipped, in my language")


class SkippedPage(BaseModel):
    items: list[SkippedOut]
    next_cursor: str | None = None


class ErrorsPage(BaseModel):
    items: list[RowErrorOut]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = cursor_param()


class FormatQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Format = "xlsx"


class RejectedOut(BaseModel):
    url: str = Field(description="presigned download of the rejected rows (the upload's columns plus 错误原因 / Error)")
    rows: int
    file_name: str
    format: str
