"""API contract of dictionaries."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.patch import Patch

TYPE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


class DictItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1, max_length=60)
    label_en: str | None = Field(None, max_length=60)
    parent_code: str | None = None
    sort_order: int = 0
    enabled: bool = True


class DictItemPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    label: str = Field(None, min_length=1, max_length=60)
    label_en: str | None = None
    parent_code: str | None = None
    sort_order: int = None  # type: ignore[assignment]
    enabled: bool = None  # type: ignore[assignment]
    version: int | None = None


class DictItemOut(BaseModel):
    type: str
    code: str
    label: str
    label_en: str | None
    parent_code: str | None
    sort_order: int
    enabled: bool
    version: int


class DictItemList(BaseModel):
    items: list[DictItemOut]


class DictTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: str = Field(pattern=TYPE_PATTERN, description="the new dictionary type, e.g. journal (lower-case letters, digits, _)")
    label: str = Field(min_length=1, max_length=40)
    label_en: str | None = Field(None, max_length=40)


class DictTypeOut(BaseModel):
    type: str
    label: str
    label_en: str | None = None
    builtin: bool
    version: int | None = None


class DictTypeList(BaseModel):
    items: list[DictTypeOut]


class DictQuery(BaseModel):
    type: str | None = Field(None, pattern=TYPE_PATTERN, description="only this dictionary")

class RegionQuery(BaseModel):
    parent: str | None = Field(None, pattern=r"^\d{6}$", description="a region code; none: the provinces")


class Region(BaseModel):
    code: str
    name: str


class RegionList(BaseModel):
    items: list[Region]
