"""API contract of the notification inbox."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    id: str
    kind: str
    title: str = Field(description="in the caller's language")
    body: str | None = None
    link: dict[str, Any] | None = None
    created_at: str
    read_at: str | None = None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = None


class InboxQuery(BaseModel):
    unread: bool = False
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = None


class UnreadOut(BaseModel):
    unread: int


class ReadAllOut(BaseModel):
    marked: int
