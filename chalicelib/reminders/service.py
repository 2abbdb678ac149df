"""Reminders: a record + its one-time schedule, kept in step; delivery to the inbox.

The schedule is written after the record commits. If that call fails the record says
`scheduled` with no schedule; `fire()` and the reschedule path are idempotent, so a
retry of the request repairs it. A schedule that fires for a reminder that was moved or
cancelled since delivers nothing (the payload carries the due time it was made for).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core import clock, context, i18n
from ..core.errors import Forbidden, NotFound, ValidationFailed, invalid
from ..core.observability import logger, metric
from ..db import idempotency, keys, query, records
from ..notifications import service as notifications
from ..ports import scheduler
from .models import Reminder

KIND = "reminder"


def schedule_name(tenant_id: str, reminder_id: str) -> str:
    return scheduler.schedule_name("rem", tenant_id, reminder_id)


def out(r: Reminder) -> dict[str, Any]:
    return {"id": r.id, "title": r.title, "note": r.note, "remind_at": r.remind_at, "status": r.status, "link": r.link,
            "delivered_at": r.delivered_at, "schedule_name": schedule_name(r.tenant_id, r.id), "version": r.version}


def _sync_schedule(r: Reminder) -> None:
    name = schedule_name(r.tenant_id, r.id)
    if r.status == "scheduled" and not r.deleted_at:
        payload = {"kind": KIND, "tenant_id": r.tenant_id, "reminder_id": r.id, "due": r.remind_at}
        scheduler.upsert(name, clock.parse_iso(r.remind_at), payload)
    else:
        scheduler.delete(name)


def _mine(reminder_id: str) -> Reminder:
    ctx = context.current()
    r = records.get(Reminder, ctx.tenant_id, reminder_id)
    if r.owner_id != ctx.user_id:
        raise NotFound("entity.reminder")
    return r


def _future(when: datetime) -> str:
    if when <= clock.now():
        raise invalid("remind_at", "past", "field.future")
    return clock.iso(when.astimezone(UTC))


def create(body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    ctx = context.current()
    if ctx.is_system:
        raise Forbidden("SYSTEM_NO_USER")
    remind_at = _future(body["remind_at"])

    def do_create(extra, bind):
        r = records.new(Reminder, ctx.tenant_id, ctx.user_id, ctx.user_id, title=body["title"], note=body.get("note"),
                        remind_at=remind_at, status="scheduled", link=body.get("link"))
        bind(r.id)
        records.create(r, ctx.user_id, extra=extra)
        _sync_schedule(r)
        metric("reminders.reminder.created")
        return out(r)

    def replay(reminder_id: str) -> dict[str, Any]:
        return out(records.get(Reminder, ctx.tenant_id, reminder_id))

    plain_body = {**body, "remind_at": remind_at}
    return idempotency.run(ctx.tenant_id, ctx.user_id, idempotency_key, plain_body, Reminder.ENTITY, do_create, replay)


def list_mine(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    ctx = context.current()
    items, nxt = query.page(Reminder, keys.owner_list(ctx.tenant_id, Reminder.ENTITY, ctx.user_id), index="gsi1", limit=limit, cursor=cursor)
    return [out(r) for r in items if isinstance(r, Reminder)], nxt


def get(reminder_id: str) -> dict[str, Any]:
    return out(_mine(reminder_id))


def update(reminder_id: str, changes: dict[str, Any], expected: int) -> dict[str, Any]:
    ctx = context.current()
    r = _mine(reminder_id)
    if "remind_at" in changes:
        changes["remind_at"] = _future(changes["remind_at"])
        changes["status"] = "scheduled"
    if changes.get("status") == "cancelled" and r.status == "delivered":
        raise ValidationFailed("INVALID_STATE", reason="reason.delivered")
    records.update(r, ctx.user_id, changes, expected)
    _sync_schedule(r)
    return out(r)


def delete(reminder_id: str, expected: int) -> None:
    ctx = context.current()
    r = _mine(reminder_id)
    records.soft_delete(r, ctx.user_id, expected)
    _sync_schedule(r)


def after_restore(r: Reminder) -> None:
    """Back from the owner's recycle bin: its schedule comes back too (a time that passed while
    it was deleted fires at once)."""
    _sync_schedule(r)


def fire(tenant_id: str, reminder_id: str, due: str) -> bool:
    """Deliver a due reminder to its owner's inbox (the schedule target). Idempotent."""
    try:
        r = records.get(Reminder, tenant_id, reminder_id)
    except NotFound:
        logger.info("reminder gone", extra={"reminder_id": reminder_id})
        return False
    if r.status == "cancelled" or r.remind_at != due:
        logger.info("stale schedule ignored", extra={"reminder_id": reminder_id, "due": due, "now_due": r.remind_at})
        return False
    new = notifications.deliver(
        tenant_id, r.owner_id, KIND, i18n.both("notify.reminder.title", title=r.title),
        body={"zh-CN": r.note, "en": r.note} if r.note else None,
        link=r.link or {"entity": "reminder", "id": r.id}, source=f"reminder:{r.id}:{due}", occurred_at=clock.parse_iso(due))
    if r.status != "delivered":
        records.update(r, "system", {"status": "delivered", "delivered_at": clock.now_iso()}, None, action="deliver")
    metric("reminders.reminder.delivered")
    return new
