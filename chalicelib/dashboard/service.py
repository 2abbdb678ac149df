"""The dashboard (仪表盘, BI-1): chart-ready figures of the caller's sales, computed by the search
engine inside the caller's data scope — no record type of its own.

Sections: 销售简报 briefing (new records and amounts, each against the previous period), 业绩指标
achievement (actual against target), 销售漏斗 funnel (open opportunities per stage, won / lost),
销售趋势 trend (contract and payment amounts per month), 遗忘客户 forgotten customers (not
contacted for 7/15/30/90/180 days) and 待办 to-do (today's follow-ups, my pending approvals, plans
due and overdue, contracts expiring, customers about to enter a pool).

Who is counted (`scope`): self = records I own; subordinates = mine and my reports' (the
supervisor chain); department = owned by anyone in my department and the departments below it;
company = everything. The choice only ever narrows: every figure is computed within the caller's
data scope of its module (the engine's scope filter), so a rep asking for `company` gets exactly
what they may see — the request is clamped, never refused, and never widened.

Fields: a figure that groups, sums, or selects by a field the caller may not read (field rules:
hidden or masked) is left out — null in the answer and named in `omitted` with FIELD_NOT_READABLE —
while the figures that do not need that field stay (a hidden opportunity amount keeps the funnel's
counts). The list of forgotten customers refuses a hidden sort field like any list (422).

Cost: every section's aggregations go to the engine together — one call for the whole dashboard
(OpenSearch: one _msearch), plus one DynamoDB count for the pending approvals.

Integration points: `targets()` (sales targets of targets/service.py; `target: null` while none are set) and
`render_chart()` draws the funnel and the trend as PNG or SVG (GET /v1/dashboard/{funnel|trend}.{png|svg}).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ..core import clock
from ..core.errors import ValidationFailed, detail
from ..core.permissions import FieldAccess, Principal
from ..core.settings import get_settings
from ..db.base import plain
from ..opportunities import stages
from ..org import service as org
from ..products.lines import money
from ..search import schema
from ..search import service as search
from ..search.query import Aggregation, Bucket, Filter, any_of

SCOPES = ("self", "subordinates", "department", "company")
RANGES = ("today", "yesterday", "week", "last_week", "month", "last_month", "quarter", "last_quarter", "year", "last_year")
SECTIONS = ("briefing", "achievement", "funnel", "trend", "forgotten", "todo")
FORGOTTEN_DAYS = (7, 15, 30, 90, 180)
MAX_DAYS = 366 * 3  # a trend of at most three years (37 months)
PLANS_DUE_DAYS, CONTRACTS_EXPIRING_DAYS, POOL_SOON_DAYS = 7, 30, 7
CUSTOMER, CONTACT, OPPORTUNITY, CONTRACT, PAYMENT, PLAN, FOLLOWUP = (
    "CUSTOMER", "CONTACT", "OPPORTUNITY", "CONTRACT", "PAYMENT", "PAYMENT_PLAN", "FOLLOWUP")


# ---- the period ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """[start, end) in local days of the tenant's time zone, and the one before it."""

    start: date
    end: date  # exclusive
    prev_start: date
    prev_end: date
    preset: str | None
    zone: ZoneInfo

    def instants(self, a: date, b: date) -> dict[str, str]:
        """A range of local days as UTC instants (for datetime fields: created_at, closed_at …)."""
        return {"gte": clock.iso(datetime.combine(a, time(), self.zone)), "lt": clock.iso(datetime.combine(b, time(), self.zone))}

    @staticmethod
    def days(a: date, b: date) -> dict[str, str]:
        """A range of local days as dates (for date fields: sign_date, paid_on, due_date …)."""
        return {"gte": a.isoformat(), "lt": b.isoformat()}

    def months(self) -> list[str]:
        out, y, m = [], self.start.year, self.start.month
        last = self.end - timedelta(days=1)
        while (y, m) <= (last.year, last.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def out(self) -> dict[str, Any]:
        return {"range": self.preset, "start": self.start.isoformat(), "end": (self.end - timedelta(days=1)).isoformat(),
                "previous_start": self.prev_start.isoformat(), "previous_end": (self.prev_end - timedelta(days=1)).isoformat(),
                "time_zone": self.zone.key}


def zone() -> ZoneInfo:
    """The tenant's time zone (the deployment's default_timezone, as payments and reminders use)."""
    return ZoneInfo(get_settings().default_timezone)


def today() -> date:
    return clock.now().astimezone(zone()).date()


def _month_start(d: date, shift: int = 0) -> date:
    m = d.month - 1 + shift
    return date(d.year + m // 12, m % 12 + 1, 1)


def period(preset: str | None, start: date | None, end: date | None) -> Period:
    """A preset (this month by default) or a start and end day (both included). The previous period
    is the one before of the same kind: the previous calendar month / quarter / year for those
    presets, else the same number of days just before."""
    if preset and (start or end):
        raise ValidationFailed(details=[detail("range", "conflict", "dashboard.range_and_dates")])
    if start or end:
        if not (start and end) or end < start or (end - start).days + 1 > MAX_DAYS:
            raise ValidationFailed(details=[detail("end" if start else "start", "invalid", "dashboard.range", max=MAX_DAYS)])
        a, b = start, end + timedelta(days=1)
        return Period(a, b, a - (b - a), a, None, zone())
    preset = preset or "month"
    d = today()
    kind = preset.removeprefix("last_")
    if kind in ("today", "yesterday"):
        a = d - timedelta(days=1 if preset == "yesterday" else 0)
        a, b, prev = a, a + timedelta(days=1), a - timedelta(days=1)
        return Period(a, b, prev, a, preset, zone())
    if kind == "week":
        a = d - timedelta(days=d.weekday() + (7 if preset == "last_week" else 0))
        return Period(a, a + timedelta(days=7), a - timedelta(days=7), a, preset, zone())
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    if kind == "month":
        a = _month_start(d)
    elif kind == "quarter":
        a = _month_start(d, -((d.month - 1) % 3))
    else:
        a = date(d.year, 1, 1)
    if preset.startswith("last_"):
        a = _month_start(a, -months)
    return Period(a, _month_start(a, months), _month_start(a, -months), a, preset, zone())


# ---- who is counted ----------------------------------------------------------------------------------------
def owners(p: Principal, scope: str) -> set[str] | None:
    """The owners the chosen scope counts (None: everyone the data scope allows)."""
    me = p.org.users.get(p.user_id)
    if scope == "company" or me is None:
        return None if me is not None else set()
    if scope == "self":
        return {me.id}
    if scope == "subordinates":
        return {me.id} | p.org.subordinates(me.id)
    return p.org.users_in(p.org.department_tree(me.department_id))


# ---- integration points ------------------------------------------------------------------------------------
def targets(p: Principal, scope: str, who: set[str] | None, months: list[str]) -> dict[str, dict[str, Decimal]] | None:
    """Sales targets (业绩目标, targets/service.py: dashboard_targets): {"contract"|"payment": {"YYYY-MM":
    amount}} for the owners counted, or None while no targets exist (the answer shows `target: null`;
    achievement and trend read only this function)."""
    from ..targets import service as targets_service

    return targets_service.dashboard_targets(p, scope, who, months)


CHARTS = ("funnel", "trend")


def render_chart(section: str, data: dict[str, Any], fmt: str = "png") -> bytes:
    """One section's chart JSON (as the dashboard answers it) -> PNG/SVG bytes, with Chinese labels
    (render/charts.py: matplotlib, imported on first use — never at cold start). A figure the caller
    may not read is drawn as 0 and the answer's `omitted` says which."""
    from ..render import charts

    if section == "funnel":
        stages = [{"label": s["name"], "count": s.get("count") or 0, "amount": s.get("amount") or 0} for s in data["stages"]]
        stages += [{"label": label, "count": (data.get(key) or {}).get("count") or 0, "amount": (data.get(key) or {}).get("amount") or 0}
                   for key, label in (("won", "赢单"), ("lost", "输单"))]
        return charts.funnel(stages, title="销售漏斗", fmt=fmt)  # type: ignore[arg-type]
    months = list(data["months"])
    series = {"合同金额": [x.get("amount") or 0 for x in data["contract"]], "回款金额": [x.get("amount") or 0 for x in data["payment"]]}
    if any(x.get("target") is not None for x in data["contract"]):
        series["合同目标"] = [x.get("target") or 0 for x in data["contract"]]
    if any(x.get("target") is not None for x in data["payment"]):
        series["回款目标"] = [x.get("target") or 0 for x in data["payment"]]
    return charts.trend(months, series, title="销售趋势", fmt=fmt)  # type: ignore[arg-type]


def chart(section: str, fmt: str, scope: str, range_: str | None, start: str | None, end: str | None,
          stage_group: str | None) -> bytes:
    """The funnel or the trend of the dashboard (the same figures as its JSON) as an image."""
    answer = dashboard(scope, range_, start, end, stage_group, (section,))
    return render_chart(section, answer[section], fmt)


# ---- asking the engine -------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One aggregation of one record type, with the fields it needs readable."""

    name: str  # section.figure
    entity: str
    agg: Aggregation
    needs: tuple[str, ...] = ()  # fields it selects by (filters): unreadable -> the figure is omitted


@dataclass
class Ask:
    p: Principal
    who: set[str] | None
    figures: list[Figure] = field(default_factory=list)
    omitted: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, entity: str, agg: Aggregation, needs: tuple[str, ...] = ()) -> None:
        self.figures.append(Figure(name, entity, agg, needs))

    def run(self) -> dict[str, list[Bucket] | None]:
        """Every figure in one engine call; figures on unreadable fields left out (None), sums of
        unreadable fields dropped (their value None); record types the caller may not list: None."""
        results: dict[str, list[Bucket] | None] = {}
        grouped: dict[str, dict[str, Aggregation]] = {}
        for f in self.figures:
            es = schema.get(f.entity)
            if not self.p.can(es.module, "list"):
                results[f.name] = None
                continue
            hidden = [x for x in (*f.needs, *f.agg.by, *([f.agg.date_field] if f.agg.date_field else [])) if not _readable(self.p, es, x)]
            if hidden:
                self.omitted.append({"figure": f.name, "field": hidden[0], "code": "FIELD_NOT_READABLE"})
                results[f.name] = None
                continue
            sums = tuple(x for x in f.agg.sums if _readable(self.p, es, x))
            for x in f.agg.sums:
                if x not in sums:
                    self.omitted.append({"figure": f"{f.name}.{x}", "field": x, "code": "FIELD_NOT_READABLE"})
            grouped.setdefault(f.entity, {})[f.name] = Aggregation(f.agg.by, f.agg.date_field, f.agg.period, f.agg.utc_offset, sums,
                                                                   f.agg.size, f.agg.filters)
        entities = list(grouped)
        params = {"owners": self.who} if self.who is not None else {}
        answers = search.aggregate_many(self.p, [(e, params, grouped[e]) for e in entities]) if entities else []
        for answer in answers:
            results.update(answer)
        return results


def _readable(p: Principal, es: schema.EntitySchema, api_field: str) -> bool:
    return api_field in schema.META or p.field_access(es.module, api_field) >= FieldAccess.READ


def _count(buckets: list[Bucket] | None) -> int | None:
    return None if buckets is None else sum(b.count for b in buckets)


def _summed(buckets: list[Bucket] | None, name: str, omitted: set[str], figure: str) -> Decimal | None:
    if buckets is None or f"{figure}.{name}" in omitted:
        return None
    return money(sum((Decimal(str(b.sums.get(name) or 0)) for b in buckets), Decimal(0)))


def _change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """The change in % against the previous period (None when there was nothing before)."""
    if now is None or before is None or not before:
        return None
    return (Decimal(now - before) * 100 / Decimal(before)).quantize(Decimal("0.01"))


# ---- the sections: what each asks --------------------------------------------------------------------------
APPROVED = Filter("approval_status", "eq", "approved")
NOT_VOID = Filter("state", "in", ["normal", "terminated"])

BRIEFING = (  # figure, record type, the date field the period selects by, sums, the other fields it selects by
    ("customers", CUSTOMER, "created_at", (), ()),
    ("contacts", CONTACT, "created_at", (), ()),
    ("opportunities", OPPORTUNITY, "created_at", ("amount",), ()),
    ("contracts", CONTRACT, "created_at", (), ()),
    ("contract_amount", CONTRACT, "sign_date", ("amount",), ("approval_status", "state")),
    ("payment_amount", PAYMENT, "paid_on", ("amount",), ("approval_status",)),
    ("followups", FOLLOWUP, "created_at", (), ()),
)
DATE_FIELDS = {"sign_date", "paid_on", "due_date", "end_date"}  # date-only fields (no time of day)


def _in(pd: Period, fld: str, a: date, b: date) -> Filter:
    return Filter(fld, "range", pd.days(a, b) if fld in DATE_FIELDS else pd.instants(a, b))


def _briefing_asks(ask: Ask, pd: Period) -> None:
    for name, entity, when, sums, needs in BRIEFING:
        extra = (APPROVED, *((NOT_VOID,) if entity == CONTRACT else ())) if needs else ()
        for which, (a, b) in (("current", (pd.start, pd.end)), ("previous", (pd.prev_start, pd.prev_end))):
            ask.add(f"briefing.{name}.{which}", entity, Aggregation(sums=sums, filters=(*extra, _in(pd, when, a, b))), (*needs, when))


def _briefing(res: dict[str, Any], omitted: set[str]) -> dict[str, Any]:
    out = {}
    for name, _entity, _when, sums, _needs in BRIEFING:
        cur, prev = res.get(f"briefing.{name}.current"), res.get(f"briefing.{name}.previous")
        item: dict[str, Any] = {"count": _count(cur), "previous_count": _count(prev)}
        item["count_change"] = _change(item["count"], item["previous_count"])
        if sums:
            item["amount"] = _summed(cur, "amount", omitted, f"briefing.{name}.current")
            item["previous_amount"] = _summed(prev, "amount", omitted, f"briefing.{name}.previous")
            item["amount_change"] = _change(item["amount"], item["previous_amount"])
        out[name] = item
    return out


def _achievement(brief: dict[str, Any], target: dict[str, dict[str, Decimal]] | None, months: list[str]) -> dict[str, Any]:
    out = {}
    for kind, figure in (("contract", "contract_amount"), ("payment", "payment_amount")):
        actual = brief[figure]["amount"]
        goal = None
        if target is not None and kind in target:
            goal = money(sum((Decimal(str(target[kind].get(m) or 0)) for m in months), Decimal(0)))
        rate = (Decimal(actual) * 100 / goal).quantize(Decimal("0.01")) if goal and actual is not None else None
        out[kind] = {"actual": actual, "target": goal, "rate": rate}
    return out


def _funnel_asks(ask: Ask, pd: Period, group_id: str) -> None:
    in_group = Filter("stage_group", "eq", group_id)
    ask.add("funnel.open", OPPORTUNITY, Aggregation(by=("stage",), sums=("amount", "weighted_amount"),
                                                    filters=(in_group, Filter("status", "eq", "open"))), ("stage_group", "status"))
    ask.add("funnel.closed", OPPORTUNITY, Aggregation(by=("status",), sums=("amount",), filters=(
        in_group, Filter("status", "in", ["won", "lost"]), _in(pd, "closed_at", pd.start, pd.end))), ("stage_group", "closed_at"))


def _funnel(res: dict[str, Any], omitted: set[str], g: dict[str, Any]) -> dict[str, Any]:
    opened, closed = res.get("funnel.open"), res.get("funnel.closed")
    by_stage = {b.key.get("stage"): b for b in opened or []}

    def amount(b: Bucket | None, name: str, figure: str) -> Decimal | None:
        if f"{figure}.{name}" in omitted or (figure == "funnel.open" and opened is None) or (figure == "funnel.closed" and closed is None):
            return None
        return money(Decimal(str(b.sums.get(name) or 0))) if b else money(0)

    stages_out = [{"stage": s["id"], "name": s["name"], "win_rate": s["win_rate"],
                   "count": None if opened is None else (by_stage[s["id"]].count if s["id"] in by_stage else 0),
                   "amount": amount(by_stage.get(s["id"]), "amount", "funnel.open"),
                   "weighted_amount": amount(by_stage.get(s["id"]), "weighted_amount", "funnel.open")} for s in g["stages"]]
    ends = {}
    for outcome in ("won", "lost"):
        b = next((x for x in closed or [] if x.key.get("status") == outcome), None)
        ends[outcome] = {"count": None if closed is None else (b.count if b else 0), "amount": amount(b, "amount", "funnel.closed")}
    return {"stage_group": {"id": g["id"], "name": g["name"]}, "stages": stages_out, **ends}


def _trend_asks(ask: Ask, pd: Period) -> None:
    for kind, entity, when, needs in (("contract", CONTRACT, "sign_date", ("approval_status", "state")),
                                      ("payment", PAYMENT, "paid_on", ("approval_status",))):
        extra = (APPROVED, *((NOT_VOID,) if entity == CONTRACT else ()))
        # date-only fields are stored as UTC midnight: their month is read at +00:00
        ask.add(f"trend.{kind}", entity, Aggregation(date_field=when, period="month", utc_offset="+00:00", sums=("amount",),
                                                     filters=(*extra, _in(pd, when, pd.start, pd.end))), needs)


def _trend(res: dict[str, Any], omitted: set[str], pd: Period, target: dict[str, dict[str, Decimal]] | None) -> dict[str, Any]:
    months = pd.months()
    series = {}
    for kind in ("contract", "payment"):
        buckets = res.get(f"trend.{kind}")
        hidden = buckets is None or f"trend.{kind}.amount" in omitted
        by_month = {b.key.get("period"): b for b in buckets or []}
        goals = (target or {}).get(kind)
        series[kind] = [{"month": m, "count": None if buckets is None else (by_month[m].count if m in by_month else 0),
                         "amount": None if hidden else money(Decimal(str(by_month[m].sums.get("amount") or 0)) if m in by_month else 0),
                         "target": money(Decimal(str(goals[m]))) if goals and goals.get(m) is not None else None} for m in months]
    return {"months": months, **series}


FORGOTTEN_NEEDS = ("pool", "last_followup_at", "last_revisit_at", "owned_since")


def forgotten_filters(days: int) -> tuple[Filter, ...]:
    """Customers not contacted for `days` days: their last follow-up and last revisit (or, never
    contacted, the moment their owner got them: `owned_since`, else their creation — the anchor of
    care's not-contacted rule) fall before the start of the local day `days` days ago. Day-granular,
    so a list's cursor stays valid all day. Customers in a public pool are not counted."""
    z = zone()
    cutoff = datetime.combine(clock.now().astimezone(z).date() - timedelta(days=days - 1), time(), z)
    before = {"lt": clock.iso(cutoff)}
    return (Filter("pool", "missing"),
            any_of(Filter("last_followup_at", "missing"), Filter("last_followup_at", "range", before)),
            any_of(Filter("last_revisit_at", "missing"), Filter("last_revisit_at", "range", before)),
            # owned_since is never before the creation: both before the cutoff, or created before it and never moved
            Filter("created_at", "range", before),
            any_of(Filter("owned_since", "missing"), Filter("owned_since", "range", before)))


def _forgotten_asks(ask: Ask) -> None:
    for days in FORGOTTEN_DAYS:
        ask.add(f"forgotten.{days}", CUSTOMER, Aggregation(filters=forgotten_filters(days)), FORGOTTEN_NEEDS)


def _forgotten(res: dict[str, Any]) -> dict[str, Any]:
    return {"buckets": [{"days": d, "count": _count(res.get(f"forgotten.{d}"))} for d in FORGOTTEN_DAYS]}


def _todo_asks(ask: Ask, pd: Period) -> None:
    d = today()
    ask.add("todo.followups_today", FOLLOWUP, Aggregation(filters=(_in(pd, "next_contact_at", d, d + timedelta(days=1)),)),
            ("next_contact_at",))
    ask.add("todo.plans_due", PLAN, Aggregation(sums=("amount", "received_amount"), filters=(
        Filter("status", "in", ["pending", "partial"]), _in(pd, "due_date", d, d + timedelta(days=PLANS_DUE_DAYS + 1)))),
        ("status", "due_date"))
    ask.add("todo.plans_overdue", PLAN, Aggregation(sums=("amount", "received_amount"), filters=(Filter("status", "eq", "overdue"),)),
            ("status",))
    ask.add("todo.contracts_expiring", CONTRACT, Aggregation(sums=("amount",), filters=(
        APPROVED, Filter("state", "eq", "normal"), _in(pd, "end_date", d, d + timedelta(days=CONTRACTS_EXPIRING_DAYS + 1)))),
        ("approval_status", "state", "end_date"))
    # as the pools' own list of customers about to enter a pool (待进入公海): due by the end of the 7th day
    soon = clock.iso(datetime.combine(d + timedelta(days=POOL_SOON_DAYS + 1), time(), pd.zone))
    ask.add("todo.pool_soon", CUSTOMER, Aggregation(filters=(Filter("pool_due_at", "range", {"lt": soon}),)), ("pool_due_at",))


def _todo(res: dict[str, Any], omitted: set[str], pending: int | None) -> dict[str, Any]:
    def plans(name: str) -> dict[str, Any]:
        b = res.get(name)
        amount = _summed(b, "amount", omitted, name)
        received = _summed(b, "received_amount", omitted, name)
        return {"count": _count(b), "amount": amount,
                "outstanding": None if amount is None or received is None else money(amount - received)}

    return {"followups_today": {"count": _count(res.get("todo.followups_today"))},
            "pending_approvals": {"count": pending},
            "plans_due": {**plans("todo.plans_due"), "days": PLANS_DUE_DAYS},
            "plans_overdue": plans("todo.plans_overdue"),
            "contracts_expiring": {"count": _count(res.get("todo.contracts_expiring")),
                                   "amount": _summed(res.get("todo.contracts_expiring"), "amount", omitted, "todo.contracts_expiring"),
                                   "days": CONTRACTS_EXPIRING_DAYS},
            "customers_to_pool": {"count": _count(res.get("todo.pool_soon")), "days": POOL_SOON_DAYS}}


# ---- the dashboard -----------------------------------------------------------------------------------------
def _group(p: Principal, group_id: str | None) -> dict[str, Any]:
    """The funnel's stage group: the one named, else the first open to the caller, else the first
    (a group shows only the opportunities the caller may see, whoever it is open to)."""
    found = stages.groups(p.tenant_id)
    g = stages.group(p.tenant_id, group_id) if group_id else next((x for x in found if stages.open_to(p, x)), next(iter(found), None))
    if g is None:
        raise ValidationFailed(details=[detail("stage_group", "invalid", "opportunity.group_unknown")])
    return g


def dashboard(scope: str, preset: str | None, start: date | None, end: date | None, group_id: str | None = None,
              sections: tuple[str, ...] = SECTIONS, p: Principal | None = None) -> dict[str, Any]:
    """The sections asked for, computed in one engine call (see the module docstring)."""
    p = p or org.principal()
    pd = period(preset, start, end)
    who = owners(p, scope)
    ask = Ask(p, who)
    g = _group(p, group_id) if "funnel" in sections else None
    if "briefing" in sections or "achievement" in sections:
        _briefing_asks(ask, pd)
    if g is not None:
        _funnel_asks(ask, pd, g["id"])
    if "trend" in sections:
        _trend_asks(ask, pd)
    if "forgotten" in sections:
        _forgotten_asks(ask)
    if "todo" in sections:
        _todo_asks(ask, pd)
    res = ask.run()
    omitted = {o["figure"] for o in ask.omitted}
    target = targets(p, scope, who, pd.months()) if "achievement" in sections or "trend" in sections else None
    out: dict[str, Any] = {"scope": scope, "period": pd.out(), "omitted": ask.omitted}
    brief = _briefing(res, omitted) if "briefing" in sections or "achievement" in sections else None
    if "briefing" in sections:
        out["briefing"] = brief
    if "achievement" in sections:
        out["achievement"] = _achievement(brief or {}, target, pd.months())
    if g is not None:
        out["funnel"] = _funnel(res, omitted, g)
    if "trend" in sections:
        out["trend"] = _trend(res, omitted, pd, target)
    if "forgotten" in sections:
        out["forgotten"] = _forgotten(res)
    if "todo" in sections:
        from ..approvals import service as approvals

        out["todo"] = _todo(res, omitted, approvals.pending_count(p))
    return plain(out)  # Decimal sums -> JSON numbers (whole yuan as integers), as records show money


def forgotten_customers(days: int, scope: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of the customers of a forgotten bucket (within the scope), longest forgotten first."""
    from ..customers.entity import CUSTOMER as CUSTOMER_DEF
    from ..engine import service as engine

    p = org.principal()
    who = owners(p, scope)
    es = schema.get(CUSTOMER)
    from ..search import rules

    for f in FORGOTTEN_NEEDS:
        rules.index_field(p, es, f)  # a hidden field refuses the list (FIELD_NOT_READABLE), as a list filter would
    return engine.list_records(CUSTOMER_DEF, {"conditions": list(forgotten_filters(days)), "owners": who, "sort": "last_followup_at",
                                              "limit": limit, "cursor": cursor})
