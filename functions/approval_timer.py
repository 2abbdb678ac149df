"""Bus target: an approval step passed its time limit (the state machine's StepOverdue
state put the event). Applies the node's policy: remind, escalate, auto-pass, auto-reject.

Event = EventBridge envelope, detail {"tenant_id", "instance_id", "step", "round"}. A stale
event (the step moved on since) changes nothing, so redelivery is harmless.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.approvals import service as approvals
from chalicelib.core.observability import bind, flush

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    d = event.get("detail") or {}
    bind(d["tenant_id"], "system", f"approval-timer:{d.get('instance_id')}")
    outcome = approvals.on_overdue(d["tenant_id"], d["instance_id"], int(d["step"]), int(d["round"]))
    flush()
    return {"outcome": outcome}
