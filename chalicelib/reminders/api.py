"""HTTP routes of reminders to self (提醒闹钟)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "reminders"


@route(bp, "/reminders", "POST", summary="Set a reminder (delivered to my inbox when due)", tag=TAG, body=s.ReminderIn,
       response=s.ReminderOut, status=201, idempotent_create=True)
def create_reminder(req: ApiRequest) -> dict:
    return service.create(req.body.model_dump(), req.idempotency_key)


@route(bp, "/reminders", summary="My reminders", tag=TAG, query=s.ReminderQuery, response=s.ReminderPage)
def list_reminders(req: ApiRequest) -> dict:
    items, nxt = service.list_mine(req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, "/reminders/{reminder_id}", summary="One of my reminders", tag=TAG, response=s.ReminderOut)
def get_reminder(req: ApiRequest, reminder_id: str) -> dict:
    return service.get(reminder_id)


@route(bp, "/reminders/{reminder_id}", "PATCH", summary="Reschedule, rename or cancel a reminder", tag=TAG, body=s.ReminderPatch,
       response=s.ReminderOut, versioned_write=True)
def update_reminder(req: ApiRequest, reminder_id: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update(reminder_id, changes, req.expected_version(req.body.version))


@route(bp, "/reminders/{reminder_id}", "DELETE", summary="Delete a reminder (its schedule goes too)", tag=TAG, status=204,
       versioned_write=True)
def delete_reminder(req: ApiRequest, reminder_id: str) -> None:
    service.delete(reminder_id, req.expected_version())
