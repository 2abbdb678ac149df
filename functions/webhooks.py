"""Bus subscriber (EventBridge -> SQS -> this Lambda): domain events -> webhook deliveries.

Every `crm.*` event reaches the function through its SQS queue; each record's body is the
EventBridge event. `webhooks.service.dispatch` finds the event's tenant's matching webhooks (one
Query), makes one delivery per webhook (idempotent by event id + webhook id: a message SQS delivers
twice sends once) and makes the first attempt; retries come back through EventBridge Scheduler
(functions/reminders.py, kind webhook_retry). A record that fails (the table unreachable) is
reported in `batchItemFailures` and comes back after the queue's visibility timeout; after the
queue's maxReceiveCount it lands in the dead-letter queue. The local BusDriver calls the handler
with the EventBridge event itself.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib import manifest
from chalicelib.core import context
from chalicelib.core.observability import bind, flush, logger
from chalicelib.webhooks import service as webhooks

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


def _one(event: dict[str, Any]) -> int:
    tenant_id = (event.get("detail") or {}).get("tenant_id")
    if not tenant_id:
        return 0
    bind(tenant_id, "system", event.get("id"))
    with context.acting_as(context.system_context(tenant_id)):
        return webhooks.dispatch(event)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    if "Records" not in event:  # one EventBridge event (the local BusDriver)
        made = _one(event)
        flush()
        return {"deliveries": made}
    failures, made = [], 0
    for record in event["Records"]:
        try:
            made += _one(json.loads(record["body"]))
        except Exception:  # noqa: BLE001 - this record comes back; the batch's others are done
            logger.exception("webhook dispatch failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId")})
    flush()
    return {"batchItemFailures": failures, "deliveries": made}
