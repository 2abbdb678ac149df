"""HTTP routes of opportunities beyond the engine's: stage groups, stage moves, close / reopen, the
Kanban board and the weighted forecast."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..engine import models
from . import service, stages
from .entity import OPPORTUNITY

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "opportunities"



@route(bp, "/opportunity-stage-groups", summary="Stage groups (商机组) with their stages and win rates", tag=TAG,
       response=s.StageGroupsOut)
def get_groups(req: ApiRequest) -> dict:
    return stages.get_groups()


@route(bp, "/opportunity-stage-groups", "PUT", summary="Replace the stage groups (opportunities:manage)", tag=TAG,
       body=s.StageGroupsIn, response=s.StageGroupsOut)
def put_groups(req: ApiRequest) -> dict:
    b = req.body
    return stages.put_groups([g.model_dump() for g in b.groups], req.version_if_given(b.version))


@route(bp, "/opportunities/board", summary="Kanban: count, amount and weighted amount per stage of a group (看板)", tag=TAG,
       query=s.BoardQuery, response=s.BoardOut)
def board(req: ApiRequest) -> dict:
    q = req.query
    return service.board(q.stage_group, q.params())


@route(bp, "/opportunities/forecast", summary="Weighted forecast of open opportunities by period (销售预测)", tag=TAG,
       query=s.ForecastQuery, response=s.ForecastOut)
def forecast(req: ApiRequest) -> dict:
    q = req.query
    return service.forecast(q.period, q.by, q.params())


@route(bp, "/opportunities/{opportunity_id}/stage", "POST", summary="Move to another stage, forward or back (推进/回退)", tag=TAG,
       body=s.MoveIn, response=models.lazy_out(OPPORTUNITY), versioned_write=True)
def move(req: ApiRequest, opportunity_id: str) -> dict:
    b = req.body
    return service.move(opportunity_id, b.stage_id, b.note, req.expected_version(b.version))


@route(bp, "/opportunities/{opportunity_id}/close", "POST", summary="Won (赢单), lost (输单, with a reason) or invalid (无效)",
       tag=TAG, body=s.CloseIn, response=models.lazy_out(OPPORTUNITY), versioned_write=True)
def close(req: ApiRequest, opportunity_id: str) -> dict:
    b = req.body
    return service.close(opportunity_id, b.outcome, b.loss_reason, b.note, req.expected_version(b.version))


@route(bp, "/opportunities/{opportunity_id}/reopen", "POST", summary="Open a closed opportunity again", tag=TAG,
       body=s.ReopenIn, response=models.lazy_out(OPPORTUNITY), versioned_write=True)
def reopen(req: ApiRequest, opportunity_id: str) -> dict:
    b = req.body
    return service.reopen(opportunity_id, b.note, req.expected_version(b.version))
