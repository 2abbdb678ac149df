"""Opportunities (商机, SALES-7): a chance to sell to a customer, moving through the stages of its
stage group (商机组) until it is won, lost (with a reason from the dictionary) or invalid.

- The group is chosen at creation (default: the first group open to the owner's department) and
  stays; the stage starts at the group's first active stage and moves only through
  `POST /v1/opportunities/{id}/stage` (forward or back), which records who moved it, when, and
  how many days it spent in the stage it left (`stage_history`).
- Product lines are priced on the server (products.service.line: on-shelf products only, tiered
  prices and the customer level's discount, the rule recorded on the line); a line's own
  discount comes off its price; `lines_total` is their sum and, with lines, `amount` is the total
  less the order discount (`discount_rate`) — always computed, never taken from the client.
  Without lines `amount` is the seller's estimate.
- `win_rate` (the stage's; won 100, lost/invalid 0) and `weighted_amount` (= amount × win rate)
  are derived with every change, so forecasts sum stored figures.
- The customer carries `last_opportunity_at` and `open_opportunities`, stamped in the same
  transaction as each create, close, reopen, delete and restore (the pool rules read them).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core import clock
from ..core.errors import NotFound, ValidationFailed, detail
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, Hooks, WriteContext
from ..engine.fieldtypes import FieldSpec as F
from ..products import lines

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export", "manage")  # manage: stage groups
STATUSES = (("open", "进行中", "Open"), ("won", "赢单", "Won"), ("lost", "输单", "Lost"), ("invalid", "无效", "Invalid"))
CLOSED_RATE = {"won": 100, "lost": 0, "invalid": 0}
_ref_id = lines.ref_id


def _check(ctx: WriteContext) -> None:
    """The group is chosen once (open to the owner) and the stage starts at its first active stage;
    lines and totals are computed."""
    from . import stages

    p, values = ctx.principal, ctx.values
    if ctx.action == "create":
        groups = stages.groups(p.tenant_id)
        wanted = values.get("stage_group")
        g = stages.group(p.tenant_id, wanted) if wanted else next((g for g in groups if stages.open_to(p, g)), None)
        if g is None or not stages.open_to(p, g):
            raise ValidationFailed(details=[detail("stage_group", "invalid", "opportunity.group_closed")])
        first = next(s for s in g["stages"] if s.get("active", True))
        values.update(stage_group=g["id"], stage=first["id"], stage_name=first["name"], status="open",
                      stage_changed_at=clock.now_iso(), stage_history=[])
    elif values.get("stage_group") != (ctx.before or {}).get("stage_group"):
        raise ValidationFailed(details=[detail("stage_group", "fixed", "opportunity.group_fixed")])
    lines.price(ctx)


def _derive(dv: Derivation) -> dict[str, Any]:
    """The win rate of where the opportunity stands and the weighted amount."""
    from . import stages

    status = dv.data.get("status") or "open"
    if status in CLOSED_RATE:
        rate = Decimal(CLOSED_RATE[status])
    else:
        g = stages.group(dv.tenant_id, dv.data.get("stage_group"))
        s = stages.stage(g, dv.data.get("stage")) if g else None
        rate = Decimal(str(s["win_rate"])) if s else Decimal(0)
    amount = dv.data.get("amount")
    return {"win_rate": rate, "weighted_amount": None if amount is None else lines.money(Decimal(str(amount)) * rate / 100)}


# ---- the customer's figures -------------------------------------------------------------------------

def customer_ops(ctx: WriteContext, customer_id: str | None, this: dict[str, Any] | None) -> list[tx.Op] | None:
    """The customer's `open_opportunities` and `last_opportunity_at` with this opportunity as `this`
    (None: gone), stamped in the write's transaction ([] when they already say so; None when the
    customer is not in the table — yet, when a lead's conversion creates both)."""
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine

    if customer_id is None:
        return []
    tenant_id = ctx.principal.tenant_id
    own_id = ctx.record.id if ctx.record is not None else None
    try:
        customer = store.get(tenant_id, CUSTOMER.entity, customer_id, CUSTOMER.name_key)
    except NotFound:
        return None
    others = [{**plain(r.data or {}), "created_at": r.created_at} for r in store.collection(tenant_id, CUSTOMER.entity, customer_id)
              if r.entity == OPPORTUNITY.entity and not r.deleted_at and r.id != own_id]
    mine = [*others, *([this] if this is not None else [])]
    data = {**plain(customer.data or {}), "open_opportunities": sum(1 for o in mine if (o.get("status") or "open") == "open"),
            "last_opportunity_at": max((str(o["created_at"]) for o in mine), default=None)}
    current = plain(customer.data or {})
    if all(current.get(k) == data[k] for k in ("open_opportunities", "last_opportunity_at")):
        return []
    return engine.stamp_ops(CUSTOMER, ctx, customer, {k: v for k, v in data.items() if v is not None}, "opportunity")


def _this(ctx: WriteContext) -> dict[str, Any]:
    return {**ctx.values, "created_at": ctx.record.created_at if ctx.record is not None else clock.now_iso()}


def _restamp(ctx: WriteContext, customer_id: str | None, this: dict[str, Any] | None) -> None:
    """The customer's figures in a transaction of their own (after a commit)."""
    ops = customer_ops(ctx, customer_id, this)
    if ops:
        tx.write(ops)


def _stamp_customer(ctx: WriteContext) -> None:
    before = ctx.before or {}
    moved = ctx.action == "update" and _ref_id(before.get("customer")) != _ref_id(ctx.values.get("customer"))
    if ctx.action == "create" or moved:
        customer, this = _ref_id(ctx.values.get("customer")), _this(ctx)
        ops = customer_ops(ctx, customer, this)
        if ops is None:  # created in the same transaction (a lead's conversion): stamped once both exist
            ctx.then.append(lambda: _restamp(ctx, customer, this))
        else:
            ctx.extra_ops.extend(ops)


def _after_write(ctx: WriteContext) -> None:
    before = ctx.before or {}
    if ctx.action == "update" and _ref_id(before.get("customer")) != _ref_id(ctx.values.get("customer")):
        _restamp(ctx, _ref_id(before.get("customer")), None)  # the customer it left counts without it


def _on_delete(ctx: WriteContext) -> None:
    _restamp(ctx, _ref_id(ctx.values.get("customer")), None)


def _on_restore(ctx: WriteContext) -> None:
    _restamp(ctx, _ref_id(ctx.values.get("customer")), _this(ctx))


OPPORTUNITY = EntityDef(
    name="opportunity",
    module="opportunities",
    label=("商机", "Opportunity"),
    path="/opportunities",
    title_field="name",
    card_fields=("customer", "stage_name", "amount"),
    actions=ACTIONS,
    parent_field="customer",
    parent_cascade=("transfer", "delete"),
    fields=(
        F("name", "text", ("商机名称", "Name"), required=True, max_length=100, searchable=True),
        F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
        F("contact", "reference", ("联系人", "Contact"), entity="contact"),
        F("stage_group", "text", ("商机组", "Stage group"), max_length=40,
          description="a stage group open to the owner (default: the first one); fixed once created"),
        F("stage", "text", ("阶段", "Stage"), readonly=True, description="moves with POST /v1/opportunities/{id}/stage"),
        F("stage_name", "text", ("阶段名称", "Stage name"), readonly=True),
        F("status", "select", ("状态", "Status"), readonly=True, default="open", options=STATUSES,
          description="won / lost / invalid with POST …/close, open again with POST …/reopen"),
        F("win_rate", "percent", ("赢率", "Win rate"), readonly=True),
        F("amount", "money", ("预计成交金额", "Expected amount"),
          description="with product lines: their total less the order discount (computed)"),
        F("weighted_amount", "money", ("加权金额", "Weighted amount"), readonly=True, description="amount × win rate"),
        F("expected_close_date", "date", ("预计成交日期", "Expected close date")),
        lines.field(),
        F("lines_total", "money", ("产品合计", "Products total"), readonly=True),
        F("discount_rate", "percent", ("整单折扣", "Order discount"), description="% off the products total"),
        F("loss_reason", "select", ("输单原因", "Loss reason"), readonly=True, dictionary="loss_reason"),
        F("closed_at", "datetime", ("结束时间", "Closed at"), readonly=True),
        F("stage_changed_at", "datetime", ("进入当前阶段", "In this stage since"), readonly=True),
        F("stage_history", "table", ("阶段记录", "Stage history"), readonly=True, columns=(
            F("from_stage", "text", ("原阶段", "From")),
            F("to_stage", "text", ("新阶段", "To")),
            F("by", "user", ("操作人", "By")),
            F("at", "datetime", ("时间", "At")),
            F("days_in_stage", "decimal", ("停留天数", "Days in the stage left")),
            F("note", "text", ("说明", "Note"), max_length=500),
        )),
        F("lead", "reference", ("来源线索", "From lead"), entity="lead", readonly=True),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
    ),
    hooks=Hooks(validate=_check, before_write=_stamp_customer, after_write=_after_write, on_delete=_on_delete,
                on_restore=_on_restore, derive=_derive),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": tuple(a for a in ACTIONS if a != "manage"), "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer", "team"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department"},
    },
)


def conversion_step(p: Any, lead: Any, customer_id: str, options: dict[str, Any], r: Any) -> list[Any]:
    """A lead's conversion may also create an opportunity of the new (or chosen) customer, committed
    with it (leads.service.register_step)."""
    from ..engine import service as engine

    given = options.get("opportunity")
    if not given:
        return []
    body = {**{k: v for k, v in given.items() if v is not None}, "customer": customer_id,
            "owner_id": options.get("owner_id") or lead.owner_id}
    try:
        wc, custom, owner_id = engine.checked(OPPORTUNITY, p, body, r)
    except ValidationFailed as e:  # named as the conversion's part: opportunity.amount …
        if isinstance(e.details, list):
            e.details = [{**x, "field": f"opportunity.{x['field']}"} for x in e.details]
        raise
    wc.values["lead"] = {"entity": "lead", "id": lead.id}
    return [engine.built(OPPORTUNITY, p, wc, custom, owner_id)]
