"""Cursor pagination: opaque, URL-safe cursors; a page costs the same at any table size."""
from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from .errors import ValidationFailed, invalid
from .settings import get_settings

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of any list: subclass as `class ThingPage(Page[ThingOut])`."""

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page; null on the last page")


class PageQuery(BaseModel):
    """The paging part of every list's query string (subclass to add filters)."""

    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2000)


def encode(state: Any) -> str | None:
    if state is None:
        return None
    raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValidationFailed("INVALID_CURSOR") from e


def page_size(raw: str | None) -> int:
    s = get_settings()
    if raw in (None, ""):
        return s.page_size_default
    try:
        n = int(raw)
    except ValueError as e:
        raise invalid("limit", "int", "field.integer") from e
    if not 1 <= n <= s.page_size_max:
        raise invalid("limit", "range", "field.between", min=1, max=s.page_size_max)
    return n
