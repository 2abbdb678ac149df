"""API contract of custom fields."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.patch import Patch

FieldType = Literal["text", "textarea", "number", "money", "date", "datetime", "boolean", "select", "multiselect", "mobile", "email",
                    "users"]
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=60)
    label_en: str | None = Field(None, max_length=60, description="English label (messages in English name it)")


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: str = Field(pattern=KEY_PATTERN, description="stable key, e.g. budget; used as custom.<key> in filters")
    label: str = Field(min_length=1, max_length=60, description="显示名称")
    field_type: FieldType
    options: list[Option] = Field(default_factory=list, max_length=200)
    required: bool = False
    allow_negative: bool = Field(False, description="number/money: accept values below zero (e.g. a balance or a profit)")
    sort_order: int = 0


class CustomFieldPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    label: str = Field(None, min_length=1, max_length=60)  # type: ignore[assignment]
    options: list[Option] = Field(None, max_length=200)  # type: ignore[assignment]
    required: bool = None  # type: ignore[assignment]
    allow_negative: bool = None  # type: ignore[assignment]
    active: bool = Field(None, description="false hides the field from forms; values and search slot stay")  # type: ignore[assignment]
    sort_order: int = None  # type: ignore[assignment]
    version: int | None = None


class CustomFieldOut(BaseModel):
    entity: str
    key: str
    label: str
    field_type: str
    options: list[Option] = []
    required: bool
    allow_negative: bool = False
    active: bool
    filter_field: str = Field(description="name to use in list filters, sort and facets: custom.<key>")
    sort_order: int
    version: int


class CustomFieldList(BaseModel):
    items: list[CustomFieldOut]
