"""The comments API contract (the routes are the engine's, per record type that switches comments on)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import StrictBody
from ..core.pagination import cursor_param


class CommentIn(StrictBody):
    body: str = Field(min_length=1, max_length=5000, description="plain text (never HTML); `@姓名` mentions a user by name")
    mentions: list[str] = Field(default_factory=list, max_length=20, description="user ids to mention (notified if they "
                                "may read the record)")


class CommentOut(BaseModel):
    id: str
    body: str = Field(description="plain text, exactly as written")
    author_id: str
    mentions: list[str] = Field(description="every user the comment mentions")
    created_at: str


class CommentCreated(CommentOut):
    notified: list[str] = Field(description="mentioned users who may read the record: they got a notification")
    not_notified: list[str] = Field(description="mentioned users who may not read the record: not told anything")


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None = None


class CommentQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=100)
    cursor: str | None = cursor_param()
