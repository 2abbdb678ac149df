"""Contacts (联系人): the people of a customer — many per customer, exactly one primary
(首要联系人), decision makers, and the extended personal profile of seed 002 (客户联系人扩展表).

A contact hangs under its customer (parent reference `customer`): it is in the customer's
related list (one Query with the customer, engine.related), moves with the customer's transfer
and goes to the recycle bin with it (cascades), unless the transfer says otherwise.

Primary contact: the first contact of a customer becomes its primary; making another one primary
clears the flag on the previous one in the same transaction; the primary cannot be un-flagged
directly (make another one primary instead); when the primary leaves the customer (deleted or
moved to another customer) the oldest remaining contact becomes primary.
"""
from __future__ import annotations

from typing import Any

from ..core.errors import ValidationFailed, detail
from ..db import tx
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, Features, Hooks, Timer, WriteContext, lazy
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")

EDUCATION = (("below_high_school", "初中及以下", "Below high school"), ("high_school", "高中/中专", "High school"),
             ("college", "大专", "College"), ("bachelor", "本科", "Bachelor"), ("master", "硕士", "Master"),
             ("doctor", "博士", "Doctorate"))
FAMILY = (("single", "单身", "Single"), ("dink", "丁克", "DINK"), ("three", "三口之家", "Three"),
          ("three_generations", "三代同堂", "Three generations"))
PERSONALITY = (("merchant", "商人型", "Merchant"), ("entrepreneur", "企业家型", "Entrepreneur"),
               ("bureaucrat", "官僚型", "Bureaucrat"), ("expert", "专家型", "Expert"), ("scholar", "学者型", "Scholar"),
               ("accountant", "会计型", "Accountant"), ("other", "其他", "Other"))


def _siblings(ctx: WriteContext, customer_id: str) -> list[store.EntityRecord]:
    """The customer's other live contacts (one Query of the customer's collection)."""
    return [c for c in store.collection(ctx.principal.tenant_id, "CUSTOMER", customer_id)
            if c.entity == "CONTACT" and not c.deleted_at and (ctx.record is None or c.id != ctx.record.id)]


def _customer_id(values: dict[str, Any]) -> str | None:
    ref = values.get("customer")
    return str(ref["id"]) if isinstance(ref, dict) and ref.get("id") else None


def _primary_rule(ctx: WriteContext) -> None:
    """Exactly one primary contact per customer (see the module docstring): decided before the
    record is built (the validate hook), the previous primary cleared in the same transaction."""
    values, before = ctx.values, ctx.before or {}
    customer = _customer_id(values)
    if customer is None:
        return
    moved = ctx.action == "update" and _customer_id(before) != customer
    others = _siblings(ctx, customer)
    primary = [c for c in others if (c.data or {}).get("is_primary")]
    if not others or (moved and not primary):
        values["is_primary"] = True  # the customer's first (or only) contact
    elif ctx.action == "update" and not moved and before.get("is_primary") and not values.get("is_primary"):
        raise ValidationFailed(details=[detail("is_primary", "primary", "contact.primary_required")])
    if values.get("is_primary"):
        for c in primary:
            data = {**plain(c.data or {}), "is_primary": False}
            ctx.extra_ops.extend(store.update_ops(c, ctx.principal.user_id, data, None, action="update",
                                                  parent=("CUSTOMER", customer)))


def _promote(tenant_id: str, actor: str, customer_id: str | None) -> None:
    """The customer lost its primary contact: the oldest remaining contact becomes primary."""
    if not customer_id:
        return
    left = sorted((c for c in store.collection(tenant_id, "CUSTOMER", customer_id) if c.entity == "CONTACT" and not c.deleted_at),
                  key=lambda c: c.created_at)
    if left and not any((c.data or {}).get("is_primary") for c in left):
        first = left[0]
        tx.write(store.update_ops(first, actor, {**plain(first.data or {}), "is_primary": True}, None,
                                  parent=("CUSTOMER", customer_id)))


def _after_write(ctx: WriteContext) -> None:
    before = ctx.before or {}
    if ctx.action == "update" and before.get("is_primary") and _customer_id(before) != _customer_id(ctx.values):
        _promote(ctx.principal.tenant_id, ctx.principal.user_id, _customer_id(before))


def _on_delete(ctx: WriteContext) -> None:
    if ctx.values.get("is_primary"):
        _promote(ctx.principal.tenant_id, ctx.principal.user_id, _customer_id(ctx.values))


CARE = "chalicelib.care.timers"


def _derive(dv: Derivation) -> dict[str, Any]:
    """The next birthday reminder (客户关怀, care/timers.py)."""
    from ..care import timers as care

    return care.derive_contact(dv)


CONTACT = EntityDef(
    name="contact",
    module="contacts",
    label=("联系人", "Contact"),
    path="/contacts",
    title_field="name",
    card_fields=("customer", "title", "mobile"),
    actions=ACTIONS,
    parent_field="customer",
    parent_cascade=("transfer", "delete"),
    features=Features(),
    fields=(
        F("name", "text", ("姓名", "Name"), required=True, max_length=60, searchable=True),
        F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
        F("is_primary", "boolean", ("首要联系人", "Primary contact"), default=False),
        F("decision_maker", "boolean", ("决策人", "Decision maker"), default=False),
        F("title", "text", ("职务", "Title"), max_length=60, searchable=True),
        F("department", "text", ("部门", "Department"), max_length=60),
        F("gender", "select", ("性别", "Gender"), options=(("male", "男", "Male"), ("female", "女", "Female"))),
        F("mobile", "mobile", ("手机", "Mobile"), searchable=True, mask=True),
        F("phone", "phone", ("办公电话", "Office phone"), searchable=True),
        F("email", "email", ("邮箱", "E-mail"), searchable=True),
        F("fax", "phone", ("传真", "Fax")),
        F("wechat", "text", ("微信", "WeChat"), max_length=60, searchable=True),
        F("qq", "text", ("QQ", "QQ"), max_length=20),
        F("birthday", "date", ("生日", "Birthday")),
        F("care_birthday_at", "datetime", ("生日提醒时间", "Birthday reminder at"), readonly=True,
          description="the reminder as of the contact's last change; each year's follows the one before"),
        F("address", "text", ("地址", "Address"), max_length=200),
        F("postcode", "text", ("邮编", "Postcode"), max_length=10),
        F("next_contact_at", "datetime", ("下次联系时间", "Next contact")),
        F("last_followup_at", "datetime", ("最后跟进时间", "Last follow-up"), readonly=True),
        F("intro", "textarea", ("个人简介", "About"), max_length=2000),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
        F("business_card", "image", ("名片", "Business card")),
        F("lead", "reference", ("来源线索", "From lead"), entity="lead", readonly=True),
        # extended profile (联系人扩展表)
        F("ethnicity", "text", ("民族", "Ethnicity"), max_length=20),
        F("education", "select", ("学历", "Education"), options=EDUCATION),
        F("major", "text", ("专业", "Major"), max_length=60),
        F("school", "text", ("毕业院校", "School"), max_length=100),
        F("hometown", "text", ("籍贯", "Hometown"), max_length=60),
        F("home_address", "text", ("家庭地址", "Home address"), max_length=200),
        F("private_phone", "phone", ("私人电话", "Private phone"), mask=True),
        F("habits", "textarea", ("个人习惯", "Habits"), max_length=1000),
        F("hobbies", "textarea", ("兴趣爱好", "Hobbies"), max_length=1000),
        F("income", "text", ("收入状况", "Income"), max_length=60),
        F("family", "select", ("家庭构成", "Family"), options=FAMILY),
        F("social_relations", "textarea", ("社会关系", "Social relations"), max_length=1000),
        F("resume", "textarea", ("履历", "Résumé"), max_length=2000),
        F("personality", "select", ("性格分析", "Personality"), options=PERSONALITY),
    ),
    hooks=Hooks(validate=_primary_rule, after_write=_after_write, on_delete=_on_delete, derive=_derive),
    timers=(Timer("care_birthday", lazy(CARE, "birthday_at"), lazy(CARE, "fire_birthday"),
                  following=lazy(CARE, "birthday_following")),),
    duplicates={"name": "person", "mobile": "phone", "phone": "phone", "email": "email"},
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer", "team"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department",
                          "fields": {"mobile": "masked", "private_phone": "hidden", "home_address": "hidden"}},
    },
)
