"""The tenant's customer care rules (客户关怀规则): one settings item.

Key design: pk = T#<t>#CARERULES, sk = "RULES" (read through a per-container cache by every
write of a customer or contact, which derives its care moments from it: care/timers.py)."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute

from ..db import keys
from ..db.base import Versioned


class CareRules(Versioned, discriminator="CARERULES"):
    rules = JSONAttribute()  # [{"id", "kind", "name", "enabled", "days", "levels", "holidays"}] (schemas.Rule)

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "CARERULES"), "RULES"

    def values(self) -> dict:
        return {"rules": self.rules}
