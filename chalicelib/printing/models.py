"""A tenant's print templates (打印模板): one settings item per record type.

Key design: pk = T#<t>#PRINTTPL, sk = <ENTITY> (CONTRACT, CUSTOMER, QUOTE …): a print reads its
template with one GetItem; every template of a tenant is one Query. No item = the record type's
default template (printing/service.py)."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


class PrintTemplate(Versioned, discriminator="PRINTTPL"):
    entity = UnicodeAttribute()  # the record type's API name: contract
    title = UnicodeAttribute(null=True)  # the document's title; None = the record type's name (合同)
    company_name = UnicodeAttribute(null=True)  # None = the tenant's name
    company_address = UnicodeAttribute(null=True)
    company_phone = UnicodeAttribute(null=True)
    footer = UnicodeAttribute(null=True)  # terms and notes printed under everything
    fields = ListAttribute(of=UnicodeAttribute)  # field keys in print order (custom fields as custom.<key>)
    show_lines = BooleanAttribute(default=True)  # the product lines table and totals, when the record has lines

    @staticmethod
    def key(tenant_id: str, entity: str) -> tuple[str, str]:
        return keys.k(tenant_id, "PRINTTPL"), entity.upper()

    def values(self) -> dict:
        return {"entity": self.entity, "title": self.title, "company_name": self.company_name,
                "company_address": self.company_address, "company_phone": self.company_phone, "footer": self.footer,
                "fields": list(self.fields or []), "show_lines": bool(self.show_lines)}
