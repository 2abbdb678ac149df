"""HTTP routes of sign-in security: second-factor challenges (public, opaque session), the caller's
own authenticator, an administrator's reset, and the tenant's policy."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
o = LazyModels("chalicelib.org.schemas")
TAG = "auth"


@route(bp, "/auth/mfa/verify", "POST", summary="Answer a MFA_CODE sign-in challenge with the authenticator's code", tag=TAG,
       body=s.ChallengeCodeIn, response=o.TokenOut, public=True)
def verify(req: ApiRequest) -> dict:
    return service.verify(req.body.tenant_id, req.body.session, req.body.code)


@route(bp, "/auth/mfa/setup", "POST", summary="MFA_SETUP challenge: a new authenticator secret and its otpauth:// URI", tag=TAG,
       body=s.ChallengeIn, response=s.SecretOut, public=True)
def setup(req: ApiRequest) -> dict:
    return service.setup_start(req.body.tenant_id, req.body.session)


@route(bp, "/auth/mfa/setup/confirm", "POST", summary="MFA_SETUP challenge: confirm the authenticator with a code; signs in",
       tag=TAG, body=s.ChallengeCodeIn, response=o.TokenOut, public=True)
def setup_confirm(req: ApiRequest) -> dict:
    return service.setup_confirm(req.body.tenant_id, req.body.session, req.body.code)


@route(bp, "/me/mfa", summary="My second factor: enrolled, and whether my tenant requires one", tag=TAG, response=s.StatusOut)
def my_status(req: ApiRequest) -> dict:
    return service.my_status()


@route(bp, "/me/mfa/setup", "POST", summary="Enrol an authenticator app with my current password (local identity provider)",
       tag=TAG, body=s.PasswordIn, response=s.SecretOut)
def my_setup(req: ApiRequest) -> dict:
    return service.my_setup_start(req.body.password)


@route(bp, "/me/mfa/setup/confirm", "POST", summary="Confirm my authenticator with a code and my current password", tag=TAG,
       body=s.PasswordCodeIn, response=s.StatusOut)
def my_setup_confirm(req: ApiRequest) -> dict:
    return service.my_setup_confirm(req.body.code, req.body.password)


@route(bp, "/org/users/{user_id}/mfa/reset", "POST", summary="Remove a user's authenticator (lost phone; signin:manage)",
       tag="org", status=204)
def reset(req: ApiRequest, user_id: str) -> None:
    service.reset(user_id)


@route(bp, "/tenant/sign-in-policy", summary="Whether staff must sign in with a second factor (signin:read)", tag="tenants",
       response=s.PolicyOut)
def get_policy(req: ApiRequest) -> dict:
    return service.get_policy()


@route(bp, "/tenant/sign-in-policy", "PUT", summary="Require a second factor of staff, or not (signin:manage)", tag="tenants",
       body=s.PolicyIn, response=s.PolicyOut, versioned_write=True)
def put_policy(req: ApiRequest) -> dict:
    body = req.body
    # an If-Match header, even an empty one, must name a version (428 / 422 otherwise); none at all: a first choice
    expected = body.version if body.version is not None else (
        req.expected_version() if req.headers.get("if-match") is not None else None)
    return service.set_policy(body.mfa_required, expected)
