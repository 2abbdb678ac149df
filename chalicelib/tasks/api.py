"""HTTP routes of tasks beyond the engine's (CRUD, list, transfer, attachments and comments come from it)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, Lazy, LazyModels, route
from ..engine import models
from . import service
from .entity import TASK

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "tasks"
OUT = models.lazy_out(TASK)
PAGE = Lazy(lambda: models.model(TASK, "page"))


@route(bp, "/tasks/views/{view}", summary="My tasks by view: inbox | today | next | later | assigned_by_me | participating | "
       "done (收件箱/今天/下一步/以后/我分派的/我参与的/已完成)", tag=TAG, query=s.TaskViewQuery, response=PAGE,
       description="inbox: mine, not done, no due time · today: mine, not done, due by the end of today (tenant time zone), "
       "overdue included · next: due within the following 7 days · later: due after that · assigned_by_me: assigned by me to "
       "someone else, not done · participating: I take part, not done · done: done tasks I own, assigned or take part in. "
       "From the search index (about a second behind), within my data scope.")
def task_view(req: ApiRequest, view: str) -> dict:
    return service.view(view, req.query.params())


@route(bp, "/tasks/{task_id}/complete", "POST", summary="Complete a task (完成); with completion_approval it waits for the "
       "assigner", tag=TAG, body=s.TaskVersionIn, response=OUT)
def complete(req: ApiRequest, task_id: str) -> dict:
    return service.complete(task_id, req.version_if_given(req.body.version))


@route(bp, "/tasks/{task_id}/approve-completion", "POST", summary="The assigner approves a task's completion (确认完成)",
       tag=TAG, body=s.TaskVersionIn, response=OUT)
def approve_completion(req: ApiRequest, task_id: str) -> dict:
    return service.approve_completion(task_id, req.version_if_given(req.body.version))


@route(bp, "/tasks/{task_id}/reject-completion", "POST", summary="The assigner sends a task's completion back (退回), with "
       "the reason", tag=TAG, body=s.TaskRejectIn, response=OUT)
def reject_completion(req: ApiRequest, task_id: str) -> dict:
    return service.reject_completion(task_id, req.body.reason, req.version_if_given(req.body.version))


@route(bp, "/tasks/{task_id}/reopen", "POST", summary="Open a done task again (重新打开)", tag=TAG, body=s.TaskVersionIn,
       response=OUT)
def reopen(req: ApiRequest, task_id: str) -> dict:
    return service.reopen(task_id, req.version_if_given(req.body.version))


@route(bp, "/tasks/{task_id}/progress", "POST", summary="Report my own progress on a task (参与人进度): owner or participant",
       tag=TAG, body=s.TaskProgressIn, response=OUT)
def progress(req: ApiRequest, task_id: str) -> dict:
    return service.report_progress(task_id, req.body.progress, req.body.note)
