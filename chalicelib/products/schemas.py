"""API contract of products' own routes: the category tree (产品分类) and a line's price."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ID = r"^[A-Za-z0-9_-]{1,40}$"


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, defer_build=True)
    id: str | None = Field(None, pattern=ID, description="kept across saves; a new category may bring its own (its children "
                                                         "name it as parent_id) or get one")
    name: str = Field(min_length=1, max_length=40)
    name_en: str | None = Field(None, max_length=60)
    parent_id: str | None = Field(None, pattern=ID, description="null: a top-level category")
    sort_order: int = Field(0, ge=0, le=100000, description="order among its siblings")


class CategoriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)
    categories: list[CategoryIn] = Field(max_length=1000, description="the whole tree, flat: each category names its parent")
    version: int | None = Field(None, description="the version you read (or If-Match); not needed for the first tree")


class CategoryOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str
    name: str
    name_en: str | None = None
    parent_id: str | None = None
    sort_order: int
    depth: int = Field(description="0 for a top-level category")
    path: list[str] = Field(description="ids from the top-level category down to this one")


class CategoriesOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    categories: list[CategoryOut] = Field(description="tree order: parents before children, siblings by sort_order")
    tree: list[dict[str, Any]] = Field(description="the same categories nested: each with `children`")
    version: int = Field(description="0: never saved (no categories)")


class PriceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    quantity: Decimal = Field(Decimal(1), gt=0, le=Decimal("1e9"), decimal_places=4, description="how many (default 1)")
    customer_id: str | None = Field(None, max_length=40, description="a customer you may read: its level's discount applies")


class PriceRule(BaseModel):
    model_config = ConfigDict(defer_build=True)
    tier_min_quantity: float | None = Field(None, description="the quantity tier applied (its from-quantity)")
    level: str | None = Field(None, description="the customer level whose discount applied")
    discount: float | None = Field(None, description="that discount, percent")


class PriceOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    product_id: str
    name: str
    sku: str | None = None
    unit: str | None = None
    customer_level: str | None = None
    list_price: float
    unit_price: float
    quantity: float
    subtotal: float
    rule: PriceRule
