"""Pool timers (自动回收): when an owned customer would enter a public pool, kept on the customer
and acted on by one Scheduler schedule per customer, plus a warning N days before.

A customer's owner is a member of some pools (as a user, or through a department). Each such pool
with recycling rules gives the customer a moment: the earliest `anchor + days` over its rules that
apply to the customer's level, where the anchor is when the owner got it (`owned_since`), moved on
by the last follow-up (no_followup) or the last new opportunity (no_opportunity); no_deal counts from
`owned_since` while the customer has no deal. Locked customers are exempt; closed-deal customers and
customers with open opportunities are exempt unless the pool's options include them. The earliest
pool wins: `pool_due_at`, `pool_due_pool` and the warning moment `pool_warn_at` are derived on every
write of the customer (engine Hooks.derive: follow-up stamps, lock, deal status, level, owner moves,
hand-over), so the schedules move with the record and no job scans the table.

A change of a pool (members, rules, options) re-derives the customers of the users it concerns, in
the background (functions/rederive.py on the pools.pool.changed event).

When the schedule comes, the customer is read again and the moment derived with the pools as they
are now: still due, it moves to the pool (logged as `recycle`, previous owner kept, who is
notified); not due any more, the customer just takes its new moment (and schedule).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core import clock, i18n
from ..core.cache import TenantCache
from ..core.observability import logger, metric
from ..core.permissions import OrgSnapshot, Principal
from ..core.settings import get_settings
from ..db import keys
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef
from ..notifications import service as notifications
from ..org import service as org
from .models import Pool, owner_of

FIELDS = ("pool_due_at", "pool_due_pool", "pool_warn_at")


def _load(tenant_id: str) -> list[Pool]:
    return [x for x in Pool.query(Pool.key(tenant_id, "")[0]) if isinstance(x, Pool)]


_pools: TenantCache[list[Pool]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def invalidate(tenant_id: str) -> None:
    _pools.invalidate(tenant_id)


def is_member(o: OrgSnapshot, user_id: str, pool: Pool) -> bool:
    """A member user of the pool, or in one of its departments (sub-departments included)."""
    if user_id in (pool.member_user_ids or []):
        return True
    me = o.users.get(user_id)
    return me is not None and any(me.department_id in o.department_tree(d) for d in pool.member_department_ids or [])


def members(o: OrgSnapshot, pool: Pool) -> set[str]:
    return {u for u in o.users if is_member(o, u, pool)}


@dataclass(frozen=True)
class Due:
    at: datetime
    pool: Pool
    rule: Mapping[str, Any]


def _later(*moments: Any) -> datetime | None:
    given = [clock.parse_iso(str(m)) for m in moments if m]
    return max(given) if given else None


def due(tenant_id: str, owner_id: str, data: Mapping[str, Any], owned_since: str, *, fresh: bool = False) -> Due | None:
    """When the customer would enter a pool by the rules (None: never, as things are)."""
    if owner_id.startswith("pool:") or data.get("locked"):
        return None
    pools = [p for p in _pools.get(tenant_id, fresh=fresh) if p.rules]
    if not pools:
        return None
    o = org.load(tenant_id).snapshot
    closed = data.get("deal_status") == "closed"
    open_opps = int(data.get("open_opportunities") or 0) > 0
    best: Due | None = None
    for pool in pools:
        if not is_member(o, owner_id, pool) or closed and not pool.include_closed or \
                open_opps and not pool.include_open_opportunities:
            continue
        for rule in pool.rules:
            if rule.get("levels") and data.get("level") not in rule["levels"]:
                continue
            kind = rule["kind"]
            if kind == "no_deal" and closed:
                continue
            anchor = _later(owned_since, data.get("last_followup_at") if kind == "no_followup" else None,
                            data.get("last_opportunity_at") if kind == "no_opportunity" else None)
            if anchor is None:
                continue
            at = anchor + timedelta(days=int(rule["days"]))
            if best is None or at < best.at:
                best = Due(at, pool, rule)
    return best


def derive(dv: Derivation) -> dict[str, Any]:
    """The customer's pool timer (Hooks.derive): owned_since when the owner changes, and the moments."""
    data = dv.data
    owned_since = data.get("owned_since") or dv.created_at
    values: dict[str, Any] = {}
    if dv.owner_before != dv.owner_id and not dv.owner_id.startswith("pool:"):
        owned_since = values["owned_since"] = clock.now_iso()
    found = due(dv.tenant_id, dv.owner_id, data, str(owned_since))
    if found is None:
        return {**values, **dict.fromkeys(FIELDS)}
    days = int(found.pool.remind_days_before or 0)
    warn = found.at - timedelta(days=days) if days else None
    return {**values, "pool_due_at": clock.iso(found.at), "pool_due_pool": found.pool.id,
            "pool_warn_at": clock.iso(warn) if warn else None}


# ---- the two timers -----------------------------------------------------------------------------------
def recycle_at(values: Mapping[str, Any]) -> str | None:
    return values.get("pool_due_at")


def warn_at(values: Mapping[str, Any]) -> str | None:
    """The warning, while the customer has not reached its moment yet."""
    at, due_at = values.get("pool_warn_at"), values.get("pool_due_at")
    if not at or not due_at or clock.parse_iso(str(due_at)) <= clock.now():
        return None
    return str(at)


def _system(tenant_id: str) -> Principal:
    return Principal(tenant_id, "system", org.load(tenant_id).snapshot)


def rederive(d: EntityDef, rec: store.EntityRecord, *, fresh: bool = False) -> bool:
    """Write the customer's moments again as the pools now say (a rule change, a stale schedule);
    True if they moved. Logged as `pool_timer`; its schedules follow (through the table stream)."""
    from ..engine import service as engine

    if fresh:
        invalidate(rec.tenant_id)
    return engine.rederive(d, rec, "pool_timer")


def fire_recycle(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    """The moment came: into the pool, if the pools (read fresh) still say so."""
    from ..engine import service as engine

    data = plain(rec.data or {})
    found = due(rec.tenant_id, rec.owner_id, data, str(data.get("owned_since") or rec.created_at), fresh=True)
    if found is None or clock.iso(found.at) != at or found.at > clock.now() + timedelta(minutes=5):
        rederive(d, rec)  # the rules or the record changed meanwhile: the customer takes its new moment
        logger.info("pool timer moved on", extra={"record_id": rec.id})
        return False
    previous = rec.owner_id
    reason = {loc: i18n.text(f"pool.rule.{found.rule['kind']}", loc, days=int(found.rule["days"])) for loc in i18n.LOCALES}
    engine.change(d, _system(rec.tenant_id), rec, {
        "pool": found.pool.id, "pool_entered_at": clock.now_iso(), "previous_owner_id": previous,
        "pool_reason": reason[i18n.DEFAULT_LOCALE]}, int(rec.version), action="recycle", verb="recycled",
        owner_id=owner_of(found.pool.id), team={})
    _notify(rec, previous, "notify.pool.recycled", found.pool, at)
    metric("pools.recycled")
    return True


def fire_warning(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    """待进入公海提醒: tell the owner when the customer will enter which pool."""
    pool = next((p for p in _pools.get(rec.tenant_id) if p.id == (rec.data or {}).get("pool_due_pool")), None)
    if pool is None or rec.owner_id.startswith("pool:"):
        return False
    return _notify(rec, rec.owner_id, "notify.pool.warning", pool, at)


def _notify(rec: store.EntityRecord, user_id: str, key: str, pool: Pool, at: str) -> bool:
    from ..customers.entity import CUSTOMER
    from ..engine import visibility

    reader = visibility.reader(rec.tenant_id, user_id)
    due_at = str((rec.data or {}).get("pool_due_at") or at)
    when = clock.parse_iso(due_at).astimezone(_tz()).strftime("%Y-%m-%d %H:%M")
    title = plain((rec.data or {}).get("name"))
    text = {loc: i18n.text(key, loc, title=visibility.title(reader, CUSTOMER, title, loc) or "", pool=pool.name, date=when)
            for loc in i18n.LOCALES}
    return notifications.deliver(rec.tenant_id, user_id, key.split(".", 1)[1].replace(".", "_"), text,
                                 link={"entity": "customer", "id": rec.id}, source=f"{key}:{rec.id}:{at}",
                                 occurred_at=clock.parse_iso(at))  # a retried delivery is the same one


def _tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(get_settings().default_timezone)


# ---- a pool changed: its users' customers take their new moments ----------------------------------------


def recompute_owners(tenant_id: str, user_ids: list[str]) -> dict[str, int]:
    """Re-derive every customer the users own (a pool's members or rules changed), one owner-index walk
    each; a customer is re-read consistently and written only when its moments moved, and a concurrent
    change wins and is derived again."""
    from ..customers.entity import CUSTOMER
    from ..engine import service as engine

    invalidate(tenant_id)
    org.load(tenant_id, fresh=True)  # membership through departments as it is now
    seen = moved = 0
    for user_id in sorted(set(user_ids)):
        s, m = engine.walk_rederive(CUSTOMER, tenant_id, keys.owner_list(tenant_id, CUSTOMER.entity, user_id), "gsi1",
                                    "pool_timer")
        seen, moved = seen + s, moved + m
    metric("pools.timers.recomputed", moved)
    return {"customers": seen, "moved": moved}
