"""HTTP routes of the dashboard (仪表盘): the whole dashboard in one call, each card on its own (to
refresh one), and the customers behind a forgotten-customers bucket."""
from __future__ import annotations

import importlib
from typing import Any

from chalice import Blueprint, Response

from ..core.api import ApiRequest, Lazy, accepts, route
from ..core.errors import NotAcceptable

bp = Blueprint(__name__)
TAG = "dashboard"


def _schema(name: str) -> Lazy:
    """A model of schemas.py, built on first use (the API's cold start does not pay for the dashboard's models)."""
    return Lazy(lambda: getattr(importlib.import_module("chalicelib.dashboard.schemas"), name))


def _service() -> Any:
    return importlib.import_module("chalicelib.dashboard.service")


QUERY, OUT = _schema("DashboardQuery"), _schema("DashboardOut")
PERIOD_DOC = ("Figures within my data scope (scope only narrows it: a wider choice is clamped, never refused), for a period "
              "of the tenant's calendar (range, default this month) or start..end; a figure needing a field I may not read "
              "is null and listed under `omitted`.")


def _call(req: ApiRequest, *sections: str) -> dict:
    q, service = req.query, _service()
    return service.dashboard(q.scope, q.range, q.start, q.end, q.stage_group, sections or service.SECTIONS)


@route(bp, "/dashboard", summary="The dashboard: briefing, achievement, funnel, trend, forgotten customers, to-do (仪表盘)",
       tag=TAG, query=QUERY, response=OUT, description=PERIOD_DOC)
def dashboard(req: ApiRequest) -> dict:
    return _call(req)


@route(bp, "/dashboard/briefing", summary="销售简报: new records and amounts against the previous period", tag=TAG,
       query=QUERY, response=OUT, description=PERIOD_DOC)
def briefing(req: ApiRequest) -> dict:
    return _call(req, "briefing")


@route(bp, "/dashboard/achievement", summary="业绩指标: contract and payment amounts against the target", tag=TAG,
       query=QUERY, response=OUT, description=PERIOD_DOC)
def achievement(req: ApiRequest) -> dict:
    return _call(req, "achievement")


@route(bp, "/dashboard/funnel", summary="销售漏斗: open opportunities per stage, won and lost in the period", tag=TAG,
       query=QUERY, response=OUT, description=PERIOD_DOC)
def funnel(req: ApiRequest) -> dict:
    return _call(req, "funnel")


@route(bp, "/dashboard/trend", summary="销售趋势: contract and payment amounts per month", tag=TAG,
       query=QUERY, response=OUT, description=PERIOD_DOC)
def trend(req: ApiRequest) -> dict:
    return _call(req, "trend")


@route(bp, "/dashboard/forgotten", summary="遗忘客户: customers not contacted for 7/15/30/90/180 days", tag=TAG,
       query=QUERY, response=OUT, description=PERIOD_DOC)
def forgotten(req: ApiRequest) -> dict:
    return _call(req, "forgotten")


@route(bp, "/dashboard/todo", summary="待办: today's follow-ups, my pending approvals, plans due and overdue, contracts "
       "expiring, customers about to enter a pool", tag=TAG, query=QUERY, response=OUT, description=PERIOD_DOC)
def todo(req: ApiRequest) -> dict:
    return _call(req, "todo")


@route(bp, "/dashboard/forgotten/customers", summary="The customers of a forgotten bucket, longest forgotten first (paged)",
       tag=TAG, query=_schema("ForgottenQuery"), response=Lazy(lambda: _page()))
def forgotten_customers(req: ApiRequest) -> dict:
    q = req.query
    return _service().forgotten_customers(int(q.days), q.scope, q.limit, q.cursor)


def _page() -> Any:
    from ..customers.entity import CUSTOMER
    from ..engine import models

    return models.model(CUSTOMER, "page")


IMAGES = {"png": "image/png", "svg": "image/svg+xml"}


def _image_route(section: str, fmt: str, title: str) -> None:
    media = IMAGES[fmt]

    def image(req: ApiRequest) -> Response:
        if not accepts(req.headers.get("accept"), media):
            raise NotAcceptable(media=media)
        q = req.query
        body = _service().chart(section, fmt, q.scope, q.range, q.start, q.end, q.stage_group)
        text = body if media == "image/png" else body.decode()  # SVG is text; PNG is one of the app's binary types
        return Response(body=text, status_code=200, headers={"Content-Type": media, "Cache-Control": "no-store"})

    image.__name__ = f"{section}_{fmt}"
    route(bp, f"/dashboard/{section}/{fmt}", summary=f"{title} as {fmt.upper()}, Chinese labels drawn (the same figures as the "
          "JSON)", tag=TAG, query=QUERY, produces=media, description=f"Send `Accept: {media}` (or */*). " + PERIOD_DOC)(image)


for _section, _title in (("funnel", "销售漏斗"), ("trend", "销售趋势")):
    for _fmt in IMAGES:
        _image_route(_section, _fmt, _title)
