"""The one field-type engine: every type's rules, error paths and one-language messages."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from chalicelib.core import context
from chalicelib.core.errors import ValidationFailed
from chalicelib.engine.fieldtypes import FieldSpec as F
from chalicelib.engine.fieldtypes import StaticResolver, rule_problems, spec_problems, validate

R = StaticResolver(users={"u1"}, departments={"d1"}, codes={"customer_level": {"A", "B"}},
                   records={("customer", "c1")}, files={"f1": {"id": "f1", "content_type": "image/png"},
                                                        "f2": {"id": "f2", "content_type": "application/pdf"}},
                   regions={"310104": "上海市/徐汇区"})


def errors(specs, data, *, creating=True, locale="zh-CN"):
    with context.acting_as(context.RequestContext(tenant_id="t", user_id="u1", locale=locale)):
        with pytest.raises(ValidationFailed) as e:
            validate(specs, data, R, creating=creating)
    return {d["field"]: d for d in e.value.details}


LITERALS = {"true", "false", "JSON", "http", "https", "If", "Match", "SHA", "Base"}  # what a client types, not English


def english_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", message) if w not in LITERALS]


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


# ---- ranges ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec,value,accepted", [
    (F("n", "number"), -1, False),  # numbers are never negative by default
    (F("d", "decimal"), "-0.5", False),
    (F("m", "money"), "-0.01", False),
    (F("p", "percent"), -5, False),
    (F("m", "money", allow_negative=True), "-12.5", True),  # e.g. a balance or an adjustment
    (F("n", "number", allow_negative=True, min=-10), -11, False),
    (F("p", "percent"), 100, True),
    (F("p", "percent"), "100.01", False),
    (F("p", "percent", max=500), 250, True),  # growth rates: a field may allow more than 100
    (F("d", "date"), "1899-12-31", False),
    (F("d", "date"), "2201-01-01", False),
    (F("d", "date"), "2200-12-31", True),
    (F("d", "date", min="1800-01-01"), "1850-06-01", True),  # bounds are configurable per field
    (F("dt", "datetime"), "9999-01-01T09:00:00+08:00", False),
    (F("dt", "datetime"), "1900-01-01T09:00:00+08:00", True),
    (F("dt", "datetime", max="2030-12-31"), "2030-12-31T23:00:00Z", True),  # a day bound takes the whole day
])
def test_given_range_defaults_when_a_value_is_checked_then_out_of_range_is_refused(spec, value, accepted):
    if accepted:
        assert ok([spec], {spec.key: value})[spec.key] is not None
    else:
        assert errors([spec], {spec.key: value})[spec.key]["type"] == "range"


def test_given_a_negative_minimum_when_negatives_are_not_allowed_then_the_definition_is_refused():
    assert [p["field"] for p in spec_problems(F("n", "number", min=-5), "f")] == ["f.min"]
    assert spec_problems(F("n", "number", min=-5, allow_negative=True), "f") == []


# ---- cross-field rules ------------------------------------------------------------------------
LEAVE = [F("start", "datetime", ("开始时间", "Start")), F("end", "datetime", ("结束时间", "End")),
         F("days", "number", ("请假天数", "Days"), precision=1)]
LEAVE_RULES = [{"kind": "range", "start": "start", "end": "end", "strict": True},
               {"kind": "compare", "field": "days", "op": "gt", "value": 0},
               {"kind": "span", "start": "start", "end": "end", "field": "days"}]
EXPENSE = [F("total", "money", ("报销总额", "Total")),
           F("items", "table", ("费用明细", "Items"), columns=(F("amount", "money", ("金额", "Amount")), F("note", "text")))]
EXPENSE_RULES = [{"kind": "sum", "total": "total", "table": "items", "column": "amount"}]


def rule_errors(specs, rules, data, *, creating=True, current=None, locale="zh-CN"):
    with context.acting_as(context.RequestContext(tenant_id="t", user_id="u1", locale=locale)):
        try:
            validate(specs, data, R, creating=creating, rules=rules, current=current)
        except ValidationFailed as e:
            return {d["field"]: d for d in e.details}
    return {}


def test_given_an_end_before_its_start_when_validated_then_the_end_is_refused_naming_both_fields():
    bad = {"start": "2026-12-03T09:00:00+08:00", "end": "2026-12-01T09:00:00+08:00", "days": 1}
    zh, en = rule_errors(LEAVE, LEAVE_RULES, bad), rule_errors(LEAVE, LEAVE_RULES, bad, locale="en")
    assert set(zh) == {"end"} and zh["end"]["type"] == "range"
    assert zh["end"]["message"] == "「结束时间」应晚于「开始时间」" and en["end"]["message"] == "End must be after Start"
    same = {"start": "2026-12-01T09:00:00+08:00", "end": "2026-12-01T09:00:00+08:00", "days": 1}
    assert set(rule_errors(LEAVE, LEAVE_RULES, same)) == {"end"}  # strict: a leave ends after it starts
    dates = [F("a", "date", ("开始日期", "From")), F("b", "date", ("结束日期", "To"))]
    assert rule_errors(dates, [{"kind": "range", "start": "a", "end": "b"}], {"a": "2026-01-02", "b": "2026-01-02"}) == {}
    prices = [F("low", "money", ("最低价", "Lowest")), F("high", "money", ("最高价", "Highest"))]
    found = rule_errors(prices, [{"kind": "range", "start": "low", "end": "high"}], {"low": 100, "high": "99.99"})
    assert found["high"]["message"] == "「最高价」不能小于「最低价」"


def test_given_days_when_not_positive_or_beyond_the_period_then_refused():
    base = {"start": "2026-12-01T09:00:00+08:00", "end": "2026-12-02T18:00:00+08:00"}
    assert rule_errors(LEAVE, LEAVE_RULES, {**base, "days": 2}) == {}
    assert rule_errors(LEAVE, LEAVE_RULES, {**base, "days": 0})["days"]["message"] == "「请假天数」应大于 0"
    assert rule_errors(LEAVE, LEAVE_RULES, {**base, "days": -3})["days"]["type"] == "range"  # its own error, once
    too_many = rule_errors(LEAVE, LEAVE_RULES, {**base, "days": 3}, locale="en")
    assert too_many["days"]["message"] == "Days cannot exceed the 2 days from Start to End"
    # calendar days in the tenant's time zone: 20:00 → next morning 09:00 in Shanghai covers two days
    overnight = {"start": "2026-12-01T12:00:00Z", "end": "2026-12-02T01:00:00Z", "days": 2}
    assert rule_errors(LEAVE, LEAVE_RULES, overnight) == {}
    assert rule_errors(LEAVE, LEAVE_RULES, {"start": base["start"], "end": "2026-12-01T12:00:00+08:00", "days": "0.5"}) == {}
    hours = [F("start", "datetime", ("开始", "Start")), F("end", "datetime", ("结束", "End")), F("hours", "number", ("时长", "Hours"),
                                                                                                precision=1)]
    span = [{"kind": "span", "start": "start", "end": "end", "field": "hours", "unit": "hours"}]
    evening = {"start": "2026-12-01T18:00:00+08:00", "end": "2026-12-01T21:30:00+08:00"}
    assert rule_errors(hours, span, {**evening, "hours": "3.5"}) == {}
    assert rule_errors(hours, span, {**evening, "hours": 4})["hours"]["message"] == "「时长」不能超过「开始」至「结束」的 3.5 小时"


def test_given_a_total_and_its_rows_when_they_differ_then_the_total_is_refused_with_exact_decimals():
    rows = [{"amount": "0.10"}, {"amount": 0.2}, {"note": "no amount"}]
    assert rule_errors(EXPENSE, EXPENSE_RULES, {"total": "0.3", "items": rows}) == {}  # 0.1 + 0.2 is 0.3 here
    found = rule_errors(EXPENSE, EXPENSE_RULES, {"total": "0.31", "items": rows})
    assert set(found) == {"total"} and found["total"]["type"] == "sum"
    assert found["total"]["message"] == "「报销总额」应等于「费用明细」中「金额」的合计 0.30"
    en = rule_errors(EXPENSE, EXPENSE_RULES, {"total": 1, "items": rows}, locale="en")
    assert en["total"]["message"] == "Total must equal the sum of Amount in Items (0.30)"
    assert rule_errors(EXPENSE, EXPENSE_RULES, {"total": 0, "items": []}) == {}
    # a bad row is its own error; the sum is not told on top of it
    assert set(rule_errors(EXPENSE, EXPENSE_RULES, {"total": 5, "items": [{"amount": -5}]})) == {"items.0.amount"}


def test_given_required_if_when_the_condition_holds_then_the_field_is_required():
    specs = [F("kind", "select", ("类型", "Kind"), options=(("loan", "借款", "Loan"), ("payment", "用款", "Payment"))),
             F("repay_date", "date", ("还款日期", "Repay date"))]
    rules = [{"kind": "required_if", "field": "repay_date", "when": "kind", "equals": "loan"}]
    assert rule_errors(specs, rules, {"kind": "payment"}) == {}
    found = rule_errors(specs, rules, {"kind": "loan"})
    assert found["repay_date"] == {"field": "repay_date", "type": "missing", "message": "「类型」为「借款」时，「还款日期」必填"}
    assert rule_errors(specs, rules, {"kind": "loan"}, locale="en")["repay_date"]["message"] == \
        "Repay date is required when Kind is Loan"


def test_given_an_update_then_rules_see_the_stored_values_and_only_rules_of_changed_fields_run():
    stored = {"start": "2026-12-01T01:00:00.000Z", "end": "2026-12-02T10:00:00.000Z", "days": 2}
    moved = rule_errors(LEAVE, LEAVE_RULES, {"end": "2026-11-30T09:00:00+08:00"}, creating=False, current=stored)
    assert set(moved) == {"end"}
    legacy = {**stored, "days": 9}  # stored before the rule existed
    assert rule_errors(LEAVE, LEAVE_RULES[:1], {"days": 9}, creating=False, current=legacy) == {}
    assert set(rule_errors(LEAVE, LEAVE_RULES, {"days": 8}, creating=False, current=legacy)) == {"days"}
    assert rule_errors(EXPENSE, EXPENSE_RULES, {"items": [{"amount": 3}]}, creating=False, current={"total": 3}) == {}


@pytest.mark.parametrize("rule,field", [
    ({"kind": "between"}, "rules.0.kind"),
    ({"kind": "range", "start": "start"}, "rules.0.end"),
    ({"kind": "range", "start": "start", "end": "finish"}, "rules.0.end"),
    ({"kind": "range", "start": "start", "end": "end", "extra": 1}, "rules.0.extra"),
    ({"kind": "range", "start": "start", "end": "start"}, "rules.0.end"),
    ({"kind": "range", "start": "start", "end": "days"}, "rules.0.end"),  # an instant and a number do not compare
    ({"kind": "range", "start": "reason", "end": "end"}, "rules.0.start"),
    ({"kind": "range", "start": "start", "end": "end", "strict": "yes"}, "rules.0.strict"),
    ({"kind": "sum", "total": "days", "table": "reason", "column": "amount"}, "rules.0.table"),
    ({"kind": "sum", "total": "total", "table": "items", "column": "note"}, "rules.0.column"),
    ({"kind": "sum", "total": "reason", "table": "items", "column": "amount"}, "rules.0.total"),
    ({"kind": "compare", "field": "days", "op": "bigger", "value": 0}, "rules.0.op"),
    ({"kind": "compare", "field": "days", "op": "gt", "value": "0"}, "rules.0.value"),
    ({"kind": "span", "start": "start", "end": "end", "field": "days", "unit": "weeks"}, "rules.0.unit"),
    ({"kind": "required_if", "field": "days", "when": "kind", "equals": "gift"}, "rules.0.equals"),
    ("range", "rules.0"),
])
def test_given_rule_definitions_when_an_admin_writes_bad_ones_then_each_problem_is_named(rule, field):
    specs = [*LEAVE, *EXPENSE, F("reason", "text"), F("kind", "select", options=(("loan", "借款", "Loan"),))]
    with context.acting_as(context.RequestContext(tenant_id="t", user_id="u1", locale="en")):
        problems = rule_problems(specs, [rule])
        assert field in {p["field"] for p in problems}, problems
        assert rule_problems(specs, [*LEAVE_RULES, *EXPENSE_RULES]) == []


def test_given_every_built_in_form_template_then_it_declares_valid_rules_and_they_hold_on_good_data():
    from chalicelib.forms import service as forms
    from chalicelib.forms import templates

    declared = {}
    for code in templates._TEMPLATES:
        spec = templates.form_spec(code)
        assert rule_problems([forms._spec(f) for f in spec["fields"]], spec["rules"]) == [], code
        declared[code] = {r["kind"] for r in spec["rules"]}
    assert {"range", "compare", "span"} <= declared["leave"] and "sum" in declared["expense"]
    assert {"range", "span"} <= declared["overtime"] and {"range", "span"} <= declared["business_trip"]
    assert "required_if" in declared["loan"] and "required_if" in declared["asset"]


# ---- pydantic errors in the caller's language ----------------------------------------------------
def test_given_pydantic_errors_of_every_kind_when_mapped_then_messages_are_in_one_language_and_name_the_field():
    from datetime import date, datetime
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

    from chalicelib.core.errors import Problem, field_errors
    from chalicelib.core.inputs import Month

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        n: int

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str = Field(min_length=2, max_length=3)
        code: str = Field(pattern=r"^[a-z]+$")
        count: int = Field(gt=0, le=10)
        ratio: float = Field(ge=0, lt=1)
        kind: Literal["a", "b"]
        day: date
        at: datetime
        flag: bool
        tags: list[str] = Field(max_length=1)
        inner: Inner
        month: Month
        mobile: str
        required: str

        @field_validator("mobile")
        @classmethod
        def _mobile(cls, v: str) -> str:
            raise Problem("field.mobile_cn", "format")

    bad = {"name": "x", "code": "A1", "count": "many", "ratio": "half", "kind": "c", "day": "2026-02-30", "at": "soon",
           "flag": "perhaps", "tags": "x", "inner": {"n": 1.5, "zz": 1}, "month": "2026-13", "mobile": "1", "nope": 1}
    with pytest.raises(ValidationError) as e:
        Body.model_validate(bad)
    zh, en = field_errors(e.value.errors(), "zh-CN"), field_errors(e.value.errors(), "en")
    assert {d["field"] for d in zh} == {"name", "code", "count", "ratio", "kind", "day", "at", "flag", "tags", "inner.n", "inner.zz",
                                        "month", "mobile", "required", "nope"}
    by_field = {d["field"]: d["message"] for d in zh}
    assert by_field["required"] == "必填" and by_field["nope"] == "没有这个字段" and by_field["count"] == "应为整数"
    assert by_field["mobile"] == "请输入11位中国大陆手机号" and by_field["kind"] == "不是可选项"
    assert {d["field"]: d["message"] for d in en}["name"] == "At least 2 characters"
    for d in zh:
        assert not english_words(d["message"]), d
    for d in en:
        assert all(ord(ch) < 0x2E80 for ch in d["message"]), d
    with pytest.raises(ValidationError) as e:
        Body.model_validate({**bad, "count": 0, "ratio": 1, "name": "long"})
    msgs = {d["field"]: d["message"] for d in field_errors(e.value.errors(), "zh-CN")}
    assert msgs["count"] == "应大于 0" and msgs["ratio"] == "应小于 1" and msgs["name"] == "最多 3 个字符"


def test_an_empty_shape_of_another_kind_is_a_type_error_not_a_cleared_value():
    text, tags, addr = F("website", "text", ("网址", "Website")), F("tags", "tags", ("标签", "Tags")), F("addr", "address", ("地址", "Address"))
    for bad in ({}, []):
        with pytest.raises(ValidationFailed) as e:
            validate([text], {"website": bad}, StaticResolver(), creating=True)
        assert [d["field"] for d in e.value.details] == ["website"], bad
    out = validate([text, tags, addr], {"website": "", "tags": [], "addr": {}}, StaticResolver(), creating=True)
    assert out == {"website": None, "tags": None, "addr": None}


# ---- users: several people of the tenant ------------------------------------------------------------
class _CountingResolver(StaticResolver):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.asked: list[list[str]] = []

    def unknown_users(self, user_ids):
        self.asked.append(list(user_ids))
        return super().unknown_users(user_ids)


def test_users_are_checked_in_one_call_kept_in_order_once_and_a_bad_one_named_by_position():
    r = _CountingResolver(users={"u1", "u2", "u3"})
    spec = [F("people", "users", ("参与人", "Participants"))]
    assert validate(spec, {"people": ["u2", " u1 ", "u2", "u3"]}, r, creating=True) == {"people": ["u2", "u1", "u3"]}
    assert r.asked == [["u2", "u1", "u3"]]
    assert ok(spec, {"people": []}) == {"people": None}  # [] clears
    for locale in ("zh-CN", "en"):
        errs = errors(spec, {"people": ["u1", "ghost", "u1", "nobody"]}, locale=locale)
        assert set(errs) == {"people.1", "people.3"} and errs["people.1"]["type"] == "not_found"
        assert errs["people.1"]["message"] == ("No such active user" if locale == "en" else "员工不存在或已停用")


@pytest.mark.parametrize("value,kind", [("u1", "type"), ([1], "type"), ([""], "type"), ([None], "type"), (["u1"] * 21, "length")])
def test_users_must_be_a_list_of_ids_within_the_field_limit(value, kind):
    errs = errors([F("people", "users")], {"people": value}, locale="en")
    assert errs["people"]["type"] == kind and not english_words(errors([F("people", "users")], {"people": value})["people"]["message"])


def test_users_take_the_limit_and_schema_from_the_definition():
    from chalicelib.engine.fieldtypes import json_schema

    spec = F("people", "users", max_items=2)
    assert errors([spec], {"people": ["u1", "u1", "u1"]})["people"]["type"] == "length"
    schema = json_schema(spec)["anyOf"][0]
    assert schema == {"type": "array", "items": {"type": "string", "description": "user id"}, "maxItems": 2}
    assert spec.multi and not spec_problems(spec, "fields.0")
