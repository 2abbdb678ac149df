"""Payment plans (回款计划) and payments (回款, SALES-11) against approved contracts.

Money never goes over what was contracted, also under concurrency: every payment that is not
rejected or withdrawn (a draft, one in review, an approved one) reserves its amount on its
contract (`reserved_amount`), in the same transaction as the payment's create, edit, delete or
restore and as each approval decision — applied as a difference to the contract's stored figure,
version-checked on the contract as it was read (a concurrent payment makes the write retry on the
fresh contract), and refused (422 PAYMENT_OVER_CONTRACT) when it would pass the contract amount,
unless the contract allows over-payment (`allow_overpayment`), which the payment then records
(`overpayment`). An approved payment moves its amount to the contract's `received_amount` (and
`outstanding_amount` = amount − received) and to its plan's `received_amount`, in the decision's
transaction. A plan's status is 待回款 / 部分回款 / 已回款, or 已逾期 after its due date — a timer per
plan flips it on the day (no daily scan) —, and its owner is reminded 3 days before it is due.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..contracts import figures
from ..core import clock
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, Features, Hooks, Timer, WriteContext, approval_fields, lazy
from ..engine.fieldtypes import FieldSpec as F
from ..products.lines import money, ref_id

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")
PLAN_STATUSES = (("pending", "待回款", "Due"), ("partial", "部分回款", "Partly paid"), ("done", "已回款", "Paid"),
                 ("overdue", "已逾期", "Overdue"))
RESERVING = ("none", "pending", "approved")  # approval statuses whose amount counts against the contract
ROLES = {
    "admin": {"actions": ACTIONS, "scope": "all"},
    "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
    "sales_rep": {"actions": ("create", "update", "list", "read"), "scope": "self"},
    "service_agent": {"actions": ("list", "read"), "scope": "department"},
}


_dec = figures.dec
RESERVED = figures.Figure("reserved_amount", "PAYMENT_OVER_CONTRACT", "payment.over_contract", "payment.contract_not_in_force",
                          allowed_over="allow_overpayment")


def _contract(tenant_id: str, values: dict[str, Any]) -> store.EntityRecord:
    return figures.contract_of(tenant_id, values)


def reserve_ops(p: Principal, tenant_id: str, values: dict[str, Any], delta: Decimal, received: Decimal = Decimal(0),
                action: str = "payment") -> tuple[list[tx.Op], Decimal]:
    """The contract's figures moved by a payment — `delta` more (or less) reserved, `received` more
    received — version-checked on the contract as read now, refused past the amount unless the
    contract allows over-payment (contracts/figures.py); and how far the reservation then is over
    the amount (≥ 0)."""
    return figures.reserve_ops(p, tenant_id, values, RESERVED, delta, received=received, action=action)


def _plan_ops(p: Principal, tenant_id: str, values: dict[str, Any], received: Decimal) -> list[tx.Op]:
    from ..engine import service as engine

    plan_id = ref_id(values.get("plan"))
    if plan_id is None or not received:
        return []
    try:
        plan = store.get(tenant_id, PLAN.entity, plan_id, PLAN.name_key, consistent=True)
    except NotFound:
        return []
    data = plain(plan.data or {})
    new = {**data, "received_amount": money(_dec(data.get("received_amount")) + received)}
    return engine.stamp_ops(PLAN, WriteContext(p, PLAN, plan, "update", new, data), plan, new, "payment_approved")


# ---- payments -------------------------------------------------------------------------------------------

def _check_payment(ctx: WriteContext) -> None:
    """A payment belongs to a contract in force (approved, not terminated or void), and its plan (if
    any) to the same contract; an approved or in-review payment does not change."""
    values = ctx.values
    contract = _contract(ctx.principal.tenant_id, values)
    if ctx.action == "create" or ref_id((ctx.before or {}).get("contract")) != ref_id(values.get("contract")):
        figures.require_in_force(contract, RESERVED)
    plan_id = ref_id(values.get("plan"))
    if plan_id is not None:
        try:
            plan = store.get(ctx.principal.tenant_id, PLAN.entity, plan_id, PLAN.name_key)
        except NotFound:
            raise ValidationFailed(details=[detail("plan", "not_found", "field.reference")]) from None
        if ref_id((plan.data or {}).get("contract")) != contract.id:
            raise ValidationFailed(details=[detail("plan", "invalid", "payment.plan_other_contract")])
    if ctx.action == "update" and (ctx.before or {}).get("approval_status") == "approved":
        raise ValidationFailed("INVALID_STATE", reason="approval.status.approved")
    if ref_id((ctx.before or {}).get("contract")) not in (None, contract.id):
        raise ValidationFailed(details=[detail("contract", "fixed", "payment.contract_fixed")])
    data = contract.data or {}  # the part beyond the contract amount, where the contract allows it, is recorded
    over = _dec(data.get("reserved_amount")) + _reserving(values) - _reserving(ctx.before) - _dec(data.get("amount"))
    values["overpayment"] = money(min(over, _dec(values.get("amount")))) if over > 0 and data.get("allow_overpayment") else None


def _reserving(values: dict[str, Any] | None) -> Decimal:
    if not values or (values.get("approval_status") or "none") not in RESERVING:
        return Decimal(0)
    return _dec(values.get("amount"))


def _reserve(ctx: WriteContext) -> None:
    """Create or edit: the difference it makes to its contract's reservation, in this transaction."""
    delta = _reserving(ctx.values) - _reserving(ctx.before if ctx.action == "update" else None)
    ops, _over = reserve_ops(ctx.principal, ctx.principal.tenant_id, ctx.values, delta)
    ctx.extra_ops.extend(ops)


def _give_back(ctx: WriteContext) -> None:
    """A deleted payment gives its reservation back, in the delete's transaction."""
    ops, _over = reserve_ops(ctx.principal, ctx.principal.tenant_id, ctx.values, -_reserving(ctx.values), action="payment_deleted")
    ctx.extra_ops.extend(ops)


def _take_again(ctx: WriteContext) -> None:
    """A restored payment reserves its amount again, in the restore's transaction (refused past the amount)."""
    ops, _over = reserve_ops(ctx.principal, ctx.principal.tenant_id, ctx.values, _reserving(ctx.values), action="payment_restored")
    ctx.extra_ops.extend(ops)


def _on_approval(tenant_id: str, rec: Any, before: str, status: str, actor: str) -> list[tx.Op]:
    """A decision moves the contract's (and plan's) figures in its own transaction: approved → received;
    rejected or withdrawn → no longer reserved; submitted again → reserved again (within the amount)."""
    from ..org import service as org

    values = plain(rec.data or {})
    p = Principal(tenant_id, actor, org.load(tenant_id).snapshot)
    amount = _dec(values.get("amount"))
    was, now = before in RESERVING, status in RESERVING
    delta = amount if now and not was else -amount if was and not now else Decimal(0)
    received = amount if status == "approved" else Decimal(0)
    ops, _over = reserve_ops(p, tenant_id, values, delta, received, action=f"payment_{status}")
    return [*ops, *_plan_ops(p, tenant_id, values, received)]


PAYMENT = EntityDef(
    name="payment",
    module="payments",
    label=("回款", "Payment"),
    path="/payments",
    title_field="number",
    card_fields=("contract", "amount", "paid_on"),
    actions=ACTIONS,
    parent_field="contract",
    parent_cascade=("transfer",),
    features=Features(numbering="payment", number_field="number", approval="payment"),
    fields=(
        F("number", "text", ("回款编号", "Number"), readonly=True, searchable=True),
        F("contract", "reference", ("合同", "Contract"), required=True, entity="contract"),
        F("plan", "reference", ("回款计划", "Plan"), entity="payment_plan"),
        F("amount", "money", ("回款金额", "Amount"), required=True, min=Decimal("0.01")),
        F("paid_on", "date", ("回款日期", "Paid on"), required=True),
        F("method", "select", ("回款方式", "Method"), dictionary="payment_method"),
        F("overpayment", "money", ("超额部分", "Over the contract"), readonly=True,
          description="the part beyond the contract amount (only where the contract allows over-payment)"),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000),
        *approval_fields(),
    ),
    hooks=Hooks(validate=_check_payment, before_write=_reserve, before_delete=_give_back, before_restore=_take_again,
                on_approval=_on_approval),
    role_defaults=ROLES,
)


# ---- payment plans -----------------------------------------------------------------------------------------

def plan_status(data: dict[str, Any], today: str) -> str:
    received, amount = _dec(data.get("received_amount")), _dec(data.get("amount"))
    if amount and received >= amount:
        return "done"
    if data.get("due_date") and str(data["due_date"]) < today:
        return "overdue"
    return "partial" if received > 0 else "pending"


def _derive_plan(dv: Derivation) -> dict[str, Any]:
    return {"status": plan_status(dict(dv.data), clock.local_today(get_settings().default_timezone))}


def _check_plan(ctx: WriteContext) -> None:
    if ctx.action == "create" or ref_id((ctx.before or {}).get("contract")) != ref_id(ctx.values.get("contract")):
        _contract(ctx.principal.tenant_id, ctx.values)  # a contract the plan may point at (any state: plans come first)


def overdue_at(values: dict[str, Any]) -> str | None:
    """The moment a plan becomes overdue: the start of the day after its due date (UTC+8), while it is not paid."""
    due = values.get("due_date")
    if not due or values.get("status") in ("done", "overdue"):
        return None
    return clock.day_after(str(due), get_settings().default_timezone)


def fire_overdue(d: EntityDef, rec: Any, at: str) -> bool:
    from ..engine import service as engine

    return engine.rederive(d, rec, "overdue")


PLAN = EntityDef(
    name="payment_plan",
    module="payments",
    label=("回款计划", "Payment plan"),
    path="/payment-plans",
    title_field="title",
    card_fields=("contract", "amount", "due_date", "status"),
    actions=ACTIONS,
    parent_field="contract",
    parent_cascade=("transfer", "delete"),
    fields=(
        F("title", "text", ("期次", "Installment"), required=True, max_length=60, searchable=True, description="第一期 …"),
        F("contract", "reference", ("合同", "Contract"), required=True, entity="contract"),
        F("amount", "money", ("计划金额", "Amount"), required=True, min=Decimal("0.01")),
        F("due_date", "date", ("计划回款日期", "Due on"), required=True, remind_days_before=3,
          description="reminds the owner 3 days before"),
        F("method", "select", ("回款方式", "Method"), dictionary="payment_method"),
        F("received_amount", "money", ("已回款", "Received"), readonly=True),
        F("status", "select", ("状态", "Status"), readonly=True, options=PLAN_STATUSES),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000),
    ),
    hooks=Hooks(validate=_check_plan, derive=_derive_plan),
    timers=(Timer("overdue", overdue_at, lazy("chalicelib.payments.entity", "fire_overdue")),),
    role_defaults=ROLES,
)
