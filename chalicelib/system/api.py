"""Public routes: health, the OpenAPI document and the own identity provider's JWKS."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel

from ..core.api import ApiRequest, json_response, route
from ..core.errors import NotFound
from ..core.settings import get_settings

bp = Blueprint(__name__)
TAG = "system"


class HealthOut(BaseModel):
    status: str
    stage: str


@route(bp, "/health", summary="Liveness (no dependencies touched)", tag=TAG, response=HealthOut, public=True)
def health(req: ApiRequest) -> dict:
    return {"status": "ok", "stage": get_settings().stage}


@route(bp, "/openapi.json", summary="This API's OpenAPI 3.1 document", tag=TAG, public=True)
def openapi(req: ApiRequest):
    from ..core.openapi import document

    return json_response(200, document())


#: How long clients and caches may keep the JWKS: shorter than the time a rotated-out key stays listed.
JWKS_MAX_AGE_SECONDS = 300


@route(bp, "/.well-known/jwks.json", summary="Public keys the own identity provider signs tokens with (by kid)", tag=TAG,
       public=True)
def jwks(req: ApiRequest):
    from ..core import auth

    if get_settings().identity_provider != "local":
        raise NotFound()
    return json_response(200, auth.jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"})
