"""Contracts' own rules beyond the engine's: change requests after approval (变更), termination (终止),
void (作废) and renewal (续签)."""
from __future__ import annotations

from typing import Any

from ..approvals import service as approvals
from ..core import clock
from ..core.errors import ValidationFailed
from ..db import tx
from ..db.base import plain
from ..engine import service as engine
from ..org import service as org
from .entity import CONTRACT, change_request


def change(record_id: str, changes: dict[str, Any], comment: str | None, expected: int) -> dict[str, Any]:
    """变更: new terms for an approved contract, applied and sent back to approval at once (the log
    keeps the terms before and after)."""
    p = org.principal()
    rec = engine.load(CONTRACT, p, record_id, "update")
    if (rec.data or {}).get("approval_status") != "approved":
        raise ValidationFailed("INVALID_STATE", reason="contract.not_approved")
    business_type = _going_to(p, rec, changes)  # refused before anything changes: over the credit limit, or no flow
    if not approvals.enabled_of(p.tenant_id, business_type):
        raise ValidationFailed("APPROVAL_FLOW_MISSING", business_type=business_type)
    with change_request():
        engine.update(CONTRACT, record_id, changes, expected)
    return engine.submit(CONTRACT, record_id, {"comment": comment})


def _going_to(p: Any, rec: Any, changes: dict[str, Any]) -> str:
    """The business type the contract with these new terms would go to approval as (the credit-limit
    control may refuse it): its lines priced and amount computed as the update will."""
    from types import SimpleNamespace

    from ..engine.definition import WriteContext
    from ..products import lines

    data = plain(rec.data or {})
    wc = WriteContext(p, CONTRACT, rec, "update", {**data, **changes}, data)
    lines.price(wc)
    submit_as = CONTRACT.hooks.submit_as
    probe = SimpleNamespace(id=rec.id, data=wc.values)
    return submit_as(p, probe) if submit_as is not None else CONTRACT.features.approval or "contract"


def _state(record_id: str, state: str, reason: str, expected: int | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    p = org.principal()
    rec = engine.load(CONTRACT, p, record_id, "update")
    data = plain(rec.data or {})
    if data.get("state", "normal") != "normal":
        raise ValidationFailed("INVALID_STATE", reason=f"contract.state.{data['state']}")
    status = data.get("approval_status") or "none"
    if status not in allowed:
        raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{'running' if status == 'pending' else status}")
    return engine.change(CONTRACT, p, rec, {"state": state, "state_reason": reason, "state_changed_at": clock.now_iso()}, expected,
                         action=state, verb=state)


def terminate(record_id: str, reason: str, expected: int | None) -> dict[str, Any]:
    """终止: an approved contract in force ends early."""
    return _state(record_id, "terminated", reason, expected, ("approved",))


def void(record_id: str, reason: str, expected: int | None) -> dict[str, Any]:
    """作废: a contract not in review is void for good; it stays (with its history), counted nowhere."""
    return _state(record_id, "voided", reason, expected, ("none", "approved", "rejected", "withdrawn"))


def renew(record_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """续签: a new draft contract for the next period with the same customer, signers, lines (priced
    again) and terms, linked to this one by `renewal_of`."""
    p = org.principal()
    old = plain(engine.load(CONTRACT, p, record_id, "read").data or {})
    keep = ("customer", "opportunity", "customer_signer", "company_signer", "discount_rate", "payment_terms", "remark")
    given = {k: old[k] for k in keep if old.get(k) is not None}
    if old.get("lines"):
        given["lines"] = [{k: x[k] for k in ("product", "quantity", "discount", "remark") if x.get(k) is not None} for x in old["lines"]]
    else:
        given["amount"] = old.get("amount")
    given.update({"name": body.get("name") or f"{old.get('name')}（续签）", "start_date": body.get("start_date"),
                  "end_date": body.get("end_date")})
    wc, custom, owner_id = engine.checked(CONTRACT, p, {k: v for k, v in given.items() if v is not None})
    wc.values["renewal_of"] = {"entity": "contract", "id": record_id}
    draft = engine.built(CONTRACT, p, wc, custom, owner_id)
    tx.write(draft.ops)
    engine.finish(draft)
    return engine.out(CONTRACT, draft.record, p)
