"""Duplicate rules (查重规则) and merges (合并).

Key design:
- DuplicateRules: pk = T#<t>#DUPRULES, sk = "#"  -> the tenant's rules: one GetItem (cached per
  container for CRM_SETTINGS_CACHE_SECONDS, like dictionaries). Absent = the product defaults.
- Merge:          pk = the merged record's pk (T#<t>#<ENTITY>#<id>), sk = "MERGE"
                  -> what a merge moved, read back when the merged record is restored (undo).
                  gsi3pk = the survivor's pk, gsi3sk = MERGE#<at>#<merged id>
                  -> the survivor's collection (gsi3) names the records merged into it, so its
                  timeline links their operation logs (engine.service.timeline).
- Leases of block rules: db/unique.UniqueValue, pk = T#<t>#UQ#DUP.<kind>.<types>#<key>, with
  `expires_at` a few minutes ahead (see service.lease_ops).
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned

RULES_ENTITY = "duplicate_rules"  # the operation log of rule changes
MERGE_SK = "MERGE"


class DuplicateRules(Versioned, discriminator="DUPRULES"):
    rules = JSONAttribute(default=list)  # [{"kind", "entities", "action"}]

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "DUPRULES"), "#"

    def values(self) -> dict:
        return {"rules": list(self.rules or [])}


class Merge(Item, discriminator="MERGE"):
    """One merge: `record_id` (of `entity`) went into `into_id`; `moved` says exactly what moved."""

    entity = UnicodeAttribute()  # the record type's storage name (CUSTOMER)
    record_id = UnicodeAttribute()  # the merged record (now in the recycle bin)
    into_id = UnicodeAttribute()  # the survivor
    moved = JSONAttribute(default=dict)  # {"children": [...], "attachments": [...], "team": {...}}
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
