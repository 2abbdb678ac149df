"""Numbering rules and dictionaries."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from chalicelib.core import context
from chalicelib.numbering import service as numbering


def test_given_50_concurrent_draws_when_numbering_then_50_distinct_consecutive_numbers(api, make_tenant):
    t = make_tenant()
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: api.call("POST", "/v1/numbering-rules/contract/next", t["admin"]), range(50)))
    assert all(r.status_code == 201 for r in results), [r.data for r in results if r.status_code != 201][:1]
    numbers = [r.data["number"] for r in results]
    assert len(set(numbers)) == 50
    assert sorted(r.data["sequence"] for r in results) == list(range(1, 51))
    assert all(re.fullmatch(r"HT\d{8}\d{4}", n) for n in numbers)


def test_given_monthly_rule_when_month_changes_then_sequence_restarts(api, make_tenant):
    t = make_tenant()
    r = api.call("PUT", "/v1/numbering-rules/payment", t["admin"], {"name": "回款编号", "prefix": "HK-", "date_format": "YYYYMM",
                                                                    "reset": "monthly", "seq_width": 3, "version": 1})
    assert r.status_code == 200, r.data
    assert r.data["version"] == 2
    created = api.call("PUT", "/v1/numbering-rules/ad_order", t["admin"], {"name": "广告订单", "prefix": "AD"})
    assert created.status_code == 200 and created.data["version"] == 1
    with context.acting_as(context.RequestContext(tenant_id=t["id"], user_id=t["admin_id"])):
        nov = [numbering.draw(t["id"], "payment", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))["number"] for _ in range(2)]
        # 2026-11-30 16:30 UTC is already December in Shanghai
        dec = numbering.draw(t["id"], "payment", datetime(2026, 11, 30, 16, 30, tzinfo=UTC))["number"]
    assert nov == ["HK-202611001", "HK-202611002"]
    assert dec == "HK-202612001"
    stale = api.call("PUT", "/v1/numbering-rules/payment", t["admin"], {"name": "回款", "prefix": "P", "reset": "daily"})
    assert stale.status_code == 428
    finer = api.call("PUT", "/v1/numbering-rules/payment", t["admin"], {"name": "回款", "date_format": "YYYY", "reset": "daily", "version": 2})
    assert finer.status_code == 422


def test_given_rep_when_drawing_or_changing_rules_then_403(api, sales_team):
    assert api.call("POST", "/v1/numbering-rules/contract/next", sales_team["tokens"]["rep1"]).status_code == 403
    assert api.call("GET", "/v1/numbering-rules", sales_team["tokens"]["rep1"]).status_code == 200


def test_given_dictionaries_when_admin_edits_then_everyone_reads_and_codes_are_validated(api, sales_team):
    a, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    types = {i["type"] for i in api.call("GET", "/v1/dictionaries", rep).data["items"]}
    assert {"position", "customer_type", "customer_level", "industry", "source", "followup_type"} <= types
    kinds = [i["label"] for i in api.call("GET", "/v1/dictionaries?type=customer_type", rep).data["items"]]
    assert kinds == ["老客户", "目标客户", "潜在客户", "合作伙伴", "黑名单", "竞争对手"]
    add = api.call("POST", "/v1/dictionaries/industry", a, {"code": "logistics", "label": "物流", "label_en": "Logistics"})
    assert add.status_code == 201
    dup = api.call("POST", "/v1/dictionaries/industry", a, {"code": "logistics", "label": "物流"})
    assert dup.status_code == 422 and dup.data["code"] == "DUPLICATE"
    assert api.call("POST", "/v1/dictionaries/industry", rep, {"code": "x", "label": "x"}).status_code == 403
    assert api.call("POST", "/v1/customers", rep, {"name": "物流公司", "industry": "logistics"}).status_code == 201
    renamed = api.call("PATCH", "/v1/dictionaries/industry/it", a, {"label": "信息技术", "version": 1})
    assert renamed.status_code == 200 and renamed.data["version"] == 2
    off = api.call("PATCH", "/v1/dictionaries/industry/logistics", a, {"enabled": False, "version": 1})
    assert off.status_code == 200 and off.data["enabled"] is False
    refused = api.call("POST", "/v1/customers", rep, {"name": "物流公司二", "industry": "logistics"})
    assert refused.status_code == 422 and refused.data["details"][0]["field"] == "industry"


def test_given_an_unknown_dictionary_type_when_adding_items_then_404_until_an_admin_defines_the_type(api, sales_team):
    a, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/dictionaries/journal", a, {"code": "biweekly", "label": "半月刊"})
    assert r.status_code == 404 and r.data["code"] == "DICTIONARY_TYPE_NOT_FOUND"
    assert r.data["message"] == "没有字典类型「journal」；管理员可以先定义该类型" and r.data["details"][0]["field"] == "type"
    assert api.call("GET", "/v1/dictionaries?type=journal", rep).data["items"] == []
    assert api.call("POST", "/v1/dictionary-types", rep, {"type": "journal", "label": "刊物"}).status_code == 403
    builtin = api.call("POST", "/v1/dictionary-types", a, {"type": "industry", "label": "行业"}, headers={"Accept-Language": "en"})
    assert builtin.status_code == 422 and builtin.data["message"] == "'industry' is a built-in dictionary type"
    defined = api.call("POST", "/v1/dictionary-types", a, {"type": "journal", "label": "刊物", "label_en": "Journal"})
    assert defined.status_code == 201 and defined.data["builtin"] is False
    again = api.call("POST", "/v1/dictionary-types", a, {"type": "journal", "label": "刊物"})
    assert again.status_code == 422 and again.data["code"] == "DUPLICATE"
    assert api.call("POST", "/v1/dictionaries/journal", a, {"code": "biweekly", "label": "半月刊"}).status_code == 201
    types = {t["type"]: t["builtin"] for t in api.call("GET", "/v1/dictionary-types", rep).data["items"]}
    assert types["journal"] is False and types["industry"] is True and "position" in types
    assert [i["code"] for i in api.call("GET", "/v1/dictionaries?type=journal", rep).data["items"]] == ["biweekly"]
    bad = api.call("POST", "/v1/dictionary-types", a, {"type": "Bad Type", "label": "x"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "type"
