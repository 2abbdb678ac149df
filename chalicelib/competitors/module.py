"""Competitors (竞争对手, MKT-2): market intelligence every seller shares — strengths,
weaknesses, competing products and the customers where they were met."""
from __future__ import annotations

from ..core.modules import Module
from ..engine.definition import EntityDef
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")

COMPETITOR = EntityDef(
    name="competitor",
    module="competitors",
    label=("竞争对手", "Competitor"),
    path="/competitors",
    card_fields=("website", "products"),
    actions=ACTIONS,
    fields=(
        F("name", "text", ("名称", "Name"), required=True, unique=True, max_length=100, searchable=True),
        F("website", "url", ("网址", "Website")),
        F("strengths", "textarea", ("优势", "Strengths"), searchable=True),
        F("weaknesses", "textarea", ("劣势", "Weaknesses"), searchable=True),
        F("products", "textarea", ("竞争产品", "Competing products"), searchable=True),
        F("met_at", "table", ("遭遇客户", "Customers where met"), columns=(
            F("customer", "reference", ("客户", "Customer"), required=True, entity="customer"),
            F("met_on", "date", ("日期", "Date")),
            F("note", "text", ("说明", "Note")),
        )),
    ),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ("create", "update", "list", "read", "delete", "transfer", "team"), "scope": "all"},
        "sales_rep": {"actions": ("create", "update", "list", "read"), "scope": "all"},
        "service_agent": {"actions": ("list", "read"), "scope": "all"},
    },
)

MODULE = Module(name="competitors", label=("竞争对手", "Competitors"), entities=(COMPETITOR,),
                notifications=("competitors.competitor.transferred",))
