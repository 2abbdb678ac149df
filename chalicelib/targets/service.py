"""Sales targets (业绩目标, SALES-13), the sales plans they make up (销售计划, SALES-15), and
achievement computed live.

Targets: per year and metric — 合同金额 `contract_amount` (approved contracts in force or
terminated, by sign date) or 回款金额 `payment_amount` (approved payments, by payment date) — one
row per subject (the company, a department, a user) with twelve monthly figures; quarters and
the year are their sums. The rows of a year and metric are one versioned item with the plan's
name and notes: that is the sales plan of seed 003 (计划的制定 and 额度管理: quotas per team and
period), its territories live in territories.py.

Who sees and sets which rows (module `targets`, the one permissions API):
- `targets:read` and the role's data scope on `targets` give the subjects a user reaches:
  全部 — the company, every department and user; 本部门及下属部门 / 本部门 — those departments
  and their users; 本人及下属 — oneself and one's subordinates (no department); 本人 — oneself.
- `targets:manage` sets the rows of the subjects reached, except one's own user row (a target is
  set from above) and the company's (全部 only). A PUT replaces the rows the caller may set;
  other rows are kept as stored (a row sent back unchanged is accepted, a changed one is 403).
Built-in grants: 系统管理员 read + manage (全部), 销售经理 read + manage (本部门及下属部门),
销售代表 read (本人).

Achievement: the actual figures are aggregations of the search index (search.service.aggregate:
one query grouped by owner and month) inside the caller's data scope on contracts / payments;
a department's figures are those of the users in it and its sub-departments (by their
department today), the company's those of every owner.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock
from ..core.errors import Forbidden, ValidationFailed, detail
from ..core.permissions import Principal, Scope
from ..db import changes
from ..db.base import plain
from ..org import service as org
from ..products.lines import money
from ..search import service as search
from ..search.query import Aggregation
from .models import Targets

MODULE = "targets"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Metric:
    entity: str
    module: str
    date_field: str
    filters: tuple[dict[str, Any], ...]
    label: tuple[str, str]


METRICS: dict[str, Metric] = {
    "contract_amount": Metric("contract", "contracts", "sign_date", (
        {"field": "approval_status", "op": "eq", "value": "approved"},
        {"field": "state", "op": "in", "value": ["normal", "terminated"]}), ("合同金额", "Contract amount")),
    "payment_amount": Metric("payment", "payments", "paid_on", (
        {"field": "approval_status", "op": "eq", "value": "approved"},), ("回款金额", "Payment amount")),
}


# ---- subjects and reach ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reach:
    """The subjects a caller may see (read) or set (manage)."""

    company: bool
    departments: frozenset[str]
    users: frozenset[str]

    def has(self, subject: str) -> bool:
        kind, _, sid = subject.partition(":")
        if kind == "company":
            return self.company
        return sid in (self.departments if kind == "department" else self.users)


NOWHERE = Reach(False, frozenset(), frozenset())


def reach(p: Principal, action: str = "read") -> Reach:
    if not p.can(MODULE, action):
        return NOWHERE
    scopes = p.scopes(MODULE)
    me = p.org.users.get(p.user_id)
    if Scope.ALL in scopes:
        return Reach(True, frozenset(p.org.departments), frozenset(p.org.users))
    if me is None:
        return NOWHERE
    departments: set[str] = set()
    users = {me.id}
    for s in scopes:
        if s is Scope.SELF_AND_SUBORDINATES:
            users |= p.org.subordinates(me.id)
        elif s is Scope.DEPARTMENT:
            departments.add(me.department_id)
        elif s is Scope.DEPARTMENT_TREE:
            departments |= p.org.department_tree(me.department_id)
    users |= p.org.users_in(departments)
    if action == "manage":  # one's own targets are set from above: one's own row and one's own department's
        users.discard(me.id)
        departments.discard(me.department_id)
    return Reach(False, frozenset(departments), frozenset(users))


def parse_subject(p: Principal, subject: str, field: str = "subject") -> str:
    """`company`, `department:<id>` or `user:<id>` of this tenant, or a 422 naming `field`."""
    kind, sep, sid = subject.partition(":")
    if subject == "company":
        return subject
    if not sep or kind not in ("department", "user") or not sid:
        raise ValidationFailed(details=[detail(field, "invalid", "target.subject")])
    known = p.org.departments if kind == "department" else p.org.users
    if sid not in known:
        raise ValidationFailed(details=[detail(field, "not_found", f"field.{kind}")])
    return subject


def _out_of_reach(subject: str) -> Forbidden:
    return Forbidden("TARGET_OUT_OF_REACH", subject=subject, details={"subject": subject})


def subject_out(p: Principal, subject: str) -> dict[str, Any]:
    kind, _, sid = subject.partition(":")
    data = org.load(p.tenant_id)
    name = None
    if kind == "department" and sid in data.departments:
        name = data.departments[sid].name
    elif kind == "user" and sid in data.users:
        name = data.users[sid].name
    return {"subject": subject, "kind": kind, "id": sid or None, "name": name}


def default_subject(p: Principal) -> str:
    r = reach(p)
    me = p.org.users.get(p.user_id)
    if r.company:
        return "company"
    if me is not None and me.department_id in r.departments:
        return f"department:{me.department_id}"
    return f"user:{p.user_id}"


# ---- periods --------------------------------------------------------------------------------------

def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def months_between(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(month_key(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def period_of(month: str, by: str) -> str:
    if by == "month":
        return month
    if by == "quarter":
        return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"
    return month[:4]


def rate(actual: Decimal, target: Decimal) -> Decimal | None:
    """达成率 in % (2 dp); None without a target."""
    return money(actual * 100 / target) if target > 0 else None


def local_today() -> date:
    from zoneinfo import ZoneInfo

    from ..core.settings import get_settings

    return clock.now().astimezone(ZoneInfo(get_settings().default_timezone)).date()


# ---- stored targets ---------------------------------------------------------------------------------

def _stored(tenant_id: str, year: int, metric: str) -> Targets | None:
    try:
        return Targets.get(*Targets.key(tenant_id, year, metric), consistent_read=True)
    except DoesNotExist:
        return None


def _rows(item: Targets | None) -> dict[str, list[Decimal]]:
    if item is None:
        return {}
    return {r["subject"]: [money(v) for v in r["months"]] for r in plain(item.rows) or []}


def _row_out(p: Principal, subject: str, months: list[Decimal]) -> dict[str, Any]:
    quarters = [sum(months[q * 3:q * 3 + 3], ZERO) for q in range(4)]
    return {**subject_out(p, subject), "months": months, "quarters": quarters, "total": sum(months, ZERO)}


def _kind_order(subject: str) -> tuple[int, str]:
    return ({"company": 0, "department": 1, "user": 2}[subject.partition(":")[0]], subject)


def _plan_out(p: Principal, year: int, metric: str, item: Targets | None, shown: Reach) -> dict[str, Any]:
    rows = _rows(item)
    return {"year": year, "metric": metric, "name": item.name if item else None, "notes": item.notes if item else None,
            "rows": [_row_out(p, s, m) for s, m in sorted(rows.items(), key=lambda x: _kind_order(x[0])) if shown.has(s)],
            "version": int(item.version) if item else 0}


def get_targets(year: int, metric: str) -> dict[str, Any]:
    """The targets of a year and metric: the rows the caller reaches."""
    p = org.principal()
    p.require(MODULE, "read")
    return _plan_out(p, year, metric, _stored(p.tenant_id, year, metric), reach(p))


def list_plans(year: int) -> dict[str, Any]:
    """The sales plans of a year (one per metric that has targets), with the rows the caller reaches."""
    p = org.principal()
    p.require(MODULE, "read")
    shown = reach(p)
    items = [i for i in Targets.query(Targets.partition(p.tenant_id), Targets.sk.startswith(f"{year:04d}#"))
             if isinstance(i, Targets)]
    return {"year": year, "items": [_plan_out(p, year, i.metric, i, shown) for i in items]}


def put_targets(year: int, metric: str, name: str | None, notes: str | None, given: list[dict[str, Any]],
                expected: int | None) -> dict[str, Any]:
    """Replace the rows the caller may set (targets:manage); the first save needs no version."""
    p = org.principal()
    p.require(MODULE, "manage")
    settable = reach(p, "manage")
    problems, seen = [], set()
    for i, row in enumerate(given):
        try:
            subject = parse_subject(p, row["subject"], f"rows.{i}.subject")
        except ValidationFailed as e:
            problems += e.details
            continue
        if subject in seen:
            problems.append(detail(f"rows.{i}.subject", "duplicate", "target.subject_twice"))
        seen.add(subject)
    if problems:
        raise ValidationFailed(details=problems)
    item = _stored(p.tenant_id, year, metric)
    before = _rows(item)
    wanted = {r["subject"]: [money(v) for v in r["months"]] for r in given}
    for subject, months in wanted.items():
        if not settable.has(subject) and before.get(subject) != months:
            raise _out_of_reach(subject)
    kept = {s: m for s, m in before.items() if not settable.has(s)}  # rows the caller may set and left out go
    rows = {**kept, **{s: m for s, m in wanted.items() if settable.has(s)}}
    plan = {"name": item.name if item else None, "notes": item.notes if item else None}
    for key, value in (("name", name), ("notes", notes)):
        if value is not None and value != plan[key]:
            if not settable.company:
                raise _out_of_reach("company")
            plan[key] = value or None
    values = {"year": f"{year:04d}", "metric": metric, **plan,
              "rows": [{"subject": s, "months": [str(v) for v in m]} for s, m in sorted(rows.items(), key=lambda x: _kind_order(x[0]))]}
    saved = changes.put_setting(Targets, Targets.key(p.tenant_id, year, metric), p.tenant_id, p.user_id, "targets",
                                f"{year:04d}-{metric}", values, expected)
    return _plan_out(p, year, metric, saved, reach(p))


def targets_of(tenant_id: str, metric: str, subject: str, months: list[str]) -> dict[str, Decimal]:
    """A subject's monthly targets over `months` (YYYY-MM), 0 where none is set."""
    out: dict[str, Decimal] = {}
    for year in sorted({int(m[:4]) for m in months}):
        row = _rows(_stored(tenant_id, year, metric)).get(subject) or [ZERO] * 12
        for i, v in enumerate(row):
            out[month_key(year, i + 1)] = v
    return {m: out.get(m, ZERO) for m in months}


# ---- achievement ---------------------------------------------------------------------------------

def actuals(p: Principal, metric: str, start: date, end: date) -> dict[str, dict[str, Decimal]]:
    """owner id -> month (YYYY-MM) -> amount of `metric` between start and end (inclusive), within
    the caller's data scope: one aggregation of the search index."""
    m = METRICS[metric]
    filters = [*m.filters, {"field": m.date_field, "op": "range", "value": {"gte": start.isoformat(), "lte": end.isoformat()}}]
    agg = Aggregation(by=("owner_id",), date_field=m.date_field, period="month", sums=("amount",), size=100_000)
    out: dict[str, dict[str, Decimal]] = {}
    for b in search.aggregate(p, m.entity, {"filters": filters}, {"a": agg})["a"]:
        owner, month = b.key.get("owner_id"), b.key.get("period")
        if owner is None or month is None:
            continue
        per = out.setdefault(str(owner), {})
        per[month] = money(per.get(month, ZERO) + money(b.sums.get("amount") or 0))
    return out


def owners_of(p: Principal, subject: str) -> set[str] | None:
    """The owners whose records count for a subject; None: everyone (the company)."""
    kind, _, sid = subject.partition(":")
    if kind == "company":
        return None
    if kind == "department":
        return p.org.users_in(p.org.department_tree(sid))
    return {sid}


def _sum_owners(figures: dict[str, dict[str, Decimal]], owners: set[str] | None) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for owner, months in figures.items():
        if owners is not None and owner not in owners:
            continue
        for month, v in months.items():
            out[month] = out.get(month, ZERO) + v
    return out


def rolled(months: list[str], target: dict[str, Decimal], actual: dict[str, Decimal], by: str) -> list[dict[str, Any]]:
    """Monthly targets and actuals summed into periods (month | quarter | year), with the rate."""
    periods: dict[str, dict[str, Any]] = {}
    for m in months:
        row = periods.setdefault(period_of(m, by), {"period": period_of(m, by), "target": ZERO, "actual": ZERO})
        row["target"] += target.get(m, ZERO)
        row["actual"] += actual.get(m, ZERO)
    return [{**r, "rate": rate(r["actual"], r["target"])} for r in periods.values()]


def totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    target, actual = sum((i["target"] for i in items), ZERO), sum((i["actual"] for i in items), ZERO)
    return {"target": target, "actual": actual, "rate": rate(actual, target)}


def check_subject(p: Principal, subject: str) -> str:
    """A subject of this tenant the caller reaches with targets:read (403 otherwise)."""
    p.require(MODULE, "read")
    subject = parse_subject(p, subject)
    if not reach(p).has(subject):
        raise _out_of_reach(subject)
    return subject


def achievement(p: Principal, metric: str, subject: str, start: date, end: date, by: str = "month") -> list[dict[str, Any]]:
    """达成: per period (month | quarter | year) of the calendar months from `start` to `end`, the
    subject's target (that period's monthly targets summed), actual (approved contracts / payments
    dated from start to end, within the caller's data scope) and rate (% with 2 decimals, None
    without a target): [{"period": "2026-11" | "2026-Q4" | "2026", "target": Decimal, "actual":
    Decimal, "rate": Decimal | None}].

    `subject`: "company" | "department:<id>" (its users and sub-departments' users) | "user:<id>";
    the caller must reach it with targets:read (403 TARGET_OUT_OF_REACH otherwise)."""
    if metric not in METRICS:
        raise ValidationFailed(details=[detail("metric", "invalid", "target.metric")])
    if end < start:
        raise ValidationFailed(details=[detail("end", "range", "target.end_before_start")])
    subject = check_subject(p, subject)
    months = months_between(start, end)
    figures = actuals(p, metric, start, end)
    return rolled(months, targets_of(p.tenant_id, metric, subject, months), _sum_owners(figures, owners_of(p, subject)), by)


def achievement_report(year: int, metric: str, by: str, subject: str | None) -> dict[str, Any]:
    """GET /v1/targets/achievement: a subject's year by period, with its total; a department's
    members too (each user of it and its sub-departments: active, or with figures in the year)."""
    p = org.principal()
    subject = check_subject(p, subject or default_subject(p))
    start, end = date(year, 1, 1), date(year, 12, 31)
    months = months_between(start, end)
    figures = actuals(p, metric, start, end)
    items = rolled(months, targets_of(p.tenant_id, metric, subject, months), _sum_owners(figures, owners_of(p, subject)), by)
    out: dict[str, Any] = {"year": year, "metric": metric, "period": by, "subject": subject_out(p, subject), "items": items,
                           "total": totals(items)}
    if subject.startswith("department:"):
        rows = _rows(_stored(p.tenant_id, year, metric))
        members, seen = [], reach(p)
        for user_id in sorted(owners_of(p, subject) or ()):
            user = p.org.users.get(user_id)
            if user is None or (not user.active and user_id not in figures) or not seen.has(f"user:{user_id}"):
                continue
            months_target = dict(zip(months, rows.get(f"user:{user_id}") or [ZERO] * 12, strict=True))
            member_items = rolled(months, months_target, figures.get(user_id, {}), by)
            members.append({**subject_out(p, f"user:{user_id}"), "items": member_items, "total": totals(member_items)})
        out["members"] = members
    return out


# ---- the dashboard's targets ------------------------------------------------------------------------

DASHBOARD_METRICS = (("contract", "contract_amount"), ("payment", "payment_amount"))


def dashboard_targets(p: Principal, scope: str, who: set[str] | None, months: list[str]) -> dict[str, dict[str, Decimal]] | None:
    """The dashboard's targets (dashboard/service.py: targets): {"contract"|"payment": {"YYYY-MM": amount}}
    of the owners it counts, or None while the tenant has no targets for those years (or the caller may
    not read targets). `scope` company → the company's row; department → the caller's department's
    row; otherwise, or when that row is not set or not reached, the sum of the user rows of the owners
    counted (`who`, None: everyone) that the caller reaches — a rep asking for the company gets their
    own target, as the dashboard gives them their own figures."""
    if not p.can(MODULE, "read"):
        return None
    r = reach(p)
    stored = {(year, metric): _rows(_stored(p.tenant_id, year, metric))
              for year in sorted({int(m[:4]) for m in months}) for _, metric in DASHBOARD_METRICS}
    if not any(stored.values()):
        return None
    me = p.org.users.get(p.user_id)
    subject = "company" if scope == "company" else f"department:{me.department_id}" if scope == "department" and me else None
    users = sorted((set(p.org.users) if who is None else who) & r.users)
    out: dict[str, dict[str, Decimal]] = {}
    for kind, metric in DASHBOARD_METRICS:
        per: dict[str, Decimal] = {}
        for month in months:
            rows, i = stored[(int(month[:4]), metric)], int(month[5:7]) - 1
            if subject is not None and r.has(subject) and subject in rows:
                per[month] = rows[subject][i]
            else:
                per[month] = sum((rows[f"user:{u}"][i] for u in users if f"user:{u}" in rows), ZERO)
        out[kind] = per
    return out
