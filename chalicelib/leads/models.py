"""The tenant's lead conversion mapping (线索转化字段映射): one item.

Key design: pk = T#<t>#LEADMAP, sk = "MAP"."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute

from ..db import keys
from ..db.base import Versioned


class ConversionMapping(Versioned, discriminator="LEADMAP"):
    customer = JSONAttribute()  # lead field -> customer field ("custom.<key>" on either side)
    contact = JSONAttribute()  # lead field -> contact field

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "LEADMAP"), "MAP"

    def values(self) -> dict:
        return {"customer": self.customer, "contact": self.contact}
