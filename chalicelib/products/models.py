"""The tenant's product category tree (产品分类): one settings item.

Key design: pk = T#<t>#PRODUCTCATEGORIES, sk = "TREE" — read whole (one GetItem, cached per
container) by every product write, which checks its category and derives its category path."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute

from ..db import keys
from ..db.base import Versioned


class ProductCategories(Versioned, discriminator="PRODUCTCATEGORIES"):
    categories = JSONAttribute()  # [{"id", "name", "name_en", "parent_id", "sort_order"}] parents before children

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "PRODUCTCATEGORIES"), "TREE"

    def values(self) -> dict:
        return {"categories": self.categories}
