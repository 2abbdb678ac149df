"""A product's own rules across fields (the engine's validate hook): its category is one of the
tenant's, a quantity tier is a discount (never above the list price) and names its quantity once,
and a customer level has one discount."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from ..core.errors import ValidationFailed, detail
from . import categories


def validate(wc: Any) -> None:
    values, problems = wc.values, []
    category = values.get("category")
    if category and (wc.action == "create" or wc.before.get("category") != category) \
            and not categories.exists(wc.principal.tenant_id, str(category)):
        problems.append(detail("category", "not_found", "product.category_unknown", value=category))
    price = Decimal(str(values["price"])) if values.get("price") is not None else None
    tiers = list(values.get("price_tiers") or [])
    quantities = Counter(Decimal(str(t["min_quantity"])) for t in tiers)
    for i, t in enumerate(tiers):
        if price is not None and Decimal(str(t["unit_price"])) > price:
            problems.append(detail(f"price_tiers.{i}.unit_price", "range", "product.tier_above_price", price=price))
        if quantities[Decimal(str(t["min_quantity"]))] > 1:
            problems.append(detail(f"price_tiers.{i}.min_quantity", "duplicate", "product.tier_twice",
                                   quantity=t["min_quantity"]))
    levels = Counter(r["level"] for r in values.get("level_discounts") or [])
    problems += [detail(f"level_discounts.{i}.level", "duplicate", "product.level_twice", level=r["level"])
                 for i, r in enumerate(values.get("level_discounts") or []) if levels[r["level"]] > 1]
    if problems:
        raise ValidationFailed(details=problems)
