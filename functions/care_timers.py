"""Bus subscriber: the customer care rules changed (care.rules.changed) -> the tenant's customers
and/or contacts take their new care moments (care/timers.py), their schedules with them.

Re-running it is harmless: a record whose moments did not move is not written.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.care import service as care
from chalicelib.core import context
from chalicelib.core.observability import bind, flush

manifest.install()  # this Lambda sees every module's record types and hooks


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    detail = event.get("detail") or {}
    tenant_id = str(detail["tenant_id"])
    bind(tenant_id, "system", event.get("id"))
    with context.acting_as(context.system_context(tenant_id)):
        done = care.recompute(tenant_id, [str(k) for k in detail.get("kinds") or []])
    flush()
    return done
