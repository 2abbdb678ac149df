"""Custom forms (自定义表单) and the applications filled in with them (办公审批).

Key design:
- form:         pk = T#<t>#FORM#<id>, sk = "#"; gsi2pk = T#<t>#FORM, gsi2sk = <category>#<id>
                -> the tenant's forms in one Query.
- application:  a Record (ENTITY APPLICATION): pk = T#<t>#APPLICATION#<id>, sk = "#";
                owner = the applicant (gsi1: my applications). Its status follows its approval
                instance (approvals/service.register).
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned
from ..db.records import Record


def form_pk(tenant_id: str, form_id: str) -> str:
    return keys.k(tenant_id, "FORM", form_id)


def form_list(tenant_id: str) -> str:
    return keys.k(tenant_id, "FORM")


class Form(Versioned, discriminator="FORM"):
    id = UnicodeAttribute()
    code = UnicodeAttribute(null=True)  # the template it came from
    name = UnicodeAttribute()
    spec = JSONAttribute()
    flow_id = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)

    @property
    def business_type(self) -> str:
        return f"form:{self.id}"

    def values(self) -> dict:
        # the whole spec: a change of labels, options or rules alone is a change to save and log
        return {"name": self.name, "flow_id": self.flow_id, "enabled": self.enabled, "fields": [f["key"] for f in self.spec["fields"]],
                "spec": self.spec}


class Application(Record, discriminator="APPLICATION"):
    ENTITY = "APPLICATION"
    MODULE = "forms"
    NAME_KEY = "entity.application"
    SEARCHABLE = False  # listed through the approval inboxes, not the search index
    FIELDS = ("form_id", "form_name", "title", "data", "status", "instance_id")

    form_id = UnicodeAttribute()
    form_name = UnicodeAttribute()
    title = UnicodeAttribute()
    data = JSONAttribute(default=dict)
    status = UnicodeAttribute(default="draft")  # draft | pending | approved | rejected | withdrawn | archived | destroyed
    instance_id = UnicodeAttribute(null=True)
