"""Bus subscriber: runs one invocation of a queued background job (chalicelib/jobs).

The event `jobs.job.queued` names the tenant and the job; the runner of the job's kind works
until it is done or its time is up, saving progress and a checkpoint as it goes; a job not
finished is queued again and resumes from its checkpoint (see chalicelib/jobs/service.py).
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core.observability import bind, flush
from chalicelib.jobs import service as jobs

manifest.install()  # every module's job runners


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    detail = event.get("detail") or {}
    bind(detail.get("tenant_id"), "system", event.get("id"))
    try:
        return {"status": jobs.handle_event(event)}
    finally:
        flush()
