"""HTTP routes of the call-center screen pop (来电弹屏, SVC-6)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, Lazy, LazyModels, route
from ..engine import models
from ..followups.entity import FOLLOWUP
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "screenpop"


@route(bp, "/screen-pop", summary="Who is calling (来电弹屏): contacts, customers and leads I may read with this number, "
       "in any spelling", tag=TAG, query=s.ScreenPopQuery, response=s.ScreenPopOut)
def lookup(req: ApiRequest) -> dict:
    return service.lookup(req.query.phone)


@route(bp, "/screen-pop/calls", "POST", summary="Log the call as a follow-up of one of the matches (跟进记录)", tag=TAG,
       body=s.CallIn, response=Lazy(lambda: models.model(FOLLOWUP, "out")), status=201, idempotent_create=True)
def log_call(req: ApiRequest) -> dict:
    return service.log_call(req.body.model_dump(), req.idempotency_key)
