"""HTTP routes of contracts beyond the engine's (the standard routes, submit included, come from it)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, route
from ..engine import models
from . import schemas as s
from . import service, settings
from .entity import CONTRACT

bp = Blueprint(__name__)
TAG = "contracts"


@route(bp, "/sales-settings", summary="The deal rules: quote discount threshold, credit-limit control (销售设置)", tag=TAG,
       response=s.SalesRulesOut)
def get_settings(req: ApiRequest) -> dict:
    return settings.get()


@route(bp, "/sales-settings", "PUT", summary="Replace the deal rules (contracts:manage)", tag=TAG, body=s.SalesRulesIn,
       response=s.SalesRulesOut)
def put_settings(req: ApiRequest) -> dict:
    b = req.body
    return settings.put(b.model_dump(exclude={"version"}), req.version_if_given(b.version))


@route(bp, "/contracts/{contract_id}/change", "POST", summary="Change an approved contract's terms (变更): applied and sent back "
       "to approval", tag=TAG, body=s.ChangeIn, response=models.lazy_out(CONTRACT), versioned_write=True)
def change(req: ApiRequest, contract_id: str) -> dict:
    b = req.body
    return service.change(contract_id, b.changes, b.comment, req.expected_version(b.version))


@route(bp, "/contracts/{contract_id}/terminate", "POST", summary="Terminate an approved contract (终止)", tag=TAG, body=s.StateIn,
       response=models.lazy_out(CONTRACT), versioned_write=True)
def terminate(req: ApiRequest, contract_id: str) -> dict:
    return service.terminate(contract_id, req.body.reason, req.expected_version(req.body.version))


@route(bp, "/contracts/{contract_id}/void", "POST", summary="Void a contract (作废); it stays with its history", tag=TAG,
       body=s.StateIn, response=models.lazy_out(CONTRACT), versioned_write=True)
def void(req: ApiRequest, contract_id: str) -> dict:
    return service.void(contract_id, req.body.reason, req.expected_version(req.body.version))


@route(bp, "/contracts/{contract_id}/renew", "POST", summary="Renew (续签): a new draft contract for the next period", tag=TAG,
       body=s.RenewIn, response=models.lazy_out(CONTRACT), status=201)
def renew(req: ApiRequest, contract_id: str) -> dict:
    return service.renew(contract_id, req.body.model_dump())
