"""API contract of the organisation module."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..core import passwords
from ..core.errors import Problem
from ..core.pagination import cursor_param
from ..core.patch import Patch
from ..core.permissions import ACTIONS, MODULES, Scope

CUSTOM_MODULE = re.compile(r"^objects\.[a-z][a-z0-9_]{0,39}$")  # a custom object's permissions

MOBILE = re.compile(r"^1[3-9]\d{9}$")
TENANT_CODE = r"^[a-z0-9][a-z0-9-]{1,31}$"  # a tenant's id, typed at sign-in


def _mobile(v: str) -> str:
    v = re.sub(r"[\s-]", "", v)
    if v.startswith("+86"):
        v = v[3:]
    if not MOBILE.match(v):
        raise Problem("field.mobile_cn", "format")
    return v


Mobile = Annotated[str, AfterValidator(_mobile), Field(description="mainland China mobile, e.g. 13800000000 (+86, spaces, dashes allowed)")]
Password = Annotated[str, AfterValidator(passwords.check), Field(description="12+ characters with upper, lower, digit and symbol")]


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=50)
    parent_id: str = Field(description="The parent department (the top department is created with the tenant)")
    head_user_id: str | None = None
    sort_order: int = 0


class DepartmentPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=50)
    head_user_id: str | None = None
    sort_order: int = None  # type: ignore[assignment]
    version: int | None = None


class DepartmentMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parent_id: str
    version: int | None = None


class DepartmentOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    head_user_id: str | None
    sort_order: int
    user_count: int
    version: int


class DepartmentList(BaseModel):
    items: list[DepartmentOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mobile: Mobile
    name: str = Field(min_length=1, max_length=40)
    gender: Literal["male", "female", "unknown"] | None = None
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    department_id: str
    position: str | None = Field(None, description="code from the `position` dictionary")
    supervisor_id: str | None = None
    role_ids: list[str] = Field(default_factory=list)
    password: Password


class UserPatch(Patch):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=40)
    gender: Literal["male", "female", "unknown"] | None = None
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    department_id: str = None  # type: ignore[assignment]
    position: str | None = None
    supervisor_id: str | None = None
    role_ids: list[str] = None  # type: ignore[assignment]
    version: int | None = None


class UserOut(BaseModel):
    id: str
    mobile: str
    name: str
    gender: str | None
    email: str | None
    department_id: str
    position: str | None
    supervisor_id: str | None
    role_ids: list[str]
    status: str
    version: int


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = None


class UserQuery(BaseModel):
    department_id: str | None = None
    status: Literal["active", "disabled"] | None = None
    q: str | None = Field(None, description="name or mobile contains")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = cursor_param()


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user_id: str
    disable: bool = Field(True, description="disable the leaving user's account after the hand-over")


class HandoverOut(BaseModel):
    from_user_id: str
    to_user_id: str
    moved: dict[str, int]
    disabled: bool


FieldRule = Literal["hidden", "masked", "read", "edit"]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=40)
    description: str | None = None
    actions: dict[str, list[str]] = Field(default_factory=dict, description="module -> actions")
    scopes: dict[str, Scope] = Field(default_factory=dict, description="module -> data scope")
    fields: dict[str, dict[str, FieldRule]] = Field(default_factory=dict, description="module -> field -> rule")

    @field_validator("actions")
    @classmethod
    def _known(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is None:
            return v
        for module, acts in v.items():
            if module not in MODULES and not CUSTOM_MODULE.match(module):
                raise Problem("field.module", "unknown")
            bad = [a for a in acts if a not in ACTIONS]
            if bad:
                raise Problem("field.actions", "unknown", actions=", ".join(bad))
        return {m: sorted(set(a)) for m, a in v.items()}


class RolePatch(RoleIn, Patch):
    """Omit a field to keep it; an explicit null is refused (422) where a value is required."""

    name: str = Field(None, min_length=1, max_length=40)  # type: ignore[assignment]
    actions: dict[str, list[str]] = None  # type: ignore[assignment]
    scopes: dict[str, Scope] = None  # type: ignore[assignment]
    fields: dict[str, dict[str, FieldRule]] = None  # type: ignore[assignment]
    version: int | None = None


class RoleOut(BaseModel):
    id: str
    name: str
    description: str | None
    is_super: bool
    builtin: bool
    actions: dict[str, list[str]]
    scopes: dict[str, str]
    fields: dict[str, dict[str, str]]
    version: int


class RoleList(BaseModel):
    items: list[RoleOut]


class MeOut(BaseModel):
    tenant_id: str
    user: UserOut
    is_super: bool
    permissions: dict[str, list[str]]
    scopes: dict[str, list[str]]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tenant_id: str = Field(pattern=TENANT_CODE, description="the tenant code, e.g. `acme`")
    mobile: Mobile
    password: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    """Signed in (`id_token`), or a second-factor step first (`challenge` + `session`, chalicelib/signin)."""
    id_token: str | None = Field(None, description="absent while a challenge is open")
    token_type: str | None = Field(None, description="Bearer")
    expires_in: int = Field(description="seconds the id token (or the challenge's session) is valid")
    user_id: str
    tenant_id: str
    challenge: Literal["MFA_CODE", "MFA_SETUP"] | None = Field(
        None, description="MFA_CODE: POST /v1/auth/mfa/verify with a code; MFA_SETUP: enrol an authenticator first "
                          "(POST /v1/auth/mfa/setup, then …/setup/confirm)")
    session: str | None = Field(None, description="the challenge's session, for those routes only")
