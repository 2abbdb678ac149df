"""Commission (销售提成, SALES-13): the tenant's commission plans and the statements of closed periods.

Key design:
- Plans: pk = T#<t>#COMMISSION, sk = PLANS — one versioned settings item holding every plan,
  replaced as a whole by administrators.
- A closed period (结账): pk = T#<t>#COMMISSION#<YYYY-MM>, sk = CLOSED — the close itself (who,
  when, totals, its `close_id`), written once (a second close is refused by its condition); and
  one statement item per rep in the same partition, sk = STATEMENT#<close_id>#<user id>, written
  before the close item. A period's statements are one Query on its partition; statements of a
  close that lost a race carry another close_id and are never read.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class CommissionPlans(Versioned, discriminator="COMMISSIONPLANS"):
    plans = JSONAttribute()  # [{"id", "name", "active", "base", "default_rate", "product_rates", "category_rates", "tiers", …}]

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "COMMISSION"), "PLANS"

    def values(self) -> dict:
        return {"plans": self.plans}


def period_partition(tenant_id: str, period: str) -> str:
    return keys.k(tenant_id, "COMMISSION", period)


class CommissionClose(Versioned, discriminator="COMMISSIONCLOSE"):
    period = UnicodeAttribute()
    close_id = UnicodeAttribute()
    statements = NumberAttribute()
    totals = JSONAttribute()  # {"base_total", "commission_total"} as decimal text

    @staticmethod
    def key(tenant_id: str, period: str) -> tuple[str, str]:
        return period_partition(tenant_id, period), "CLOSED"

    def values(self) -> dict:
        return {"period": self.period, "close_id": self.close_id, "statements": self.statements, "totals": self.totals}


class CommissionStatement(Item, discriminator="COMMISSIONSTATEMENT"):
    user_id = UnicodeAttribute()
    statement = JSONAttribute()  # the statement as GET answers it, money as decimal text

    @staticmethod
    def key(tenant_id: str, period: str, close_id: str, user_id: str) -> tuple[str, str]:
        return period_partition(tenant_id, period), f"STATEMENT#{close_id}#{user_id}"
