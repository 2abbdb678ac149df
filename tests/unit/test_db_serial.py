"""db/serial.serialized: the attribute maps an import's batch writes send are exactly what
PynamoDB's Model.serialize() makes of the same items, walk keys included."""
from __future__ import annotations

from decimal import Decimal

import pytest
from pynamodb.exceptions import AttributeNullError

from chalicelib.db import audit
from chalicelib.db.serial import serialized
from chalicelib.db.unique import UniqueValue
from chalicelib.engine import store


def _record() -> store.EntityRecord:
    rec = store.new("t1", "CUSTOMER", "u1", "u2", {"name": "甲公司", "amount": Decimal("12.50"), "rate": 0.5,
                                                    "tags": ["a", "b"], "empty": "", "nested": {"k": [1, {"x": None}]}},
                    {"c1": "v"}, record_id="01ABC", parent=("CONTACT", "p1"), family="T#t1#CUSTOMER#c1")
    rec.version = 1
    rec.team = {"u3": {"access": "read", "until": None}}
    return rec


def _fresh(item):
    """A second, identical item, so each serializer sees one that was never serialized before."""
    return type(item).from_raw_data(item.serialize())


@pytest.mark.parametrize("make", [
    _record,
    lambda: audit.entry("t1", "CUSTOMER", "01ABC", "create", "u1", [{"field": "name", "before": None, "after": "甲"}], "导入"),
    lambda: audit.entry("t1", "import", "01ABC", "import", "u1"),
    lambda: UniqueValue(pk="T#t1#UQ#CUSTOMER.name#甲公司", sk="UQ", tenant_id="t1", owner_id="01ABC"),
], ids=["record", "log entry", "log entry without note", "unique value"])
def test_given_items_then_serialized_is_what_pynamodb_serializes(make):
    a = make()
    b = _fresh(a)
    ours = serialized(a)
    assert ours == b.serialize()
    assert ours["gsi4pk"]["S"].startswith("T#t1#ALL#") and ours["gsi4sk"] == ours["pk"]


def test_given_a_required_attribute_missing_then_it_is_refused_as_pynamodb_refuses_it():
    u = UniqueValue(pk="T#t1#UQ#x", sk="UQ", owner_id="o")  # no tenant_id
    with pytest.raises(AttributeNullError) as ours:
        serialized(u)
    with pytest.raises(AttributeNullError) as theirs:
        u.serialize()
    assert str(ours.value) == str(theirs.value)
    assert serialized(u, null_check=False) == u.serialize(null_check=False)
