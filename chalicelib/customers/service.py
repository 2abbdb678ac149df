"""Customers' own rules beyond the engine's: lock / unlock (锁定: exempt from the public pool's
recycling, counted against the lock limit)."""
from __future__ import annotations

from typing import Any

from ..core.errors import ValidationFailed
from ..engine import service as engine
from ..org import service as org
from .entity import CUSTOMER


def set_locked(customer_id: str, locked: bool, expected: int | None) -> dict[str, Any]:
    p = org.principal()
    rec = engine.load(CUSTOMER, p, customer_id, "lock")
    if bool((rec.data or {}).get("locked")) == locked:
        raise ValidationFailed("INVALID_STATE", reason="reason.already_locked" if locked else "reason.not_locked")
    return engine.change(CUSTOMER, p, rec, {"locked": locked}, expected, action="lock" if locked else "unlock",
                         verb="locked" if locked else "unlocked")
