"""Work reports' own rules beyond the engine's: a report's sections, recipients and figures when it
is written (`prepare`, the type's validate hook), submitting (`submit`), refreshing a draft's figures
(`refresh`), reviews by supervisors (`review`, 批阅), who has not submitted (`missing`) and the
scheduled reminder to them (`fire_reminder`).

Figures are the author's own records of the period, counted by the search engine as the author
sees them (their data scope and field rules; a record type they may not list gives no figure),
as the dashboard counts them: follow-ups written and customers created in the period, contracts
created in it and their amount, approved payments received (paid on a day of the period) and their
amount.

Who has to report: every active user whose roles may create work reports. Who has not submitted is
read from the reports' slots (one DynamoDB BatchGet of the slots, one of the reports), not from the
search index, so a report submitted a moment ago counts at once.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from ..core import clock, i18n
from ..core.errors import Conflict, Forbidden, ValidationFailed, detail
from ..core.permissions import ALL_OWNERS, Principal
from ..dashboard.service import APPROVED, Ask
from ..db.base import plain
from ..db.unique import UniqueValue
from ..engine import service as engine
from ..engine import store
from ..engine.definition import WriteContext
from ..engine.fieldtypes import locale
from ..notifications import service as notifications
from ..org import service as org
from ..products.lines import money
from ..search.query import Aggregation, Filter
from . import periods, settings
from .entity import KIND_LABELS, WORK_REPORT, slot_key

D = WORK_REPORT
MODULE = "reports"


def _both(key: str, kind: str, **params: Any) -> dict[str, str]:
    """A notification's text in every language, the report's kind named in each."""
    return {loc: i18n.text(key, loc, kind=KIND_LABELS[kind][1 if loc == "en" else 0], **params) for loc in i18n.LOCALES}


# ---- writing ----------------------------------------------------------------------------------------------
def prepare(ctx: WriteContext) -> None:
    """The validate hook: the day (default today), the template's sections, the default recipient and,
    on create, the period's figures."""
    p, values = ctx.principal, ctx.values
    if not values.get("date"):  # the day stays (a PATCH of null keeps it): the period and its slot hang on it
        values["date"] = ctx.before.get("date") or periods.today().isoformat()
    kind = str(values.get("kind") or ctx.before.get("kind"))
    if ctx.action == "create" or "sections" in values and values.get("sections") != ctx.before.get("sections") \
            or values.get("kind") != ctx.before.get("kind"):
        values["sections"] = sections(p.tenant_id, kind, values.get("sections") or [], ctx.principal)
    if ctx.action == "create":
        if not values.get("recipients"):
            boss = p.org.users.get(p.user_id).supervisor_id if p.org.users.get(p.user_id) else None
            values["recipients"] = [{"user_id": boss}] if boss and boss in p.org.users and p.org.users[boss].active else []
        values.update(figures(p, kind, date.fromisoformat(str(values["date"])[:10])))
    rows = values.get("recipients") or []
    values["recipients"] = [r for i, r in enumerate(rows) if r.get("user_id") not in {x.get("user_id") for x in rows[:i]}]


def sections(tenant_id: str, kind: str, given: list[dict[str, Any]], p: Principal) -> list[dict[str, Any]]:
    """The template's sections in order, with what was written in them (labels in the author's
    language unless given), then any sections of the author's own."""
    lang = "en" if locale() == "en" else "zh-CN"
    by_key = {str(r.get("key")): r for r in given}
    out = []
    for s in settings.template(tenant_id, kind):
        row = by_key.pop(s["key"], {})
        out.append({"key": s["key"], "label": row.get("label") or s["label"].get(lang) or s["label"].get("zh-CN"),
                    "content": row.get("content")})
    out += [{"key": k, "label": r.get("label") or k, "content": r.get("content")} for k, r in by_key.items()]
    return [{k: v for k, v in r.items() if v is not None} for r in out]


def figures(p: Principal, kind: str, day: date) -> dict[str, Any]:
    """The author's (`p`) figures of the period of `kind` holding `day`, as they may see them."""
    pd, zone = periods.of(kind, day), periods.zone()
    created = Filter("created_at", "range", pd.instants(zone))
    ask = Ask(p, {p.user_id})
    ask.add("followups", "FOLLOWUP", Aggregation(filters=(created,)), ("created_at",))
    ask.add("customers", "CUSTOMER", Aggregation(filters=(created,)), ("created_at",))
    ask.add("contracts", "CONTRACT", Aggregation(sums=("amount",), filters=(created,)), ("created_at",))
    ask.add("payments", "PAYMENT", Aggregation(sums=("amount",), filters=(APPROVED, Filter("paid_on", "range", pd.days()))),
            ("approval_status", "paid_on"))
    res = ask.run()

    def count(name: str) -> int | None:
        found = res.get(name)
        return None if found is None else sum(b.count for b in found)

    def amount(name: str) -> Any:
        found = res.get(name)
        if found is None or any(o["figure"] == f"{name}.amount" for o in ask.omitted):
            return None
        return money(sum((money(b.sums.get("amount") or 0) for b in found), money(0)))

    return {"stat_followups": count("followups"), "stat_new_customers": count("customers"),
            "stat_new_contracts": count("contracts"), "stat_contract_amount": amount("contracts"),
            "stat_payments": count("payments"), "stat_payment_amount": amount("payments"), "stats_at": clock.now_iso()}


def _author_figures(rec: store.EntityRecord) -> dict[str, Any]:
    data = plain(rec.data or {})
    author = Principal(rec.tenant_id, rec.owner_id, org.load(rec.tenant_id).snapshot)
    return figures(author, str(data["kind"]), date.fromisoformat(str(data["date"])[:10]))


def _draft(rec: store.EntityRecord) -> dict[str, Any]:
    data = plain(rec.data or {})
    if data.get("status") == "submitted":
        raise ValidationFailed("WORK_REPORT_SUBMITTED")
    return data


def submit(record_id: str, expected: int) -> dict[str, Any]:
    """The author submits: required sections filled in, figures refreshed and frozen, recipients given
    read access and told."""
    p = org.principal()
    rec = engine.load(D, p, record_id, "update")
    if rec.owner_id != p.user_id:
        raise Forbidden("WORK_REPORT_AUTHOR_ONLY")
    data = _draft(rec)
    required = {s["key"] for s in settings.template(p.tenant_id, str(data["kind"])) if s.get("required")}
    rows = data.get("sections") or []
    problems = [detail(f"sections.{i}.content", "missing", "field.required", label=r.get("label") or r["key"])
                for i, r in enumerate(rows) if r.get("key") in required and not str(r.get("content") or "").strip()]
    if problems:
        raise ValidationFailed(details=problems)
    recipients = [str(r["user_id"]) for r in data.get("recipients") or [] if r.get("user_id") != rec.owner_id]
    values = {**_author_figures(rec), "status": "submitted", "submitted_at": clock.now_iso()}
    shown = engine.change(D, p, rec, values, expected, action="submit", verb="submitted")  # recipients read it (Hooks.team)
    name = org.user_name(p.tenant_id, p.user_id)
    for u in recipients:
        notifications.deliver(p.tenant_id, u, "work_report.submitted",
                              _both("work_report.submitted", str(data["kind"]), name=name, period=str(rec.data["period"])),
                              body={"zh-CN": shown.get("summary") or "", "en": shown.get("summary") or ""} if shown.get("summary") else None,
                              link={"entity": D.name, "id": rec.id}, source=f"work_report:{rec.id}:submitted")
    return shown


def refresh(record_id: str, expected: int) -> dict[str, Any]:
    """A draft's figures, counted again."""
    p = org.principal()
    rec = engine.load(D, p, record_id, "update")
    _draft(rec)
    return engine.change(D, p, rec, _author_figures(rec), expected, action="refresh_stats", verb="updated")


def managers(p: Principal, user_id: str) -> list[str]:
    """The user's supervisor, theirs, and so on up (loops in the data stop the walk)."""
    out: list[str] = []
    u = p.org.users.get(user_id)
    while u is not None and u.supervisor_id and u.supervisor_id not in out and u.supervisor_id != user_id:
        out.append(u.supervisor_id)
        u = p.org.users.get(u.supervisor_id)
    return out


def review(record_id: str, remark: str | None) -> dict[str, Any]:
    """批阅: a recipient or one of the author's managers reviews a submitted report; the author is told."""
    p = org.principal()
    for attempt in range(3):
        rec = engine.load(D, p, record_id, "read")
        data = plain(rec.data or {})
        if data.get("status") != "submitted":
            raise ValidationFailed("WORK_REPORT_NOT_SUBMITTED")
        recipients = {str(r.get("user_id")) for r in data.get("recipients") or []}
        if p.user_id == rec.owner_id or p.user_id not in recipients and p.user_id not in managers(p, rec.owner_id):
            raise Forbidden("WORK_REPORT_NOT_REVIEWER")
        rows = list(data.get("reviews") or [])
        if len(rows) >= D.field("reviews").max_rows:
            raise ValidationFailed(details=[detail("reviews", "length", "field.max_rows", max=D.field("reviews").max_rows)])
        now = clock.now_iso()
        rows.append({k: v for k, v in {"reviewer_id": p.user_id, "remark": remark or None, "reviewed_at": now}.items() if v})
        try:
            shown = engine.change(D, p, rec, {"reviews": rows, "reviewed_at": now}, int(rec.version), action="review",
                                  verb="reviewed")
        except Conflict:
            if attempt == 2:
                raise
            continue  # another review landed first: add this one to it
        name = org.user_name(p.tenant_id, p.user_id)
        notifications.deliver(p.tenant_id, rec.owner_id, "work_report.reviewed",
                              _both("work_report.reviewed", str(data["kind"]), name=name, period=str(data["period"])),
                              body={"zh-CN": remark, "en": remark} if remark else None,
                              link={"entity": D.name, "id": rec.id}, source=f"work_report:{rec.id}:review:{p.user_id}:{now}")
        return shown
    raise AssertionError("unreachable")


# ---- who has not submitted --------------------------------------------------------------------------------
def must_report(p: Principal) -> list[str]:
    """Active users of the tenant whose roles may write work reports."""
    snap = p.org
    return [u.id for u in snap.users.values() if u.active and Principal(p.tenant_id, u.id, snap).can(MODULE, "create")]


def states(tenant_id: str, kind: str, period: str, user_ids: list[str]) -> dict[str, tuple[str, str]]:
    """user -> (report id, status) of each user's report of the period (users without one are absent)."""
    keys_ = [slot_key(tenant_id, u, kind, period) for u in user_ids]
    slots = {s.pk: s.owner_id for s in UniqueValue.batch_get(keys_)} if keys_ else {}
    by_report = {slots[pk]: u for u, (pk, _sk) in zip(user_ids, keys_, strict=True) if pk in slots}
    found = store.batch_get(tenant_id, D.entity, list(by_report))
    return {by_report[r.id]: (r.id, str((r.data or {}).get("status") or "draft")) for r in found if r.id in by_report}


def _period(kind: str, value: str | None) -> periods.Period:
    if kind not in KIND_LABELS:
        raise ValidationFailed(details=[detail("kind", "invalid", "field.option")])
    pd = periods.parse(kind, value)
    if pd is None:
        raise ValidationFailed(details=[detail("period", "format", "work_report.period_format")])
    return pd


def missing(kind: str, period: str | None, department_id: str | None) -> dict[str, Any]:
    """Who of the caller's people (their data scope of work reports; a department and the ones below
    it, if named) has not submitted their report of the period."""
    p = org.principal()
    p.require(MODULE, "missing")
    pd = _period(kind, period)
    if department_id and department_id not in p.org.departments:
        raise ValidationFailed(details=[detail("department_id", "not_found", "field.department")])
    owners = p.visible_owners(MODULE)
    tree = p.org.department_tree(department_id) if department_id else None
    people = [u for u in must_report(p) if u != p.user_id and (owners is ALL_OWNERS or u in owners)
              and (tree is None or p.org.users[u].department_id in tree)]
    found = states(p.tenant_id, kind, pd.key, people)
    data = org.load(p.tenant_id)
    names = {u: data.users[u].name for u in people if u in data.users}
    late = [{"user_id": u, "name": names.get(u), "department_id": p.org.users[u].department_id,
             "report_id": found.get(u, (None, None))[0], "status": found.get(u, (None, "none"))[1]}
            for u in sorted(people, key=lambda x: (names.get(x) or "", x)) if found.get(u, (None, None))[1] != "submitted"]
    return {"kind": kind, "period": pd.key, "period_start": pd.start.isoformat(), "period_end": pd.end.isoformat(),
            "expected": len(people), "submitted": len(people) - len(late), "missing": late}


def _due_today(kind: str, days: list[int], today: date) -> bool:
    if kind == "monthly":
        last = periods.of("monthly", today).end == today
        return today.day in days or (-1 in days and last)
    return today.isoweekday() in days


def fire_reminder(tenant_id: str, kind: str) -> bool:
    """The tenant's reminder schedule of `kind` (functions/reminders.py): on a chosen day, everyone who
    has not submitted the current period's report is told (once a day: Scheduler's retries tell nobody twice)."""
    rules, _ = settings.reminders(tenant_id)
    rule = rules.get(kind) or {}
    today = periods.today()
    if not rule.get("enabled") or not _due_today(kind, list(rule.get("days") or []), today):
        return False
    p = Principal(tenant_id, "system", org.load(tenant_id).snapshot)
    pd = periods.of(kind, today)
    people = must_report(p)
    found = states(tenant_id, kind, pd.key, people)
    sent, at = 0, datetime.combine(today, time(), periods.zone())  # a retry of the day delivers nothing new
    for u in people:
        if found.get(u, (None, None))[1] == "submitted":
            continue
        sent += notifications.deliver(tenant_id, u, "work_report.missing",
                                      _both("work_report.missing", kind, period=pd.key),
                                      link={"entity": D.name, "kind": kind, "period": pd.key},
                                      source=f"work_report_missing:{kind}:{pd.key}:{today.isoformat()}:{u}",
                                      occurred_at=at)
    return sent > 0
