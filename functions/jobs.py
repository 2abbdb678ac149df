"""Bus subscriber (EventBridge -> SQS -> this Lambda, one message at a time): runs one invocation
of a queued background job (chalicelib/jobs).

The event `jobs.job.queued` names the tenant and the job; the runner of the job's kind works
until it is done or its time is up, saving progress and a checkpoint as it goes; a job not
finished, or whose attempt failed, is queued again and resumes from its checkpoint (see
chalicelib/jobs/service.py). An invocation that dies (timeout, out of memory) leaves its message
in the queue: it is seen again after the visibility timeout, when the job's lease has lapsed.
The local BusDriver calls the handler with the EventBridge event itself.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib import manifest
from chalicelib.core.observability import bind, flush, logger
from chalicelib.jobs import service as jobs

manifest.install()  # every module's job runners


def _one(event: dict[str, Any]) -> str | None:
    detail = event.get("detail") or {}
    bind(detail.get("tenant_id"), "system", event.get("id"))
    return jobs.handle_event(event)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    if "Records" not in event:  # one EventBridge event (the local BusDriver)
        try:
            return {"status": _one(event)}
        finally:
            flush()
    failures, statuses = [], []
    for record in event["Records"]:
        try:
            statuses.append(_one(json.loads(record["body"])))
        except Exception:  # noqa: BLE001 - the message comes back after the visibility timeout
            logger.exception("job invocation failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId")})
    flush()
    return {"batchItemFailures": failures, "statuses": statuses}
