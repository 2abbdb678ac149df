"""The product record type (产品, SALES-8): what the company sells, shared by every seller.

Products are company data: every role that may read them sees all of them (scope all); the
creator is kept as owner only because the engine's records always have one (no transfer, team or
hand-over: a leaving admin's products stay where they are). The category is an id of the tenant's
category tree (products/categories.py); `category_path` (root … category) is derived from it so
that filtering by a category (`{"field": "category_path", "op": "eq", "value": <id>}`) also finds
the products of its sub-categories."""
from __future__ import annotations

from ..engine.definition import EntityDef, Features, Hooks, lazy
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "import", "export", "manage")
READ = ("list", "read")

PRODUCT = EntityDef(
    name="product",
    module="products",
    label=("产品", "Product"),
    path="/products",
    card_fields=("sku", "price"),
    actions=ACTIONS,
    features=Features(team=False, transfer=False, handover=False),
    fields=(
        F("name", "text", ("产品名称", "Name"), required=True, max_length=100, searchable=True),
        F("sku", "text", ("产品编码", "SKU"), unique=True, max_length=60, searchable=True),
        F("category", "text", ("产品分类", "Category"), max_length=40, sortable=False,
          description="a category id of GET /v1/product-categories"),
        F("category_path", "tags", ("分类路径", "Category path"), readonly=True, hidden=True, sortable=False,
          description="the category's ids from the root down (derived): filter on it to include sub-categories"),
        F("unit", "select", ("单位", "Unit"), dictionary="unit"),
        F("price", "money", ("标准价格", "List price"), required=True),
        F("cost", "money", ("成本", "Cost")),
        F("on_shelf", "boolean", ("上架", "On shelf"), default=True,
          description="only products on the shelf can be added to new opportunities, quotes and contracts"),
        F("images", "image", ("产品图片", "Images"), filterable=False, sortable=False),
        F("description", "textarea", ("产品描述", "Description"), searchable=True),
        F("attributes", "table", ("产品属性", "Attributes"), columns=(
            F("name", "text", ("属性", "Attribute"), required=True, max_length=40),
            F("value", "text", ("属性值", "Value"), max_length=200),
        )),
        F("price_tiers", "table", ("阶梯价格", "Quantity tiers"), columns=(
            F("min_quantity", "decimal", ("起订数量", "From quantity"), required=True, min=0.0001),
            F("unit_price", "money", ("单价", "Unit price"), required=True),
        )),
        F("level_discounts", "table", ("客户级别折扣", "Customer level discounts"), columns=(
            F("level", "select", ("客户级别", "Customer level"), required=True, dictionary="customer_level"),
            F("discount", "percent", ("折扣（%）", "Discount (%)"), required=True),
        )),
    ),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": READ, "scope": "all"},
        "sales_rep": {"actions": READ, "scope": "all"},
        "service_agent": {"actions": READ, "scope": "all"},
    },
    hooks=Hooks(validate=lazy("chalicelib.products.rules", "validate"),
                derive=lazy("chalicelib.products.categories", "derive")),
)
