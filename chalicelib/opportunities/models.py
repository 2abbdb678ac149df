"""Opportunities' settings item: the tenant's stage groups (商机组).

Key design: pk = T#<t>#STAGEGROUPS, sk = GROUPS — one versioned item holding every group with
its ordered stages (and their win rates), replaced as a whole by administrators."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute

from ..db import keys
from ..db.base import Versioned


class StageGroups(Versioned, discriminator="STAGEGROUPS"):
    groups = JSONAttribute()  # [{"id", "name", "department_ids", "active", "stages": [{"id", "name", "win_rate", "active"}]}]

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "STAGEGROUPS"), "GROUPS"

    def values(self) -> dict:
        return {"groups": self.groups}
