"""Reminders as EventBridge Scheduler one-time schedules; recurring jobs (a tenant's daily backup)
as recurring schedules of the same target (`upsert_recurring`).

Names are derived from the source record, so create/reschedule is one idempotent upsert
and cancel one idempotent delete. `at(...)` is written in the tenant's time zone
(Asia/Shanghai by default); schedules delete themselves after firing.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core.settings import get_settings
from . import client

_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


def schedule_name(*parts: str) -> str:
    name = "-".join(parts)
    if not _NAME.match(name):
        raise ValueError(f"invalid schedule name {name!r}")
    return name


def at_expression(when: datetime, tz: str) -> str:
    local = when.astimezone(ZoneInfo(tz))
    return f"at({local.strftime('%Y-%m-%dT%H:%M:%S')})"


def upsert(name: str, when: datetime, payload: dict[str, Any], tz: str | None = None) -> None:
    """A one-time schedule at `when` (in `tz`) of the reminders target, deleted once it has run."""
    tz = tz or get_settings().default_timezone
    _put(name, at_expression(when, tz), payload, tz, ActionAfterCompletion="DELETE")


def upsert_recurring(name: str, expression: str, payload: dict[str, Any], tz: str | None = None) -> None:
    """A recurring schedule (`cron(...)` or `rate(...)`, in `tz`) of the same target; it stays
    until deleted. Idempotent like `upsert`."""
    _put(name, expression, payload, tz or get_settings().default_timezone)


def _put(name: str, expression: str, payload: dict[str, Any], tz: str, **extra: Any) -> None:
    """Create or replace schedule `name` of the group (deterministic names make both idempotent)."""
    s = get_settings()
    args = dict(
        Name=name,
        GroupName=s.schedule_group,
        ScheduleExpression=expression,
        ScheduleExpressionTimezone=tz,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": s.reminder_target_arn, "RoleArn": s.scheduler_role_arn,
                "Input": json.dumps(payload, ensure_ascii=False),
                "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}},
        State="ENABLED",
        **extra,
    )
    if s.schedule_dlq_arn:  # an invocation Scheduler gives up on is kept, not dropped
        args["Target"]["DeadLetterConfig"] = {"Arn": s.schedule_dlq_arn}
    c = client("scheduler")
    try:
        c.create_schedule(**args)
    except c.exceptions.ConflictException:
        c.update_schedule(**args)


def next_cron(expression: str, tz: str, after: datetime) -> datetime | None:
    """The first time after `after` of a daily `cron(M H * * ? *)` expression (minutes and hours
    may be lists); None for expressions of another shape (the local stack fires only these)."""
    m = _CRON.match(expression)
    if not m:
        return None
    minutes, hours = (sorted(int(x) for x in part.split(",")) for part in m.groups())
    local = after.astimezone(ZoneInfo(tz))
    for day in range(2):
        base = (local + timedelta(days=day)).replace(second=0, microsecond=0)
        for h in hours:
            for mi in minutes:
                at = base.replace(hour=h, minute=mi)
                if at > local:
                    return at
    return None


_CRON = re.compile(r"^cron\((\d+(?:,\d+)*) (\d+(?:,\d+)*) [*?] \* [*?] \*\)$")


def delete(name: str) -> None:
    c = client("scheduler")
    try:
        c.delete_schedule(Name=name, GroupName=get_settings().schedule_group)
    except c.exceptions.ResourceNotFoundException:
        return


def get(name: str) -> dict[str, Any] | None:
    c = client("scheduler")
    try:
        return c.get_schedule(Name=name, GroupName=get_settings().schedule_group)
    except c.exceptions.ResourceNotFoundException:
        return None
