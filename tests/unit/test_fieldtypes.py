"""The one field-type engine: every type's rules, error paths and one-language messages."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core import context
from chalicelib.core.errors import ValidationFailed
from chalicelib.engine.fieldtypes import FieldSpec as F
from chalicelib.engine.fieldtypes import StaticResolver, spec_problems, validate

R = StaticResolver(users={"u1"}, departments={"d1"}, codes={"customer_level": {"A", "B"}},
                   records={("customer", "c1")}, files={"f1": {"id": "f1", "content_type": "image/png"},
                                                        "f2": {"id": "f2", "content_type": "application/pdf"}},
                   regions={"310104": "上海市/徐汇区"})


def errors(specs, data, *, creating=True, locale="zh-CN"):
    with context.acting_as(context.RequestContext(tenant_id="t", user_id="u1", locale=locale)):
        with pytest.raises(ValidationFailed) as e:
            validate(specs, data, R, creating=creating)
    return {d["field"]: d for d in e.value.details}


def ok(specs, data, creating=True):
    return validate(specs, data, R, creating=creating)


@pytest.mark.parametrize("spec,value,expected", [
    (F("t", "text"), "  华为  ", "华为"),
    (F("n", "number"), "42", Decimal(42)),
    (F("n", "number", precision=1), 2.25, Decimal("2.3")),  # 四舍五入
    (F("m", "money"), "12.345", Decimal("12.35")),
    (F("p", "percent"), 99.999, Decimal("100.00")),
    (F("d", "decimal"), "0.00005", Decimal("0.0001")),
    (F("d", "date"), "2026-02-28", "2026-02-28"),
    (F("dt", "datetime"), "2026-03-01T09:00:00+08:00", "2026-03-01T01:00:00.000Z"),
    (F("b", "boolean"), False, False),
    (F("s", "select", dictionary="customer_level"), "A", "A"),
    (F("ms", "multiselect", options=(("x", "甲", "X"), ("y", "乙", "Y"))), ["x", "y", "x"], ["x", "y"]),
    (F("tg", "tags"), [" 重点 ", "华东", "重点"], ["重点", "华东"]),
    (F("u", "user"), "u1", "u1"),
    (F("dep", "department"), "d1", "d1"),
    (F("mo", "mobile"), "+86 139-1234-5678", "13912345678"),
    (F("e", "email"), "a@b.cn", "a@b.cn"),
    (F("ph", "phone"), "021-6123 4567", "021-6123 4567"),
    (F("url", "url"), "https://example.cn/x", "https://example.cn/x"),
    (F("r", "region"), "310104", {"code": "310104", "name": "上海市/徐汇区"}),
    (F("a", "address"), {"text": "漕溪北路 1 号", "lng": 121.4365, "lat": 31.1886},
     {"text": "漕溪北路 1 号", "lng": 121.4365, "lat": 31.1886}),
    (F("img", "image"), ["f1"], [{"id": "f1", "content_type": "image/png"}]),
    (F("ref", "reference", entity="customer"), "c1", {"entity": "customer", "id": "c1"}),
    (F("ref", "reference"), {"entity": "customer", "id": "c1"}, {"entity": "customer", "id": "c1"}),
])
def test_given_a_valid_value_of_each_type_then_it_is_normalised(spec, value, expected):
    assert ok([spec], {spec.key: value})[spec.key] == expected


@pytest.mark.parametrize("spec,value,kind", [
    (F("t", "text", max_length=3), "四个字符", "length"),
    (F("n", "number"), "1.5", "type"),
    (F("n", "number"), True, "type"),
    (F("m", "money"), -1, "range"),  # money is never negative unless the field allows it
    (F("m", "money"), "1e20", "range"),
    (F("m", "money"), "NaN", "range"),
    (F("n", "number", min=1, max=10), 11, "range"),
    (F("p", "percent"), 101, "range"),
    (F("d", "date"), "2026-13-01", "format"),
    (F("d", "date", max="2030-12-31"), "9999-01-01", "range"),
    (F("dt", "datetime"), "2026-03-01T09:00:00", "format"),
    (F("b", "boolean"), "true", "type"),
    (F("s", "select", dictionary="customer_level"), "Z", "dictionary"),
    (F("u", "user"), "ghost", "not_found"),
    (F("mo", "mobile"), "12345", "format"),
    (F("e", "email"), "not-mail", "format"),
    (F("url", "url"), "javascript:alert(1)", "format"),
    (F("r", "region"), "999999", "dictionary"),
    (F("a", "address"), {"lng": 200, "lat": 10}, "range"),
    (F("a", "address"), {"lng": 120}, "range"),
    (F("img", "image"), ["f2"], "type"),
    (F("f", "file"), ["nope"], "not_found"),
    (F("ref", "reference", entity="customer"), "c9", "not_found"),
    (F("ref", "reference", entity="customer"), {"entity": "contact", "id": "c1"}, "type"),
])
def test_given_a_bad_value_of_each_type_then_422_names_the_field(spec, value, kind):
    assert errors([spec], {spec.key: value})[spec.key]["type"] == kind


def test_given_a_detail_table_when_rows_are_wrong_then_each_error_names_its_path():
    items = F("items", "table", ("明细", "Items"), columns=(F("kind", "select", options=(("taxi", "打车", "Taxi"),)),
                                                           F("amount", "money", ("金额", "Amount"), required=True)))
    found = errors([items], {"items": [{"kind": "taxi", "amount": "12.3"}, {"kind": "plane"}, "x", {"amount": 1, "extra": 1}]})
    assert set(found) == {"items.1.kind", "items.1.amount", "items.2", "items.3.extra"}
    assert ok([items], {"items": [{"amount": "1.005"}]})["items"] == [{"amount": Decimal("1.01")}]


def test_given_required_and_default_when_creating_and_updating_then_rules_differ():
    specs = [F("name", "text", ("名称", "Name"), required=True), F("status", "select", default="new", options=(("new", "新", "New"),))]
    assert errors(specs, {})["name"]["type"] == "missing"
    assert ok(specs, {"name": "甲"}) == {"name": "甲", "status": "new"}
    assert ok(specs, {}, creating=False) == {}  # an update leaves untouched fields alone
    assert errors(specs, {"name": ""}, creating=False)["name"]["type"] == "missing"  # but cannot clear a required one
    assert ok(specs, {"status": None}, creating=False) == {"status": None}  # null removes an optional value


def test_given_accept_language_then_every_message_is_in_one_language():
    specs = [F("name", "text", ("名称", "Name"), required=True), F("mobile", "mobile", ("手机", "Mobile"))]
    zh = errors(specs, {"mobile": "1", "x": 1})
    en = errors(specs, {"mobile": "1", "x": 1}, locale="en")
    assert zh["name"]["message"] == "「名称」必填" and en["name"]["message"] == "Name is required"
    for d in zh.values():
        assert not any("a" <= ch.lower() <= "z" for ch in d["message"]), d
    for d in en.values():
        assert all(ord(ch) < 0x2E80 for ch in d["message"]), d


def test_given_field_definitions_when_an_admin_writes_bad_ones_then_problems_are_named():
    bad = F("Bad Key", "select")
    table = F("rows", "table", columns=(F("a", "text"), F("a", "table", columns=(F("b", "text"),))))
    assert {p["field"] for p in spec_problems(bad, "fields.0")} == {"fields.0.key", "fields.0.options"}
    assert {p["field"] for p in spec_problems(table, "fields.1")} == {"fields.1.columns.1.type", "fields.1.columns.1.key"}
    assert spec_problems(F("due", "text", remind_days_before=30), "f")[0]["field"] == "f.remind_days_before"


def test_given_the_shipped_region_dictionary_then_codes_have_full_names_and_children():
    from chalicelib.dictionaries import regions

    assert regions.name("440305") == "广东省/深圳市/南山区"
    assert regions.name("310104") == "上海市/徐汇区"  # 市辖区 names no place
    assert regions.name("441900") == "广东省/东莞市"  # a city without districts
    assert regions.name("123456") is None
    provinces = regions.children()
    assert len(provinces) == 34 and {"code": "810000", "name": "香港特别行政区"} in provinces
    assert {"code": "440305", "name": "南山区"} in regions.children("440300")
