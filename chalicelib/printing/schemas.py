"""API contract of print templates (打印模板)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class PrintTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    title: str | None = Field(None, min_length=1, max_length=40, description="the document's title; empty: the record type's "
                                                                            "name (合同, 客户 …)")
    company_name: str | None = Field(None, min_length=1, max_length=100, description="the header's company name; empty: the "
                                                                                    "tenant's name")
    company_address: str | None = Field(None, max_length=200)
    company_phone: str | None = Field(None, max_length=40)
    footer: str | None = Field(None, max_length=2000, description="terms and notes printed under everything (条款/备注)")
    fields: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=1, max_length=80, description="the fields to print, in order: the record type's field keys (see "
                                                 "`available_fields`), custom fields as custom.<key>, owner_id for 负责人")
    show_lines: bool = Field(True, description="print the product lines table and the totals when the record has lines")
    version: int | None = Field(None, ge=1, description="the version you read (or If-Match); not needed for the first save")


class FieldChoice(BaseModel):
    key: str
    label: str


class PrintTemplateOut(BaseModel):
    entity: str
    title: str | None = Field(description="null: the record type's name")
    company_name: str | None = Field(description="null: the tenant's name")
    company_address: str | None = None
    company_phone: str | None = None
    footer: str | None = None
    fields: list[str]
    show_lines: bool
    default: bool = Field(description="true: nothing saved yet, this is the record type's default template")
    available_fields: list[FieldChoice] = Field(description="every field a template of this record type may print")
    version: int = Field(description="0 until the first save")
