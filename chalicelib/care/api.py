"""HTTP routes of customer care (客户关怀): the tenant's care rules."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "customers"


@route(bp, "/care-rules", summary="Customer care rules (客户关怀): birthdays, after a deal, forgotten customers, holidays",
       tag=TAG, response=s.CareRulesOut)
def get_rules(req: ApiRequest) -> dict:
    return service.get_rules()


@route(bp, "/care-rules", "PUT", summary="Replace the care rules (customers:manage); records' reminders follow in the "
       "background, holiday reminders at once", tag=TAG, body=s.CareRulesIn, response=s.CareRulesOut)
def put_rules(req: ApiRequest) -> dict:
    b = req.body
    return service.put_rules([r.model_dump() for r in b.rules], req.version_if_given(b.version))
