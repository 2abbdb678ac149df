"""API contract of announcement columns, read receipts and readers (the announcements' own
models are generated from the record type)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import StrictBody
from ..core.pagination import cursor_param
from ..core.patch import Patch


class AnnouncementColumnIn(StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    id: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="a short key (default: generated)")
    name: str = Field(min_length=1, max_length=50)
    publisher_roles: list[str] = Field(default_factory=list, max_length=50, description="roles whose users may publish here")
    publisher_user_ids: list[str] = Field(default_factory=list, max_length=200, description="users who may publish here")
    sort_order: int = Field(0, ge=0, le=10000)


class AnnouncementColumnPatch(Patch, StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=50)
    publisher_roles: list[str] = Field(None, max_length=50)
    publisher_user_ids: list[str] = Field(None, max_length=200)
    sort_order: int = Field(None, ge=0, le=10000)
    version: int | None = None


class AnnouncementColumnOut(BaseModel):
    id: str
    name: str
    publisher_roles: list[str]
    publisher_user_ids: list[str]
    sort_order: int
    version: int
    may_publish: bool | None = Field(None, description="whether I may publish in it")


class AnnouncementColumnList(BaseModel):
    items: list[AnnouncementColumnOut]


class ReceiptOut(BaseModel):
    announcement_id: str
    user_id: str
    read_at: str


class ReaderOut(BaseModel):
    user_id: str
    name: str
    read_at: str | None = None


class ReadersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    read: bool = Field(True, description="true: who has read it; false: who has not")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = cursor_param()


class ReadersOut(BaseModel):
    items: list[ReaderOut]
    next_cursor: str | None = None
    audience: int = Field(description="active users the announcement reaches")
    read: int
    unread: int
