"""HTTP routes of customers' own rules (the standard routes come from the engine)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..engine import models
from . import limits, service
from .entity import CUSTOMER

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "customers"



@route(bp, "/customers/{customer_id}/lock", "POST", summary="Lock a customer (锁定): it stays out of the public pool; "
       "counted against the lock limit", tag=TAG, body=s.LockIn, response=models.lazy_out(CUSTOMER), versioned_write=True)
def lock(req: ApiRequest, customer_id: str) -> dict:
    return service.set_locked(customer_id, True, req.expected_version(req.body.version))


@route(bp, "/customers/{customer_id}/unlock", "POST", summary="Unlock a customer (解锁)", tag=TAG, body=s.LockIn,
       response=models.lazy_out(CUSTOMER), versioned_write=True)
def unlock(req: ApiRequest, customer_id: str) -> dict:
    return service.set_locked(customer_id, False, req.expected_version(req.body.version))


@route(bp, "/customer-limits", summary="Ownership limits (拥有/锁定客户数上限) per user or department", tag=TAG,
       response=s.LimitsOut)
def get_limits(req: ApiRequest) -> dict:
    return limits.get_rules()


@route(bp, "/customer-limits", "PUT", summary="Set the ownership limits (customers:manage); counts are recounted", tag=TAG,
       body=s.LimitsIn, response=s.LimitsOut)
def put_limits(req: ApiRequest) -> dict:
    b = req.body
    return limits.put_rules([r.model_dump(exclude_none=True) for r in b.rules], req.version_if_given(b.version))


@route(bp, "/customer-limits/holdings", summary="How many customers a user owns and has locked, and their limit", tag=TAG,
       query=s.HoldingsQuery, response=s.Holdings)
def holdings(req: ApiRequest) -> dict:
    return limits.counts(req.query.user_id)
