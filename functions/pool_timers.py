"""Bus subscriber: a public pool's members, rules or options changed (pools.pool.changed), or a
user moved to another department (org.user.moved) -> the customers of the users concerned take
their new pool moments (pools/timers.py).

Re-running it is harmless: a customer whose moments did not move is not written.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core import context
from chalicelib.core.observability import bind, flush
from chalicelib.pools import timers

manifest.install()  # this Lambda sees every module's record types and hooks


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    detail = event.get("detail") or {}
    tenant_id = str(detail["tenant_id"])
    bind(tenant_id, "system", event.get("id"))
    with context.acting_as(context.system_context(tenant_id)):
        users = detail.get("user_ids") or ([detail["user_id"]] if detail.get("user_id") else [])
        done = timers.recompute_owners(tenant_id, [str(u) for u in users])
    flush()
    return done
