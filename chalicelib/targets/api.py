"""HTTP routes of targets (业绩目标), sales plans (销售计划), achievement (达成) and territories (销售地域)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import queries as q_

bp = Blueprint(__name__)
TAG = "targets"
# the services are imported by the handlers that use them and the bodies and answers are built on first
# use: importing the routes stays cheap (cold start)


s = LazyModels(f"{__package__}.schemas")


def _year(year: int | None) -> int:
    from .service import local_today

    return year or local_today().year


@route(bp, "/targets", summary="Targets of a year and metric (业绩目标): twelve monthly figures per subject I reach", tag=TAG,
       query=q_.TargetsQuery, response=s.TargetsOut)
def get_targets(req: ApiRequest) -> dict:
    from . import service

    q = req.query
    return service.get_targets(_year(q.year), q.metric)


@route(bp, "/targets", "PUT", summary="Set the targets I may set (targets:manage: admins; managers for their team)", tag=TAG,
       query=q_.TargetsQuery, body=s.TargetsIn, response=s.TargetsOut)
def put_targets(req: ApiRequest) -> dict:
    from . import service

    q, b = req.query, req.body
    return service.put_targets(_year(q.year), q.metric, b.name, b.notes, [r.model_dump() for r in b.rows],
                               req.version_if_given(b.version))


@route(bp, "/targets/plans", summary="The sales plans of a year (销售计划): each metric's targets with its name and notes", tag=TAG,
       query=q_.SalesPlansQuery, response=s.SalesPlansOut)
def list_plans(req: ApiRequest) -> dict:
    from . import service

    return service.list_plans(_year(req.query.year))


@route(bp, "/targets/achievement", summary="Achievement (达成): target, actual and rate per month, quarter or year of a subject",
       tag=TAG, query=q_.AchievementQuery, response=s.AchievementOut)
def achievement(req: ApiRequest) -> dict:
    from . import service

    q = req.query
    return service.achievement_report(_year(q.year), q.metric, q.period, q.subject)


@route(bp, "/territories", summary="Sales territories (销售地域): regions assigned to departments and users", tag=TAG,
       response=s.TerritoriesOut)
def get_territories(req: ApiRequest) -> dict:
    from . import territories

    return territories.get_territories()


@route(bp, "/territories", "PUT", summary="Replace the territories (territories:manage)", tag=TAG, body=s.TerritoriesIn,
       response=s.TerritoriesOut)
def put_territories(req: ApiRequest) -> dict:
    from . import territories

    b = req.body
    return territories.put_territories([t.model_dump() for t in b.territories], req.version_if_given(b.version))


@route(bp, "/territories/of", summary="Which territory (and team) a region or a customer's region belongs to", tag=TAG,
       query=q_.TerritoryOwnerQuery, response=s.TerritoryOwnerOut)
def owner_of(req: ApiRequest) -> dict:
    from . import territories

    q = req.query
    return territories.owner_of(q.region, q.customer)
