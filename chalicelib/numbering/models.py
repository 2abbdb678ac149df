"""Numbering rules (编号规则) and their counters.

Key design:
- Rule:    pk = T#<t>#NUMRULE, sk = <rule key>         (contract, payment, order, …)
- Counter: pk = T#<t>#SEQ#<rule key>#<period>, sk = "#"  (period = 20261122 / 202611 / 2026 / ALL)
A number is drawn with one atomic UpdateItem (ADD 1, return the new value): concurrent
draws never see the same value, and a new period starts a new counter (the reset).
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class NumberingRule(Versioned, discriminator="NUMRULE"):
    rule_key = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute(default="")
    date_format = UnicodeAttribute(default="YYYYMMDD")  # YYYYMMDD | YYYYMM | YYYY | none
    reset = UnicodeAttribute(default="daily")  # daily | monthly | yearly | never
    seq_width = NumberAttribute(default=4)

    @staticmethod
    def key(tenant_id: str, rule_key: str) -> tuple[str, str]:
        return keys.k(tenant_id, "NUMRULE"), rule_key

    def values(self) -> dict:
        return {"name": self.name, "prefix": self.prefix, "date_format": self.date_format, "reset": self.reset,
                "seq_width": int(self.seq_width)}


class Counter(Item, discriminator="SEQ"):
    value = NumberAttribute(default=0)
