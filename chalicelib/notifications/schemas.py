"""API contract of the notification inbox."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..core.pagination import Page, PageQuery


class NotificationOut(BaseModel):
    id: str
    kind: str
    title: str = Field(description="in the caller's language")
    body: str | None = None
    link: dict[str, Any] | None = None
    created_at: str
    read_at: str | None = None


class NotificationPage(Page[NotificationOut]):
    pass


class InboxQuery(PageQuery):
    unread: bool = False


class UnreadOut(BaseModel):
    unread: int


class ReadAllOut(BaseModel):
    marked: int
