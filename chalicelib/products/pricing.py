"""The price of a product line (pure: no I/O): the list price, lowered by the best quantity tier the
quantity reaches (the tier with the largest `min_quantity` not above it), then by the customer
level's discount. Money is Decimal, rounded half-up to 2 places: the unit price first, then the
subtotal = unit price × quantity. A tier or discount never raises a price above the list price."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def price_line(product: Mapping[str, Any], quantity: Any, customer_level: str | None = None) -> dict[str, Any]:
    """{list_price, unit_price, quantity, subtotal, rule}; rule names what applied:
    {"tier_min_quantity": 10 | None, "level": "A" | None, "discount": 5 | None}."""
    qty = Decimal(str(quantity))
    if not qty.is_finite() or qty <= 0:
        raise ValueError("quantity must be above zero")
    list_price = money(product["price"])
    unit, tier_min = list_price, None
    reached = [t for t in product.get("price_tiers") or [] if Decimal(str(t["min_quantity"])) <= qty]
    if reached:
        best = max(reached, key=lambda t: (Decimal(str(t["min_quantity"])), -Decimal(str(t["unit_price"]))))
        unit, tier_min = min(money(best["unit_price"]), list_price), Decimal(str(best["min_quantity"]))
    level, discount = None, None
    if customer_level:
        found = next((r for r in product.get("level_discounts") or [] if r.get("level") == customer_level), None)
        if found is not None:
            level, discount = customer_level, min(max(Decimal(str(found["discount"])), Decimal(0)), HUNDRED)
            unit = money(unit * (HUNDRED - discount) / HUNDRED)
    return {"list_price": list_price, "unit_price": unit, "quantity": qty, "subtotal": money(unit * qty),
            "rule": {"tier_min_quantity": _number(tier_min), "level": level, "discount": _number(discount)}}


def _number(d: Decimal | None) -> int | float | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)
