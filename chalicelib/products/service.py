"""Products as other modules use them: the priced line of a product (opportunities, quotes and
contracts add products through `line`: only products on the shelf, at the price the quantity and
the customer's level give)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core.errors import ValidationFailed, detail
from ..db.base import plain
from ..engine import service as engine
from ..org import service as org
from . import pricing
from .entity import PRODUCT


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def line(product_id: str, quantity: Any, customer_level: str | None = None) -> dict[str, Any]:
    """A new line of a product the caller may read: 404 when there is no such product (or it is in
    the recycle bin), 422 PRODUCT_OFF_SHELF when it is off the shelf. Money as Decimal."""
    p = org.principal()
    rec = engine.load(PRODUCT, p, product_id, "read")
    values = plain(rec.data or {})
    if values.get("on_shelf") is False:
        raise ValidationFailed("PRODUCT_OFF_SHELF", name=values.get("name"),
                               details=[detail("product_id", "off_shelf", "product.off_shelf", name=values.get("name"))])
    priced = pricing.price_line(values, quantity, customer_level)
    return {"product_id": rec.id, "name": values.get("name"), "sku": values.get("sku"), "unit": values.get("unit"),
            "customer_level": customer_level, **priced}


def price(product_id: str, quantity: Decimal, customer_id: str | None) -> dict[str, Any]:
    """GET /v1/products/{id}/price: the line's price, for a customer the caller may read."""
    level = None
    if customer_id:
        from ..customers.entity import CUSTOMER

        customer = engine.load(CUSTOMER, org.principal(), customer_id, "read")
        level = plain(customer.data or {}).get("level")
    out = line(product_id, quantity, level)
    return {**out, **{k: _number(out[k]) for k in ("list_price", "unit_price", "quantity", "subtotal")}}
