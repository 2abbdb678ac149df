"""EventBridge Scheduler target: a due reminder -> the owner's in-app inbox.

Event = the schedule's Input: {"kind": "reminder", "tenant_id", "reminder_id", "due"}, or
{"kind": "approval_reminder", "tenant_id", "instance_id", "round"} before an approval step's
time limit, or {"kind": "record_due", "tenant_id", "entity", "record_id", "field", "due"} before a
custom object's date field (objects/service.py).
Delivery is idempotent (the notification id is derived from reminder + due time), so
Scheduler's retries never show a reminder twice.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.approvals import service as approvals
from chalicelib.core import context
from chalicelib.core.observability import bind, flush, logger
from chalicelib.engine import due
from chalicelib.reminders import service as reminders

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    if event.get("kind") == "approval_reminder":
        bind(event["tenant_id"], "system", f"schedule:{event.get('instance_id')}")
        with context.acting_as(context.system_context(event["tenant_id"])):
            delivered = approvals.remind_due(event["tenant_id"], event["instance_id"], int(event["round"]))
        flush()
        return {"delivered": delivered}
    if event.get("kind") == "record_due":
        bind(event["tenant_id"], "system", f"schedule:{event.get('record_id')}")
        with context.acting_as(context.system_context(event["tenant_id"])):
            delivered = due.fire(event["tenant_id"], event["entity"], event["record_id"], event["field"], event["due"])
        flush()
        return {"delivered": delivered}
    if event.get("kind") != "reminder":
        logger.warning("unknown schedule payload", extra={"event": event})
        return {"delivered": False}
    tenant_id = event["tenant_id"]
    bind(tenant_id, "system", f"schedule:{event.get('reminder_id')}")
    with context.acting_as(context.system_context(tenant_id)):
        delivered = reminders.fire(tenant_id, event["reminder_id"], event["due"])
    flush()
    return {"delivered": delivered}
