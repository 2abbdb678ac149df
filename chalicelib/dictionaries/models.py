"""Dictionary items (字典): positions, industries, sources, levels, customer types, regions…

Key design: pk = T#<t>#DICT, sk = <type>#<code>
- one type's items: Query pk, begins_with(sk, "<type>#"); all types: Query pk.
- one item (validation of a code on write): GetItem.
A type an admin defined (the built-in types are the product's, service.BUILTIN_TYPES):
pk = T#<t>#DICT, sk = TYPE#<type> (types are lower-case, so never a prefix of an item's sk)
- is it defined: GetItem; every defined type: Query pk, begins_with(sk, "TYPE#").
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


class DictItem(Versioned, discriminator="DICT"):
    dict_type = UnicodeAttribute()
    code = UnicodeAttribute()
    label = UnicodeAttribute()
    label_en = UnicodeAttribute(null=True)
    parent_code = UnicodeAttribute(null=True)
    sort_order = NumberAttribute(default=0)
    enabled = BooleanAttribute(default=True)

    @staticmethod
    def key(tenant_id: str, dict_type: str, code: str) -> tuple[str, str]:
        return keys.k(tenant_id, "DICT"), f"{dict_type}#{code}"

    def values(self) -> dict:
        return {"label": self.label, "label_en": self.label_en, "parent_code": self.parent_code,
                "sort_order": int(self.sort_order or 0), "enabled": bool(self.enabled)}


class DictType(Versioned, discriminator="DICT_TYPE"):
    dict_type = UnicodeAttribute()
    label = UnicodeAttribute()
    label_en = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, dict_type: str) -> tuple[str, str]:
        return keys.k(tenant_id, "DICT"), f"TYPE#{dict_type}"

    def values(self) -> dict:
        return {"label": self.label, "label_en": self.label_en}
