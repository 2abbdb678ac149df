"""The price of a product line (products/pricing.py): the best quantity tier, then the customer
level's discount, in Decimal money rounded half-up to 2 places, with the rule that applied."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.products.pricing import price_line

PRODUCT = {"price": 1000, "price_tiers": [{"min_quantity": 10, "unit_price": 900}, {"min_quantity": 50, "unit_price": 850}],
           "level_discounts": [{"level": "A", "discount": 5}, {"level": "B", "discount": 2.5}]}


def test_given_no_tier_reached_and_no_level_when_pricing_then_the_list_price_applies():
    line = price_line(PRODUCT, 3)
    assert line == {"list_price": Decimal("1000.00"), "unit_price": Decimal("1000.00"), "quantity": Decimal(3),
                    "subtotal": Decimal("3000.00"), "rule": {"tier_min_quantity": None, "level": None, "discount": None}}


@pytest.mark.parametrize(("quantity", "unit", "tier"), [(9, "1000.00", None), (10, "900.00", 10), (49.5, "900.00", 10),
                                                        (50, "850.00", 50), (5000, "850.00", 50)])
def test_given_quantity_tiers_when_pricing_then_the_largest_tier_reached_applies(quantity, unit, tier):
    line = price_line(PRODUCT, quantity)
    assert (line["unit_price"], line["rule"]["tier_min_quantity"]) == (Decimal(unit), tier)


def test_given_a_customer_level_when_pricing_then_its_discount_applies_after_the_tier():
    line = price_line(PRODUCT, 12, "A")
    assert (line["unit_price"], line["subtotal"]) == (Decimal("855.00"), Decimal("10260.00"))
    assert line["rule"] == {"tier_min_quantity": 10, "level": "A", "discount": 5}
    half = price_line({"price": "99.99", "level_discounts": [{"level": "B", "discount": 2.5}]}, 3, "B")
    assert half["unit_price"] == Decimal("97.49")  # 99.99 × 0.975 = 97.49025 → 97.49
    assert half["subtotal"] == Decimal("292.47")
    assert price_line(PRODUCT, 1, "C")["rule"]["level"] is None  # a level without a discount


def test_given_money_on_the_half_cent_when_pricing_then_it_rounds_half_up():
    line = price_line({"price": "0.10", "level_discounts": [{"level": "A", "discount": 5}]}, 1, "A")
    assert line["unit_price"] == Decimal("0.10")  # 0.095 → 0.10 (四舍五入)
    assert price_line({"price": "1.005"}, 1)["list_price"] == Decimal("1.01")


def test_given_a_tier_above_the_list_price_when_pricing_then_the_list_price_is_kept():
    assert price_line({"price": 10, "price_tiers": [{"min_quantity": 1, "unit_price": 12}]}, 2)["unit_price"] == Decimal("10.00")


@pytest.mark.parametrize("quantity", [0, -1, "NaN", "Infinity"])
def test_given_no_quantity_when_pricing_then_it_is_refused(quantity):
    with pytest.raises(ValueError):
        price_line(PRODUCT, quantity)


money = st.decimals(min_value=0, max_value=Decimal("1e7"), places=2, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e5"), places=4, allow_nan=False,
                         allow_infinity=False)
tiers = st.lists(st.fixed_dictionaries({"min_quantity": quantities, "unit_price": money}), max_size=5)
discounts = st.lists(st.fixed_dictionaries({"level": st.sampled_from("ABC"), "discount": st.decimals(
    min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)}), max_size=3, unique_by=lambda r: r["level"])


@settings(max_examples=300, deadline=None)
@given(price=money, tiers=tiers, discounts=discounts, quantity=quantities, level=st.sampled_from(["A", "B", "C", None]))
def test_given_any_product_when_pricing_then_the_unit_price_never_exceeds_the_list_price_and_the_subtotal_is_exact(
        price, tiers, discounts, quantity, level):
    line = price_line({"price": price, "price_tiers": tiers, "level_discounts": discounts}, quantity, level)
    assert Decimal(0) <= line["unit_price"] <= line["list_price"] == price
    assert line["subtotal"] == (line["unit_price"] * quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert line["unit_price"].as_tuple().exponent == -2 and line["subtotal"].as_tuple().exponent == -2
    reached = [t for t in tiers if t["min_quantity"] <= quantity]
    applied = line["rule"]["tier_min_quantity"]
    assert (Decimal(str(applied)) if applied is not None else None) == max((t["min_quantity"] for t in reached), default=None)
