"""Revisits (客户回访): a visit or call after the sale that asks how satisfied the customer is
(满意度: 很满意 5 … 很不满意 1), which contact was asked, when, how, and what they said.

A revisit hangs under its customer (parent reference `customer`): it is in the customer's
related list and timeline, moves with its transfer and goes to the recycle bin with it. The
customer carries its latest revisit — `satisfaction` (that revisit's score) and
`last_revisit_at` — stamped in the same transaction as the revisit's create or edit (the latest
by visit time among the customer's revisits, so editing an older one changes nothing there), and
again when a revisit is deleted or restored. A revisit is contact with the customer: it restarts
the care rules' "not contacted for N days" (care/timers.py).
"""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..core.errors import NotFound, ValidationFailed, detail
from ..customers.entity import SATISFACTION
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..engine.definition import EntityDef, Hooks, WriteContext
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")
STAMPED = ("customer", "visited_at", "satisfaction")  # what of a revisit the customer carries


def _customer_id(values: dict[str, Any]) -> str | None:
    ref = values.get("customer")
    return str(ref["id"]) if isinstance(ref, dict) and ref.get("id") else None


def _check(ctx: WriteContext) -> None:
    """A revisit's visit time defaults to now; its contact must be one of its customer's."""
    values = ctx.values
    if ctx.action == "create" and not values.get("visited_at"):
        values["visited_at"] = clock.now_iso()
    ref, customer = values.get("contact"), _customer_id(values)
    if not isinstance(ref, dict) or customer is None or ref == (ctx.before or {}).get("contact") and \
            customer == _customer_id(ctx.before or {}):
        return
    try:
        contact = store.get(ctx.principal.tenant_id, "CONTACT", str(ref["id"]), "entity.contact")
    except NotFound:
        contact = None
    if contact is None or _customer_id(plain(contact.data or {})) != customer:
        raise ValidationFailed(details=[detail("contact", "invalid", "revisit.contact_customer")])


def _latest(revisits: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(revisits, key=lambda r: (str(r.get("visited_at") or ""), str(r.get("created_at") or "")), default=None)


def _stamp(ctx: WriteContext, customer_id: str, this: dict[str, Any] | None) -> list[tx.Op]:
    """The customer's writes for its latest revisit now (`this`: the revisit being written, with its new values)."""
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine  # the engine imports every module's definitions

    tenant_id, own_id = ctx.principal.tenant_id, ctx.record.id if ctx.record is not None else None
    try:
        customer = store.get(tenant_id, CUSTOMER.entity, customer_id, CUSTOMER.name_key)
    except NotFound:
        return []  # deleted with it, or gone
    revisits = [{**plain(r.data or {}), "created_at": r.created_at} for r in store.collection(tenant_id, CUSTOMER.entity, customer_id)
                if r.entity == REVISIT.entity and not r.deleted_at and r.id != own_id]
    latest = _latest([*revisits, *([this] if this is not None else [])])
    data = {**plain(customer.data or {}), "satisfaction": latest.get("satisfaction") if latest else None,
            "last_revisit_at": latest.get("visited_at") if latest else None}
    return engine.stamp_ops(CUSTOMER, ctx, customer, {k: v for k, v in data.items() if v is not None}, "revisit")


def _stamp_customer(ctx: WriteContext) -> None:
    """Create or edit: the customer carries its latest revisit, in this write's transaction."""
    before = ctx.before or {}
    if ctx.action == "update" and all(plain(before.get(k)) == plain(ctx.values.get(k)) for k in STAMPED):
        return
    customer = _customer_id(ctx.values)
    if customer is not None:
        this = {**ctx.values, "created_at": ctx.record.created_at if ctx.record is not None else clock.now_iso()}
        ctx.extra_ops.extend(_stamp(ctx, customer, this))


def _restamp(ctx: WriteContext, customer_id: str | None) -> None:
    if customer_id is not None:
        ops = _stamp(ctx, customer_id, None)
        if ops:
            tx.write(ops)


def _after_write(ctx: WriteContext) -> None:
    """A revisit moved to another customer: the one it left carries its own latest again."""
    before = ctx.before or {}
    if ctx.action == "update" and _customer_id(before) != _customer_id(ctx.values):
        _restamp(ctx, _customer_id(before))


def _on_delete(ctx: WriteContext) -> None:
    _restamp(ctx, _customer_id(ctx.values))


def _on_restore(ctx: WriteContext) -> None:
    customer = _customer_id(ctx.values)
    if customer is not None:
        ops = _stamp(ctx, customer, {**ctx.values, "created_at": ctx.record.created_at})
        if ops:
            tx.write(ops)


REVISIT = EntityDef(
    name="revisit",
    module="revisits",
    label=("客户回访", "Revisit"),
    path="/revisits",
    title_field="content",
    card_fields=("customer", "satisfaction", "visited_at"),
    actions=ACTIONS,
    parent_field="customer",
    parent_cascade=("transfer", "delete"),
    fields=(
        F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
        F("contact", "reference", ("回访联系人", "Contact"), entity="contact"),
        F("visited_at", "datetime", ("回访时间", "Visited at"), description="defaults to now"),
        F("method", "select", ("回访方式", "How"), dictionary="followup_type"),
        F("satisfaction", "select", ("满意度", "Satisfaction"), required=True, options=SATISFACTION),
        F("content", "textarea", ("回访内容", "What they said"), required=True, max_length=5000, searchable=True),
    ),
    hooks=Hooks(validate=_check, before_write=_stamp_customer, after_write=_after_write, on_delete=_on_delete,
                on_restore=_on_restore),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer"), "scope": "self"},
        "service_agent": {"actions": ("create", "update", "list", "read"), "scope": "department"},
    },
)
