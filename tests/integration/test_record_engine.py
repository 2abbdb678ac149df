"""The record engine through the API: a record type declared once (competitors) gets the
standard routes, field rules, unique values, detail tables with references, search,
recycle bin, operation log and domain events — from the same code path as customers."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture()
def bus_tap(aws):
    """Every crm.* event on the bus, through a real rule -> SQS queue (what subscribers get)."""
    import boto3

    from chalicelib.core.settings import get_settings

    s = get_settings()
    sqs = boto3.client("sqs", region_name=s.region)
    events = boto3.client("events", region_name=s.region)
    url = sqs.create_queue(QueueName="engine-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="engine-tap", EventBusName=s.event_bus_name,
                    EventPattern=json.dumps({"source": ["crm.competitors", "crm.customers"]}))
    events.put_targets(Rule="engine-tap", EventBusName=s.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict]:
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return drain


def test_given_competitor_definition_when_rep_creates_with_met_customers_then_table_rows_reference_them(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    cust = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司"}).data
    r = api.call("POST", "/v1/competitors", rep, {
        "name": "金蝶软件", "website": "https://www.kingdee.com", "strengths": "财务一体化", "products": "云星空",
        "met_at": [{"customer": cust["id"], "met_on": "2026-11-03", "note": "同场竞标"}]})
    assert r.status_code == 201, r.data
    assert r.data["met_at"] == [{"customer": {"entity": "customer", "id": cust["id"]}, "met_on": "2026-11-03", "note": "同场竞标"}]
    got = api.call("GET", f"/v1/competitors/{r.data['id']}", sales_team["tokens"]["rep2"])
    assert got.status_code == 200 and got.data["name"] == "金蝶软件"  # market intelligence is shared (scope all)
    listed = api.call("GET", "/v1/competitors?q=金蝶", sales_team["tokens"]["agent"]).data
    assert [c["name"] for c in listed["items"]] == ["金蝶软件"]
    found = api.call("GET", "/v1/search?q=金蝶", rep).data
    assert any(g["type"] == "competitor" and g["hits"][0]["title"] == "金蝶软件" for g in found["groups"])


def test_given_bad_rows_when_creating_a_competitor_then_every_error_has_its_path_in_one_language(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    hidden = api.call("POST", "/v1/customers", sales_team["tokens"]["rep2"], {"name": "别人的客户"}).data
    r = api.call("POST", "/v1/competitors", rep, {
        "website": "ftp://x", "met_at": [{"customer": hidden["id"]}, {"met_on": "2026-02-30"}], "surprise": 1},
        headers={"Accept-Language": "en"})
    assert r.status_code == 422
    details = {d["field"]: d for d in r.data["details"]}
    # a customer the rep may not read is "not found", exactly like one that does not exist
    assert set(details) == {"name", "website", "met_at.0.customer", "met_at.1.customer", "met_at.1.met_on", "surprise"}
    assert details["met_at.0.customer"]["type"] == "not_found"
    assert all(all(ord(ch) < 0x2E80 for ch in d["message"]) for d in details.values())
    assert api.call("GET", "/v1/competitors", rep).data["items"] == []


def test_given_unique_name_when_two_create_the_same_at_once_then_exactly_one_wins_and_rename_frees_it(api, sales_team):
    t = sales_team["tokens"]

    def create(i: int) -> int:
        return api.call("POST", "/v1/competitors", t["rep1" if i % 2 else "rep2"], {"name": "用友网络"}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(create, range(6)))
    assert codes.count(201) == 1 and codes.count(422) == 5
    dup = api.call("POST", "/v1/competitors", t["rep1"], {"name": "用友网络 "})
    assert dup.status_code == 422 and dup.data["details"][0]["type"] == "unique"
    first = api.call("GET", "/v1/competitors?q=用友", t["manager"]).data["items"][0]
    renamed = api.call("PATCH", f"/v1/competitors/{first['id']}", t["manager"], {"name": "用友软件", "version": first["version"]})
    assert renamed.status_code == 200, renamed.data
    assert api.call("POST", "/v1/competitors", t["rep1"], {"name": "用友网络"}).status_code == 201


def test_given_field_rules_when_reading_then_hidden_absent_and_read_only_fields_refused(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "锁定测试"}).data
    assert c["locked"] is False and c["deal_status"] == "none"
    r = api.call("PATCH", f"/v1/customers/{c['id']}", t["rep1"], {"locked": True, "version": 1})
    assert r.status_code == 422 and r.data["details"][0] == {"field": "locked", "type": "read_only",
                                                             "message": "该字段由系统维护，不能直接修改"}


def test_given_record_changes_then_events_carry_ids_actor_and_changed_field_names_never_values(api, sales_team, bus_tap):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/competitors", t["rep1"], {"name": "纷享销客", "weaknesses": "价格高"}).data
    api.call("PATCH", f"/v1/competitors/{c['id']}", t["rep1"], {"weaknesses": "定制慢", "version": 1})
    api.call("POST", f"/v1/competitors/{c['id']}/transfer", t["manager"], {"to_user_id": sales_team["rep2"], "version": 2})
    api.call("DELETE", f"/v1/competitors/{c['id']}", t["manager"], headers={"If-Match": '"3"'})
    restored = api.call("POST", f"/v1/recycle-bin/competitor/{c['id']}/restore", sales_team["admin"])
    assert restored.status_code == 200, restored.data
    seen = bus_tap()
    assert [e["detail-type"] for e in seen] == ["competitors.competitor.created", "competitors.competitor.updated",
                                                "competitors.competitor.transferred", "competitors.competitor.deleted",
                                                "competitors.competitor.restored"]
    assert {e["source"] for e in seen} == {"crm.competitors"}
    assert seen[1]["detail"]["changed"] == ["weaknesses"] and seen[1]["detail"]["actor_id"] == sales_team["rep1"]
    assert seen[2]["detail"]["to_user_id"] == sales_team["rep2"]
    assert "价格高" not in json.dumps(seen, ensure_ascii=False) and "定制慢" not in json.dumps(seen, ensure_ascii=False)
    log = api.call("GET", f"/v1/records/competitor/{c['id']}/logs", t["rep2"])
    assert log.status_code == 200 and {e["action"] for e in log.data["items"]} >= {"create", "update", "transfer", "delete",
                                                                                     "restore"}


def test_given_openapi_document_then_generated_record_types_are_described(api):
    doc = api.call("GET", "/openapi.json").data
    assert "/v1/competitors/{competitor_id}/transfer" in doc["paths"]
    schema = doc["components"]["schemas"]["CompetitorIn"]
    assert schema["required"] == ["name"] and "met_at" in schema["properties"]


def test_given_field_rules_when_reading_the_operation_log_then_hidden_values_are_absent_and_masked_ones_masked(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["manager"], {"name": "上海ACME贸易", "mobile": "13812341234", "credit_limit": 50000}).data
    api.call("PATCH", f"/v1/customers/{c['id']}", t["manager"], {"credit_limit": 60000, "mobile": "13912345678", "version": 1})
    seen_by_agent = api.call("GET", f"/v1/records/customer/{c['id']}/logs", t["agent"]).data["items"]
    changes = [ch for e in seen_by_agent for ch in e["changes"]]
    assert not any(ch["field"] == "credit_limit" for ch in changes)
    assert {(ch["before"], ch["after"]) for ch in changes if ch["field"] == "mobile"} == {(None, "138****1234"),
                                                                                         ("138****1234", "139****5678")}
    owner = [ch for e in api.call("GET", f"/v1/records/customer/{c['id']}/logs", t["manager"]).data["items"] for ch in e["changes"]]
    assert {"before": 50000, "after": 60000, "field": "credit_limit"} in owner


def test_given_numbers_beyond_15_digits_or_oversized_records_then_422_not_a_silent_change(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/customers", rep, {"name": "精度", "credit_limit": "99999999999999.99"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "credit_limit"
    ok = api.call("POST", "/v1/customers", rep, {"name": "精度", "credit_limit": "9999999999999.99"})
    assert ok.status_code == 201 and ok.data["credit_limit"] == 9999999999999.99
    api.call("POST", "/v1/objects", sales_team["admin"], {
        "key": "notes", "label": "笔记", "title_field": "title",
        "fields": [{"key": "title", "label": "标题", "type": "text"},
                   {"key": "rows", "label": "明细", "type": "table", "columns": [{"key": "a", "label": "甲", "type": "textarea"},
                                                                               {"key": "b", "label": "乙", "type": "textarea"}]}],
        "grants": {"sales_rep": {"actions": ["create", "read"], "scope": "self"}}})
    huge = api.call("POST", "/v1/objects/notes/records", rep, {"title": "巨大", "rows": [{"a": "长" * 2000, "b": "长" * 2000}] * 150})
    assert huge.status_code == 422 and huge.data["code"] == "RECORD_TOO_LARGE"


def test_given_a_forbidden_action_then_the_message_names_module_and_action_in_one_language(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    en = api.call("POST", "/v1/objects", rep, {"key": "x", "label": "x", "title_field": "t",
                                               "fields": [{"key": "t", "label": "t", "type": "text"}]}, headers={"Accept-Language": "en"})
    assert en.status_code == 403 and en.data["message"] == "You are not allowed to do this (Custom objects: manage)"
    zh = api.call("DELETE", "/v1/competitors/nope", rep, headers={"If-Match": '"1"'})
    assert zh.status_code == 403 and zh.data["message"] == "没有权限执行此操作（竞争对手：删除）"


def test_given_markup_in_a_record_when_highlighted_then_it_comes_back_as_text(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    api.call("POST", "/v1/customers", rep, {"name": "<img src=x onerror=alert(1)>华为代理"})
    hits = api.call("GET", "/v1/customers?q=%E5%8D%8E%E4%B8%BA", rep).data["items"]
    assert hits[0]["highlight"]["name"] == "&lt;img src=x onerror=alert(1)&gt;<em>华为</em>代理"
    assert hits[0]["name"] == "<img src=x onerror=alert(1)>华为代理"  # the value itself is data, unchanged
    found = api.call("GET", "/v1/search?q=%E5%8D%8E%E4%B8%BA", rep).data["groups"][0]["hits"][0]
    assert "<img" not in found["highlight"]["name"]
