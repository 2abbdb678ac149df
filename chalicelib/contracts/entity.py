"""Contracts / orders (合同/订单, SALES-10): what a customer signed, numbered by the tenant's numbering
rule and approved through the approval engine before it counts.

- Number (合同编号) drawn from the `contract` numbering rule on create; customer, opportunity,
  signers on both sides (the customer's contact, our user), sign / start / end dates, product
  lines priced as on opportunities (products/lines.py), order discount and amount.
- Approval: `POST /v1/contracts/{id}/submit` sends it to the tenant's enabled flow of business
  type `contract` (a real Step Functions execution); `approval_status` follows the instance in
  the decision's own transaction (未提交 → 审核中 → 已通过 / 已拒绝 / 已撤回). An approved
  contract makes its customer a deal (成交: `deal_status` closed), in the same transaction.
- After approval the contract's terms (customer, amount, lines, dates, signers) are changed only
  through a change request: `POST …/change` applies the new terms and sends the contract back
  to approval at once (变更, logged with the terms before and after); other fields edit freely.
- `POST …/terminate` (终止, approved contracts), `POST …/void` (作废, with a reason; history kept),
  `POST …/renew` (续签: a new draft contract with the same customer, lines and terms for the next
  period, linked by `renewal_of`). A terminated or voided contract changes no more.
- `end_date` reminds the owner 30 days before it (合同到期提醒), a real Scheduler schedule.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from ..core.errors import ValidationFailed, detail
from ..core.permissions import Principal
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, Features, Hooks, WriteContext, approval_fields
from ..engine.fieldtypes import FieldSpec as F
from ..products import lines

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export", "print",
           "manage")  # manage: the deal rules (contracts/settings.py)
STATES = (("normal", "正常", "In force"), ("terminated", "已终止", "Terminated"), ("voided", "已作废", "Void"))
TERMS = ("customer", "opportunity", "customer_signer", "company_signer", "sign_date", "start_date", "end_date", "lines",
         "discount_rate", "amount")  # what an approved contract changes only by a change request
EXPIRY_DAYS = 30


_CHANGE_REQUEST: ContextVar[bool] = ContextVar("contract_change_request", default=False)


@contextmanager
def change_request() -> Iterator[None]:
    """Within it, an update may change an approved contract's terms: it goes back to approval (未提交
    until submitted again, which the change request does at once)."""
    token = _CHANGE_REQUEST.set(True)
    try:
        yield
    finally:
        _CHANGE_REQUEST.reset(token)


def _check(ctx: WriteContext) -> None:
    """Terms of an approved contract change only by a change request; a terminated or voided one not
    at all; lines are priced and the amount computed."""
    before = ctx.before or {}
    if ctx.action == "update":
        if before.get("state") in ("terminated", "voided"):
            raise ValidationFailed("INVALID_STATE", reason=f"contract.state.{before['state']}")
        lines.price(ctx)
        changed = [k for k in TERMS if plain(before.get(k)) != plain(ctx.values.get(k))]
        taken = max((Decimal(str(before.get(k) or 0)) for k in ("reserved_amount", "received_amount", "invoiced_amount")),
                    default=Decimal(0))
        if "amount" in changed and ctx.values.get("amount") is not None and Decimal(str(ctx.values["amount"])) < taken:
            raise ValidationFailed(details=[detail("amount", "below_taken", "contract.amount_below_taken", amount=str(lines.money(taken)))])
        if changed and before.get("approval_status") == "approved":
            if not _CHANGE_REQUEST.get():
                raise ValidationFailed(details=[detail(k, "approved", "contract.change_needed") for k in changed])
            ctx.values["approval_status"] = "none"  # the new terms need an approval of their own
    else:
        ctx.values["state"] = "normal"
        lines.price(ctx)
    if ctx.values.get("amount") is None:
        raise ValidationFailed(details=[detail("amount", "missing", "contract.amount_needed")])


def _derive(dv: Derivation) -> dict[str, Any]:
    amount = dv.data.get("amount")
    if amount is None:
        return {"outstanding_amount": None}
    return {"outstanding_amount": lines.money(Decimal(str(amount)) - Decimal(str(dv.data.get("received_amount") or 0)))}


def open_receivables(tenant_id: str, customer_id: str, without: str | None = None) -> Decimal:
    """未回款 of a customer's contracts in force that are approved or in review (amount − received,
    never below 0; counting those in review keeps two contracts submitted one after the other from
    both passing the limit): one Query of the customer's related records."""
    total = Decimal(0)
    for rec in store.collection(tenant_id, "CUSTOMER", customer_id):
        data = rec.data or {}
        if rec.entity != "CONTRACT" or rec.deleted_at or rec.id == without:
            continue
        if data.get("approval_status") in ("approved", "pending") and (data.get("state") or "normal") == "normal":
            total += max(Decimal(str(data.get("amount") or 0)) - Decimal(str(data.get("received_amount") or 0)), Decimal(0))
    return lines.money(total)


_GUARD: ContextVar[tuple[str, str, int] | None] = ContextVar("contract_credit_guard", default=None)


def _guard_seq(tenant_id: str, customer_id: str) -> int:
    from .models import CreditGuard

    try:
        return int(CreditGuard.get(*CreditGuard.key(tenant_id, customer_id), consistent_read=True).seq)
    except CreditGuard.DoesNotExist:
        return 0


def _guard_ops(tenant_id: str, rec: Any, status: str) -> list[tx.Op]:
    """The submit that passed the credit check moves the customer's guard on, conditioned on what it
    read before counting: a submit that counted alongside another one gets 409 and counts again."""
    from ..core.errors import Conflict
    from .models import CreditGuard

    guard = _GUARD.get()
    if guard is None or status != "pending" or guard[0] != rec.id:
        return []
    _GUARD.set(None)
    _, customer_id, seq = guard
    item = CreditGuard(*CreditGuard.key(tenant_id, customer_id), tenant_id=tenant_id, seq=seq + 1)
    condition = CreditGuard.seq == seq if seq else CreditGuard.pk.does_not_exist()
    return [tx.put(item, condition=condition, on_conflict=lambda: Conflict("CREDIT_CHECK_RACED"))]


def _submit_as(p: Principal, rec: Any) -> str:
    """信用额度控制: a contract that would take its customer's open receivables over the credit limit
    is refused or goes to the special flow, as the tenant's deal rules say (contracts/settings.py)."""
    from . import settings

    usual = CONTRACT.features.approval or "contract"
    rules = settings.rules(p.tenant_id)
    customer_id = lines.ref_id((rec.data or {}).get("customer"))
    if rules["credit_control"] == "off" or customer_id is None:
        return usual
    try:
        customer = plain(store.get(p.tenant_id, "CUSTOMER", customer_id, "entity.customer").data or {})
    except Exception:  # noqa: BLE001 - a customer deleted meanwhile: nothing to check against
        return usual
    if customer.get("credit_limit") is None:
        return usual
    seq = _guard_seq(p.tenant_id, customer_id)  # read before counting (see _guard_ops)
    limit, open_ = Decimal(str(customer["credit_limit"])), open_receivables(p.tenant_id, customer_id, without=rec.id)
    amount = Decimal(str((rec.data or {}).get("amount") or 0))
    if open_ + amount <= limit:
        _GUARD.set((rec.id, customer_id, seq))
        return usual
    if rules["credit_control"] == "block":
        from ..customers.entity import CUSTOMER
        from ..engine import visibility

        readable = visibility.some(p, CUSTOMER, customer, ("credit_limit",)).get("credit_limit") == customer["credit_limit"]
        figures = [detail("amount", "credit_limit", "contract.credit_limit", limit=str(lines.money(limit)),
                          amount=str(lines.money(amount)))] if readable else []  # the limit only for who may read it; never
        # the open receivables, which sum contracts of other sellers
        raise ValidationFailed("CREDIT_LIMIT_EXCEEDED", details=figures)
    _GUARD.set((rec.id, customer_id, seq))
    return str(rules["credit_flow"])


def _on_approval(tenant_id: str, rec: Any, _before: str, status: str, actor: str) -> list[tx.Op]:
    """An approved contract makes its customer a deal (成交), in the decision's transaction."""
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine
    from ..org import service as org

    guard = _guard_ops(tenant_id, rec, status)
    customer_id = lines.ref_id((rec.data or {}).get("customer"))
    if status != "approved" or customer_id is None:
        return guard
    try:
        customer = store.get(tenant_id, CUSTOMER.entity, customer_id, CUSTOMER.name_key)
    except Exception:  # noqa: BLE001 - a customer deleted meanwhile: the contract still passes
        return []
    data = plain(customer.data or {})
    if data.get("deal_status") == "closed":
        return []
    p = Principal(tenant_id, actor, org.load(tenant_id).snapshot)
    wc = WriteContext(p, CUSTOMER, customer, "update", data, data)
    return engine.stamp_ops(CUSTOMER, wc, customer, {**data, "deal_status": "closed"}, "contract_approved")


CONTRACT = EntityDef(
    name="contract",
    module="contracts",
    label=("合同", "Contract"),
    path="/contracts",
    title_field="name",
    card_fields=("number", "customer", "amount"),
    actions=ACTIONS,
    parent_field="customer",
    parent_cascade=("transfer",),
    rolls_up=True,  # the customer's 360 shows its payment plans, payments and invoices
    features=Features(numbering="contract", number_field="number", approval="contract"),
    fields=(
        F("number", "text", ("合同编号", "Number"), readonly=True, searchable=True),
        F("name", "text", ("合同名称", "Name"), required=True, max_length=100, searchable=True),
        F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
        F("opportunity", "reference", ("商机", "Opportunity"), entity="opportunity"),
        F("customer_signer", "reference", ("客户签约人", "Customer signer"), entity="contact"),
        F("company_signer", "user", ("公司签约人", "Our signer")),
        F("sign_date", "date", ("签约日期", "Signed on")),
        F("start_date", "date", ("开始日期", "Starts on")),
        F("end_date", "date", ("结束日期", "Ends on"), remind_days_before=EXPIRY_DAYS,
          description=f"reminds the owner {EXPIRY_DAYS} days before (合同到期提醒)"),
        lines.field(),
        F("lines_total", "money", ("产品合计", "Products total"), readonly=True),
        F("discount_rate", "percent", ("整单折扣", "Order discount"), description="% off the products total"),
        F("amount", "money", ("合同金额", "Amount"), description="with product lines: their total less the order discount (computed)"),
        F("payment_terms", "textarea", ("付款方式", "Payment terms"), max_length=2000),
        F("allow_overpayment", "boolean", ("允许超额回款", "Over-payment allowed"), default=False,
          description="payments beyond the amount are refused unless set; each over-payment is recorded on its payment"),
        F("reserved_amount", "money", ("已登记回款", "Payments recorded"), readonly=True,
          description="payments not rejected or withdrawn (draft, in review, approved)"),
        F("received_amount", "money", ("已回款", "Received"), readonly=True, description="approved payments"),
        F("outstanding_amount", "money", ("未回款", "Outstanding"), readonly=True, description="amount − received"),
        F("invoiced_amount", "money", ("已申请开票", "Invoiced"), readonly=True,
          description="invoice requests not rejected, withdrawn or voided (draft, in review, approved, issued)"),
        F("state", "select", ("合同状态", "State"), readonly=True, default="normal", options=STATES),
        F("state_reason", "text", ("终止/作废原因", "Why terminated or void"), readonly=True),
        F("state_changed_at", "datetime", ("终止/作废时间", "Terminated or void at"), readonly=True),
        F("renewal_of", "reference", ("续签自", "Renews"), entity="contract", readonly=True),
        F("quote", "reference", ("来源报价单", "From quote"), entity="quote", readonly=True),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
        *approval_fields(),
    ),
    rules=({"kind": "range", "start": "start_date", "end": "end_date"},),
    hooks=Hooks(validate=_check, on_approval=_on_approval, derive=_derive, submit_as=_submit_as),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": tuple(a for a in ACTIONS if a != "manage"), "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "print"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department"},
    },
)
