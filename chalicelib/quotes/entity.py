"""Quotes (报价, SALES-9): what we offer a customer — product lines priced as on opportunities and
contracts (products/lines.py), valid until a date, with terms — sent, then accepted or declined,
and an accepted quote converted into a draft contract.

- Numbered by the tenant's `quote` numbering rule (报价单编号). Created from an opportunity (its
  customer, product lines and order discount are taken when the quote gives no lines of its own)
  or on its own for a customer.
- `discount` (让利 %) is how far the amount is below the lines at list prices; the tenant's deal
  rules (contracts/settings.py) set the threshold above which a quote is sent only once approved
  (business type `quote`, a real Step Functions execution; the template 报价折扣审批 branches on
  `discount`). At or below the threshold no approval is needed.
- `quote_status`: 草稿 → 已发送 (`POST …/send`) → 已接受 / 已拒绝 (`POST …/accept`, `…/decline`: the
  customer's answer) → 已转合同 (`POST …/convert`: a draft contract with the quote's customer,
  opportunity, lines, order discount and terms, linked both ways, in one transaction). A draft or
  sent quote past its `valid_until` day is 已过期 (a Scheduler timer flips it on the day after).
  Terms change only while the quote is a draft, declined or expired; a change makes it a draft
  again and an approval it had no longer holds.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..core import clock
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.settings import get_settings
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, Features, Hooks, Timer, WriteContext, approval_fields, rederives
from ..engine.fieldtypes import FieldSpec as F
from ..products import lines

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export", "print")
STATUSES = (("draft", "草稿", "Draft"), ("sent", "已发送", "Sent"), ("accepted", "已接受", "Accepted"),
            ("declined", "已拒绝", "Declined"), ("expired", "已过期", "Expired"), ("converted", "已转合同", "Converted"))
TERMS = ("customer", "opportunity", "contact", "valid_until", "lines", "discount_rate", "amount", "terms")
EDITABLE_IN = ("draft", "declined", "expired")  # quote statuses whose terms may change
LAPSING = ("draft", "sent")  # statuses a passed valid_until turns into expired


def _opportunity(tenant_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
    opportunity_id = lines.ref_id(values.get("opportunity"))
    if opportunity_id is None:
        return None
    try:
        return plain(store.get(tenant_id, "OPPORTUNITY", opportunity_id, "entity.opportunity").data or {})
    except NotFound:
        raise ValidationFailed(details=[detail("opportunity", "not_found", "field.reference")]) from None


def _from_opportunity(ctx: WriteContext) -> None:
    """A quote of an opportunity is for the opportunity's customer and, without lines of its own,
    offers the opportunity's products (priced again now) with its order discount."""
    opp = _opportunity(ctx.principal.tenant_id, ctx.values)
    if opp is None:
        return
    if lines.ref_id(opp.get("customer")) != lines.ref_id(ctx.values.get("customer")):
        raise ValidationFailed(details=[detail("opportunity", "invalid", "quote.opportunity_other_customer")])
    if ctx.action == "create" and not ctx.values.get("lines") and opp.get("lines"):
        ctx.values["lines"] = [{k: x[k] for k in ("product", "quantity", "discount", "remark") if x.get(k) is not None}
                               for x in opp["lines"]]
        if ctx.values.get("discount_rate") is None and opp.get("discount_rate") is not None:
            ctx.values["discount_rate"] = opp["discount_rate"]


def discount_of(values: dict[str, Any]) -> Decimal | None:
    """让利 %: how far the amount is below the lines at list prices (None without lines)."""
    at_list = sum((Decimal(str(x.get("list_price") or 0)) * Decimal(str(x.get("quantity") or 0)) for x in values.get("lines") or []),
                  Decimal(0))
    if not at_list:
        return None
    return lines.money(max(at_list - Decimal(str(values.get("amount") or 0)), Decimal(0)) * 100 / at_list)


def _check(ctx: WriteContext) -> None:
    before, values = ctx.before or {}, ctx.values
    today = clock.local_today(get_settings().default_timezone)
    if ctx.action == "create":
        values["quote_status"] = "draft"
    changed = [k for k in TERMS if plain(before.get(k)) != plain(values.get(k))] if ctx.action == "update" else list(TERMS)
    if ctx.action == "update" and changed:
        status = before.get("quote_status") or "draft"
        if status not in EDITABLE_IN:
            raise ValidationFailed(details=[detail(k, "locked", f"quote.locked.{status}") for k in changed])
        values["quote_status"] = "draft"
        if before.get("approval_status") == "approved":
            values["approval_status"] = "none"  # the approval was of the terms before
    if "valid_until" in changed and values.get("valid_until") and str(values["valid_until"]) < today:
        raise ValidationFailed(details=[detail("valid_until", "past", "quote.valid_until_past")])
    if ctx.action == "create" or {"customer", "opportunity"} & set(changed):
        _from_opportunity(ctx)
    lines.price(ctx)
    if values.get("amount") is None:
        raise ValidationFailed(details=[detail("lines", "missing", "quote.lines_needed")])
    values["discount"] = discount_of(values)


def status_of(data: Mapping[str, Any]) -> str:
    """The quote's status as of today: a draft or sent quote past its last valid day has lapsed,
    whether or not its timer has written so yet."""
    status = data.get("quote_status") or "draft"
    if status in LAPSING and data.get("valid_until") and str(data["valid_until"]) < clock.local_today(get_settings().default_timezone):
        return "expired"
    return status


def _derive(dv: Derivation) -> dict[str, Any]:
    """A draft or sent quote lapses after its last valid day."""
    return {"quote_status": "expired"} if status_of(dv.data) == "expired" != dv.data.get("quote_status") else {}


def lapses_at(values: dict[str, Any]) -> str | None:
    """When a quote lapses: the start of the day after `valid_until` (tenant time), while it may."""
    if (values.get("quote_status") or "draft") not in LAPSING or not values.get("valid_until"):
        return None
    return clock.day_after(str(values["valid_until"]), get_settings().default_timezone)


QUOTE = EntityDef(
    name="quote",
    module="quotes",
    label=("报价单", "Quote"),
    path="/quotes",
    title_field="name",
    card_fields=("number", "customer", "amount", "quote_status"),
    actions=ACTIONS,
    parent_field="customer",
    parent_cascade=("transfer",),
    features=Features(numbering="quote", number_field="number", approval="quote"),
    fields=(
        F("number", "text", ("报价单编号", "Number"), readonly=True, searchable=True),
        F("name", "text", ("报价单名称", "Name"), required=True, max_length=100, searchable=True),
        F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
        F("opportunity", "reference", ("商机", "Opportunity"), entity="opportunity",
          description="its customer's; without lines of its own the quote takes the opportunity's products"),
        F("contact", "reference", ("联系人", "Contact"), entity="contact"),
        F("valid_until", "date", ("有效期至", "Valid until"), required=True),
        lines.field(),
        F("lines_total", "money", ("产品合计", "Products total"), readonly=True),
        F("discount_rate", "percent", ("整单折扣", "Order discount"), description="% off the products total"),
        F("amount", "money", ("报价金额", "Amount"), readonly=True, description="the lines' total less the order discount"),
        F("discount", "percent", ("让利", "Discount off list"), readonly=True,
          description="how far the amount is below the lines at list prices; above the tenant's threshold the quote needs approval"),
        F("terms", "textarea", ("报价条款", "Terms"), max_length=4000),
        F("quote_status", "select", ("报价状态", "Status"), readonly=True, default="draft", options=STATUSES),
        F("sent_at", "datetime", ("发送时间", "Sent at"), readonly=True),
        F("answered_at", "datetime", ("客户答复时间", "Answered at"), readonly=True),
        F("answer_note", "text", ("客户答复", "Customer's answer"), readonly=True),
        F("contract", "reference", ("转成合同", "Contract"), entity="contract", readonly=True),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
        *approval_fields(),
    ),
    hooks=Hooks(validate=_check, derive=_derive),
    timers=(Timer("lapse", lapses_at, rederives("expired")),),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "print", "team"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department"},
    },
)
