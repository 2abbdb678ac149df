"""Product lines (产品明细) of opportunities, quotes and contracts: one column set and one pricing.

Lines are priced on the server with products.service.line (on-shelf products only; the quantity
tier and the customer level's discount, the rule recorded on the line as `tier_min_quantity`,
`level`, `level_discount`); the line's own `discount` comes off its price; `lines_total` is the sum
of the subtotals and, with lines, `amount` is that total less the order discount `discount_rate`.
Figures a client sends in computed columns are replaced. A line kept as it was (same product and
quantity) keeps its price, so a product taken off the shelf later stays on existing records."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..core.errors import NotFound, ValidationFailed, detail
from ..db.base import plain
from ..engine import store
from ..engine.definition import WriteContext
from ..engine.fieldtypes import FieldSpec as F

CENT = Decimal("0.01")


def field() -> F:
    """The `lines` table field a record type with product lines declares."""
    return F("lines", "table", ("产品明细", "Products"), columns=(
        F("product", "reference", ("产品", "Product"), required=True, entity="product"),
        F("quantity", "decimal", ("数量", "Quantity"), required=True, min=Decimal("0.0001")),
        F("discount", "percent", ("折扣", "Discount"), description="% off this line's price"),
        F("list_price", "money", ("标准价格", "List price"), description="computed"),
        F("unit_price", "money", ("售价", "Unit price"), description="computed: tier and customer level applied"),
        F("price", "money", ("折后单价", "Discounted price"), description="computed"),
        F("subtotal", "money", ("小计", "Subtotal"), description="computed"),
        F("tier_min_quantity", "decimal", ("阶梯起订量", "Tier from quantity"), description="computed: the price tier applied"),
        F("level", "text", ("客户级别", "Customer level"), max_length=40, description="computed: the level whose discount applied"),
        F("level_discount", "percent", ("级别折扣", "Level discount"), description="computed"),
        F("remark", "text", ("备注", "Remark"), max_length=200),
    ), description="priced on the server: computed columns sent by a client are replaced")


def money(v: Any) -> Decimal:
    return Decimal(str(v)).quantize(CENT, rounding=ROUND_HALF_UP)


def ref_id(ref: Any) -> str | None:
    return str(ref["id"]) if isinstance(ref, dict) and ref.get("id") else None


def _level(tenant_id: str, values: dict[str, Any]) -> str | None:
    customer_id = ref_id(values.get("customer"))
    if customer_id is None:
        return None
    try:
        customer = store.get(tenant_id, "CUSTOMER", customer_id, "entity.customer")
    except NotFound:
        return None
    return plain(customer.data or {}).get("level")


def _key(x: dict[str, Any]) -> tuple[str | None, Decimal]:
    return ref_id(x.get("product")), Decimal(str(x.get("quantity") or 0)).normalize()


def price(ctx: WriteContext) -> None:
    """The write's lines priced, `lines_total` and (with lines) `amount` computed, in `ctx.values`."""
    given = ctx.values.get("lines")
    if not given:
        ctx.values["lines_total"] = None
        return
    from . import service as products

    before = {_key(x): x for x in plain((ctx.before or {}).get("lines") or [])}
    level = _level(ctx.principal.tenant_id, ctx.values)
    out, errors = [], []
    for i, line in enumerate(given):
        kept = before.get(_key(line))
        try:
            priced = kept if kept is not None and kept.get("unit_price") is not None else \
                products.line(ref_id(line.get("product")) or "", line.get("quantity"), level)
        except NotFound:
            errors.append(detail(f"lines.{i}.product", "not_found", "field.reference"))
            continue
        except ValidationFailed as e:
            errors += [{**d, "field": f"lines.{i}.product"} for d in (e.details or [])] or \
                [detail(f"lines.{i}.product", "invalid", "field.reference")]
            continue
        unit = money(priced["unit_price"])
        net = money(unit * (100 - Decimal(str(line.get("discount") or 0))) / 100)
        rule = (priced.get("rule") or {}) if kept is None else \
            {"tier_min_quantity": kept.get("tier_min_quantity"), "level": kept.get("level"), "discount": kept.get("level_discount")}
        out.append({**line, "list_price": money(priced["list_price"]), "unit_price": unit, "price": net,
                    "subtotal": money(net * Decimal(str(line.get("quantity")))), "tier_min_quantity": rule.get("tier_min_quantity"),
                    "level": rule.get("level"), "level_discount": rule.get("discount")})
    if errors:
        raise ValidationFailed(details=errors)
    total = sum((x["subtotal"] for x in out), Decimal(0))
    ctx.values.update(lines=out, lines_total=total,
                      amount=money(total * (100 - Decimal(str(ctx.values.get("discount_rate") or 0))) / 100))
