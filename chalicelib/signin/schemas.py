"""Request and response models of sign-in security (second factor, tenant policy)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..org.schemas import TENANT_CODE

Code = Field(min_length=6, max_length=8, pattern=r"^[0-9 ]+$", description="the 6-digit code the authenticator app shows")
Session = Field(min_length=20, max_length=128, description="`session` of the sign-in's challenge answer (5 minutes)")


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tenant_id: str = Field(pattern=TENANT_CODE, description="the tenant code, as at sign-in")
    session: str = Session


class ChallengeCodeIn(ChallengeIn):
    code: str = Code


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Code


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=128, description="the caller's current sign-in password (checked as at "
                                                                     "sign-in: rate limit, lock-out)")


class PasswordCodeIn(PasswordIn):
    code: str = Code  # spaces inside are ignored (totp.matching_step)


class SecretOut(BaseModel):
    secret: str = Field(description="base32 secret to type into an authenticator app (shown once)")
    otpauth_uri: str = Field(description="otpauth://totp/… — show it as a QR code for the app to scan")
    account: str
    issuer: str
    digits: int
    period: int


class StatusOut(BaseModel):
    enrolled: bool = Field(description="an authenticator is confirmed for the caller")
    required: bool = Field(description="the tenant requires a second factor of its staff")


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mfa_required: bool = Field(description="staff must sign in with an authenticator code (TOTP)")
    version: int | None = Field(None, ge=0, description="the version read (0 while the tenant has not chosen); or If-Match")


class PolicyOut(BaseModel):
    mfa_required: bool
    chosen: bool = Field(description="false: the deployment's default applies (CRM_MFA_DEFAULT)")
    default_mfa_required: bool
    version: int
