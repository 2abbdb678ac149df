"""API contract of tenants."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.pagination import cursor_param
from ..core.patch import Patch
from ..org.schemas import TENANT_CODE, Mobile, Password


class RateLimit(BaseModel):
    """A tenant's own rate limit: a token bucket of `burst` requests refilled at `per_second`
    (every signed-in request takes one; over it: 429 with Retry-After)."""

    model_config = ConfigDict(extra="forbid")
    per_second: float = Field(ge=0.01, le=1000, description="sustained requests per second (0.01 = one every 100 s; at most "
                                                            "1,000: the bucket is one item, and DynamoDB writes an item ~1,000 times a second)")
    burst: int = Field(ge=1, le=100000, description="requests at once after a quiet spell (the bucket's size)")


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=TENANT_CODE, description="tenant code used at sign-in, e.g. `acme`")
    name: str = Field(min_length=1, max_length=80)
    admin_name: str = Field(min_length=1, max_length=40)
    admin_mobile: Mobile
    admin_password: Password
    top_department_name: str = Field("办公室", min_length=1, max_length=50)
    rate_limit: RateLimit | None = Field(None, description="the tenant's own rate limit; null = the product defaults")


class TenantPatch(Patch):
    """Omit a field to keep it; `rate_limit: null` returns the tenant to the product defaults."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=80)
    rate_limit: RateLimit | None = None
    version: int | None = None


class TenantOut(BaseModel):
    id: str
    name: str
    status: str
    rate_limit: RateLimit | None = Field(None, description="the tenant's own rate limit; null = the product defaults")
    created_at: str
    version: int


class TenantCreated(BaseModel):
    tenant: TenantOut
    admin_user_id: str
    top_department_id: str


class TenantPage(BaseModel):
    items: list[TenantOut]
    next_cursor: str | None = None


class PageQuery(BaseModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = cursor_param()
