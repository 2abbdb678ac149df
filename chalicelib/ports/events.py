"""Domain events on the EventBridge bus: source `crm.<module>`, detail-type `<module>.<entity>.<verb>`."""
from __future__ import annotations

import json
from typing import Any

from ..core.observability import logger
from ..core.settings import get_settings
from . import client


def publish(module: str, detail_type: str, tenant_id: str, detail: dict[str, Any], *, strict: bool = False) -> None:
    """Publish one event. Events are notifications, not the source of truth: a failed
    publish is logged and counted, never undoes the committed change — unless `strict` (the
    event is what makes something happen, e.g. a queued job): then it raises."""
    entry = {
        "Source": f"crm.{module}",
        "DetailType": detail_type,
        "Detail": json.dumps({"tenant_id": tenant_id, **detail}, ensure_ascii=False, default=str),
        "EventBusName": get_settings().event_bus_name,
    }
    try:
        result = client("events").put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            logger.error("event not published", extra={"detail_type": detail_type, "result": result.get("Entries")})
            if strict:
                raise RuntimeError(f"event {detail_type} not published")
    except Exception:  # noqa: BLE001 - see docstring
        logger.exception("event publish failed", extra={"detail_type": detail_type})
        if strict:
            raise
