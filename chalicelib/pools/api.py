"""HTTP routes of public pools (公海)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, Lazy, LazyModels, route
from ..customers.entity import CUSTOMER
from ..engine import models
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "pools"
CUSTOMER_OUT = Lazy(lambda: models.model(CUSTOMER, "out"))


@route(bp, "/pools", summary="Public pools (公海) I belong to (all of them for admins)", tag=TAG, response=s.PoolList)
def list_pools(req: ApiRequest) -> dict:
    return {"items": service.list_pools()}


@route(bp, "/pools", "POST", summary="Define a pool (customers:manage)", tag=TAG, body=s.PoolIn, response=s.PoolOut, status=201)
def create_pool(req: ApiRequest) -> dict:
    return service.create_pool(req.body.model_dump())


@route(bp, "/pools/upcoming", summary="Customers about to enter a pool (待进入公海), soonest first, within my data scope",
       tag=TAG, query=s.UpcomingQuery)
def upcoming(req: ApiRequest) -> dict:
    q = req.query
    return service.upcoming(q.within, q.pool_id, q.limit, q.cursor)


@route(bp, "/pools/{pool_id}", summary="One pool", tag=TAG, response=s.PoolOut)
def get_pool(req: ApiRequest, pool_id: str) -> dict:
    return service.get_pool(pool_id)


@route(bp, "/pools/{pool_id}", "PATCH", summary="Change a pool (customers:manage)", tag=TAG, body=s.PoolPatch,
       response=s.PoolOut, versioned_write=True)
def update_pool(req: ApiRequest, pool_id: str) -> dict:
    body = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update_pool(pool_id, body, req.expected_version(req.body.version))


@route(bp, "/pools/{pool_id}/customers", summary="The pool's customers, newest in the pool first, with previous owner and "
       "days in the pool", tag=TAG, query=s.PoolCustomersQuery)
def list_customers(req: ApiRequest, pool_id: str) -> dict:
    return service.list_customers(pool_id, req.query.limit, req.query.cursor)


@route(bp, "/pools/{pool_id}/customers/{customer_id}", summary="One customer of the pool", tag=TAG)
def get_customer(req: ApiRequest, pool_id: str, customer_id: str) -> dict:
    return service.get_customer(pool_id, customer_id)


@route(bp, "/pools/{pool_id}/customers/{customer_id}/claim", "POST", summary="Claim (领取) a customer of the pool", tag=TAG,
       response=CUSTOMER_OUT)
def claim(req: ApiRequest, pool_id: str, customer_id: str) -> dict:
    return service.claim(pool_id, customer_id)


@route(bp, "/pools/{pool_id}/distribute", "POST", summary="Distribute (分配) customers of the pool to a user (pool admins)",
       tag=TAG, body=s.DistributeIn, response=models.BulkTransferOut)
def distribute(req: ApiRequest, pool_id: str) -> dict:
    return service.distribute(pool_id, req.body.ids, req.body.to_user_id)


@route(bp, "/customers/{customer_id}/pool", "POST", summary="Put a customer back into a pool (放入公海) with a reason", tag=TAG,
       body=s.PutBackIn, response=CUSTOMER_OUT, versioned_write=True)
def put_back(req: ApiRequest, customer_id: str) -> dict:
    b = req.body
    return service.put_back(customer_id, b.pool_id, b.reason, req.expected_version(b.version))
