"""API contract of invoices' own routes: issue (开票) and void (作废)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class IssueIn(_Strict):
    invoice_number: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$",
                                description="发票号码 (unique in the tenant): digits, letters, '-'")
    invoice_date: str = Field(min_length=10, max_length=10, description="开票日期, YYYY-MM-DD")
    version: int | None = Field(None, ge=1, description="or If-Match")


class VoidIn(_Strict):
    reason: str = Field(min_length=1, max_length=200, description="作废 / 红冲 reason")
    version: int | None = Field(None, ge=1, description="or If-Match")
