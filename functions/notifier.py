"""Bus subscriber: domain events that someone should hear about -> in-app notifications.

- org.user.handed_over: the receiving user learns what was handed over to them.
- <module>.<entity>.transferred (the types modules list in the manifest): the new owner
  learns a record is theirs now (unless they did it themselves or it came with a hand-over,
  which sends one summary instead).
The notification id is derived from the event id: a redelivered event notifies once.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core import i18n
from chalicelib.core.observability import bind, flush, logger
from chalicelib.engine import registry
from chalicelib.engine import service as engine
from chalicelib.notifications import service as notifications

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


def _counts(moved: dict[str, int], locale: str) -> str:
    """{"customers": 2, "competitors": 1} -> 客户 2 条、竞争对手 1 条 / 2 customers, 1 competitor."""
    parts = []
    for module, n in sorted(moved.items()):
        defs = registry.by_module(module)
        own = f"handover.module.{module}"  # modules without record types name what moved themselves
        name = defs[0].label_in(locale) if defs else i18n.text(own, locale) if own in i18n.MESSAGES else module
        parts.append(i18n.text("notify.handover.item", locale, name=name, count=n))
    return ("、" if locale == "zh-CN" else ", ").join(parts)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    tenant_id = detail.get("tenant_id")
    bind(tenant_id, "system", event.get("id"))
    source = f"event:{event.get('id')}"
    delivered = False
    if kind == "org.user.handed_over":
        moved = detail.get("moved") or {}
        delivered = bool(moved) and notifications.deliver(
            tenant_id, detail["to_user_id"], "handover",
            {loc: i18n.text("notify.handover.title", loc, from_name=detail.get("from_name", ""),
                            items=_counts(moved, loc)) for loc in i18n.LOCALES},
            link={"entity": "user", "id": detail["from_user_id"]}, source=source)
    elif kind in manifest.notification_types() and kind.endswith(".transferred") and not detail.get("handover") \
            and detail.get("actor_id") != detail.get("to_user_id"):
        d = registry.find(detail["entity"], tenant_id)
        titles = engine.title_of(tenant_id, detail["entity"], detail["id"], detail["to_user_id"]) or {}
        delivered = d is not None and notifications.deliver(
            tenant_id, detail["to_user_id"], "transfer",
            {loc: i18n.text("notify.transfer.title", loc, entity=d.label_in(loc), name=titles.get(loc, "")) for loc in i18n.LOCALES},
            link={"entity": detail["entity"], "id": detail["id"]}, source=source)
    else:
        logger.info("event ignored", extra={"detail_type": kind})
    flush()
    return {"delivered": delivered}
