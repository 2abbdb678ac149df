"""HTTP routes of work reports beyond the engine's standard ones (create, read, edit, list and
search, delete, timeline … under /v1/work-reports)."""
from __future__ import annotations

import importlib
from typing import Any

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..engine import models
from .entity import WORK_REPORT

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "reports"
OUT = models.lazy_out(WORK_REPORT)


def _service() -> Any:
    return importlib.import_module("chalicelib.reports.service")


def _settings() -> Any:
    return importlib.import_module("chalicelib.reports.settings")


@route(bp, "/work-reports/missing", summary="Who has not submitted their report of a period (未提交): my people, or a "
       "department", tag=TAG, query=s.WorkReportMissingQuery, response=s.WorkReportMissingOut)
def missing(req: ApiRequest) -> dict:
    q = req.query
    return _service().missing(q.kind, q.period, q.department_id)


@route(bp, "/work-reports/{work_report_id}/submit", "POST", summary="Submit a report (提交): required sections filled in, "
       "figures frozen, recipients told", tag=TAG, body=s.WorkReportVersionIn, response=OUT, versioned_write=True)
def submit(req: ApiRequest, work_report_id: str) -> dict:
    return _service().submit(work_report_id, req.expected_version(req.body.version))


@route(bp, "/work-reports/{work_report_id}/refresh", "POST", summary="Count a draft's figures again (刷新统计)", tag=TAG,
       body=s.WorkReportVersionIn, response=OUT, versioned_write=True)
def refresh(req: ApiRequest, work_report_id: str) -> dict:
    return _service().refresh(work_report_id, req.expected_version(req.body.version))


@route(bp, "/work-reports/{work_report_id}/review", "POST", summary="Review a submitted report (批阅), with an optional "
       "remark; the author is told", tag=TAG, body=s.WorkReportReviewIn, response=OUT)
def review(req: ApiRequest, work_report_id: str) -> dict:
    return _service().review(work_report_id, req.body.remark)


@route(bp, "/work-report-templates", summary="The report templates: each kind's sections (报告模板)", tag=TAG,
       response=s.WorkReportTemplatesOut)
def get_templates(req: ApiRequest) -> dict:
    return _settings().get_templates()


@route(bp, "/work-report-templates", "PUT", summary="Replace the report templates (reports:manage)", tag=TAG,
       body=s.WorkReportTemplatesIn, response=s.WorkReportTemplatesOut)
def put_templates(req: ApiRequest) -> dict:
    b = req.body
    return _settings().put_templates(b.templates.model_dump(by_alias=True), req.version_if_given(b.version))


@route(bp, "/work-report-settings", summary="When those who have not submitted are reminded (未提交提醒)", tag=TAG,
       response=s.WorkReportRemindersOut)
def get_reminders(req: ApiRequest) -> dict:
    return _settings().get_reminders()


@route(bp, "/work-report-settings", "PUT", summary="Replace the reminder rules (reports:manage); the schedules follow",
       tag=TAG, body=s.WorkReportRemindersIn, response=s.WorkReportRemindersOut)
def put_reminders(req: ApiRequest) -> dict:
    b = req.body
    return _settings().put_reminders(b.reminders.model_dump(), req.version_if_given(b.version))
