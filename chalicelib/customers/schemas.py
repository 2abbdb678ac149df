"""API contract of customers."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..org.schemas import Mobile
from ..search.schemas import ListQuery, PageMeta

PHONE = re.compile(r"^[0-9+()\- ]{5,30}$")


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    customer_type: str | None = Field(None, description="code from the customer_type dictionary")
    level: str | None = Field(None, description="code from the customer_level dictionary")
    industry: str | None = Field(None, description="code from the industry dictionary")
    source: str | None = Field(None, description="code from the source dictionary")
    mobile: Mobile | None = None
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=120)
    website: str | None = Field(None, max_length=200)
    region: str | None = Field(None, max_length=60, description="省/市/区")
    address: str | None = Field(None, max_length=200)
    remark: str | None = Field(None, max_length=2000)
    tags: list[str] | None = Field(None, max_length=20)
    credit_limit: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    custom: dict[str, Any] | None = Field(None, max_length=100, description="custom field values by key (GET /v1/fields/customer); null removes one")

    @field_validator("phone")
    @classmethod
    def _p(cls, v: str | None) -> str | None:
        if v and not PHONE.match(v):
            raise ValueError("电话号码格式不正确 / not a phone number")
        return v


class CustomerIn(_Fields):
    name: str = Field(min_length=1, max_length=100, description="客户名称")
    owner_id: str | None = Field(None, description="负责人; defaults to the caller")


class CustomerPatch(_Fields):
    name: str = Field(None, min_length=1, max_length=100)
    deal_status: Literal["none", "closed"] = None  # type: ignore[assignment]
    version: int | None = None


class TeamMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str
    access: Literal["read", "write"] = "read"
    until: str | None = Field(None, description="ISO-8601 expiry; null = no expiry")


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: list[TeamMemberIn] = Field(max_length=50)
    version: int | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user_id: str
    keep_previous_owner_as: Literal["none", "read", "write"] = Field("none", description="previous owner joins the team")
    version: int | None = None


class TeamMemberOut(BaseModel):
    user_id: str
    access: str
    until: str | None = None


class CustomerOut(BaseModel):
    """Fields the caller may not see are absent; masked fields are masked (field permissions)."""

    id: str
    name: str | None = None
    owner_id: str
    customer_type: str | None = None
    level: str | None = None
    industry: str | None = None
    source: str | None = None
    mobile: Mobile | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    region: str | None = None
    address: str | None = None
    remark: str | None = None
    tags: list[str] | None = None
    deal_status: str | None = None
    locked: bool | None = None
    credit_limit: float | None = None
    custom: dict[str, Any] = Field(default_factory=dict, description="custom field values the caller may see")
    team: list[TeamMemberOut] = []
    access: Literal["read", "write"]
    created_at: str
    created_by: str
    updated_at: str
    version: int


class CustomerHit(CustomerOut):
    highlight: dict[str, str] | None = Field(None, description="matched fields with the query terms in <em>…</em>")


class CustomerPage(PageMeta):
    items: list[CustomerHit]


CustomerQuery = ListQuery
