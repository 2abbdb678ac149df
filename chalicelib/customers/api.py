"""HTTP routes of customers (客户)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, route
from . import schemas as s
from . import service

bp = Blueprint(__name__)
TAG = "customers"


@route(bp, "/customers", "POST", summary="Create a customer", tag=TAG, body=s.CustomerIn, response=s.CustomerOut, status=201,
       idempotent_create=True)
def create_customer(req: ApiRequest) -> dict:
    return service.create(req.body.model_dump(exclude_unset=True), req.idempotency_key)


@route(bp, "/customers", summary="Customers within my data scope: search, filters, sort, facets, saved views (index, ~1 s behind)",
       tag=TAG, query=s.CustomerQuery, response=s.CustomerPage)
def list_customers(req: ApiRequest) -> dict:
    return service.list_customers(req.query.params())


@route(bp, "/customers/{customer_id}", summary="One customer", tag=TAG, response=s.CustomerOut)
def get_customer(req: ApiRequest, customer_id: str) -> dict:
    return service.get(customer_id)


@route(bp, "/customers/{customer_id}", "PATCH", summary="Change a customer", tag=TAG, body=s.CustomerPatch, response=s.CustomerOut,
       versioned_write=True)
def update_customer(req: ApiRequest, customer_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update(customer_id, changes, req.expected_version(req.body.version))


@route(bp, "/customers/{customer_id}", "DELETE", summary="Move a customer to the recycle bin", tag=TAG, status=204, versioned_write=True)
def delete_customer(req: ApiRequest, customer_id: str) -> None:
    service.delete(customer_id, req.expected_version())


@route(bp, "/customers/{customer_id}/transfer", "POST", summary="Transfer to another owner (转移)", tag=TAG, body=s.TransferIn,
       response=s.CustomerOut, versioned_write=True)
def transfer_customer(req: ApiRequest, customer_id: str) -> dict:
    b = req.body
    return service.transfer(customer_id, b.to_user_id, b.keep_previous_owner_as, req.expected_version(b.version))


@route(bp, "/customers/{customer_id}/team", "PUT", summary="Set the record team (相关团队)", tag=TAG, body=s.TeamIn,
       response=s.CustomerOut, versioned_write=True)
def set_team(req: ApiRequest, customer_id: str) -> dict:
    members = [m.model_dump() for m in req.body.members]
    return service.set_team(customer_id, members, req.expected_version(req.body.version))
