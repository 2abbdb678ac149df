"""A contract's figures that other records move: payments reserve and receive (`reserved_amount`,
`received_amount`), invoice requests reserve what they invoice (`invoiced_amount`). One helper for
each of them, so that no figure ever passes the contract amount, also under concurrency.

A record's change adds `reserve_ops(...)` to its own transaction: the difference it makes, applied
to the contract's stored figure as read now (consistently), version-checked on that contract — a
concurrent change of the contract (another payment, another invoice) makes the write fail with
`engine.service.StaleStamp`, and a create reads the contract again and retries — and refused with
a 422 naming the amount still allowed when the figure would pass the contract amount (unless the
contract allows it: payments on a contract that allows over-payment).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..core.errors import NotFound, ValidationFailed, detail
from ..core.permissions import Principal
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..products.lines import money, ref_id


@dataclass(frozen=True)
class Figure:
    """One reserved figure on the contract and how going past the amount is refused."""

    field: str  # reserved_amount | invoiced_amount
    code: str  # the 422's code, with {amount} still allowed
    reason: str  # the i18n key of the amount field's detail, with {amount}
    not_in_force: str  # the i18n key of the contract field's detail when the contract is not approved and in force
    allowed_over: str | None = None  # the contract's boolean field that lets the figure pass the amount (allow_overpayment)


def dec(v: Any) -> Decimal:
    return Decimal(str(v or 0))


def contract_of(tenant_id: str, values: dict[str, Any]) -> store.EntityRecord:
    """The contract the record's `contract` field names, read consistently (422 when there is none)."""
    contract_id = ref_id(values.get("contract"))
    try:
        return store.get(tenant_id, "CONTRACT", contract_id or "", "entity.contract", consistent=True)
    except NotFound:
        raise ValidationFailed(details=[detail("contract", "not_found", "field.reference")]) from None


def require_in_force(contract: store.EntityRecord, figure: Figure) -> None:
    """Approved, and neither terminated nor void."""
    data = contract.data or {}
    if data.get("approval_status") != "approved" or (data.get("state") or "normal") != "normal":
        raise ValidationFailed(details=[detail("contract", "invalid", figure.not_in_force)])


def left(contract: store.EntityRecord, figure: Figure) -> Decimal:
    """How much more the figure may take before it passes the contract amount (≥ 0)."""
    data = contract.data or {}
    return max(dec(data.get("amount")) - dec(data.get(figure.field)), Decimal(0))


def reserve_ops(p: Principal, tenant_id: str, values: dict[str, Any], figure: Figure, delta: Decimal, *,
                received: Decimal | None = None, action: str) -> tuple[list[tx.Op], Decimal]:
    """The contract's figures moved by one record — `delta` more (or less) on `figure`, `received` more
    received (payments; None leaves `received_amount` alone) — version-checked on the contract as read now, refused past the amount unless the contract allows it (`figure.allowed_over`);
    and how far the figure then is over the amount (≥ 0). Logged on the contract as `action`."""
    from ..engine import service as engine
    from ..engine.definition import WriteContext
    from .entity import CONTRACT

    if not delta and not received:
        return [], Decimal(0)
    contract = contract_of(tenant_id, values)
    data = plain(contract.data or {})
    amount, reserved = dec(data.get("amount")), dec(data.get(figure.field)) + delta
    if delta > 0 and reserved > amount and not (figure.allowed_over and data.get(figure.allowed_over)):
        room = str(money(max(amount - reserved + delta, Decimal(0))))
        raise ValidationFailed(figure.code, amount=room, details=[detail("amount", "over", figure.reason, amount=room)])
    new = {**data, figure.field: money(reserved)}
    if received is not None:
        new["received_amount"] = money(dec(data.get("received_amount")) + received)
    wc = WriteContext(p, CONTRACT, contract, "update", new, data)
    return engine.stamp_ops(CONTRACT, wc, contract, new, action), max(reserved - amount, Decimal(0))
