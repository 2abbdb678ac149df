"""Bus subscriber: domain events that someone should hear about -> in-app notifications.

- org.user.handed_over: the receiving user learns what was handed over to them.
- customers.customer.transferred: the new owner learns a customer is theirs now
  (unless they did it themselves).
The notification id is derived from the event id: a redelivered event notifies once.
"""
from __future__ import annotations

from typing import Any

from chalicelib.core import i18n
from chalicelib.core.observability import bind, flush, logger


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    from chalicelib.notifications import service as notifications

    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    tenant_id = detail.get("tenant_id")
    bind(tenant_id, "system", event.get("id"))
    source = f"event:{event.get('id')}"
    delivered = False
    if kind == "org.user.handed_over":
        count = sum((detail.get("moved") or {}).values())
        delivered = notifications.deliver(
            tenant_id, detail["to_user_id"], "handover",
            i18n.both("notify.handover.title", from_name=detail.get("from_name", ""), count=count),
            link={"entity": "user", "id": detail["from_user_id"]}, source=source)
    elif kind == "customers.customer.transferred" and detail.get("by") != detail.get("to_user_id"):
        delivered = notifications.deliver(
            tenant_id, detail["to_user_id"], "transfer", i18n.both("notify.transfer.title", name=detail.get("name", "")),
            link={"entity": "customer", "id": detail["customer_id"]}, source=source)
    else:
        logger.info("event ignored", extra={"detail_type": kind})
    flush()
    return {"delivered": delivered}
