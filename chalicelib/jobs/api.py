"""HTTP routes of background jobs (后台任务): progress and cancelling. A module that starts jobs
(imports, exports, backups) has its own routes too, with what its kind adds."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..org import service as org
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "jobs"


@route(bp, "/jobs", summary="My background jobs, newest first (?all=true: the tenant's, administrators)", tag=TAG,
       query=s.JobQuery, response=s.JobPage)
def list_jobs(req: ApiRequest) -> dict:
    items, nxt = service.mine(req.query.limit, req.query.cursor, everyone=req.query.all)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/jobs/{job_id}", summary="One job: status and progress (rows done / total / errors)", tag=TAG, response=s.JobOut)
def get_job(req: ApiRequest, job_id: str) -> dict:
    return service.get(org.principal(), job_id)


@route(bp, "/jobs/{job_id}/cancel", "POST", summary="Cancel a job (queued: at once; running: at its next checkpoint)",
       tag=TAG, response=s.JobOut)
def cancel_job(req: ApiRequest, job_id: str) -> dict:
    return service.cancel(org.principal(), job_id)
