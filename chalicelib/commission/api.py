"""HTTP routes of commission (销售提成): plans, a month's statements, closing a month."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.errors import invalid
from ..core.inputs import month
from . import queries as q_

bp = Blueprint(__name__)
TAG = "commission"
# the service is imported by the handlers and the bodies and answers are built on first use: importing
# the routes stays cheap (cold start)


s = LazyModels(f"{__package__}.schemas")


@route(bp, "/commission/plans", summary="Commission plans (提成方案): base, rates by product or category, tiers, whom they apply to",
       tag=TAG, response=s.CommissionPlansOut)
def get_plans(req: ApiRequest) -> dict:
    from . import service

    return service.get_plans()


@route(bp, "/commission/plans", "PUT", summary="Replace the commission plans (commission:manage)", tag=TAG, body=s.CommissionPlansIn,
       response=s.CommissionPlansOut)
def put_plans(req: ApiRequest) -> dict:
    from . import service

    b = req.body
    return service.put_plans([x.model_dump() for x in b.plans], req.version_if_given(b.version))


@route(bp, "/commission/statements", summary="A month's commission statements (提成明细) of the reps I reach: live until closed",
       tag=TAG, query=q_.CommissionStatementsQuery, response=s.CommissionStatementsOut)
def statements(req: ApiRequest) -> dict:
    from . import service

    q = req.query
    return service.statements(q.period, q.user_id)


@route(bp, "/commission/statements/{period}/close", "POST", summary="Close a month (结账): its statements are stored and "
       "no longer recomputed (administrators)", tag=TAG, body=s.CommissionCloseIn, response=s.CommissionStatementsOut)
def close(req: ApiRequest, period: str) -> dict:
    from ..core.errors import Problem
    from . import service

    try:
        month(period)
    except Problem:
        raise invalid("period", "format", "field.month") from None
    return service.close(period)
