"""Custom fields (自定义字段, PLAT-4) of an entity.

Key design: pk = T#<t>#FIELDS, sk = <ENTITY>#<key>          -> an entity's fields: Query pk, begins_with.
Slot claim: pk = T#<t>#FIELDS, sk = SLOT#<ENTITY>#<cf_n3>   -> written with the field in one
transaction (condition: not there yet), so two admins adding fields at once never share
a search slot. Fields are deactivated, never deleted: their slot is never reused.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class CustomField(Versioned, discriminator="CUSTOM_FIELD"):
    entity = UnicodeAttribute()
    key = UnicodeAttribute()
    label = UnicodeAttribute()
    field_type = UnicodeAttribute()
    options = JSONAttribute(default=list)  # [{"code", "label"}] for select / multiselect
    required = BooleanAttribute(default=False)
    allow_negative = BooleanAttribute(default=False)  # number/money: values below zero accepted
    active = BooleanAttribute(default=True)
    slot = UnicodeAttribute()
    sort_order = NumberAttribute(default=0)

    @staticmethod
    def pk_of(tenant_id: str) -> str:
        return keys.k(tenant_id, "FIELDS")

    @classmethod
    def key_of(cls, tenant_id: str, entity: str, key: str) -> tuple[str, str]:
        return cls.pk_of(tenant_id), f"{entity}#{key}"

    def values(self) -> dict:
        return {"label": self.label, "field_type": self.field_type, "options": self.options or [], "required": bool(self.required),
                "allow_negative": bool(self.allow_negative),
                "active": bool(self.active), "slot": self.slot, "sort_order": int(self.sort_order or 0)}


class SlotClaim(Item, discriminator="FIELD_SLOT"):
    entity = UnicodeAttribute()
    field_key = UnicodeAttribute()
