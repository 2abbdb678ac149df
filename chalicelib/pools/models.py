"""Public pools (公海) and the daily claim counters.

Key design: pool pk = T#<t>#POOLS, sk = <pool id>; claims of a user on a day:
pk = T#<t>#POOLCLAIM#<user>#<YYYYMMDD>, sk = "COUNT" (expires after two days).
A customer in a pool is owned by `pool:<pool id>`: the pool's customers are one owner
partition of the owner index (gsi1), listed page by page whatever the table holds.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class Pool(Versioned, discriminator="POOL"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    admin_ids = JSONAttribute()  # users who distribute (分配) and see every customer of the pool
    member_user_ids = JSONAttribute()  # users who may claim (领取)
    member_department_ids = JSONAttribute()  # …and everyone in these departments and their sub-departments
    daily_claim_cap = NumberAttribute(null=True)  # claims per member per day (None: no cap)
    reclaim_cooldown_days = NumberAttribute(default=0)  # before the previous owner may claim it back
    rules = JSONAttribute()  # recycling rules (read by the pool timers, pools/timers.py)
    remind_days_before = NumberAttribute(default=0)  # 待进入公海提醒: warn the owner this many days before (0: no warning)
    include_closed = BooleanAttribute(default=False)  # closed-deal customers are recycled too
    include_open_opportunities = BooleanAttribute(default=False)  # …and customers with open opportunities

    @staticmethod
    def key(tenant_id: str, pool_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "POOLS"), pool_id

    def values(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "admin_ids", "member_user_ids", "member_department_ids",
                                              "daily_claim_cap", "reclaim_cooldown_days", "rules", "remind_days_before",
                                              "include_closed", "include_open_opportunities")}


class ClaimCount(Item, discriminator="POOLCLAIM"):
    count = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, user_id: str, day: str) -> tuple[str, str]:
        return keys.k(tenant_id, "POOLCLAIM", user_id, day), "COUNT"


def owner_of(pool_id: str) -> str:
    return f"pool:{pool_id}"


def names(tenant_id: str) -> dict[str, str]:
    """Every pool's name by id (what exports and prints show for a customer's `pool` and `pool_due_pool`)."""
    return {x.id: x.name for x in Pool.query(Pool.key(tenant_id, "")[0]) if isinstance(x, Pool)}
