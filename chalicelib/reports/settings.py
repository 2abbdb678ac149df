"""The tenant's report templates (报告模板) and reminder rules (未提交提醒), set by administrators
(`reports:manage`); a tenant that never saved them has the defaults below.

Templates: per kind, the ordered sections of a report — a key, a label in 中文 and English and
whether it must be filled in before the report is submitted.

Reminders: per kind, whether the tenant reminds those who have not submitted their report, at
what local time (`18:00`, the tenant's time zone) and on which days — ISO weekdays (1 = Monday)
for daily and weekly reports, days of the month for monthly ones (-1 = its last day). Each kind
that is on has one recurring EventBridge Scheduler schedule per tenant (`wrr-<tenant>-<kind>`,
daily at that time); its target (functions/reminders.py, kind `work_report_reminder`) acts only
on the chosen days.
"""
from __future__ import annotations

import copy
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..db import changes
from ..db.base import plain
from ..org import service as org
from ..ports import scheduler
from .models import ReportReminders, ReportTemplates
from .periods import KINDS

MODULE = "reports"
SCHEDULE_KIND = "work_report_reminder"


def _section(key: str, zh: str, en: str, required: bool = False) -> dict[str, Any]:
    return {"key": key, "label": {"zh-CN": zh, "en": en}, "required": required}


DEFAULT_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "daily": [_section("done", "今日工作", "Today's work", True), _section("plan", "明日计划", "Plan for tomorrow", True),
              _section("problems", "问题与需要的支持", "Problems and support needed")],
    "weekly": [_section("done", "本周工作", "This week's work", True), _section("plan", "下周计划", "Plan for next week", True),
               _section("problems", "问题与需要的支持", "Problems and support needed"),
               _section("thoughts", "心得体会", "Reflections")],
    "monthly": [_section("done", "本月工作", "This month's work", True), _section("plan", "下月计划", "Plan for next month", True),
                _section("problems", "问题与需要的支持", "Problems and support needed"),
                _section("thoughts", "心得体会", "Reflections")],
}
DEFAULT_REMINDERS: dict[str, dict[str, Any]] = {
    "daily": {"enabled": False, "time": "18:00", "days": [1, 2, 3, 4, 5]},
    "weekly": {"enabled": False, "time": "17:00", "days": [5]},
    "monthly": {"enabled": False, "time": "17:00", "days": [-1]},
}


def _get(model: Any, tenant_id: str) -> Any | None:
    try:
        return model.get(*model.key(tenant_id), consistent_read=True)
    except DoesNotExist:
        return None


# ---- templates --------------------------------------------------------------------------------------------
def templates(tenant_id: str) -> tuple[dict[str, list[dict[str, Any]]], int]:
    item = _get(ReportTemplates, tenant_id)
    if item is None:
        return copy.deepcopy(DEFAULT_TEMPLATES), 0
    return {**copy.deepcopy(DEFAULT_TEMPLATES), **(plain(item.templates) or {})}, int(item.version)


def template(tenant_id: str, kind: str) -> list[dict[str, Any]]:
    return templates(tenant_id)[0][kind]


def get_templates() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "create")  # whoever writes reports reads the sections they fill in
    found, version = templates(p.tenant_id)
    return {"templates": found, "version": version}


def put_templates(values: dict[str, list[dict[str, Any]]], expected: int | None) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    item = changes.put_setting(ReportTemplates, ReportTemplates.key(p.tenant_id), p.tenant_id, p.user_id,
                               "work_report_templates", "templates", {"templates": values}, expected)
    found, _ = templates(p.tenant_id)
    return {"templates": found, "version": int(item.version)}


# ---- reminders --------------------------------------------------------------------------------------------
def reminders(tenant_id: str) -> tuple[dict[str, dict[str, Any]], int]:
    item = _get(ReportReminders, tenant_id)
    if item is None:
        return copy.deepcopy(DEFAULT_REMINDERS), 0
    return {**copy.deepcopy(DEFAULT_REMINDERS), **(plain(item.reminders) or {})}, int(item.version)


def schedule_name(tenant_id: str, kind: str) -> str:
    return scheduler.schedule_name("wrr", tenant_id, kind)


def get_reminders() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    found, version = reminders(p.tenant_id)
    return {"reminders": found, "version": version}


def put_reminders(values: dict[str, dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the reminder rules; each kind's recurring schedule follows (made, moved or deleted)."""
    p = org.principal()
    p.require(MODULE, "manage")
    item = changes.put_setting(ReportReminders, ReportReminders.key(p.tenant_id), p.tenant_id, p.user_id,
                               "work_report_reminders", "reminders", {"reminders": values}, expected)
    found, _ = reminders(p.tenant_id)
    for kind in KINDS:
        rule = found[kind]
        if rule["enabled"]:
            hour, minute = (int(x) for x in str(rule["time"]).split(":"))
            scheduler.upsert_recurring(schedule_name(p.tenant_id, kind), f"cron({minute} {hour} * * ? *)",
                                       {"kind": SCHEDULE_KIND, "tenant_id": p.tenant_id, "report_kind": kind})
        else:
            scheduler.delete(schedule_name(p.tenant_id, kind))
    return {"reminders": found, "version": int(item.version)}
