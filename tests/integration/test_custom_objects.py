"""Custom objects through the API alone, as a new tenant would build them: seed 002's 广告订单
(ad orders) and 电话征订/发刊记录 (journal subscriptions). An admin defines them; a rep
creates, filters and searches records at once (no deploy, no reindex), within data scope and
field rules; the subscription's expiry reminds its owner through a real Scheduler schedule."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest

AD_ORDER = {
    "key": "ad_order", "label": "广告订单", "label_en": "Ad order", "title_field": "title", "card_fields": ["customer", "total"],
    "fields": [
        {"key": "title", "label": "订单主题", "label_en": "Subject", "type": "text", "required": True, "searchable": True},
        {"key": "customer", "label": "广告客户", "label_en": "Customer", "type": "reference", "entity": "customer", "required": True},
        {"key": "contact_name", "label": "联系人", "label_en": "Contact", "type": "text"},
        {"key": "content", "label": "广告内容", "label_en": "Content", "type": "textarea", "searchable": True},
        {"key": "ad_type", "label": "广告类型", "label_en": "Ad type", "type": "select",
         "options": [{"code": "text", "label": "文字信息"}, {"code": "image", "label": "图片"}]},
        {"key": "media", "label": "发布媒体", "label_en": "Media", "type": "multiselect",
         "options": [{"code": "biweekly", "label": "半月刊"}, {"code": "web", "label": "网络"}, {"code": "fair", "label": "展会"}]},
        {"key": "sales_rep", "label": "广告业务员", "label_en": "Sales rep", "type": "user"},
        {"key": "total", "label": "合同标的", "label_en": "Total", "type": "money", "required": True},
        {"key": "payment", "label": "到款情形", "label_en": "Payment", "type": "select", "default": "none",
         "options": [{"code": "full", "label": "全款到"}, {"code": "part", "label": "部分到"}, {"code": "none", "label": "未到"}]},
        {"key": "insertions", "label": "刊登明细", "label_en": "Insertions", "type": "table", "columns": [
            {"key": "issue_date", "label": "刊期", "type": "date", "required": True},
            {"key": "position", "label": "版位", "type": "text"},
            {"key": "amount", "label": "金额", "type": "money", "required": True}]},
    ],
    "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"},
               "sales_manager": {"actions": ["create", "update", "list", "read", "delete", "transfer", "team"],
                                 "scope": "self_and_subordinates"},
               "admin": {"actions": ["create", "update", "list", "read", "delete", "transfer", "team"], "scope": "all"}},
}

SUBSCRIPTION = {
    "key": "subscription", "label": "电话征订", "label_en": "Journal subscription", "title_field": "customer_name",
    "fields": [
        {"key": "customer_name", "label": "客户名称", "type": "text", "required": True, "searchable": True},
        {"key": "customer", "label": "客户", "type": "reference", "entity": "customer"},
        {"key": "phone", "label": "电话", "type": "phone", "searchable": True},
        {"key": "address", "label": "发刊地址", "type": "address"},
        {"key": "journals", "label": "刊别与份数", "type": "table", "columns": [
            {"key": "journal", "label": "刊别", "type": "select", "required": True,
             "options": [{"code": "biweekly", "label": "半月刊"}, {"code": "guide", "label": "参展指南"}]},
            {"key": "copies", "label": "份数", "type": "number", "required": True, "min": 1}]},
        {"key": "start_date", "label": "开始日期", "label_en": "Start date", "type": "date", "required": True},
        {"key": "end_date", "label": "终止日期", "label_en": "End date", "type": "date", "required": True, "remind_days_before": 30},
        {"key": "amount", "label": "订刊款额", "type": "money"},
        {"key": "channel", "label": "受订途径", "type": "select",
         "options": [{"code": "rep", "label": "业务员"}, {"code": "phone", "label": "电话征订"}]},
        {"key": "kind", "label": "发刊性质", "type": "select",
         "options": [{"code": "gift", "label": "赠阅"}, {"code": "paid", "label": "订阅"}]},
    ],
    "rules": [{"kind": "range", "start": "start_date", "end": "end_date"}],
    "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"}},
}


@pytest.fixture()
def objects(api, sales_team):
    admin = sales_team["admin"]
    for body in (AD_ORDER, SUBSCRIPTION):
        r = api.call("POST", "/v1/objects", admin, body)
        assert r.status_code == 201, r.data
    return sales_team


def _list(api, token, obj, **params):
    q = "&".join(f"{k}={quote(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))}" for k, v in params.items())
    r = api.call("GET", f"/v1/objects/{obj}/records?{q}", token)
    assert r.status_code == 200, r.data
    return r.data


def test_given_ad_orders_defined_when_reps_create_them_then_list_filter_search_and_facets_work_within_scope(api, objects):
    t = objects["tokens"]
    huawei = api.call("POST", "/v1/customers", t["rep1"], {"name": "华为技术有限公司"}).data
    acme = api.call("POST", "/v1/customers", t["rep2"], {"name": "上海ACME贸易"}).data
    r = api.call("POST", "/v1/objects/ad_order/records", t["rep1"], {
        "title": "华为春季形象广告", "customer": huawei["id"], "contact_name": "王经理", "content": "半月刊封二整版",
        "ad_type": "image", "media": ["biweekly", "web"], "sales_rep": objects["rep1"], "total": "128000.5",
        "insertions": [{"issue_date": "2027-03-01", "position": "封二", "amount": 64000.25},
                       {"issue_date": "2027-03-15", "position": "封二", "amount": "64000.25"}]})
    assert r.status_code == 201, r.data
    order = r.data
    assert order["total"] == 128000.5 and order["payment"] == "none" and order["access"] == "write"
    assert order["customer"] == {"entity": "customer", "id": huawei["id"]}
    assert order["insertions"][1] == {"issue_date": "2027-03-15", "position": "封二", "amount": 64000.25}
    api.call("POST", "/v1/objects/ad_order/records", t["rep2"], {"title": "ACME 展会广告", "customer": acme["id"],
                                                              "ad_type": "text", "media": ["fair"], "total": 9000})
    # data scope: each rep sees their own; the manager sees both
    assert [o["title"] for o in _list(api, t["rep1"], "ad_order")["items"]] == ["华为春季形象广告"]
    assert sorted(o["title"] for o in _list(api, t["manager"], "ad_order")["items"]) == ["ACME 展会广告", "华为春季形象广告"]
    assert api.call("GET", f"/v1/objects/ad_order/records/{order['id']}", t["rep2"]).status_code == 404
    # filters, sort, facets and 2-character Chinese search on the object's own fields
    big = _list(api, t["manager"], "ad_order", filters=[{"field": "total", "op": "range", "value": {"gte": 100000}}])
    assert [o["title"] for o in big["items"]] == ["华为春季形象广告"]
    faceted = _list(api, t["manager"], "ad_order", facets="ad_type,media", sort="-total")
    assert [o["title"] for o in faceted["items"]] == ["华为春季形象广告", "ACME 展会广告"]
    assert {b["value"]: b["count"] for b in faceted["facets"]["media"]} == {"biweekly": 1, "web": 1, "fair": 1}
    found = _list(api, t["manager"], "ad_order", q="封二")
    assert [o["title"] for o in found["items"]] == ["华为春季形象广告"] and "content" in found["items"][0]["highlight"]
    everywhere = api.call("GET", f"/v1/search?q={quote('形象')}", t["rep1"]).data
    assert [g["hits"][0]["title"] for g in everywhere["groups"] if g["type"] == "obj_ad_order"] == ["华为春季形象广告"]
    # the records of one object never show up in another's list
    assert _list(api, t["rep1"], "subscription")["items"] == []


def test_given_bad_records_then_422_names_each_path_and_the_references_must_be_readable(api, objects):
    t = objects["tokens"]
    other = api.call("POST", "/v1/customers", t["rep2"], {"name": "张伟的客户"}).data
    r = api.call("POST", "/v1/objects/ad_order/records", t["rep1"], {
        "customer": other["id"], "total": -5, "media": ["radio"], "insertions": [{"amount": 1}], "nope": 1},
        headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"title", "customer", "total", "media", "insertions.0.issue_date", "nope"}
    assert _list(api, t["rep1"], "ad_order")["items"] == []
    assert api.call("GET", "/v1/objects/nope/records", t["rep1"]).status_code == 404


def test_given_a_subscription_when_its_end_date_nears_then_the_owner_gets_a_reminder_once(api, objects):
    from chalicelib.core import clock
    from devstack.drivers import ScheduleDriver

    t = objects["tokens"]
    end = (clock.now() + timedelta(days=30)).date().isoformat()
    r = api.call("POST", "/v1/objects/subscription/records", t["rep1"], {
        "customer_name": "成都天府医疗器械有限公司", "phone": "028-8888 6666",
        "address": {"text": "成都市高新区天府大道 1 号", "lng": 104.0657, "lat": 30.5723},
        "journals": [{"journal": "biweekly", "copies": 2}, {"journal": "guide", "copies": 1}],
        "start_date": (clock.now() - timedelta(days=335)).date().isoformat(), "end_date": end, "amount": 960,
        "channel": "phone", "kind": "paid"})
    assert r.status_code == 201, r.data
    assert ScheduleDriver().run_once() == 0  # due at 09:00, or in a minute when that has passed
    clock.travel(24 * 3600)
    assert ScheduleDriver().run_once() == 1
    inbox = api.call("GET", "/v1/notifications", t["rep1"]).data["items"]
    assert [n["kind"] for n in inbox] == ["record_due"]
    assert inbox[0]["title"] == f"「成都天府医疗器械有限公司」的终止日期将于 {end} 到期"
    assert inbox[0]["link"] == {"entity": "obj_subscription", "id": r.data["id"]}
    assert ScheduleDriver().run_once() == 0


def test_given_a_subscription_deleted_then_its_reminder_is_gone_and_restoring_brings_it_back(api, objects):
    from chalicelib.core import clock
    from chalicelib.core.settings import get_settings
    from chalicelib.ports import client

    t = objects["tokens"]
    end = (clock.now() + timedelta(days=90)).date().isoformat()
    rec = api.call("POST", "/v1/objects/subscription/records", t["rep1"], {
        "customer_name": "苏州工业园区政务中心", "start_date": "2026-01-01", "end_date": end}).data

    def schedules() -> int:
        return len(client("scheduler").list_schedules(GroupName=get_settings().schedule_group)["Schedules"])

    assert schedules() == 1
    api.call("DELETE", f"/v1/objects/subscription/records/{rec['id']}", objects["admin"], headers={"If-Match": '"1"'})
    assert schedules() == 0
    bin_items = api.call("GET", "/v1/recycle-bin", objects["admin"]).data["items"]
    assert [(i["entity"], i["name"]) for i in bin_items] == [("obj_subscription", "苏州工业园区政务中心")]
    assert api.call("POST", f"/v1/recycle-bin/obj_subscription/{rec['id']}/restore", objects["admin"]).status_code == 200
    assert schedules() == 1
    log = api.call("GET", f"/v1/records/obj_subscription/{rec['id']}/logs", t["rep1"]).data["items"]
    assert [e["action"] for e in log] == ["restore", "delete", "create"]


def test_given_an_object_when_an_admin_adds_a_field_then_records_accept_it_at_once_and_types_never_change(api, objects):
    admin, rep = objects["admin"], objects["tokens"]["rep1"]
    current = api.call("GET", "/v1/objects/subscription", admin).data
    fields = [*current["fields"], {"key": "postcode", "label": "邮编", "type": "text", "max_length": 6, "filterable": True}]
    fields = [{k: v for k, v in f.items() if k != "slot"} for f in fields]
    r = api.call("PATCH", "/v1/objects/subscription", admin, {"fields": fields, "version": current["version"]})
    assert r.status_code == 200, r.data
    created = api.call("POST", "/v1/objects/subscription/records", rep, {"customer_name": "杭州西湖", "start_date": "2026-01-01",
                                                                        "end_date": "2026-12-31", "postcode": "310000"})
    assert created.status_code == 201 and created.data["postcode"] == "310000"
    assert [o["postcode"] for o in _list(api, rep, "subscription", filters=[{"field": "postcode", "op": "eq", "value": "310000"}])[
        "items"]] == ["310000"]
    retyped = [dict(f, type="number") if f["key"] == "postcode" else f for f in fields]
    bad = api.call("PATCH", "/v1/objects/subscription", admin, {"fields": retyped, "version": r.data["version"]})
    assert bad.status_code == 422 and bad.data["details"][0]["field"].endswith(".type")
    dropped = api.call("PATCH", "/v1/objects/subscription", admin, {"fields": fields[:-1], "version": r.data["version"]})
    assert dropped.status_code == 422


def test_given_metadata_then_every_type_comes_with_fields_and_the_callers_rights(api, objects):
    rep = objects["tokens"]["rep1"]
    items = {m["type"]: m for m in api.call("GET", "/v1/meta/records", rep).data["items"]}
    assert {"customer", "competitor", "obj_ad_order", "obj_subscription"} <= set(items)
    ad = items["obj_ad_order"]
    assert ad["rights"]["create"] is True and ad["rights"]["delete"] is False and ad["scope"] == ["self"]
    assert ad["path"] == "/v1/objects/ad_order/records"
    assert [c["key"] for c in next(f for f in ad["fields"] if f["key"] == "insertions")["columns"]] == ["issue_date", "position",
                                                                                                       "amount"]
    agent = objects["tokens"]["agent"]
    customer = api.call("GET", "/v1/meta/records/customer", agent).data
    access = {f["key"]: f["access"] for f in customer["fields"]}
    assert access["mobile"] == "masked" and "credit_limit" not in access
    assert api.call("GET", "/v1/meta/records/obj_ad_order", agent).status_code == 404  # no grant: not offered


def test_given_definitions_when_wrong_then_every_problem_is_named(api, sales_team):
    r = api.call("POST", "/v1/objects", sales_team["admin"], {
        "key": "broken", "label": "坏", "title_field": "pick",
        "fields": [{"key": "amount", "label": "金额", "type": "money", "unique": True},
                   {"key": "ref", "label": "关联", "type": "reference", "entity": "nothing"},
                   {"key": "pick", "label": "选择", "type": "select"},
                   {"key": "amount", "label": "重复", "type": "text"}]})
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"fields.0.unique", "fields.1.entity", "fields.2.options", "fields.3.key",
                                                       "title_field"}
    rep = api.call("POST", "/v1/objects", sales_team["tokens"]["rep1"], {**SUBSCRIPTION, "key": "mine"})
    assert rep.status_code == 403


ORDER_UNDER_CUSTOMER = {
    **{k: v for k, v in AD_ORDER.items() if k not in ("key", "label")}, "key": "ad_order", "label": "广告订单",
    "parent": {"field": "customer", "cascade": ["transfer", "delete"]},
}


def test_given_orders_under_their_customer_then_related_lists_transfer_delete_and_restore_follow_the_customer(api, sales_team):
    from tests.integration.test_round_trips import LIMIT, dynamodb_calls

    t, admin = sales_team["tokens"], sales_team["admin"]
    assert api.call("POST", "/v1/objects", admin, ORDER_UNDER_CUSTOMER).status_code == 201
    cust = api.call("POST", "/v1/customers", t["rep1"], {"name": "华为技术有限公司"}).data
    orders = [api.call("POST", "/v1/objects/ad_order/records", t["rep1"], {"title": f"订单{i}", "customer": cust["id"],
                                                                         "total": 1000 * (i + 1)}).data for i in range(2)]
    api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])  # warm: the org snapshot, the tenant's family state
    with dynamodb_calls() as calls:
        r = api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep1"])
    assert r.status_code == 200 and calls == [LIMIT, "GetItem", "Query"]  # the customer, then its whole family
    assert sorted(o["title"] for o in r.data["related"]["obj_ad_order"]) == ["订单0", "订单1"]
    assert api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep2"]).status_code == 404
    # transfer: the customer and the previous owner's orders move together
    moved = api.call("POST", f"/v1/customers/{cust['id']}/transfer", t["manager"], {"to_user_id": sales_team["rep2"], "version": 1})
    assert moved.status_code == 200, moved.data
    assert {o["owner_id"] for o in api.call("GET", f"/v1/customers/{cust['id']}/related", t["rep2"]).data["related"][
        "obj_ad_order"]} == {sales_team["rep2"]}
    # delete: the orders go to the bin with the customer and come back with it
    api.call("DELETE", f"/v1/customers/{cust['id']}", t["manager"], headers={"If-Match": '"2"'})
    assert api.call("GET", f"/v1/objects/ad_order/records/{orders[0]['id']}", t["rep2"]).status_code == 404
    assert sorted(i["entity"] for i in api.call("GET", "/v1/recycle-bin", admin).data["items"]) == [
        "customer", "obj_ad_order", "obj_ad_order"]
    assert api.call("POST", f"/v1/recycle-bin/customer/{cust['id']}/restore", admin).status_code == 200
    assert api.call("GET", f"/v1/objects/ad_order/records/{orders[0]['id']}", t["rep2"]).status_code == 200
    assert api.call("GET", "/v1/recycle-bin", admin).data["items"] == []


def test_given_a_custom_object_then_get_create_list_cost_the_round_trips_of_a_customer(api, objects):
    from tests.integration.test_round_trips import LIMIT, dynamodb_calls

    rep = objects["tokens"]["rep1"]
    cust = api.call("POST", "/v1/customers", rep, {"name": "预热客户"}).data
    api.call("POST", "/v1/objects/subscription/records", rep, {"customer_name": "预热", "start_date": "2026-01-01",
                                                              "end_date": "2030-01-01"})
    with dynamodb_calls() as create:
        rec = api.call("POST", "/v1/objects/subscription/records", rep, {
            "customer_name": "华为", "customer": cust["id"], "start_date": "2026-01-01", "end_date": "2030-01-01"},
            headers={"Idempotency-Key": "rt-obj"}).data
    # the reference is checked with one GetItem of the customer (a customer with a reference costs the same)
    assert create == [LIMIT, "GetItem", "TransactWriteItems"]
    api.pump()
    with dynamodb_calls() as get:
        api.call("GET", f"/v1/objects/subscription/records/{rec['id']}", rep)
    assert get == [LIMIT, "GetItem"]
    with dynamodb_calls() as listed:
        page = api.call("GET", "/v1/objects/subscription/records?q=%E5%8D%8E%E4%B8%BA", rep)
    assert page.data["total"] == 1 and listed == [LIMIT]


def test_given_a_numbering_rule_then_each_record_gets_the_next_number_and_cannot_change_it(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    body = {"key": "po", "label": "采购单", "title_field": "title", "numbering": {"field": "po_no", "rule": "order"},
            "fields": [{"key": "title", "label": "主题", "type": "text", "required": True},
                       {"key": "po_no", "label": "单号", "type": "text", "unique": True}],
            "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"}}}
    assert api.call("POST", "/v1/objects", admin, {**body, "numbering": {"field": "po_no", "rule": "nope"}}).status_code == 422
    assert api.call("POST", "/v1/objects", admin, body).status_code == 201
    first = api.call("POST", "/v1/objects/po/records", rep, {"title": "办公用品"}).data
    second = api.call("POST", "/v1/objects/po/records", rep, {"title": "服务器"}).data
    assert first["po_no"].startswith("DD") and second["po_no"] != first["po_no"]
    assert int(second["po_no"][-4:]) == int(first["po_no"][-4:]) + 1
    r = api.call("PATCH", f"/v1/objects/po/records/{first['id']}", rep, {"po_no": "DD1", "version": 1})
    assert r.status_code == 422 and r.data["details"][0]["type"] == "read_only"
    assert api.call("POST", "/v1/objects/po/records", rep, {"title": "x", "po_no": "DD9"}).status_code == 422


def test_given_an_object_with_approval_when_a_rep_submits_then_the_status_follows_the_real_execution(api, sales_team):
    admin, rep, manager = sales_team["admin"], sales_team["tokens"]["rep1"], sales_team["tokens"]["manager"]
    assert api.call("POST", "/v1/objects", admin, {
        "key": "discount", "label": "特价申请", "title_field": "title", "approval": True,
        "fields": [{"key": "title", "label": "主题", "type": "text", "required": True},
                   {"key": "rate", "label": "折扣", "type": "percent", "required": True}],
        "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"},
                   "sales_manager": {"actions": ["list", "read"], "scope": "self_and_subordinates"}}}).status_code == 201
    rec = api.call("POST", "/v1/objects/discount/records", rep, {"title": "华为 8 折", "rate": 80}).data
    assert rec["approval_status"] == "none"
    missing = api.call("POST", f"/v1/objects/discount/records/{rec['id']}/submit", rep, {})
    assert missing.status_code == 422 and missing.data["code"] == "APPROVAL_FLOW_MISSING"
    flow = api.call("POST", "/v1/approval-flows", admin, {"name": "特价审批", "business_type": "obj:discount", "enabled": True,
                                                          "nodes": [{"id": "sup", "name": "直属上级",
                                                                     "approvers": {"type": "supervisor", "level": 1}}]})
    assert flow.status_code == 201, flow.data
    sent = api.call("POST", f"/v1/objects/discount/records/{rec['id']}/submit", rep, {"comment": "请批准"})
    assert sent.status_code == 200, sent.data
    assert sent.data["approval_status"] == "pending" and sent.data["approval_id"]
    frozen = api.call("PATCH", f"/v1/objects/discount/records/{rec['id']}", rep, {"rate": 70, "version": sent.data["version"]})
    assert frozen.status_code == 422 and frozen.data["code"] == "INVALID_STATE"
    assert api.call("POST", f"/v1/approvals/{sent.data['approval_id']}/approve", manager, {}).status_code == 200
    done = api.call("GET", f"/v1/objects/discount/records/{rec['id']}", rep).data
    assert done["approval_status"] == "approved"
    log = [e["action"] for e in api.call("GET", f"/v1/records/obj_discount/{rec['id']}/logs", rep).data["items"]]
    assert log[0] == "approval_approved" and {"approval_pending", "approval.submit", "approval.approve"} <= set(log)


def test_given_a_rejected_record_whose_flow_was_replaced_when_resubmitted_then_the_enabled_flow_takes_it(api, sales_team):
    admin, rep, manager = sales_team["admin"], sales_team["tokens"]["rep1"], sales_team["tokens"]["manager"]
    assert api.call("POST", "/v1/objects", admin, {
        "key": "rebate", "label": "返利申请", "title_field": "title", "approval": True,
        "fields": [{"key": "title", "label": "主题", "type": "text", "required": True}],
        "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"}}}).status_code == 201
    nodes = [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]
    old = api.call("POST", "/v1/approval-flows", admin, {"name": "返利审批", "business_type": "obj:rebate", "enabled": True, "nodes": nodes}).data
    rec = api.call("POST", "/v1/objects/rebate/records", rep, {"title": "季度返利"}).data
    first = api.call("POST", f"/v1/objects/rebate/records/{rec['id']}/submit", rep, {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{first}/reject", manager, {}).status_code == 200
    new = api.call("POST", "/v1/approval-flows", admin, {"name": "返利审批二版", "business_type": "obj:rebate", "enabled": True,
                                                        "nodes": nodes}).data  # enabling it disables the old one
    again = api.call("POST", f"/v1/objects/rebate/records/{rec['id']}/submit", rep, {})
    assert again.status_code == 200 and again.data["approval_status"] == "pending", again.data
    assert again.data["approval_id"] != first
    assert api.call("GET", f"/v1/approvals/{again.data['approval_id']}", rep).data["flow_id"] == new["id"] != old["id"]


def test_given_review_findings_then_definitions_and_cascades_hold(api, sales_team):
    admin = sales_team["admin"]
    # a field named like a search slot, a bad bound, a bad default: named, never a 500
    bad = api.call("POST", "/v1/objects", admin, {"key": "bad", "label": "坏", "title_field": "title", "fields": [
        {"key": "title", "label": "标题", "type": "text"}, {"key": "cf_t2", "label": "槽", "type": "text"},
        {"key": "n", "label": "数", "type": "number", "min": "abc"}, {"key": "d", "label": "日", "type": "date", "default": "tomorrow"}]})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.data["details"]} == {"fields.1.key", "fields.2.min", "fields.3.default"}
    # a numbered field may be required: the system fills it
    assert api.call("POST", "/v1/objects", admin, {"key": "ticket", "label": "工单", "title_field": "title",
                                                   "numbering": {"field": "no", "rule": "order"},
                                                   "fields": [{"key": "title", "label": "标题", "type": "text"},
                                                              {"key": "no", "label": "单号", "type": "text", "required": True}]}
                    ).status_code == 201
    assert api.call("POST", "/v1/objects/ticket/records", admin, {"title": "报修"}).status_code == 201
    # a changed field setting is stored (and a field cannot become unique later)
    obj = api.call("GET", "/v1/objects/ticket", admin).data
    fields = [{k: v for k, v in f.items() if k != "slot"} for f in obj["fields"]]
    fields[0] = {**fields[0], "label": "主题", "max_length": 50}
    r = api.call("PATCH", "/v1/objects/ticket", admin, {"fields": fields, "version": obj["version"]})
    assert r.status_code == 200 and r.data["version"] == obj["version"] + 1
    assert api.call("GET", "/v1/objects/ticket", admin).data["fields"][0]["label"] == "主题"
    later = [dict(f, unique=True) if f["key"] == "title" else f for f in fields]
    assert api.call("PATCH", "/v1/objects/ticket", admin, {"fields": later, "version": r.data["version"]}).status_code == 422


def test_given_a_transfer_cascade_then_only_children_the_caller_may_change_move(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    assert api.call("POST", "/v1/objects", admin, {
        "key": "visit", "label": "拜访", "title_field": "title", "parent": {"field": "customer", "cascade": ["transfer"]},
        "fields": [{"key": "title", "label": "主题", "type": "text"},
                   {"key": "customer", "label": "客户", "type": "reference", "entity": "customer", "required": True}],
        "grants": {"sales_rep": {"actions": ["create", "update", "list", "read", "transfer"], "scope": "self"}}}).status_code == 201
    cust = api.call("POST", "/v1/customers", t["rep2"], {"name": "张伟的客户"}).data
    visit = api.call("POST", "/v1/objects/visit/records", t["rep2"], {"title": "首次拜访", "customer": cust["id"]}).data
    shared = api.call("PUT", f"/v1/customers/{cust['id']}/team", t["rep2"],
                      {"members": [{"user_id": sales_team["rep1"], "access": "write"}], "version": 1})
    assert shared.status_code == 200
    moved = api.call("POST", f"/v1/customers/{cust['id']}/transfer", t["rep1"],
                     {"to_user_id": sales_team["rep1"], "cascade": ["obj_visit"], "version": 2})
    assert moved.status_code == 200 and moved.data["owner_id"] == sales_team["rep1"]
    # the visit was not the rep's to take: it stays with its owner
    assert api.call("GET", f"/v1/objects/visit/records/{visit['id']}", t["rep1"]).status_code == 404
    assert api.call("GET", f"/v1/objects/visit/records/{visit['id']}", t["rep2"]).data["owner_id"] == sales_team["rep2"]


def test_given_a_record_in_review_when_deleted_then_refused(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    api.call("POST", "/v1/objects", admin, {"key": "req", "label": "申请", "title_field": "title", "approval": True,
                                            "fields": [{"key": "title", "label": "主题", "type": "text"}],
                                            "grants": {"sales_rep": {"actions": ["create", "update", "read", "delete"],
                                                                     "scope": "self"}}})
    api.call("POST", "/v1/approval-flows", admin, {"name": "申请审批", "business_type": "obj:req", "enabled": True,
                                                   "nodes": [{"id": "sup", "name": "上级", "approvers": {"type": "supervisor",
                                                                                                        "level": 1}}]})
    rec = api.call("POST", "/v1/objects/req/records", rep, {"title": "采购"}).data
    sent = api.call("POST", f"/v1/objects/req/records/{rec['id']}/submit", rep, {}).data
    gone = api.call("DELETE", f"/v1/objects/req/records/{rec['id']}", rep, headers={"If-Match": f'"{sent["version"]}"'})
    assert gone.status_code == 422 and gone.data["code"] == "INVALID_STATE"


def test_given_a_customer_with_orders_an_approval_and_a_saved_view_then_timeline_and_views_work(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    api.call("POST", "/v1/objects", admin, ORDER_UNDER_CUSTOMER)
    cust = api.call("POST", "/v1/customers", t["rep1"], {"name": "华为", "credit_limit": 100}).data
    api.call("PATCH", f"/v1/customers/{cust['id']}", t["rep1"], {"credit_limit": 200, "version": 1})
    api.call("POST", "/v1/objects/ad_order/records", t["rep1"], {"title": "春季广告", "customer": cust["id"], "total": 5000})
    line = api.call("GET", f"/v1/customers/{cust['id']}/timeline", t["rep1"]).data["items"]
    assert [i["kind"] for i in line] == ["record", "log", "log"] and line[0]["title"] == "春季广告"
    assert {"field": "credit_limit", "before": 100, "after": 200} in line[1]["changes"]
    hidden = api.call("GET", f"/v1/customers/{cust['id']}/timeline", t["agent"]).data["items"]
    assert not any(ch["field"] == "credit_limit" for i in hidden if i["kind"] == "log" for ch in i["changes"])
    assert [i["kind"] for i in hidden] == ["log", "log"]  # the agent has no grant on ad orders
    # saved views (场景) on a custom object
    v = api.call("POST", "/v1/views/obj_ad_order", t["rep1"], {"name": "大单",
                                                               "filters": [{"field": "total", "op": "range", "value": {"gte": 1000}}]})
    assert v.status_code == 201, v.data
    assert [o["title"] for o in _list(api, t["rep1"], "ad_order", view=v.data["id"])["items"]] == ["春季广告"]
    assert [x["name"] for x in api.call("GET", "/v1/views/obj_ad_order", t["rep1"]).data["items"]] == ["大单"]
    assert api.call("GET", "/v1/views/customer", t["rep1"]).data["items"] == []


def test_given_a_region_field_then_codes_of_the_shipped_dictionary_are_named_and_filterable(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    api.call("POST", "/v1/objects", admin, {"key": "site", "label": "网点", "title_field": "title",
                                            "fields": [{"key": "title", "label": "名称", "type": "text"},
                                                       {"key": "region", "label": "地区", "type": "region"},
                                                       {"key": "address", "label": "地址", "type": "address"}],
                                            "grants": {"sales_rep": {"actions": ["create", "list", "read"], "scope": "self"}}})
    r = api.call("POST", "/v1/objects/site/records", rep, {"title": "深圳分部", "region": "440305",
                                                           "address": {"text": "科技园", "region": "440305", "lng": 113.95, "lat": 22.54}})
    assert r.status_code == 201, r.data
    assert r.data["region"] == {"code": "440305", "name": "广东省/深圳市/南山区"}
    assert r.data["address"]["region"] == {"code": "440305", "name": "广东省/深圳市/南山区"}
    bad = api.call("POST", "/v1/objects/site/records", rep, {"title": "x", "region": "999999"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "region"
    assert [s["title"] for s in _list(api, rep, "site", filters=[{"field": "region", "op": "eq", "value": "440305"}])["items"]] == [
        "深圳分部"]
    kids = api.call("GET", "/v1/regions?parent=440300", rep).data["items"]
    assert {"code": "440305", "name": "南山区"} in kids
    assert len(api.call("GET", "/v1/regions", rep).data["items"]) == 34


def test_given_an_object_with_rules_when_a_record_breaks_them_then_422_names_the_field_on_create_and_on_change(api, objects):
    rep = objects["tokens"]["rep1"]
    r = api.call("POST", "/v1/objects/subscription/records", rep, {"customer_name": "倒签", "start_date": "2026-06-01",
                                                                    "end_date": "2026-05-31", "amount": "-960"})
    assert r.status_code == 422
    assert {d["field"]: d["type"] for d in r.data["details"]} == {"end_date": "range", "amount": "range"}  # no negative money
    assert next(d for d in r.data["details"] if d["field"] == "end_date")["message"] == "「终止日期」不能早于「开始日期」"
    rec = api.call("POST", "/v1/objects/subscription/records", rep, {"customer_name": "顺签", "start_date": "2026-06-01",
                                                                      "end_date": "2026-06-01"}).data
    moved = api.call("PATCH", f"/v1/objects/subscription/records/{rec['id']}", rep, {"start_date": "2026-07-01"},
                     headers={"If-Match": '"1"', "Accept-Language": "en"})
    assert moved.status_code == 422  # the stored end date counts
    assert moved.data["details"] == [{"field": "end_date", "type": "range", "message": "End date cannot be before Start date"}]
    assert api.call("GET", "/v1/meta/records/obj_subscription", rep).data["rules"] == SUBSCRIPTION["rules"]  # clients can check first


def test_given_bad_rule_definitions_when_an_admin_saves_an_object_then_422_names_each_problem(api, objects):
    admin = objects["admin"]
    current = api.call("GET", "/v1/objects/subscription", admin).data
    bad = [{"kind": "range", "start": "start_date", "end": "nope"}, {"kind": "sum", "total": "amount", "table": "journals",
                                                                     "column": "journal"},
           {"kind": "compare", "field": "customer_name", "op": "gt", "value": 0}, {"kind": "between"}]
    r = api.call("PATCH", "/v1/objects/subscription", admin, {"rules": bad}, headers={"If-Match": f'"{current["version"]}"'})
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"rules.0.end", "rules.1.column", "rules.2.field", "rules.3.kind"}
    good = [*SUBSCRIPTION["rules"], {"kind": "sum", "total": "amount", "table": "journals", "column": "copies"}]
    r = api.call("PATCH", "/v1/objects/subscription", admin, {"rules": good}, headers={"If-Match": f'"{current["version"]}"'})
    assert r.status_code == 200 and r.data["rules"] == good
    r = api.call("POST", "/v1/objects", admin, {**SUBSCRIPTION, "key": "trial", "fields": [
        *SUBSCRIPTION["fields"], {"key": "level", "label": "级别", "type": "select", "dictionary": "no_such_type"}]})
    assert r.status_code == 422 and {d["field"] for d in r.data["details"]} == {f"fields.{len(SUBSCRIPTION['fields'])}.dictionary"}
