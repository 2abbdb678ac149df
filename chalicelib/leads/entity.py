"""Leads (线索): first information about a possible customer (a campaign, a call, a referral,
a web form, an e-mail), followed up until it is converted into a customer and a contact — or
found invalid.

A converted lead keeps its values and links to what it became (`customer`, `contact`, both
read-only); the customer and the contact link back (`lead`). It can no longer be changed or
converted again (leads/service.py: convert).
"""
from __future__ import annotations

from ..core.errors import ValidationFailed, detail
from ..engine.definition import EntityDef, Hooks, WriteContext
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export", "convert", "manage")

STATUSES = (("new", "新线索", "New"), ("following", "跟进中", "Following up"), ("converted", "已转化", "Converted"),
            ("invalid", "无效", "Invalid"))


def _status_rules(ctx: WriteContext) -> None:
    """Only a conversion converts (and then the lead is closed for changes)."""
    before = ctx.before or {}
    if before.get("status") == "converted":
        raise ValidationFailed("INVALID_STATE", reason="reason.lead_converted")
    if ctx.values.get("status") == "converted":
        raise ValidationFailed(details=[detail("status", "converted", "lead.convert_to_convert")])


LEAD = EntityDef(
    name="lead",
    module="leads",
    label=("线索", "Lead"),
    path="/leads",
    title_field="name",
    card_fields=("company", "mobile", "status"),
    actions=ACTIONS,
    fields=(
        F("name", "text", ("线索名称", "Name"), required=True, max_length=100, searchable=True),
        F("company", "text", ("公司名称", "Company"), max_length=100, searchable=True),
        F("mobile", "mobile", ("手机", "Mobile"), searchable=True, mask=True),
        F("phone", "phone", ("电话", "Phone"), searchable=True),
        F("email", "email", ("邮箱", "E-mail"), searchable=True),
        F("source", "select", ("线索来源", "Source"), dictionary="source"),
        F("status", "select", ("状态", "Status"), default="new", options=STATUSES),
        F("region", "region", ("地区", "Region")),
        F("address", "text", ("详细地址", "Address"), max_length=200, searchable=True),
        F("industry", "select", ("所属行业", "Industry"), dictionary="industry"),
        F("level", "select", ("级别", "Level"), dictionary="customer_level"),
        F("next_contact_at", "datetime", ("下次联系时间", "Next contact")),
        F("last_followup_at", "datetime", ("最后跟进时间", "Last follow-up"), readonly=True),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
        F("converted_at", "datetime", ("转化时间", "Converted at"), readonly=True),
        F("customer", "reference", ("转化的客户", "Converted customer"), entity="customer", readonly=True),
        F("contact", "reference", ("转化的联系人", "Converted contact"), entity="contact", readonly=True),
    ),
    hooks=Hooks(validate=_status_rules),
    duplicates={"company": "company", "name": "person", "mobile": "phone", "phone": "phone", "email": "email"},
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": tuple(a for a in ACTIONS if a != "manage"), "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer", "team", "convert"), "scope": "self"},
        "service_agent": {"actions": ("create", "list", "read"), "scope": "self", "fields": {"mobile": "masked"}},
    },
)
