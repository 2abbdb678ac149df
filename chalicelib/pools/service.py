"""Public pools (公海, SALES-4): put back (放入公海), claim (领取), distribute (分配), lists.

A pool has admins (who distribute and see it all) and members (users, or departments with
their sub-departments) who claim. A customer in a pool belongs to nobody (owner `pool:<id>`):
it leaves every data scope but "all" (admins), keeps its history, contacts and follow-ups, and
remembers its previous owner and since when it is in the pool.

Claims: at most `daily_claim_cap` a day per member (a counter item in the claim's own
transaction), not within `reclaim_cooldown_days` of having lost it (the previous owner), and
within the member's ownership limit (customers/limits.py, same transaction). Two members
claiming one customer at once: the customer's version check lets exactly one win.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, ids
from ..core.errors import DomainError, Forbidden, NotFound, ValidationFailed, detail
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..customers.entity import CUSTOMER
from ..db import changes, keys, query, tx
from ..db.base import plain
from ..engine import service as engine
from ..engine import store
from ..org import service as org
from ..ports import events
from . import timers
from .models import ClaimCount, Pool, owner_of

MODULE = "customers"  # pools are part of customers' permissions: "pool" puts back, "manage" defines pools


# ---- pools (admins) ---------------------------------------------------------------------------------
def out(pool: Pool) -> dict[str, Any]:
    return {"id": pool.id, **plain(pool.values()), "version": int(pool.version)}


def _pool(tenant_id: str, pool_id: str) -> Pool:
    try:
        return Pool.get(*Pool.key(tenant_id, pool_id))
    except DoesNotExist:
        raise NotFound("entity.pool") from None


def _check_people(p: Principal, body: dict[str, Any]) -> None:
    problems = [detail(f"{k}.{i}", "not_found", "field.user") for k in ("admin_ids", "member_user_ids")
                for i, u in enumerate(body.get(k) or []) if u not in p.org.users]
    problems += [detail(f"member_department_ids.{i}", "not_found", "field.department")
                 for i, dpt in enumerate(body.get("member_department_ids") or []) if dpt not in p.org.departments]
    if problems:
        raise ValidationFailed(details=problems)


def list_pools() -> list[dict[str, Any]]:
    """The pools the caller belongs to (all of them for customers:manage)."""
    p = org.principal()
    pools = [x for x in Pool.query(Pool.key(p.tenant_id, "")[0]) if isinstance(x, Pool)]
    return [out(x) for x in pools if p.can(MODULE, "manage") or _role(p, x) is not None]


def create_pool(body: dict[str, Any]) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    _check_people(p, body)
    now = clock.now_iso()
    pool_id = ids.new_id()
    pool = Pool(*Pool.key(p.tenant_id, pool_id), tenant_id=p.tenant_id, id=pool_id, created_at=now, created_by=p.user_id,
                updated_at=now, updated_by=p.user_id, **body)
    changes.create(pool, "pool", pool_id, p.user_id)
    _changed(p, pool, set())
    return out(pool)


def update_pool(pool_id: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    pool = _pool(p.tenant_id, pool_id)
    _check_people(p, body)
    concerned = timers.members(p.org, pool)
    changes.save(pool, "pool", pool_id, p.user_id, body, expected)
    _changed(p, pool, concerned)
    return out(pool)


def _changed(p: Principal, pool: Pool, concerned_before: set[str]) -> None:
    """A pool's members, rules or options changed: the customers of everyone it concerned or now
    concerns take their new pool moments, in the background (functions/rederive.py)."""
    timers.invalidate(p.tenant_id)
    users = sorted(concerned_before | timers.members(p.org, pool))
    if users:
        events.publish("pools", "pools.pool.changed", p.tenant_id, {"pool_id": pool.id, "user_ids": users,
                                                                    "actor_id": p.user_id})


def get_pool(pool_id: str) -> dict[str, Any]:
    p = org.principal()
    pool = _pool(p.tenant_id, pool_id)
    _require_member(p, pool)
    return out(pool)


def _role(p: Principal, pool: Pool) -> str | None:
    """'admin', 'member' or None."""
    if p.user_id in (pool.admin_ids or []):
        return "admin"
    return "member" if timers.is_member(p.org, p.user_id, pool) else None


def _require_member(p: Principal, pool: Pool) -> str:
    role = _role(p, pool)
    if role is None and not p.can(MODULE, "manage"):
        raise NotFound("entity.pool")  # a pool one does not belong to answers as a missing one
    return role or "admin"


# ---- customers in a pool -----------------------------------------------------------------------------
def _in_pool(p: Principal, pool: Pool, customer_id: str) -> store.EntityRecord:
    rec = store.get(p.tenant_id, CUSTOMER.entity, customer_id, CUSTOMER.name_key, consistent=True)
    if rec.owner_id != owner_of(pool.id):
        raise NotFound(CUSTOMER.name_key)
    return rec


def _pool_row(rec: store.EntityRecord, p: Principal) -> dict[str, Any]:
    row = engine.out(CUSTOMER, rec, p)
    entered = (rec.data or {}).get("pool_entered_at")
    days = (clock.now() - clock.parse_iso(str(entered))).days if entered else 0
    return {**row, "days_in_pool": max(0, days)}


def list_customers(pool_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The pool's customers, newest in the pool first, with their previous owner and days in the
    pool; field rules apply (a member sees what their role lets them see of customers)."""
    p = org.principal()
    pool = _pool(p.tenant_id, pool_id)
    _require_member(p, pool)
    items, nxt = query.page(store.EntityRecord, keys.owner_list(p.tenant_id, CUSTOMER.entity, owner_of(pool.id)),
                            index="gsi1", limit=limit, cursor=cursor)
    return {"items": [_pool_row(r, p) for r in items if isinstance(r, store.EntityRecord) and not r.deleted_at],
            "next_cursor": nxt}


def get_customer(pool_id: str, customer_id: str) -> dict[str, Any]:
    p = org.principal()
    pool = _pool(p.tenant_id, pool_id)
    _require_member(p, pool)
    return _pool_row(_in_pool(p, pool, customer_id), p)


def upcoming(within: str, pool_id: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """待进入公海: the customers within the caller's data scope that enter a pool by the end of
    tomorrow or of the next 7 days (tenant time), soonest first — one pool's, or any."""
    p = org.principal()
    filters: list[dict[str, Any]] = []
    if pool_id is not None:
        _require_member(p, _pool(p.tenant_id, pool_id))
        filters.append({"field": "pool_due_pool", "op": "eq", "value": pool_id})
    today = clock.now().astimezone(ZoneInfo(get_settings().default_timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today + timedelta(days=2 if within == "tomorrow" else 8)
    filters.append({"field": "pool_due_at", "op": "range", "value": {"lt": clock.iso(end)}})
    return engine.list_records(CUSTOMER, {"filters": filters, "sort": "pool_due_at", "limit": limit, "cursor": cursor})


def put_back(customer_id: str, pool_id: str, reason: str, expected: int | None) -> dict[str, Any]:
    """放入公海: the owner (or whoever may change it, with the 放入公海 permission) gives a customer
    up to a pool, with a reason. A locked customer must be unlocked first."""
    p = org.principal()
    rec = engine.load(CUSTOMER, p, customer_id, "pool")
    pool = _pool(p.tenant_id, pool_id)
    if (rec.data or {}).get("locked"):
        raise ValidationFailed("INVALID_STATE", reason="reason.locked_customer")
    return _move(p, rec, owner_of(pool.id), {"pool": pool.id, "pool_entered_at": clock.now_iso(),
                                             "previous_owner_id": rec.owner_id, "pool_reason": reason}, expected,
                 action="pool", verb="pooled")


def claim(pool_id: str, customer_id: str) -> dict[str, Any]:
    p = org.principal()
    pool = _pool(p.tenant_id, pool_id)
    if _role(p, pool) is None:
        raise NotFound("entity.pool")
    rec = _in_pool(p, pool, customer_id)
    data = rec.data or {}
    cooldown = int(pool.reclaim_cooldown_days or 0)
    if cooldown and data.get("previous_owner_id") == p.user_id and data.get("pool_entered_at") and \
            clock.parse_iso(str(data["pool_entered_at"])) + timedelta(days=cooldown) > clock.now():
        raise ValidationFailed("POOL_COOLDOWN", days=cooldown)
    extra = _claim_count_ops(p, pool)
    return _move(p, rec, p.user_id, _leaving(), int(rec.version), action="claim", verb="claimed", extra=extra)


def distribute(pool_id: str, customer_ids: list[str], to_user_id: str) -> dict[str, Any]:
    """分配 by the pool's admins, single or bulk: each customer on its own (limits apply to the receiver)."""
    p = org.principal()
    pool = _pool(p.tenant_id, pool_id)
    if _role(p, pool) != "admin" and not p.can(MODULE, "manage"):
        if _role(p, pool) is None:
            raise NotFound("entity.pool")
        raise Forbidden(module=MODULE, action="manage")
    target = p.org.users.get(to_user_id)
    if target is None or not target.active:
        raise ValidationFailed(details=[detail("to_user_id", "invalid", "field.user")])
    items = []
    for cid in dict.fromkeys(customer_ids):
        try:
            rec = _in_pool(p, pool, cid)
            _move(p, rec, to_user_id, _leaving(), int(rec.version), action="distribute", verb="distributed")
            items.append({"id": cid, "status": 200})
        except DomainError as e:
            items.append({"id": cid, "status": e.status, **e.body(context.locale())})
    return {"items": items, "done": sum(1 for i in items if i["status"] == 200)}


def _leaving() -> dict[str, Any]:
    """What a customer leaving its pool forgets (its previous owner stays on record)."""
    return {"pool": None, "pool_entered_at": None, "pool_reason": None}


def _move(p: Principal, rec: store.EntityRecord, owner_id: str, values: dict[str, Any], expected: int | None, *,
          action: str, verb: str, extra: list[tx.Op] | None = None) -> dict[str, Any]:
    return engine.change(CUSTOMER, p, rec, values, expected, action=action, verb=verb, owner_id=owner_id, team={},
                         extra=extra)


def _claim_count_ops(p: Principal, pool: Pool) -> list[tx.Op]:
    """One more claim today (tenant time), within the pool's daily cap, in the claim's transaction."""
    cap = pool.daily_claim_cap
    if cap is None:
        return []
    today = clock.now().astimezone(ZoneInfo(get_settings().default_timezone)).strftime("%Y%m%d")
    counter = ClaimCount(*ClaimCount.key(p.tenant_id, p.user_id, today))
    expires = clock.now() + timedelta(days=2)
    condition = ClaimCount.count.does_not_exist() | (ClaimCount.count < int(cap))
    return [tx.update(counter, actions=[ClaimCount.count.add(1), ClaimCount.tenant_id.set(p.tenant_id),
                                       ClaimCount.type.set(ClaimCount), ClaimCount.expires_at.set(expires)],
                      condition=condition, on_conflict=lambda: ValidationFailed("POOL_DAILY_CAP", cap=int(cap)))]
