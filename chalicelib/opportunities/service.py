"""Opportunities' own rules beyond the engine's: moving between stages, closing (won / lost /
invalid) and reopening, the Kanban board of a stage group, and the weighted forecast.

The board and the forecast are aggregations of the search index (search.service.aggregate): the
caller's data scope, field rules and list parameters apply, as on the list."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core import clock
from ..core.errors import ValidationFailed, detail
from ..core.permissions import Principal
from ..db import tx
from ..db.base import plain
from ..dictionaries import service as dictionaries
from ..engine import service as engine
from ..engine.definition import WriteContext
from ..engine.service import STAMP_ATTEMPTS, StaleStamp
from ..org import service as org
from ..search import service as search
from ..search.query import Aggregation
from . import stages
from .entity import OPPORTUNITY, customer_ops

MODULE = "opportunities"
OUTCOMES = ("won", "lost", "invalid")


def _history(rec_data: dict[str, Any], to_stage: str, by: str, note: str | None) -> list[dict[str, Any]]:
    since = rec_data.get("stage_changed_at")
    days = None
    if since:
        days = round(Decimal(str((clock.now() - clock.parse_iso(str(since))).total_seconds() / 86400)), 2)
    entry = {"from_stage": rec_data.get("stage_name") or rec_data.get("stage"), "to_stage": to_stage, "by": by, "at": clock.now_iso(),
             "days_in_stage": days, "note": note}
    return [*(rec_data.get("stage_history") or []), {k: v for k, v in entry.items() if v is not None}]


def _changed(p: Principal, record_id: str, expected: int | None, values_of: Any, action: str, verb: str,
             recount: bool) -> dict[str, Any]:
    """One module change of an opportunity (versioned), with the customer's figures in the same
    transaction when the change opens or closes it; retried when only the customer moved meanwhile."""
    for attempt in range(STAMP_ATTEMPTS):
        rec = engine.load(OPPORTUNITY, p, record_id, "update")
        data = plain(rec.data or {})
        values = values_of(data)
        extra: list[tx.Op] = []
        wc = WriteContext(p, OPPORTUNITY, rec, "update", {**data, **values}, data)
        if recount:
            customer = data.get("customer") or {}
            extra = customer_ops(wc, str(customer.get("id")) if customer.get("id") else None,
                                 {**data, **values, "created_at": rec.created_at}) or []
        try:
            shown = engine.change(OPPORTUNITY, p, rec, values, expected, action=action, verb=verb, extra=extra)
        except StaleStamp:
            if attempt == STAMP_ATTEMPTS - 1:
                raise
            continue
        for then in wc.then:
            then()
        return shown
    raise AssertionError("unreachable")


def _open(data: dict[str, Any]) -> None:
    if (data.get("status") or "open") != "open":
        raise ValidationFailed("INVALID_STATE", reason=f"opportunity.status.{data.get('status')}")


def move(record_id: str, stage_id: str, note: str | None, expected: int | None) -> dict[str, Any]:
    """推进 / 回退: to any active stage of its group, forward or back; the history records the move."""
    p = org.principal()

    def values_of(data: dict[str, Any]) -> dict[str, Any]:
        _open(data)
        g = stages.group(p.tenant_id, data.get("stage_group"))
        s = stages.stage(g, stage_id) if g else None
        if s is None or not s.get("active", True):
            raise ValidationFailed(details=[detail("stage_id", "invalid", "opportunity.stage_unknown")])
        if s["id"] == data.get("stage"):
            raise ValidationFailed(details=[detail("stage_id", "same", "opportunity.stage_same")])
        return {"stage": s["id"], "stage_name": s["name"], "stage_changed_at": clock.now_iso(),
                "stage_history": _history(data, s["name"], p.user_id, note)}

    return _changed(p, record_id, expected, values_of, "stage", "stage_changed", recount=False)


def close(record_id: str, outcome: str, loss_reason: str | None, note: str | None, expected: int | None) -> dict[str, Any]:
    """赢单 / 输单 (with a reason from the loss_reason dictionary) / 无效."""
    p = org.principal()
    if outcome == "lost" and not loss_reason:
        raise ValidationFailed(details=[detail("loss_reason", "missing", "opportunity.loss_reason_needed")])
    if loss_reason and outcome != "lost":
        raise ValidationFailed(details=[detail("loss_reason", "invalid", "opportunity.loss_reason_only_lost")])
    if loss_reason and not dictionaries.exists(p.tenant_id, "loss_reason", loss_reason):
        raise ValidationFailed(details=[detail("loss_reason", "dictionary", "field.dictionary", value=loss_reason)])
    label = dict((k, zh) for k, zh, _ in OPPORTUNITY.field("status").options)[outcome]

    def values_of(data: dict[str, Any]) -> dict[str, Any]:
        _open(data)
        return {"status": outcome, "loss_reason": loss_reason, "closed_at": clock.now_iso(),
                "stage_history": _history(data, label, p.user_id, note)}

    return _changed(p, record_id, expected, values_of, outcome, outcome, recount=True)


def reopen(record_id: str, note: str | None, expected: int | None) -> dict[str, Any]:
    """A won, lost or invalid opportunity open again, at the stage it was closed in."""
    p = org.principal()

    def values_of(data: dict[str, Any]) -> dict[str, Any]:
        if (data.get("status") or "open") == "open":
            raise ValidationFailed("INVALID_STATE", reason="opportunity.status.open")
        return {"status": "open", "loss_reason": None, "closed_at": None, "stage_changed_at": clock.now_iso(),
                "stage_history": _history({**data, "stage_name": dict((k, zh) for k, zh, _ in OPPORTUNITY.field("status").options)[
                    data["status"]]}, data.get("stage_name") or "", p.user_id, note)}

    return _changed(p, record_id, expected, values_of, "reopen", "reopened", recount=True)


# ---- the board and the forecast ------------------------------------------------------------------------

def _figures(b: Any) -> dict[str, Any]:
    return {"count": b.count, "amount": b.sums.get("amount", 0.0), "weighted_amount": b.sums.get("weighted_amount", 0.0)}


def board(group_id: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """看板: one column per stage of a group (open opportunities: count, amount, weighted amount),
    then the won, lost and invalid ones — what the caller's list with `params` would show."""
    p = org.principal()
    p.require(MODULE, "list")
    found = stages.groups(p.tenant_id)
    g = stages.group(p.tenant_id, group_id) if group_id else next((x for x in found if stages.open_to(p, x)), found[0])
    if g is None:
        raise ValidationFailed(details=[detail("stage_group", "invalid", "opportunity.group_unknown")])
    filters = [*(params.get("filters") or []), {"field": "stage_group", "op": "eq", "value": g["id"]}]
    buckets = search.aggregate(p, OPPORTUNITY.name, {**params, "filters": filters},
                               {"board": Aggregation(by=("status", "stage"), sums=("amount", "weighted_amount"))})["board"]
    by_stage = {b.key.get("stage"): b for b in buckets if b.key.get("status") == "open"}
    closed = {o: [b for b in buckets if b.key.get("status") == o] for o in OUTCOMES}
    empty = {"count": 0, "amount": 0.0, "weighted_amount": 0.0}
    columns = [{"stage": s["id"], "name": s["name"], "win_rate": s["win_rate"], "active": s.get("active", True),
                **(_figures(by_stage[s["id"]]) if s["id"] in by_stage else empty)} for s in g["stages"]]
    ends = {o: {"count": sum(b.count for b in bs), "amount": round(sum(b.sums.get("amount", 0.0) for b in bs), 2),
                "weighted_amount": round(sum(b.sums.get("weighted_amount", 0.0) for b in bs), 2)} for o, bs in closed.items()}
    return {"stage_group": {"id": g["id"], "name": g["name"]}, "columns": columns, **ends}


def forecast(period: str, by: str, params: dict[str, Any]) -> dict[str, Any]:
    """销售预测: open opportunities' amounts and weighted amounts by the period of their expected
    close date, overall or per owner or per owner's department."""
    p = org.principal()
    p.require(MODULE, "list")
    filters = [*(params.get("filters") or []), {"field": "status", "op": "eq", "value": "open"}]
    agg = Aggregation(by=("owner_id",) if by != "none" else (), date_field="expected_close_date", period=period,
                      sums=("amount", "weighted_amount"))
    buckets = search.aggregate(p, OPPORTUNITY.name, {**params, "filters": filters}, {"f": agg})["f"]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    users = p.org.users
    for b in buckets:
        who: dict[str, Any] = {}
        if by == "owner":
            who = {"owner_id": b.key.get("owner_id")}
        elif by == "department":
            u = users.get(b.key.get("owner_id") or "")
            who = {"department_id": u.department_id if u else None}
        key = (b.key.get("period"), *who.values())
        row = rows.setdefault(key, {"period": b.key.get("period"), **who, "count": 0, "amount": 0.0, "weighted_amount": 0.0})
        row["count"] += b.count
        row["amount"] = round(row["amount"] + b.sums.get("amount", 0.0), 2)
        row["weighted_amount"] = round(row["weighted_amount"] + b.sums.get("weighted_amount", 0.0), 2)
    items = sorted(rows.values(), key=lambda r: (r["period"] is not None, r["period"] or "", str(r.get("owner_id") or r.get("department_id") or "")))
    totals = {"count": sum(r["count"] for r in items), "amount": round(sum(r["amount"] for r in items), 2),
              "weighted_amount": round(sum(r["weighted_amount"] for r in items), 2)}
    return {"period": period, "by": by, "items": items, "totals": totals}
