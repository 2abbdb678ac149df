"""Customers (客户): the record type, as the engine reads it.

Stored as engine records (engine/store.py, entity CUSTOMER): get by id = one GetItem; an
owner's customers (hand-over) = gsi1; all customers (reindex) = gsi2; related records of a
customer (contacts, deals … in later modules) = gsi3 T#<t>#CUSTOMER#<id>; lists, search,
filters, facets and "shared with me" = the search index.
"""
from __future__ import annotations

from ..engine.definition import EntityDef, Hooks, Timer, lazy
from ..engine.fieldtypes import FieldSpec as F

ALL_ACTIONS = ("create", "update", "list", "read", "delete", "import", "export", "transfer", "team", "lock", "pool", "print",
               "manage")

def _derive(dv):  # noqa: ANN001, ANN202 - the engine's derive hook: the pool timer, then the care moments
    from dataclasses import replace

    from ..care import timers as care
    from ..pools import timers

    pooled = timers.derive(dv)  # owned_since moves with the owner: the care moments count from it
    return {**pooled, **care.derive_customer(replace(dv, data={**dv.data, **pooled}))}


POOLS, CARE = "chalicelib.pools.timers", "chalicelib.care.timers"
POOL_NAMES = lazy("chalicelib.pools.models", "names")  # the two pool fields hold a pool id; files show its name


SATISFACTION = (("5", "很满意", "Very satisfied"), ("4", "满意", "Satisfied"), ("3", "一般", "Neutral"),
                ("2", "不满意", "Dissatisfied"), ("1", "很不满意", "Very dissatisfied"))


CUSTOMER = EntityDef(
    name="customer",
    module="customers",
    label=("客户", "Customer"),
    path="/customers",
    title_field="name",
    card_fields=("level", "region", "mobile"),
    actions=ALL_ACTIONS,
    fields=(
        F("name", "text", ("客户名称", "Name"), required=True, max_length=100, searchable=True),
        F("customer_type", "select", ("客户类型", "Type"), dictionary="customer_type"),
        F("level", "select", ("客户级别", "Level"), dictionary="customer_level"),
        F("industry", "select", ("所属行业", "Industry"), dictionary="industry"),
        F("source", "select", ("客户来源", "Source"), dictionary="source"),
        F("mobile", "mobile", ("手机", "Mobile"), searchable=True, mask=True),
        F("phone", "phone", ("电话", "Phone"), searchable=True),
        F("email", "email", ("邮箱", "E-mail"), searchable=True),
        F("website", "text", ("网址", "Website"), max_length=200),
        F("region", "text", ("地区（省/市/区）", "Region"), max_length=60),
        F("address", "text", ("详细地址", "Address"), max_length=200, searchable=True),
        F("location", "address", ("地图定位", "Location"),
          description="the address on the map: text, region code and coordinates (lng/lat), e.g. from the mobile client's GPS"),
        F("remark", "textarea", ("备注", "Remark"), max_length=2000, searchable=True),
        F("tags", "tags", ("标签", "Tags")),
        F("deal_status", "select", ("成交状态", "Deal status"), default="none",
          options=(("none", "未成交", "No deal"), ("closed", "已成交", "Closed"))),
        F("locked", "boolean", ("锁定", "Locked"), default=False, readonly=True),
        F("credit_limit", "money", ("信用额度", "Credit limit")),
        F("parent_customer", "reference", ("上级客户", "Parent company"), entity="customer"),
        F("lead", "reference", ("来源线索", "From lead"), entity="lead", readonly=True),
        F("next_contact_at", "datetime", ("下次联系时间", "Next contact"), readonly=True),
        F("last_followup_at", "datetime", ("最后跟进时间", "Last follow-up"), readonly=True),
        F("pool", "text", ("所在公海", "Public pool"), readonly=True, max_length=40, names=POOL_NAMES),
        F("pool_entered_at", "datetime", ("进入公海时间", "In the pool since"), readonly=True),
        F("previous_owner_id", "user", ("前负责人", "Previous owner"), readonly=True),
        F("pool_reason", "text", ("放入公海原因", "Why it went to the pool"), readonly=True, max_length=200),
        F("owned_since", "datetime", ("获得时间", "Owned since"), readonly=True),
        F("pool_due_at", "datetime", ("预计进入公海时间", "Enters the pool at"), readonly=True),
        F("pool_due_pool", "text", ("将进入的公海", "Pool it will enter"), readonly=True, max_length=40, names=POOL_NAMES),
        F("pool_warn_at", "datetime", ("待进入公海提醒时间", "Pool warning at"), readonly=True),
        F("last_opportunity_at", "datetime", ("最后新建商机时间", "Last new opportunity"), readonly=True),
        F("open_opportunities", "number", ("进行中商机数", "Open opportunities"), readonly=True),
        # customer care (客户关怀, care/timers.py) and satisfaction (客户回访, revisits/entity.py)
        F("deal_at", "datetime", ("成交时间", "Deal closed at"), readonly=True),
        F("care_after_deal_at", "datetime", ("成交回访提醒时间", "After-deal reminder at"), readonly=True),
        F("care_not_contacted_at", "datetime", ("遗忘客户提醒时间", "Not-contacted reminder at"), readonly=True),
        F("satisfaction", "select", ("客户满意度", "Satisfaction"), readonly=True, options=SATISFACTION),
        F("last_revisit_at", "datetime", ("最后回访时间", "Last revisit"), readonly=True),
    ),
    # counters of owned and locked customers (limits); a level change moves its contacts' birthday rule (care)
    hooks=Hooks(holdings=lazy("chalicelib.customers.limits", "holdings"),
                holdings_many=lazy("chalicelib.customers.limits", "holdings_many"), derive=_derive,
                after_write=lazy(CARE, "customer_written")),
    timers=(Timer("pool_recycle", lazy(POOLS, "recycle_at"), lazy(POOLS, "fire_recycle")),
            Timer("pool_warning", lazy(POOLS, "warn_at"), lazy(POOLS, "fire_warning")),
            Timer("care_after_deal", lazy(CARE, "after_deal_at"), lazy(CARE, "fire_after_deal")),
            Timer("care_not_contacted", lazy(CARE, "not_contacted_at"), lazy(CARE, "fire_not_contacted"))),
    duplicates={"name": "company", "mobile": "phone", "phone": "phone", "email": "email"},
    role_defaults={
        "admin": {"actions": ALL_ACTIONS, "scope": "all"},
        "sales_manager": {"actions": tuple(a for a in ALL_ACTIONS if a != "manage"), "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "transfer", "team", "lock", "pool"), "scope": "self"},
        "service_agent": {"actions": ("list", "read"), "scope": "department",
                          "fields": {"mobile": "masked", "credit_limit": "hidden"}},
    },
)
