"""The tasks API contract beyond the engine's record models."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import StrictBody
from ..core.pagination import cursor_param


class _Strict(StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class TaskVersionIn(_Strict):
    version: int | None = Field(None, ge=1, description="or If-Match")


class TaskRejectIn(_Strict):
    reason: str = Field(min_length=1, max_length=200, description="why the completion is sent back (the owner is told)")
    version: int | None = Field(None, ge=1, description="or If-Match")


class TaskProgressIn(_Strict):
    progress: int = Field(ge=0, le=100, description="my own progress on the task, in percent")
    note: str | None = Field(None, max_length=200)


class TaskViewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(None, max_length=100, description="full text within the view")
    sort: str | None = Field(None, max_length=61, pattern=r"^[-+]?[a-z][a-z0-9_.]*$",
                             description="default: due_at (inbox: -created_at, done: -completed_at)")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()

    def params(self) -> dict:
        return {"q": self.q, "sort": self.sort, "limit": self.limit, "cursor": self.cursor}
