"""API contract of backups (数据备份) and restores."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.errors import Problem
from ..core.pagination import cursor_param
from ..org.schemas import TENANT_CODE


class BackupPart(BaseModel):
    name: str = Field(description="object name in the archive: items-00001.jsonl.gz (table items) or files-00001.jsonl.gz "
                                  "(the files manifest)")
    lines: int
    bytes: int
    sha256: str = Field(description="hex SHA-256 of the part as stored (gzip)")
    download_url: str | None = None


class BackupOut(BaseModel):
    id: str
    tenant_id: str
    trigger: str = Field(description="manual | scheduled")
    status: str = Field(description="queued | running | succeeded | failed | cancelled")
    job_id: str | None = Field(None, description="the background job (GET /v1/jobs/{id})")
    error: str | None = None
    created_at: str
    created_by: str
    finished_at: str | None = None
    items: int | None = Field(None, description="table items in the archive")
    files: int | None = Field(None, description="uploaded files in the files manifest")
    bytes: int | None = Field(None, description="size of the archive")
    counts: dict[str, int] = Field(default_factory=dict, description="items per type (records: REC:<ENTITY>)")
    format_version: int | None = None
    download_url: str | None = Field(None, description="presigned link to manifest.json (GET /v1/backups/{id} only)")
    download_expires_at: str | None = None
    manifest_sha256: str | None = None
    parts: list[BackupPart] | None = None


class BackupPage(BaseModel):
    items: list[BackupOut]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(description="a backup every day at `hour`")
    hour: int = Field(3, ge=0, le=23, description="local hour of the day")
    timezone: str = Field("Asia/Shanghai", max_length=64, description="IANA time zone of `hour`")
    version: int | None = Field(None, description="the version read (or If-Match); not needed for the first save")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ValueError, KeyError, OSError):
            raise Problem("backup.timezone_unknown", "format", value=v) from None
        return v


class ScheduleOut(BaseModel):
    enabled: bool
    hour: int
    timezone: str
    version: int = Field(description="0 = never saved")
    next_run_at: str | None = None


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    target_tenant_id: str = Field(pattern=TENANT_CODE, description="a tenant code that holds nothing yet")
    name: str | None = Field(None, min_length=1, max_length=80, description="the restored tenant's name (default: the backup's)")


class RestoreOut(BaseModel):
    target_tenant_id: str
    source_tenant_id: str
    backup_id: str
    job_id: str | None = None
    status: str | None = Field(None, description="the job's: queued | running | succeeded | failed | cancelled")
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: str
