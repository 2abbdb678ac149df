"""Reminders to self (提醒闹钟) — and the pattern every module's reminders follow.

A Reminder is a Record (ENTITY = REMINDER, owner = the user): get = GetItem, mine = gsi1.
Its schedule is an EventBridge Scheduler one-time schedule named `rem-<tenant>-<id>`;
changing remind_at upserts it, cancelling or deleting deletes it.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute

from ..db.records import Record


class Reminder(Record, discriminator="REMINDER"):
    ENTITY = "REMINDER"
    MODULE = "reminders"
    NAME_KEY = "entity.reminder"
    PRIVATE = True  # a user's own: deleted into their own bin, restored only by them
    FIELDS = ("title", "note", "remind_at", "status", "link", "delivered_at")

    title = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    remind_at = UnicodeAttribute()  # UTC ISO
    status = UnicodeAttribute(default="scheduled")  # scheduled | delivered | cancelled
    link = JSONAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
