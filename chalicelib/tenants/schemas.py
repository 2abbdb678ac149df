"""API contract of tenants."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..org.schemas import Mobile, Password


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$", description="tenant code used at sign-in, e.g. `acme`")
    name: str = Field(min_length=1, max_length=80)
    admin_name: str = Field(min_length=1, max_length=40)
    admin_mobile: Mobile
    admin_password: Password
    top_department_name: str = Field("办公室", min_length=1, max_length=50)



class TenantOut(BaseModel):
    id: str
    name: str
    status: str
    created_at: str
    version: int


class TenantCreated(BaseModel):
    tenant: TenantOut
    admin_user_id: str
    top_department_id: str
