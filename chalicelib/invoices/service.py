"""Invoices' own rules beyond the engine's: issuing an approved request (开票) and voiding (作废 / 红冲)."""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..core.errors import Problem, ValidationFailed
from ..core.permissions import Principal
from ..db.base import plain
from ..engine import fieldtypes, store
from ..engine import service as engine
from ..org import service as org
from .entity import INVOICE, reserve_ops, reserving

ATTEMPTS = engine.STAMP_ATTEMPTS  # a void retries while other requests move the same contract


def issue(record_id: str, invoice_number: str, invoice_date: str, expected: int | None) -> dict[str, Any]:
    """开票: an approved request becomes an issued invoice with its number (unique in the tenant) and
    date; by a role with the `issue` action."""
    p = org.principal()
    rec = engine.load(INVOICE, p, record_id, "issue")
    data = plain(rec.data or {})
    status = data.get("invoice_status") or "requested"
    if status != "requested":
        raise ValidationFailed("INVALID_STATE", reason=Problem(f"invoice.status.{status}"))
    if data.get("approval_status") != "approved":
        raise ValidationFailed("INVALID_STATE", reason=Problem("invoice.not_approved"))
    number = invoice_number.strip().upper()
    day = fieldtypes.validate((INVOICE.field("invoice_date"),), {"invoice_date": invoice_date}, engine.TenantResolver(p),
                              creating=True)["invoice_date"]
    label = INVOICE.field("invoice_number").label_in(fieldtypes.locale())
    claim = store.claim_ops(rec, "invoice_number", label, None, number)
    return engine.change(INVOICE, p, rec, {"invoice_status": "issued", "invoice_number": number, "invoice_date": day,
                                           "issued_by": p.user_id, "issued_at": clock.now_iso()},
                         expected, action="issue", verb="issued", extra=claim)


def void(record_id: str, reason: str, expected: int | None) -> dict[str, Any]:
    """作废 / 红冲: an approved request, or an issued invoice (by a role with the `issue` action only),
    is void for good, with its reason; its amount goes back to the contract in the same transaction."""
    p = org.principal()
    for attempt in range(ATTEMPTS):
        rec = engine.load(INVOICE, p, record_id, "read")
        data = plain(rec.data or {})
        status = data.get("invoice_status") or "requested"
        if status == "voided":
            raise ValidationFailed("INVALID_STATE", reason=Problem("invoice.status.voided"))
        if status == "issued":
            rec = engine.load(INVOICE, p, record_id, "issue")
        elif data.get("approval_status") != "approved":  # a draft or a refused request is deleted; one in review withdrawn
            raise ValidationFailed("INVALID_STATE", reason=Problem("invoice.void_needs_approval"))
        else:
            rec = engine.load(INVOICE, p, record_id, "update")
        try:
            return _void(p, rec, data, reason, expected)
        except engine.StaleStamp:  # another request moved the contract meanwhile: read it again
            if attempt == ATTEMPTS - 1:
                raise
            engine.backoff(attempt)
    raise AssertionError("unreachable")


def _void(p: Principal, rec: store.EntityRecord, data: dict[str, Any], reason: str, expected: int | None) -> dict[str, Any]:
    give_back = reserve_ops(p, data, -reserving(data), "invoice_voided")
    return engine.change(INVOICE, p, rec, {"invoice_status": "voided", "void_reason": reason, "voided_by": p.user_id,
                                           "voided_at": clock.now_iso()},
                         expected, action="void", verb="voided", extra=give_back)
