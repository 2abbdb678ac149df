"""Bus subscriber: the rules that records' derived moments come from changed -> the records
concerned take their new moments (their schedules follow through the table stream,
functions/record_timers.py).

- pools.pool.changed (a pool's members, rules or options) and org.user.moved (a user changed
  department, so their pools may have changed): the customers of the users concerned take their
  pool moments (pools/timers.py).
- care.rules.changed: the tenant's customers and/or contacts take their care moments
  (care/timers.py).

Re-running it is harmless: a record whose moments did not move is not written.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import manifest
from chalicelib.care import service as care
from chalicelib.core import context
from chalicelib.core.observability import bind, flush, logger
from chalicelib.pools import timers as pools

manifest.install()  # this Lambda sees every module's record types and hooks

JOBS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "pools.pool.changed": lambda tenant, d: pools.recompute_owners(tenant, [str(u) for u in d.get("user_ids") or []]),
    "org.user.moved": lambda tenant, d: pools.recompute_owners(tenant, [str(d["user_id"])]),
    "care.rules.changed": lambda tenant, d: care.recompute(tenant, [str(k) for k in d.get("kinds") or []]),
}


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    job = JOBS.get(str(event.get("detail-type")))
    detail = event.get("detail") or {}
    if job is None:
        logger.warning("event ignored", extra={"detail_type": event.get("detail-type")})
        return {}
    tenant_id = str(detail["tenant_id"])
    bind(tenant_id, "system", event.get("id"))
    with context.acting_as(context.system_context(tenant_id)):
        done = job(tenant_id, detail)
    flush()
    return done
