"""EventBridge Scheduler target: a due reminder -> the owner's in-app inbox.

Event = the schedule's Input: {"kind": "reminder", "tenant_id", "reminder_id", "due"}, or
{"kind": "approval_reminder", "tenant_id", "instance_id", "round"} before an approval step's
time limit, or {"kind": "record_due", "tenant_id", "entity", "record_id", "field", "due"} before a
record's date field (engine/due.py), or {"kind": "record_timer", "tenant_id", "entity",
"record_id", "timer", "at"} when a record type's timer comes (a customer's pool recycling, a care
reminder, an event's reminder), or {"kind": "care_holiday", "tenant_id", "rule_id", "holiday", "at"} before a holiday
of the care rules (care/service.py), or {"kind": "approvals_watch", "tenant_id", "at"}: the tenant's
daily check of approvals waiting only on disabled users (approvals/reassign.py), or {"kind": "webhook_retry",
"tenant_id", "webhook_id", "delivery_id", "attempt"}: the next attempt of a failed webhook delivery, or {"kind":
"backup", "tenant_id"} from a tenant's recurring backup schedule (backups/service.py), or {"kind":
"work_report_reminder", "tenant_id", "report_kind"}: the tenant's reminder to those who have not submitted
their work report (reports/service.py), or {"kind": "event_reminder", "tenant_id", "event_id", "start", "at"}: a
schedule armed before event reminders were record timers, which moves the event onto its timer
(calendar/reminders.py: fire_legacy).
Delivery is idempotent (the notification id is derived from reminder + due time), so
Scheduler's retries never show a reminder twice.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.approvals import service as approvals
from chalicelib.backups import service as backups
from chalicelib.calendar import reminders as calendar
from chalicelib.care import service as care
from chalicelib.core import context
from chalicelib.core.observability import bind, flush, logger
from chalicelib.engine import due
from chalicelib.reminders import service as reminders
from chalicelib.reports import service as work_reports
from chalicelib.webhooks import service as webhooks

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


_TARGETS: dict[str, tuple[str, Any]] = {  # kind -> (the id it logs, what it does)
    "approval_reminder": ("instance_id", lambda e: approvals.remind_due(e["tenant_id"], e["instance_id"], int(e["round"]))),
    due.KIND: ("record_id", lambda e: due.fire(e["tenant_id"], e["entity"], e["record_id"], e["field"], e["due"])),
    due.TIMER_KIND: ("record_id", lambda e: due.fire_timer(e["tenant_id"], e["entity"], e["record_id"], e["timer"], e["at"])),
    care.HOLIDAY_KIND: ("rule_id", lambda e: care.fire_holiday(e["tenant_id"], e["rule_id"], e["holiday"], e["at"])),
    "reminder": ("reminder_id", lambda e: reminders.fire(e["tenant_id"], e["reminder_id"], e["due"])),
    approvals.WATCH_KIND: ("tenant_id", lambda e: approvals.fire_watch(e["tenant_id"], e["at"])),
    backups.SCHEDULE_KIND: ("tenant_id", lambda e: backups.fire_scheduled(e["tenant_id"])),
    webhooks.RETRY_KIND: ("delivery_id", webhooks.fire_retry),
    "work_report_reminder": ("report_kind", lambda e: work_reports.fire_reminder(e["tenant_id"], e["report_kind"])),
    calendar.LEGACY_KIND: ("event_id", lambda e: calendar.fire_legacy(e["tenant_id"], e["event_id"], e["at"])),
}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    target = _TARGETS.get(str(event.get("kind")))
    if target is None:
        logger.warning("unknown schedule payload", extra={"event": event})
        return {"delivered": False}
    id_key, act = target
    bind(event["tenant_id"], "system", f"schedule:{event.get(id_key)}")
    with context.acting_as(context.system_context(event["tenant_id"])):
        delivered = act(event)
    flush()
    return {"delivered": bool(delivered)}
