"""Ownership limits (拥有客户数上限 / 锁定客户数上限), enforced atomically.

Rules (one item per tenant, admins): per user or per department, the most customers a person
may own (optionally not counting closed-deal customers) and may lock. A user's rule is their
own, else their department's, else the nearest ancestor department's; no rule, no limit.

Counting: one counter item per user — owned, open (not closed-deal) and locked live customers.
Every change of who holds a customer or its state (create, update of deal status, lock,
transfer, bulk transfer, hand-over, conversion, delete, restore — and later claim, distribute,
merge, import: all go through the engine) adds the counter writes to its own transaction
(the engine's `holdings` hook): decrements for the previous holder, and for the new one an
increment conditioned on staying within the limit. So concurrent assignments can never pass a
limit: the conditional transaction of the one that would go over fails as a whole (422
CUSTOMER_LIMIT naming the limit), and nothing of it is written.

Saving the rules recounts every user's counters from the table (the owner index), so counts
are right from the moment limits apply, whatever happened before they existed.

Hand-over (交接) moves a leaving user's customers one transaction each (engine.transfer_all), so
a receiver without room for all of them would be refused part way. `check_handover` runs
first (core/handover.py checks): from the two users' counters and the receiver's limit — the
numbers the per-transfer conditions compare — it refuses the whole hand-over with 422
HANDOVER_CUSTOMER_LIMIT / HANDOVER_LOCK_LIMIT, naming how many would move and how many the
receiver may still take, before anything moves. The per-transfer condition stays: a customer
given to the receiver between the check and the moves is still caught there, and the
hand-over, re-run, moves what is left.

Key design: rules pk = T#<t>#CUSTLIMITS, sk = "RULES"; counter pk = T#<t>#CUSTCOUNT#<user>, sk = "COUNT".
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute
from pynamodb.exceptions import DoesNotExist

from ..core.cache import TenantCache
from ..core.errors import NotFound, ValidationFailed, detail
from ..core.permissions import OrgSnapshot
from ..core.settings import get_settings
from ..db import changes, keys, query, tx
from ..db.base import Item, Versioned, plain
from ..org import service as org

MODULE = "customers"


class LimitRules(Versioned, discriminator="CUSTLIMITS"):
    rules = JSONAttribute()  # [{"user_id" | "department_id", "owned", "locked", "exclude_closed"}]

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "CUSTLIMITS"), "RULES"

    def values(self) -> dict:
        return {"rules": self.rules}


class CustomerCount(Item, discriminator="CUSTCOUNT"):
    owned = NumberAttribute(default=0)
    open = NumberAttribute(default=0)
    locked = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, user_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "CUSTCOUNT", user_id), "COUNT"


@dataclass(frozen=True)
class Limit:
    owned: int | None = None
    locked: int | None = None
    exclude_closed: bool = False


def _load(tenant_id: str) -> list[dict[str, Any]]:
    try:
        return list(plain(LimitRules.get(*LimitRules.key(tenant_id)).rules) or [])
    except DoesNotExist:
        return []


_rules: TenantCache[list[dict[str, Any]]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def limit_for(rules: list[dict[str, Any]], snapshot: OrgSnapshot, user_id: str) -> Limit | None:
    by_user = {r["user_id"]: r for r in rules if r.get("user_id")}
    by_dept = {r["department_id"]: r for r in rules if r.get("department_id")}
    rule = by_user.get(user_id)
    user = snapshot.users.get(user_id)
    dept = user.department_id if user else None
    while rule is None and dept is not None:
        rule = by_dept.get(dept)
        dept = snapshot.departments.get(dept)
    if rule is None:
        return None
    return Limit(rule.get("owned"), rule.get("locked"), bool(rule.get("exclude_closed")))


def _counts(held: Mapping[str, Any] | None) -> tuple[str, int, int, int] | None:
    if held is None or str(held["owner_id"]).startswith("pool:"):  # a customer in a public pool is nobody's
        return None
    data = held["data"]
    return held["owner_id"], 1, int(data.get("deal_status") != "closed"), int(bool(data.get("locked")))


def holdings(tenant_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[tx.Op]:
    """The counter writes of one change (the engine's holdings hook for customers)."""
    return holdings_many(tenant_id, [(before, after)])


def holdings_many(tenant_id: str, changes_: list[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]]) -> list[tx.Op]:
    """The counter writes of changes committed together (an import's transaction): one write per
    user with the sums, conditioned on the sum staying within the limit."""
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for before, after in changes_:
        for held, sign in ((before, -1), (after, 1)):
            c = _counts(held)
            if c is not None:
                for i, n in enumerate(c[1:]):
                    deltas[c[0]][i] += sign * n
    rules = _rules.get(tenant_id)
    snapshot = org.load(tenant_id).snapshot if rules else None
    ops = []
    for user_id, (owned, open_, locked) in deltas.items():
        if not (owned or open_ or locked):
            continue
        counter = CustomerCount(*CustomerCount.key(tenant_id, user_id))
        condition, limit = None, limit_for(rules, snapshot, user_id) if rules else None
        if limit is not None:
            parts = []
            counted, grows = (CustomerCount.open, open_) if limit.exclude_closed else (CustomerCount.owned, owned)
            if limit.owned is not None and grows > 0:
                parts.append(counted.does_not_exist() | (counted <= limit.owned - grows))
            if limit.locked is not None and locked > 0:
                parts.append(CustomerCount.locked.does_not_exist() | (CustomerCount.locked <= limit.locked - locked))
            for part in parts:
                condition = part if condition is None else condition & part
        ops.append(tx.update(counter, actions=[CustomerCount.owned.add(owned), CustomerCount.open.add(open_),
                                               CustomerCount.locked.add(locked), CustomerCount.tenant_id.set(tenant_id),
                                               CustomerCount.type.set(CustomerCount)],
                             condition=condition, on_conflict=_refusal(user_id, limit, locked > 0 and not (owned or open_))))
    return ops


def _refusal(user_id: str, limit: Limit | None, locking: bool):
    def error() -> ValidationFailed:
        if locking:
            return ValidationFailed("CUSTOMER_LOCK_LIMIT", limit=limit.locked if limit else 0,
                                    details={"user_id": user_id, "locked_max": limit.locked if limit else None})
        return ValidationFailed("CUSTOMER_LIMIT", limit=limit.owned if limit else 0,
                                details={"user_id": user_id, "owned_max": limit.owned if limit else None,
                                         "exclude_closed": bool(limit and limit.exclude_closed)})
    return error


def _held(tenant_id: str, user_id: str) -> tuple[int, int, int]:
    """A user's counter as the conditions see it: (owned, open, locked); no item = none held."""
    try:
        c = CustomerCount.get(*CustomerCount.key(tenant_id, user_id), consistent_read=True)
    except DoesNotExist:
        return 0, 0, 0
    return int(c.owned or 0), int(c.open or 0), int(c.locked or 0)


def check_handover(tenant_id: str, from_user_id: str, to_user_id: str) -> None:
    """交接: may `to_user_id` take every live customer `from_user_id` owns, and every locked one,
    under their limit (their own rule, else their department's; closed deals not counted when the
    rule says so)? Refuses the hand-over before anything moves (422), naming the numbers."""
    rules = _rules.get(tenant_id, fresh=True)
    limit = limit_for(rules, org.load(tenant_id).snapshot, to_user_id) if rules else None
    if limit is None:
        return
    owned, open_, locked = _held(tenant_id, from_user_id)
    if not owned:
        return
    have_owned, have_open, have_locked = _held(tenant_id, to_user_id)
    if limit.owned is not None:
        moving, held = (open_, have_open) if limit.exclude_closed else (owned, have_owned)
        room = max(0, limit.owned - held)
        if moving > room:
            raise ValidationFailed("HANDOVER_CUSTOMER_LIMIT", moving=moving, room=room, limit=limit.owned,
                                   details={"user_id": to_user_id, "moving": moving, "room": room, "owned_max": limit.owned,
                                            "exclude_closed": limit.exclude_closed})
    if limit.locked is not None:
        room = max(0, limit.locked - have_locked)
        if locked > room:
            raise ValidationFailed("HANDOVER_LOCK_LIMIT", moving=locked, room=room, limit=limit.locked,
                                   details={"user_id": to_user_id, "moving": locked, "room": room, "locked_max": limit.locked})


# ---- the rules (admins) --------------------------------------------------------------------------
def get_rules() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    try:
        item = LimitRules.get(*LimitRules.key(p.tenant_id))
        return {"rules": plain(item.rules) or [], "version": int(item.version)}
    except DoesNotExist:
        return {"rules": [], "version": 0}


def put_rules(rules: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the rules (customers:manage), then recount every user's customers."""
    p = org.principal()
    p.require(MODULE, "manage")
    problems = []
    for i, r in enumerate(rules):
        if r.get("user_id") and r["user_id"] not in p.org.users:
            problems.append(detail(f"rules.{i}.user_id", "not_found", "field.user"))
        if r.get("department_id") and r["department_id"] not in p.org.departments:
            problems.append(detail(f"rules.{i}.department_id", "not_found", "field.department"))
    targets = [r.get("user_id") or f"d:{r.get('department_id')}" for r in rules]
    if len(set(targets)) != len(targets):
        problems.append(detail("rules", "duplicate", "limits.twice"))
    if problems:
        raise ValidationFailed(details=problems)
    item = changes.put_setting(LimitRules, LimitRules.key(p.tenant_id), p.tenant_id, p.user_id, "customer_limits", "rules",
                               {"rules": rules}, expected)
    _rules.invalidate(p.tenant_id)
    recount(p.tenant_id, list(p.org.users))
    return {"rules": rules, "version": int(item.version)}


def recount(tenant_id: str, user_ids: list[str]) -> dict[str, dict[str, int]]:
    """Every user's counters from the table: one walk over the tenant's customers (the tenant
    index, a page per Query), then one batch write of the counters (zero for users holding none)."""
    from ..engine.store import EntityRecord

    tally: dict[str, list[int]] = {u: [0, 0, 0] for u in user_ids}
    cursor = None
    while True:
        items, cursor = query.page(EntityRecord, keys.tenant_list(tenant_id, "CUSTOMER"), index="gsi2", limit=100, cursor=cursor)
        for rec in items:
            held = _counts(store_holding(rec))
            if held is not None and held[0] in tally:
                for i, n in enumerate(held[1:]):
                    tally[held[0]][i] += n
        if not cursor:
            break
    with CustomerCount.batch_write() as batch:
        for user_id, (owned, open_, locked) in tally.items():
            batch.save(CustomerCount(*CustomerCount.key(tenant_id, user_id), tenant_id=tenant_id, owned=owned, open=open_,
                                     locked=locked))
    return {u: {"owned": t[0], "open": t[1], "locked": t[2]} for u, t in tally.items()}


def store_holding(rec: Any) -> dict[str, Any] | None:
    """A listed item as the holdings hook sees it (None for anything but a live customer)."""
    from ..engine.store import EntityRecord, holding

    return holding(rec) if isinstance(rec, EntityRecord) and rec.entity == "CUSTOMER" else None


def counts(user_id: str | None = None) -> dict[str, Any]:
    """A user's counts and limit (their own; others' for customers:manage)."""
    p = org.principal()
    user_id = user_id or p.user_id
    if user_id != p.user_id:
        p.require(MODULE, "manage")
        if user_id not in p.org.users:
            raise NotFound("entity.user")
    try:
        c = CustomerCount.get(*CustomerCount.key(p.tenant_id, user_id))
        held = {"owned": int(c.owned or 0), "open": int(c.open or 0), "locked": int(c.locked or 0)}
    except DoesNotExist:
        held = {"owned": 0, "open": 0, "locked": 0}
    limit = limit_for(_rules.get(p.tenant_id), p.org, user_id)
    return {"user_id": user_id, **held, "limit": None if limit is None else
            {"owned": limit.owned, "locked": limit.locked, "exclude_closed": limit.exclude_closed}}
