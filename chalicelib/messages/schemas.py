"""API contract of conversations and the pull endpoint."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import StrictBody
from ..core.pagination import Page, PageQuery
from ..notifications.schemas import NotificationOut

_ID = Field(min_length=1, max_length=64)


class DirectIn(StrictBody):
    user_id: str = _ID


class GroupIn(StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    member_ids: list[str] = Field(min_length=1, max_length=100, description="the other members (the creator joins as administrator)")


class MembersIn(StrictBody):
    user_ids: list[str] = Field(min_length=1, max_length=100)


class MessageIn(StrictBody):
    text: str = Field("", max_length=5000, description="plain text")
    file_ids: list[str] = Field(default_factory=list, max_length=20,
                                description="files the sender uploaded (POST /v1/files); members may download them")


class ReadIn(StrictBody):
    message_id: str | None = Field(None, max_length=64, description="read up to this message (default: the latest)")


class ConversationOut(BaseModel):
    id: str
    kind: str = Field(description="direct | group")
    name: str | None = None
    member_ids: list[str]
    admin_ids: list[str]
    created_at: str
    last_message_at: str | None = None
    last_message_preview: str | None = None
    last_sender_id: str | None = None
    unread: int = Field(description="messages of others after my read marker")
    last_read_id: str | None = None
    left: bool = False


class ConversationPage(Page[ConversationOut]):
    pass


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    sender_id: str
    text: str
    file_ids: list[str]
    kind: str = Field(description="text | system (a group's members changed: the text says who, in my language)")
    event: str | None = Field(None, description="a system line: joined | left | removed")
    user_ids: list[str] = Field(default_factory=list, description="a system line: who joined or left")
    created_at: str


class MessagePage(Page[MessageOut]):
    pass


class ConversationUnread(BaseModel):
    conversation_id: str
    unread: int


class CountsOut(BaseModel):
    messages: int = Field(description="unread messages over all my conversations")
    notifications: int = Field(description="unread notifications")
    total: int
    conversations: list[ConversationUnread] = Field(description="conversations with unread messages")
    version: int = Field(description="my mailbox version (what the poll waits on)")


class PollQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str | None = Field(None, max_length=40, description="the cursor of the previous answer (none: answer at once)")
    wait: float = Field(0, ge=0, le=25, description="seconds to wait for something new (at most the configured maximum, 20)")


class PollOut(BaseModel):
    changed: bool = Field(description="something arrived since the cursor")
    messages: list[MessageOut]
    notifications: list[NotificationOut]
    counts: CountsOut
    cursor: str = Field(description="pass as ?since= on the next poll")


class ConversationListQuery(PageQuery):
    pass
