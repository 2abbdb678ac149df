"""Invoices (发票, SALES-12): invoice requests (开票申请) against approved contracts in force, approved
through the approval engine (business type `invoice`), then issued (开票) and, when needed, voided
(作废 / 红冲).

- A request names its contract; its customer is the contract's (read-only). Type 增值税普通发票
  (`normal`, 普票) or 增值税专用发票 (`special`, 专票); title (抬头, the customer's name unless given),
  tax number (纳税人识别号: 15, 18 or 20 digits or upper-case letters), bank and account (开户行/账号),
  registered address and phone — a 专票 needs all five (one 422 detail per missing field) —, amount,
  content and remark. Numbered by the tenant's `invoice` numbering rule (FP…).
- Money never goes over the contract: every request that is not rejected, withdrawn or voided (a draft,
  one in review, an approved one, an issued invoice) reserves its amount on the contract's read-only
  `invoiced_amount`, in the same transaction as its create, edit, delete, restore, void and each approval
  decision (contracts/figures.py: version-checked on the contract, so also under concurrency); a request
  that would pass the contract amount is refused (422 INVOICE_OVER_CONTRACT with the amount still allowed).
- `invoice_status`: 申请中 (`requested`: draft and in review) → 已开票 (`issued`, by a role with the
  `issue` action: invoice number unique in the tenant, date) → 已作废 (`voided`, with a reason; gives the
  amount back). An approved request or an issued invoice is not edited or deleted: it is voided.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..contracts import figures
from ..core.errors import Forbidden, NotFound, Problem, ValidationFailed, detail
from ..core.permissions import Principal
from ..db import tx
from ..db.base import plain
from ..engine.definition import EntityDef, Features, Hooks, WriteContext, approval_fields
from ..engine.fieldtypes import FieldSpec as F
from ..products.lines import ref_id

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export", "issue")
TYPES = (("normal", "增值税普通发票", "VAT general invoice (普票)"), ("special", "增值税专用发票", "VAT special invoice (专票)"))
STATUSES = (("requested", "申请中", "Requested"), ("issued", "已开票", "Issued"), ("voided", "已作废", "Void"))
SPECIAL_NEEDS = ("tax_number", "bank", "bank_account", "registered_address", "registered_phone")  # what a 专票 must carry
RESERVING = ("none", "pending", "approved")  # approval statuses whose amount counts against the contract (unless voided)
TAX_NUMBER = re.compile(r"^(?:[0-9A-Z]{15}|[0-9A-Z]{18}|[0-9A-Z]{20})$")
INVOICED = figures.Figure("invoiced_amount", "INVOICE_OVER_CONTRACT", "invoice.over_contract", "invoice.contract_not_in_force")


def reserving(values: dict[str, Any] | None) -> Decimal:
    """What a request holds of its contract's amount: its amount unless rejected, withdrawn or voided."""
    if not values or (values.get("approval_status") or "none") not in RESERVING or values.get("invoice_status") == "voided":
        return Decimal(0)
    return figures.dec(values.get("amount"))


def reserve_ops(p: Principal, values: dict[str, Any], delta: Decimal, action: str) -> list[tx.Op]:
    """The contract's `invoiced_amount` moved by `delta`, in the caller's transaction (refused past the amount)."""
    ops, _over = figures.reserve_ops(p, p.tenant_id, values, INVOICED, delta, action=action)
    return ops


def state_error(values: dict[str, Any]) -> ValidationFailed | None:
    """Why a request cannot be edited or deleted any more (issued, voided or approved: void it instead)."""
    status = values.get("invoice_status") or "requested"
    if status != "requested":
        return ValidationFailed("INVALID_STATE", reason=Problem(f"invoice.status.{status}"))
    if values.get("approval_status") == "approved":
        return ValidationFailed("INVALID_STATE", reason=Problem("invoice.approved_void_instead"))
    return None


def _prefill(p: Principal, values: dict[str, Any], customer_id: str) -> None:
    """The title (抬头) is the customer's name unless given (when the caller may read the customer)."""
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine

    if values.get("title"):
        return
    try:
        customer = engine.load(CUSTOMER, p, customer_id, "read")
    except (NotFound, Forbidden):  # not the caller's to read (or gone): nothing to prefill
        return
    if (customer.data or {}).get("name"):
        values["title"] = str(customer.data["name"])


def _check(ctx: WriteContext) -> None:
    """A request against a contract in force, for its customer, with a well-formed tax number and a
    title; an issued, voided or approved one is not edited."""
    values, before = ctx.values, ctx.before or {}
    if ctx.action == "update":
        refused = state_error(before)
        if refused is not None:
            raise refused
        if ref_id(before.get("contract")) != ref_id(values.get("contract")):
            raise ValidationFailed(details=[detail("contract", "fixed", "invoice.contract_fixed")])
    contract = figures.contract_of(ctx.principal.tenant_id, values)
    if ctx.action == "create":
        figures.require_in_force(contract, INVOICED)
        values["invoice_status"] = "requested"
    customer = (contract.data or {}).get("customer")
    customer_id = ref_id(plain(customer))
    if customer_id:
        values["customer"] = {"entity": "customer", "id": customer_id}
        _prefill(ctx.principal, values, customer_id)
    problems = []
    if not values.get("title"):
        problems.append(detail("title", "missing", "field.required", label=INVOICE.field("title").label_in(_locale())))
    if values.get("tax_number"):
        values["tax_number"] = str(values["tax_number"]).strip().upper()
        if not TAX_NUMBER.match(values["tax_number"]):
            problems.append(detail("tax_number", "invalid", "invoice.tax_number_format"))
    if problems:
        raise ValidationFailed(details=problems)


def _locale() -> str:
    from ..core.context import locale

    return locale()


def _reserve(ctx: WriteContext) -> None:
    """Create or edit: the difference it makes to its contract's invoiced amount, in this transaction."""
    delta = reserving(ctx.values) - reserving(ctx.before if ctx.action == "update" else None)
    ctx.extra_ops.extend(reserve_ops(ctx.principal, ctx.values, delta, "invoice"))


def _give_back(ctx: WriteContext) -> None:
    """Delete: an approved request or an issued invoice is voided instead; a draft gives its amount back."""
    refused = state_error(ctx.values) if ctx.values.get("invoice_status") != "voided" else None
    if refused is not None:
        raise refused
    ctx.extra_ops.extend(reserve_ops(ctx.principal, ctx.values, -reserving(ctx.values), "invoice_deleted"))


def _take_again(ctx: WriteContext) -> None:
    ctx.extra_ops.extend(reserve_ops(ctx.principal, ctx.values, reserving(ctx.values), "invoice_restored"))


def _on_approval(tenant_id: str, rec: Any, before: str, status: str, actor: str) -> list[tx.Op]:
    """A decision moves the contract's invoiced amount in its own transaction: rejected or withdrawn →
    given back; submitted again → reserved again (within the amount)."""
    from ..org import service as org

    values = plain(rec.data or {})
    if values.get("invoice_status") == "voided":
        return []
    amount = figures.dec(values.get("amount"))
    was, now = before in RESERVING, status in RESERVING
    delta = amount if now and not was else -amount if was and not now else Decimal(0)
    if not delta:
        return []
    p = Principal(tenant_id, actor, org.load(tenant_id).snapshot)
    return reserve_ops(p, values, delta, f"invoice_{status}")


INVOICE = EntityDef(
    name="invoice",
    module="invoices",
    label=("发票", "Invoice"),
    path="/invoices",
    title_field="number",
    card_fields=("title", "amount", "invoice_status"),
    actions=ACTIONS,
    parent_field="contract",
    parent_cascade=("transfer",),
    features=Features(numbering="invoice", number_field="number", approval="invoice"),
    fields=(
        F("number", "text", ("开票申请编号", "Request number"), readonly=True, searchable=True),
        F("contract", "reference", ("合同", "Contract"), required=True, entity="contract"),
        F("customer", "reference", ("客户", "Customer"), readonly=True, entity="customer", description="the contract's customer"),
        F("invoice_type", "select", ("发票类型", "Invoice type"), required=True, default="normal", options=TYPES),
        F("title", "text", ("发票抬头", "Title"), max_length=100, searchable=True, description="default: the customer's name"),
        F("tax_number", "text", ("纳税人识别号", "Taxpayer ID"), max_length=20, searchable=True,
          description="15, 18 or 20 digits or upper-case letters"),
        F("bank", "text", ("开户行", "Bank"), max_length=100),
        F("bank_account", "text", ("银行账号", "Bank account"), max_length=40),
        F("registered_address", "text", ("注册地址", "Registered address"), max_length=200),
        F("registered_phone", "phone", ("注册电话", "Registered phone")),
        F("amount", "money", ("开票金额", "Amount"), required=True, min=Decimal("0.01"),
          description="with the contract's other requests, at most the contract amount"),
        F("content", "text", ("开票内容", "Content"), max_length=200, description="e.g. 软件服务费"),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000),
        F("invoice_status", "select", ("开票状态", "Invoice status"), readonly=True, default="requested", options=STATUSES),
        F("invoice_number", "text", ("发票号码", "Invoice number"), readonly=True, unique=True, searchable=True,
          description="unique in the tenant; set when issued"),
        F("invoice_date", "date", ("开票日期", "Invoiced on"), readonly=True),
        F("issued_by", "user", ("开票人", "Issued by"), readonly=True),
        F("issued_at", "datetime", ("开票时间", "Issued at"), readonly=True),
        F("void_reason", "text", ("作废原因", "Why void"), readonly=True, max_length=200),
        F("voided_by", "user", ("作废人", "Voided by"), readonly=True),
        F("voided_at", "datetime", ("作废时间", "Voided at"), readonly=True),
        *approval_fields(),
    ),
    rules=tuple({"kind": "required_if", "field": k, "when": "invoice_type", "equals": "special"} for k in SPECIAL_NEEDS),
    hooks=Hooks(validate=_check, before_write=_reserve, before_delete=_give_back, before_restore=_take_again,
                on_approval=_on_approval),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": tuple(a for a in ACTIONS if a != "issue"), "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department"},
    },
)

