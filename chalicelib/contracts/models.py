"""Contracts' settings item: the tenant's deal rules (报价折扣阈值, 信用额度控制).

Key design: pk = T#<t>#SALESSETTINGS, sk = SETTINGS — one versioned item replaced as a whole by
administrators."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute

from ..db import keys
from ..db.base import Item, Versioned


class SalesSettings(Versioned, discriminator="SALESSETTINGS"):
    rules = JSONAttribute()  # {"quote_discount_threshold": 10, "credit_control": "block", "credit_flow": "contract_credit"}

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "SALESSETTINGS"), "SETTINGS"

    def values(self) -> dict:
        return {"rules": self.rules}


class CreditGuard(Item, discriminator="CREDITGUARD"):
    """One per customer whose contracts were checked against its credit limit: pk = T#<t>#CREDITGUARD#<customer>,
    sk = GUARD. Each submit that passed the check moves `seq` on, conditioned on the value it read before
    counting the customer's open receivables — two submits that counted at the same time cannot both pass."""

    seq = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, customer_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "CREDITGUARD", customer_id), "GUARD"
