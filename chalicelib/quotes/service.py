"""Quotes' own steps beyond the engine's: sending (with the discount threshold's approval), the
customer's answer, and conversion into a draft contract."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..contracts import settings
from ..contracts.entity import CONTRACT
from ..core import clock
from ..core.errors import ValidationFailed
from ..core.permissions import Principal
from ..db.base import plain
from ..engine import service as engine
from ..engine import store
from ..org import service as org
from .entity import QUOTE, status_of


def _load(p: Principal, record_id: str, *allowed: str) -> tuple[store.EntityRecord, dict[str, Any]]:
    rec = engine.load(QUOTE, p, record_id, "update")
    data = plain(rec.data or {})
    status = status_of(data)
    if status not in allowed:
        raise ValidationFailed("INVALID_STATE", reason=f"quote.status.{status}")
    return rec, data


def send(record_id: str, expected: int | None) -> dict[str, Any]:
    """发送: a draft quote goes to the customer — once approved when its discount is above the
    tenant's threshold (at or below it, no approval is needed)."""
    p = org.principal()
    rec, data = _load(p, record_id, "draft")
    threshold = Decimal(str(settings.rules(p.tenant_id)["quote_discount_threshold"]))
    if Decimal(str(data.get("discount") or 0)) > threshold and data.get("approval_status") != "approved":
        raise ValidationFailed("QUOTE_APPROVAL_NEEDED", discount=str(data.get("discount")), threshold=str(threshold))
    if (data.get("approval_status") or "none") == "pending":
        raise ValidationFailed("INVALID_STATE", reason="approval.status.running")
    return engine.change(QUOTE, p, rec, {"quote_status": "sent", "sent_at": clock.now_iso()}, expected, action="send", verb="sent")


def answer(record_id: str, accepted: bool, note: str | None, expected: int | None) -> dict[str, Any]:
    """The customer's answer to a sent quote: accepted (接受) or declined (拒绝)."""
    p = org.principal()
    rec, _data = _load(p, record_id, "sent")
    status = "accepted" if accepted else "declined"
    return engine.change(QUOTE, p, rec, {"quote_status": status, "answered_at": clock.now_iso(), "answer_note": note}, expected,
                         action=status, verb=status)


def convert(record_id: str, body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """转合同: an accepted quote becomes a draft contract (its customer, opportunity, contact as the
    customer's signer, lines priced again, order discount, terms), both linked, in one transaction —
    a quote converts once, also when two try at the same time (the quote's version)."""
    p = org.principal()
    rec, data = _load(p, record_id, "accepted")
    given: dict[str, Any] = {
        "name": body.get("name") or data.get("name"), "customer": data.get("customer"), "opportunity": data.get("opportunity"),
        "customer_signer": data.get("contact"), "discount_rate": data.get("discount_rate"), "payment_terms": data.get("terms"),
        "sign_date": body.get("sign_date"), "start_date": body.get("start_date"), "end_date": body.get("end_date"),
        "lines": [{k: x[k] for k in ("product", "quantity", "discount", "remark") if x.get(k) is not None} for x in data.get("lines") or []],
    }
    wc, custom, owner_id = engine.checked(CONTRACT, p, {k: v for k, v in given.items() if v not in (None, [])})
    wc.values.update(quote={"entity": "quote", "id": rec.id}, lines=data.get("lines"), lines_total=data.get("lines_total"),
                     amount=data.get("amount"))  # the prices the customer accepted, not today's
    draft = engine.built(CONTRACT, p, wc, custom, owner_id)
    shown = engine.change(QUOTE, p, rec, {"quote_status": "converted", "contract": {"entity": "contract", "id": draft.record.id}},
                          expected, action="convert", verb="converted", extra=draft.ops)
    engine.finish(draft)
    return {"quote": shown, "contract": engine.out(CONTRACT, draft.record, p)}
