"""Custom objects (数据自定义表单): record types a tenant's admins define at runtime.

Key design (ObjectDefinition): pk = T#<t>#OBJDEF, sk = <key> -> every object of a tenant in
one Query (cached per container like the organisation). `fields` holds the field specs as
the admin wrote them plus the search slot each field got (never reused, so a new field
needs no mapping change and no reindex). Records are engine records (engine/store.py) of
entity OBJ_<KEY>.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


def definitions_pk(tenant_id: str) -> str:
    return keys.k(tenant_id, "OBJDEF")


class ObjectDefinition(Versioned, discriminator="OBJDEF"):
    key = UnicodeAttribute()
    label = UnicodeAttribute()
    label_en = UnicodeAttribute(null=True)
    fields = JSONAttribute(default=list)  # [{key, label, label_en, type, …rules, slot}]
    title_field = UnicodeAttribute()
    card_fields = JSONAttribute(default=list)
    parent = JSONAttribute(null=True)  # {"field": <reference field>, "cascade": ["transfer", "delete"]}; fixed at creation
    numbering = JSONAttribute(null=True)  # {"field": <text field>, "rule": <numbering rule>}
    approval = BooleanAttribute(default=False)  # submitted to the flow of business type obj:<key>
    rules = JSONAttribute(default=list)  # cross-field rules (engine/fieldtypes.py RULES)
    active = BooleanAttribute(default=True)

    def values(self) -> dict:
        return {"label": self.label, "label_en": self.label_en, "fields": list(self.fields or []),
                "title_field": self.title_field, "card_fields": list(self.card_fields or []), "active": bool(self.active),
                "rules": list(self.rules or [])}
