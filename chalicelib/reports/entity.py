"""Work reports (工作报告: 日报 / 周报 / 月报): what a user did in a day, a week or a month, what they
plan next and what stands in the way, with linked records, the period's figures filled in
automatically, and the supervisors' reviews (批阅).

- The period (`period`, `period_start`, `period_end`) is derived from `kind` and `date` (any day of
  it, default today) in the tenant's time zone. One report per author, kind and period: the slot is
  a unique value claimed in the report's own transaction (released while it is in the recycle bin),
  so a second report of the same period — even a simultaneous one — is a 409
  `WORK_REPORT_EXISTS` naming the first; the author edits that draft instead.
- `sections` come from the tenant's template of the kind (settings.py): rows of key, label and
  content; template sections missing from a body are added back, required ones must be filled in
  before the report is submitted.
- `links` (关联记录): rows naming any record the author may read (a reference without a type).
- `recipients` (接收人): the author's supervisor unless others are chosen. A report is read by its
  author, by whoever's data scope covers the author (their managers), and — once submitted — by its
  recipients (a read grant on the record team the type keeps from its values, Hooks.team); nobody else,
  on every read path.
- Statistics (`stat_*`): the author's follow-ups written, new customers, new contracts and their
  amount, payments received in the period — filled in on create, refreshed on demand while a draft,
  frozen at submit (service.py).
- `status` draft → submitted (service.submit); a submitted report does not change any more except by
  reviews (`reviews`, `reviewed_at`: service.review). Comments (评论, chalicelib/comments) are on: whoever
  reads a report may comment on it and mention others who may read it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.errors import Conflict, ValidationFailed, detail
from ..db import keys, tx
from ..db.unique import UniqueValue
from ..engine.definition import Derivation, EntityDef, Features, Hooks, WriteContext
from ..engine.fieldtypes import FieldSpec as F
from . import periods

ACTIONS = ("create", "update", "list", "read", "delete", "export", "missing", "manage")
KIND_OPTIONS = (("daily", "日报", "Daily report"), ("weekly", "周报", "Weekly report"), ("monthly", "月报", "Monthly report"))
KIND_LABELS = {code: (zh, en) for code, zh, en in KIND_OPTIONS}
STATUS_OPTIONS = (("draft", "草稿", "Draft"), ("submitted", "已提交", "Submitted"))
SLOT_KIND = "WORK_REPORT.slot"
STATS = ("stat_followups", "stat_new_customers", "stat_new_contracts", "stat_contract_amount", "stat_payments",
         "stat_payment_amount", "stats_at")


def slot_key(tenant_id: str, owner_id: str, kind: str, period: str) -> tuple[str, str]:
    return keys.unique_pk(tenant_id, SLOT_KIND, f"{owner_id}#{kind}#{period}".lower()), "UQ"


def _slot_of(data: dict[str, Any]) -> tuple[str, str] | None:
    kind, day = data.get("kind"), data.get("date")
    if not kind or not day:
        return None
    from datetime import date

    return str(kind), periods.of(str(kind), date.fromisoformat(str(day)[:10])).key


def claim_op(tenant_id: str, owner_id: str, record_id: str, kind: str, period: str) -> tx.Op:
    pk, sk = slot_key(tenant_id, owner_id, kind, period)

    def taken() -> Conflict:
        try:
            held = UniqueValue.get(pk, sk, consistent_read=True).owner_id
        except UniqueValue.DoesNotExist:
            held = None
        return Conflict("WORK_REPORT_EXISTS", period=period,
                        details={"id": held, "kind": kind, "period": period})

    return tx.put(UniqueValue(pk=pk, sk=sk, tenant_id=tenant_id, owner_id=record_id),
                  condition=UniqueValue.pk.does_not_exist(), on_conflict=taken)


def release_op(tenant_id: str, owner_id: str, record_id: str, kind: str, period: str) -> tx.Op:
    pk, sk = slot_key(tenant_id, owner_id, kind, period)
    return tx.delete(UniqueValue(pk=pk, sk=sk, tenant_id=tenant_id, owner_id=record_id),
                     condition=UniqueValue.pk.does_not_exist() | (UniqueValue.owner_id == record_id))


def _validate(ctx: WriteContext) -> None:
    if ctx.action == "update" and ctx.before.get("status") == "submitted":
        raise ValidationFailed("WORK_REPORT_SUBMITTED")
    from . import service  # the service reads other modules (org, search); the engine imports this definition

    service.prepare(ctx)


def _before_write(ctx: WriteContext) -> None:
    """The slot of the author, kind and period: claimed on create, moved when a draft's kind or day moves."""
    rec, tenant = ctx.record, ctx.principal.tenant_id
    if ctx.action == "create":
        if rec.owner_id != ctx.principal.user_id:
            raise ValidationFailed(details=[detail("owner_id", "forbidden", "work_report.own_only")])
        kind, period = _slot_of(ctx.values) or ("", "")
        ctx.extra_ops.append(claim_op(tenant, rec.owner_id, rec.id, kind, period))
        return
    old, new = _slot_of(ctx.before), _slot_of(ctx.values)
    if old != new and new:
        if old:
            ctx.extra_ops.append(release_op(tenant, rec.owner_id, rec.id, *old))
        ctx.extra_ops.append(claim_op(tenant, rec.owner_id, rec.id, *new))


def _before_delete(ctx: WriteContext) -> None:
    if ctx.values.get("status") == "submitted":
        raise ValidationFailed("WORK_REPORT_SUBMITTED")
    slot = _slot_of(ctx.values)
    if slot:
        ctx.extra_ops.append(release_op(ctx.principal.tenant_id, ctx.record.owner_id, ctx.record.id, *slot))


def _before_restore(ctx: WriteContext) -> None:
    slot = _slot_of(ctx.values)
    if slot:
        ctx.extra_ops.append(claim_op(ctx.principal.tenant_id, ctx.record.owner_id, ctx.record.id, *slot))


def _team(values: Mapping[str, Any], owner_id: str, _current: Mapping[str, Any]) -> dict[str, Any]:
    """Recipients read a submitted report (a draft is its author's and their managers' only)."""
    if values.get("status") != "submitted":
        return {}
    return {str(r["user_id"]): {"access": "read", "until": None} for r in values.get("recipients") or []
            if r.get("user_id") and r["user_id"] != owner_id}


def _derive(dv: Derivation) -> dict[str, Any]:
    from datetime import date

    kind, day = dv.data.get("kind"), dv.data.get("date")
    if not kind or not day:
        return {}
    pd = periods.of(str(kind), date.fromisoformat(str(day)[:10]))
    zh, en = KIND_LABELS[str(kind)]
    return {"period": pd.key, "period_start": pd.start.isoformat(), "period_end": pd.end.isoformat(),
            "title": f"{zh} {pd.key}"}


WORK_REPORT = EntityDef(
    name="work_report",
    module="reports",
    label=("工作报告", "Work report"),
    path="/work-reports",
    title_field="title",
    card_fields=("kind", "period", "status"),
    actions=ACTIONS,
    features=Features(team=False, transfer=False, handover=False, comments=True),
    fields=(
        F("kind", "select", ("报告类型", "Kind"), required=True, options=KIND_OPTIONS),
        F("date", "date", ("报告日期", "Date"), description="any day of the period (default today, tenant time)"),
        F("title", "text", ("标题", "Title"), readonly=True, searchable=True),
        F("period", "text", ("报告期间", "Period"), readonly=True,
          description="2026-12-01 (daily), 2026-W49 (weekly, ISO week), 2026-12 (monthly)"),
        F("period_start", "date", ("期间开始", "Period start"), readonly=True),
        F("period_end", "date", ("期间结束", "Period end"), readonly=True),
        F("status", "select", ("状态", "Status"), readonly=True, default="draft", options=STATUS_OPTIONS),
        F("submitted_at", "datetime", ("提交时间", "Submitted at"), readonly=True),
        F("sections", "table", ("报告内容", "Sections"), max_rows=20, columns=(
            F("key", "text", ("栏目", "Section"), required=True, max_length=40),
            F("label", "text", ("栏目名称", "Label"), max_length=100),
            F("content", "textarea", ("内容", "Content"), max_length=5000),
        )),
        F("summary", "textarea", ("摘要", "Summary"), max_length=2000, searchable=True),
        F("links", "table", ("关联记录", "Linked records"), max_rows=50, columns=(
            F("record", "reference", ("记录", "Record"), required=True),
            F("note", "text", ("说明", "Note"), max_length=200),
        )),
        F("recipients", "table", ("接收人", "Recipients"), max_rows=20, columns=(
            F("user_id", "user", ("接收人", "Recipient"), required=True),
        )),
        F("stat_followups", "number", ("跟进记录数", "Follow-ups written"), readonly=True),
        F("stat_new_customers", "number", ("新增客户数", "New customers"), readonly=True),
        F("stat_new_contracts", "number", ("新签合同数", "New contracts"), readonly=True),
        F("stat_contract_amount", "money", ("新签合同金额", "New contracts' amount"), readonly=True),
        F("stat_payments", "number", ("回款笔数", "Payments received"), readonly=True),
        F("stat_payment_amount", "money", ("回款金额", "Amount received"), readonly=True),
        F("stats_at", "datetime", ("统计时间", "Figures as of"), readonly=True),
        F("reviews", "table", ("批阅", "Reviews"), readonly=True, max_rows=50, columns=(
            F("reviewer_id", "user", ("批阅人", "Reviewer"), required=True),
            F("remark", "textarea", ("批阅意见", "Remark"), max_length=2000),
            F("reviewed_at", "datetime", ("批阅时间", "Reviewed at")),
        )),
        F("reviewed_at", "datetime", ("最近批阅时间", "Last reviewed at"), readonly=True),
    ),
    hooks=Hooks(validate=_validate, before_write=_before_write, before_delete=_before_delete,
                before_restore=_before_restore, derive=_derive, team=_team),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ("create", "update", "list", "read", "delete", "export", "missing"),
                          "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "delete"), "scope": "self"},
        "service_agent": {"actions": ("create", "update", "list", "read", "delete"), "scope": "self"},
    },
)
