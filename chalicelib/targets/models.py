"""Targets (业绩目标 / 销售计划) and territories (销售地域): settings items of a tenant.

Key design:
- Targets: pk = T#<t>#TARGETS, sk = <year>#<metric> — one versioned item per year and metric
  (contract_amount | payment_amount) holding the plan's name and notes and one row per subject
  (company, department:<id>, user:<id>) with its twelve monthly figures (Decimal text). Read by
  GetItem (a year's targets, the achievement of any subject); the plans of a year are one Query
  on the partition with sk beginning with the year.
- Territories: pk = T#<t>#TERRITORIES, sk = TERRITORIES — one versioned item holding every
  territory (regions → team), replaced as a whole by administrators.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


class Targets(Versioned, discriminator="TARGETS"):
    year = UnicodeAttribute()
    metric = UnicodeAttribute()
    name = UnicodeAttribute(null=True)  # the sales plan's name (销售计划)
    notes = UnicodeAttribute(null=True)
    rows = JSONAttribute()  # [{"subject": "company" | "department:<id>" | "user:<id>", "months": ["0.00" × 12]}]

    @staticmethod
    def partition(tenant_id: str) -> str:
        return keys.k(tenant_id, "TARGETS")

    @staticmethod
    def key(tenant_id: str, year: int, metric: str) -> tuple[str, str]:
        return Targets.partition(tenant_id), f"{year:04d}#{metric}"

    def values(self) -> dict:
        return {"name": self.name, "notes": self.notes, "rows": self.rows}


class Territories(Versioned, discriminator="TERRITORIES"):
    territories = JSONAttribute()  # [{"id", "name", "regions": [code], "department_ids", "user_ids", "notes"}]

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "TERRITORIES"), "TERRITORIES"

    def values(self) -> dict:
        return {"territories": self.territories}
