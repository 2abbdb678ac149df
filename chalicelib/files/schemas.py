"""API contract of files and of the attachments every record type has."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import cursor_param


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200, description="the file's name as the user sees it (合同.pdf)")
    content_type: str = Field(min_length=3, max_length=120, description="MIME type; one of CRM_FILE_CONTENT_TYPES")
    size: int = Field(ge=1, description="bytes; at most CRM_FILE_MAX_BYTES (the upload URL accepts exactly this size)")
    sha256: str = Field(min_length=43, max_length=64,
                        description="SHA-256 of the bytes, hex (64 characters) or base64 (44); the upload must match it")


class FileOut(BaseModel):
    id: str
    name: str
    size: int
    content_type: str
    sha256: str = Field(description="hex")
    status: Literal["pending", "uploaded"] = Field(description="pending until confirmed; only uploaded files can be used")
    created_at: str
    created_by: str
    uploaded_at: str | None = None
    version: int


class UploadTicket(BaseModel):
    url: str = Field(description="presigned S3 URL")
    method: Literal["PUT"]
    headers: dict[str, str] = Field(description="send exactly these headers (Content-Type, x-amz-checksum-sha256) with the body")
    expires_at: str


class FileUpload(FileOut):
    upload: UploadTicket


class FilePage(BaseModel):
    items: list[FileOut]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=100)
    cursor: str | None = cursor_param()


class DownloadOut(BaseModel):
    url: str = Field(description="presigned S3 URL (GET), saved under the file's name")
    expires_at: str
    name: str
    content_type: str
    size: int


class AttachIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    file_id: str = Field(min_length=1, max_length=64, description="a file you uploaded and confirmed (POST /v1/files)")


class AttachmentOut(BaseModel):
    file_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    attached_at: str
    attached_by: str
    download_url: str | None = None
    download_expires_at: str | None = None


class AttachmentPage(BaseModel):
    items: list[AttachmentOut]
    next_cursor: str | None = None
