"""Commission (销售提成, SALES-13): plans kept by administrators, statements per rep and month.

A plan (`commission:manage` replaces them all, version-checked, logged):
- base 提成基数: `payment_amount` (approved payments, by payment date) or `contract_amount`
  (approved contracts in force or terminated, by sign date);
- rates in % by product, else by product category (the nearest category of the product's path
  with a rate), else the plan's default rate. A contract's rate is the average of its lines'
  rates weighted by their subtotals; a contract without lines — and a payment of such a
  contract — takes the default rate;
- tiers by achievement of the rep's target of the month (the targets of the plan's base metric,
  targets/service.py): the tier with the highest `from_rate` at or below the achievement
  multiplies the month's commission (e.g. from 0 % ×0.8, from 80 % ×1, from 100 % ×1.2); below
  every tier, or without a target, ×1;
- whom it applies to: users and departments (with their sub-departments); neither = everyone.
  The first active plan (in order) that applies to a rep is theirs.

Statements (GET, live): per rep of the caller's reach (data scope of `commission`: 全部 /
部门 / 本人及下属 / 本人) with a plan, each contract or payment of the month with its base
amount, rate and commission, the rep's target, actual (the sum of the base amounts), rate,
multiplier and totals — money as Decimal with 2 decimals, rounded half up per line and per total.
Records come from the search index within the caller's data scope on contracts / payments.

Closing a month (`commission:manage` with the 全部 scope: administrators) stores every rep's
statement as it is then; the month's statements are read back from the table from then on and
never recomputed (a later payment dated in it changes nothing), so payroll sees stable figures.
"""
from __future__ import annotations

import calendar
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, ids
from ..core.errors import Conflict, Forbidden, ValidationFailed, detail
from ..core.observability import metric
from ..core.permissions import ALL_OWNERS, FieldAccess, Principal
from ..db import changes
from ..db.base import plain
from ..engine import store
from ..org import service as org
from ..products import categories
from ..products.lines import money, ref_id
from ..search import service as search
from ..targets import service as targets
from .models import CommissionClose, CommissionPlans, CommissionStatement, period_partition

MODULE = "commission"
ZERO = Decimal("0.00")
ONE = Decimal(1)
PAGE = 100


# ---- plans -------------------------------------------------------------------------------------------

def stored_plans(tenant_id: str) -> tuple[list[dict[str, Any]], int]:
    try:
        item = CommissionPlans.get(*CommissionPlans.key(tenant_id), consistent_read=True)
    except DoesNotExist:
        return [], 0
    return list(plain(item.plans) or []), int(item.version)


def _plans_out(found: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {"plans": found, "version": version}


def get_plans() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    return _plans_out(*stored_plans(p.tenant_id))


def _problems(p: Principal, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    plan_ids = Counter(x["id"] for x in given)
    wanted = [r["product_id"] for x in given for r in x["product_rates"]]
    products = {r.id for r in store.batch_get(p.tenant_id, "PRODUCT", wanted)} if wanted else set()
    for i, x in enumerate(given):
        if plan_ids[x["id"]] > 1:
            problems.append(detail(f"plans.{i}.id", "duplicate", "commission.id_twice"))
        for key, known, reason in (("product_rates", lambda v: v in products, "field.reference"),
                                   ("category_rates", lambda v: categories.exists(p.tenant_id, v), "commission.category_unknown")):
            column = "product_id" if key == "product_rates" else "category_id"
            twice = Counter(r[column] for r in x[key])
            for j, r in enumerate(x[key]):
                if not known(r[column]):
                    problems.append(detail(f"plans.{i}.{key}.{j}.{column}", "not_found", reason))
                elif twice[r[column]] > 1:
                    problems.append(detail(f"plans.{i}.{key}.{j}.{column}", "duplicate", "commission.rate_twice"))
        froms = Counter(t["from_rate"] for t in x["tiers"])
        problems += [detail(f"plans.{i}.tiers.{j}.from_rate", "duplicate", "commission.tier_twice")
                     for j, t in enumerate(x["tiers"]) if froms[t["from_rate"]] > 1]
        problems += [detail(f"plans.{i}.department_ids.{j}", "not_found", "field.department")
                     for j, d in enumerate(x["department_ids"]) if d not in p.org.departments]
        problems += [detail(f"plans.{i}.user_ids.{j}", "not_found", "field.user")
                     for j, u in enumerate(x["user_ids"]) if u not in p.org.users]
    return problems


def _stored_form(x: dict[str, Any]) -> dict[str, Any]:
    """A plan as stored and answered: Decimals as text, tiers in order."""
    def dec(v: Any) -> str:
        return str(Decimal(str(v)))

    return {**x, "default_rate": dec(x["default_rate"]),
            "product_rates": [{**r, "rate": dec(r["rate"])} for r in x["product_rates"]],
            "category_rates": [{**r, "rate": dec(r["rate"])} for r in x["category_rates"]],
            "tiers": sorted(({"from_rate": dec(t["from_rate"]), "multiplier": dec(t["multiplier"])} for t in x["tiers"]),
                            key=lambda t: Decimal(t["from_rate"]))}


def put_plans(given: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the commission plans (commission:manage); the first save needs no version."""
    p = org.principal()
    p.require(MODULE, "manage")
    problems = _problems(p, given)
    if problems:
        raise ValidationFailed(details=problems)
    plans = [_stored_form(x) for x in given]
    item = changes.put_setting(CommissionPlans, CommissionPlans.key(p.tenant_id), p.tenant_id, p.user_id, "commission_plans",
                               "plans", {"plans": plans}, expected)
    return _plans_out(plans, int(item.version))


def plan_of(p: Principal, plans: list[dict[str, Any]], user_id: str) -> dict[str, Any] | None:
    """The first active plan that applies to the user."""
    user = p.org.users.get(user_id)
    if user is None:
        return None
    for x in plans:
        if not x.get("active", True):
            continue
        if not x["user_ids"] and not x["department_ids"]:
            return x
        if user_id in x["user_ids"] or any(user.department_id in p.org.department_tree(d) for d in x["department_ids"]):
            return x
    return None


# ---- statements ---------------------------------------------------------------------------------------

def _month_range(period: str) -> tuple[date, date]:
    y, m = int(period[:4]), int(period[5:7])
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _records(p: Principal, metric_name: str, start: date, end: date) -> list[dict[str, Any]]:
    """Every record counting for a metric between start and end that the caller may see (search index)."""
    from ..engine import registry
    from ..engine import service as engine

    m = targets.METRICS[metric_name]
    d = registry.find(m.entity)
    filters = [*m.filters, {"field": m.date_field, "op": "range", "value": {"gte": start.isoformat(), "lte": end.isoformat()}}]
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = search.list_page(p, m.entity, {"filters": filters, "sort": m.date_field, "limit": PAGE, "cursor": cursor},
                                lambda src, who: engine.present(d, src, who))
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor or not page["items"]:
            return out


def _rate_of(plan: dict[str, Any], product: store.EntityRecord | None) -> Decimal:
    by_product = {r["product_id"]: Decimal(r["rate"]) for r in plan["product_rates"]}
    by_category = {r["category_id"]: Decimal(r["rate"]) for r in plan["category_rates"]}
    if product is None:
        return Decimal(plan["default_rate"])
    if product.id in by_product:
        return by_product[product.id]
    data = plain(product.data or {})
    path = list(data.get("category_path") or ([data["category"]] if data.get("category") else []))
    for c in reversed(path):  # the nearest category with a rate
        if c in by_category:
            return by_category[c]
    return Decimal(plan["default_rate"])


def _contract_rate(plan: dict[str, Any], contract: dict[str, Any] | None, products: dict[str, store.EntityRecord]) -> Decimal:
    """The contract's rate under the plan: its lines' rates weighted by their subtotals (default without lines)."""
    lines = (contract or {}).get("lines") or []
    weighted, total = Decimal(0), Decimal(0)
    for line in lines:
        subtotal = Decimal(str(line.get("subtotal") or 0))
        weighted += subtotal * _rate_of(plan, products.get(ref_id(line.get("product")) or ""))
        total += subtotal
    if total <= 0:
        return Decimal(plan["default_rate"])
    return (weighted / total).quantize(Decimal("0.0001"))


def _multiplier(plan: dict[str, Any], achieved: Decimal | None) -> Decimal:
    if achieved is None:
        return ONE
    found = ONE
    for t in plan["tiers"]:  # in order of from_rate
        if achieved >= Decimal(t["from_rate"]):
            found = Decimal(t["multiplier"])
    return found


def _reps(p: Principal, plans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The reps the caller reaches in `commission`, each with their plan."""
    owners = p.visible_owners(MODULE)
    users = set(p.org.users) if owners is ALL_OWNERS else owners
    out = {}
    for u in sorted(users):
        x = plan_of(p, plans, u)
        if x is not None:
            out[u] = x
    return out


def compute(p: Principal, period: str, user_id: str | None = None) -> list[dict[str, Any]]:
    """The live statements of a month for the reps the caller reaches (one rep with `user_id`)."""
    plans, _ = stored_plans(p.tenant_id)
    reps = _reps(p, plans)
    if user_id is not None:
        reps = {u: x for u, x in reps.items() if u == user_id}
    if not reps:
        return []
    start, end = _month_range(period)
    by_base: dict[str, list[dict[str, Any]]] = {}
    for base in sorted({x["base"] for x in reps.values()}):
        module = "payments" if base == "payment_amount" else "contracts"
        if p.field_access(module, "amount") < FieldAccess.READ:  # commission is figured on the amount: not on a masked one
            raise ValidationFailed("FIELD_NOT_READABLE", field="amount")
        by_base[base] = [r for r in _records(p, base, start, end) if r.get("owner_id") in reps and reps[r["owner_id"]]["base"] == base]
    payments = by_base.get("payment_amount", [])
    contract_ids = [ref_id(r.get("contract")) for r in payments if ref_id(r.get("contract"))]
    contracts = {c.id: plain(c.data or {}) for c in store.batch_get(p.tenant_id, "CONTRACT", contract_ids)}
    for r in by_base.get("contract_amount", []):
        contracts.setdefault(r["id"], r)
    product_ids = [ref_id(line.get("product")) for c in contracts.values() for line in (c.get("lines") or []) if ref_id(line.get("product"))]
    products = {x.id: x for x in store.batch_get(p.tenant_id, "PRODUCT", list(dict.fromkeys(product_ids)))}
    names = org.load(p.tenant_id).users
    out = []
    for user_id_, plan in reps.items():
        lines = []
        for r in by_base.get(plan["base"], []):
            if r["owner_id"] != user_id_:
                continue
            is_payment = plan["base"] == "payment_amount"
            contract_id = ref_id(r.get("contract")) if is_payment else r["id"]
            base = money(r.get("amount") or 0)
            line_rate = _contract_rate(plan, contracts.get(contract_id or ""), products)
            lines.append({"kind": "payment" if is_payment else "contract", "id": r["id"], "number": r.get("number"),
                          "date": r.get("paid_on" if is_payment else "sign_date"), "contract_id": contract_id,
                          "base_amount": base, "rate": line_rate, "commission": money(base * line_rate / 100)})
        lines.sort(key=lambda x: (str(x["date"] or ""), str(x["number"] or ""), x["id"]))
        actual = sum((x["base_amount"] for x in lines), ZERO)
        target = targets.targets_of(p.tenant_id, plan["base"], f"user:{user_id_}", [period])[period]
        achieved = targets.rate(actual, target)
        multiplier = _multiplier(plan, achieved)
        before_tier = sum((x["commission"] for x in lines), ZERO)
        out.append({"user_id": user_id_, "name": names[user_id_].name if user_id_ in names else None, "period": period,
                    "plan": {"id": plan["id"], "name": plan["name"], "base": plan["base"]},
                    "target": target, "actual": actual, "achievement_rate": achieved, "multiplier": multiplier,
                    "lines": lines, "commission_before_tier": before_tier, "commission_total": money(before_tier * multiplier)})
    return out


def _totals(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    return {"base_total": sum((Decimal(str(s["actual"])) for s in items), ZERO),
            "commission_total": sum((Decimal(str(s["commission_total"])) for s in items), ZERO)}


def _closed(tenant_id: str, period: str) -> CommissionClose | None:
    try:
        return CommissionClose.get(*CommissionClose.key(tenant_id, period), consistent_read=True)
    except DoesNotExist:
        return None


_DECIMALS = ("target", "actual", "achievement_rate", "multiplier", "commission_before_tier", "commission_total")
_LINE_DECIMALS = ("base_amount", "rate", "commission")


def _as_text(s: dict[str, Any]) -> dict[str, Any]:
    def t(v: Any) -> Any:
        return None if v is None else str(v)
    return {**s, **{k: t(s[k]) for k in _DECIMALS}, "lines": [{**x, **{k: t(x[k]) for k in _LINE_DECIMALS}} for x in s["lines"]]}


def _as_decimal(s: dict[str, Any]) -> dict[str, Any]:
    def d(v: Any) -> Any:
        return None if v is None else Decimal(v)
    return {**s, **{k: d(s[k]) for k in _DECIMALS}, "lines": [{**x, **{k: d(x[k]) for k in _LINE_DECIMALS}} for x in s["lines"]]}


def _check_period(period: str) -> None:
    """Only a month that has ended closes: payments dated later in a running month would miss payroll for good."""
    if period >= targets.local_today().isoformat()[:7]:
        raise ValidationFailed(details=[detail("period", "range", "commission.period_open")])


def statements(period: str, user_id: str | None = None) -> dict[str, Any]:
    """A month's statements of the reps the caller reaches: live, or as stored when the month is closed."""
    p = org.principal()
    p.require(MODULE, "read")
    closed = _closed(p.tenant_id, period)
    if closed is None:
        items = compute(p, period, user_id)
        return {"period": period, "closed": False, "closed_at": None, "closed_by": None, "items": items, **_totals(items)}
    visible = [p.visible_owners(m) for m in (MODULE, "contracts", "payments")]  # a closed statement shows no more than a live one
    stored = CommissionStatement.query(period_partition(p.tenant_id, period),
                                       CommissionStatement.sk.startswith(f"STATEMENT#{closed.close_id}#"))
    items = [_as_decimal(plain(s.statement)) for s in stored if isinstance(s, CommissionStatement)
             and all(o is ALL_OWNERS or s.user_id in o for o in visible) and (user_id is None or s.user_id == user_id)]
    items.sort(key=lambda s: s["user_id"])
    return {"period": period, "closed": True, "closed_at": closed.created_at, "closed_by": closed.created_by, "items": items,
            **_totals(items)}


def close(period: str) -> dict[str, Any]:
    """结账: store every rep's statement of the month as it is now (commission:manage, 全部 scope); 409 once closed."""
    p = org.principal()
    p.require(MODULE, "manage")
    if p.visible_owners(MODULE) is not ALL_OWNERS:
        raise Forbidden(module=f"module.{MODULE}", action="action.manage", details={"module": MODULE, "action": "manage"})
    _check_period(period)
    if _closed(p.tenant_id, period) is not None:
        raise Conflict("PERIOD_CLOSED", period=period)
    items = compute(p, period)
    close_id = ids.new_id()
    with CommissionStatement.batch_write() as batch:
        for s in items:
            pk, sk = CommissionStatement.key(p.tenant_id, period, close_id, s["user_id"])
            batch.save(CommissionStatement(pk, sk, tenant_id=p.tenant_id, user_id=s["user_id"], statement=_as_text(s)))
    now = clock.now_iso()
    totals = _totals(items)
    marker = CommissionClose(*CommissionClose.key(p.tenant_id, period), tenant_id=p.tenant_id, period=period, close_id=close_id,
                             statements=len(items), totals={k: str(v) for k, v in totals.items()},
                             created_at=now, created_by=p.user_id, updated_at=now, updated_by=p.user_id)
    changes.create(marker, "commission_close", period, p.user_id, on_conflict=lambda: Conflict("PERIOD_CLOSED", period=period))
    metric("commission.period.closed")
    return {"period": period, "closed": True, "closed_at": now, "closed_by": p.user_id, "items": items, **totals}
