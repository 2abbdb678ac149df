"""Customers through the API: the reference module's behaviour as users see it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta


def _names(api, token, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    r = api.call("GET", f"/v1/customers?{q}", token)
    assert r.status_code == 200, r.data
    return [c["name"] for c in r.data["items"]]


def test_given_rep_when_creating_customer_then_owner_is_rep_and_etag_is_version(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司", "mobile": "139 1234 5678", "level": "A", "industry": "it"})
    assert r.status_code == 201, r.data
    assert r.data["owner_id"] == sales_team["rep1"] and r.data["version"] == 1 and r.data["access"] == "write"
    assert r.data["mobile"] == "13912345678"
    assert r.headers["ETag"] == '"1"'
    got = api.call("GET", f"/v1/customers/{r.data['id']}", rep)
    assert got.data["name"] == "华为技术有限公司"


def test_given_bad_input_when_creating_then_422_lists_fields_and_nothing_is_stored(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/customers", rep, {"name": "", "mobile": "12345", "email": "not-mail", "level": "Z"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.data["details"]}
    assert {"name", "mobile", "email"} <= fields
    dict_err = api.call("POST", "/v1/customers", rep, {"name": "好公司", "level": "Z"})
    assert dict_err.status_code == 422 and dict_err.data["details"][0]["field"] == "level"
    junk = api.call("POST", "/v1/customers", rep, {"name": "好公司", "surprise": 1})
    assert junk.status_code == 422
    assert _names(api, rep) == []


def test_given_invalid_json_when_posting_then_400_or_422_in_english(api, sales_team):
    r = sales_team and api.http.post("/v1/customers", body="{not json", headers={
        "Authorization": f"Bearer {sales_team['tokens']['rep1']}", "Content-Type": "application/json", "Accept-Language": "en"})
    assert r.status_code in (400, 422)


def test_given_manager_and_reps_when_listing_then_each_sees_exactly_their_scope(api, sales_team):
    t = sales_team["tokens"]
    api.call("POST", "/v1/customers", t["rep1"], {"name": "李娜的客户"})
    api.call("POST", "/v1/customers", t["rep2"], {"name": "张伟的客户"})
    api.call("POST", "/v1/customers", t["manager"], {"name": "经理的客户"})
    assert sorted(_names(api, t["manager"])) == sorted(["李娜的客户", "张伟的客户", "经理的客户"])
    assert _names(api, t["rep1"]) == ["李娜的客户"]
    assert _names(api, t["rep2"]) == ["张伟的客户"]
    # 本部门 scope of the service agent: everyone in 销售部
    assert sorted(_names(api, t["agent"])) == sorted(["李娜的客户", "张伟的客户", "经理的客户"])
    assert sorted(_names(api, sales_team["admin"])) == sorted(["李娜的客户", "张伟的客户", "经理的客户"])


def test_given_rep_when_reading_managers_customer_by_id_then_it_answers_as_a_missing_one_and_cannot_change_it(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["manager"], {"name": "经理的客户"}).data
    for method, suffix, body, headers in (("GET", "", None, None), ("PATCH", "", {"name": "x", "version": 1}, None),
                                          ("DELETE", "", None, {"If-Match": '"1"'}), ("GET", "/related", None, None),
                                          ("GET", "/timeline", None, None)):
        r = api.call(method, f"/v1/customers/{c['id']}{suffix}", t["rep1"], body, headers=headers)
        missing = api.call(method, f"/v1/customers/01NOSUCHCUSTOMER000000000{suffix}", t["rep1"], body, headers=headers)
        assert (r.status_code, r.data) == (missing.status_code, missing.data), (method, suffix)
        assert missing.status_code == (403 if method == "DELETE" else 404)  # reps may not delete customers at all
    assert api.call("GET", f"/v1/customers/{c['id']}", t["manager"]).data["name"] == "经理的客户"


def test_given_service_agent_when_reading_then_mobile_is_masked_credit_hidden_and_writes_refused(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["manager"], {"name": "上海ACME贸易", "mobile": "13812341234", "credit_limit": 50000}).data
    seen = api.call("GET", f"/v1/customers/{c['id']}", t["agent"]).data
    assert seen["mobile"] == "138****1234"
    assert seen.get("credit_limit") is None
    assert seen["access"] == "write" or seen["access"] == "read"
    r = api.call("PATCH", f"/v1/customers/{c['id']}", t["agent"], {"remark": "x", "version": 1})
    assert r.status_code == 403
    owner_view = api.call("GET", f"/v1/customers/{c['id']}", t["manager"]).data
    assert owner_view["mobile"] == "13812341234" and owner_view["credit_limit"] == 50000


def test_given_stale_version_when_updating_then_409_and_no_version_is_428(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "合同通"}).data
    ok = api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"remark": "第一次"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.data["version"] == 2 and ok.headers["ETag"] == '"2"'
    stale = api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"remark": "覆盖"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.data["code"] == "VERSION_CONFLICT"
    assert stale.data["details"]["current_version"] == 2
    missing = api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"remark": "覆盖"})
    assert missing.status_code == 428
    assert api.call("GET", f"/v1/customers/{c['id']}", rep).data["remark"] == "第一次"


def test_given_concurrent_updates_with_same_version_when_racing_then_exactly_one_wins(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "并发客户"}).data

    def patch(i):
        return api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"remark": f"r{i}", "version": 1}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(patch, range(8)))
    assert codes.count(200) == 1 and codes.count(409) == 7
    assert api.call("GET", f"/v1/customers/{c['id']}", rep).data["version"] == 2


def test_given_idempotency_key_when_create_is_retried_then_one_customer_and_same_result(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    body = {"name": "幂等客户", "level": "B"}
    h = {"Idempotency-Key": "create-1"}
    first = api.call("POST", "/v1/customers", rep, body, headers=h)
    second = api.call("POST", "/v1/customers", rep, body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.data["id"] == second.data["id"]
    other = api.call("POST", "/v1/customers", rep, {**body, "level": "A"}, headers=h)
    assert other.status_code == 422 and other.data["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _names(api, rep) == ["幂等客户"]


def test_given_idempotency_key_when_sent_concurrently_then_one_customer(api, sales_team):
    rep = sales_team["tokens"]["rep1"]

    def create(_):
        return api.call("POST", "/v1/customers", rep, {"name": "并发幂等"}, headers={"Idempotency-Key": "k-race"}).data["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(create, range(6)))
    assert len(ids) == 1
    assert _names(api, rep) == ["并发幂等"]


def test_given_many_customers_when_paging_with_cursor_then_every_one_once_newest_first(api, sales_team):
    t = sales_team["tokens"]
    for i in range(7):
        api.call("POST", "/v1/customers", t["rep1"] if i % 2 else t["rep2"], {"name": f"客户{i:02d}"})
    seen, cursor = [], None
    while True:
        path = "/v1/customers?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, t["manager"]).data
        assert len(page["items"]) <= 3
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"客户{i:02d}" for i in reversed(range(7))]
    bad = api.call("GET", "/v1/customers?cursor=garbage!!", t["manager"])
    assert bad.status_code == 400 and bad.data["code"] == "INVALID_CURSOR"


def test_given_team_member_when_granted_then_sees_until_expiry_and_read_only_cannot_edit(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "共享客户"}).data
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep2"]).status_code == 404
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = api.call("PUT", f"/v1/customers/{c['id']}/team", t["rep1"],
                 {"members": [{"user_id": sales_team["rep2"], "access": "read", "until": future}], "version": 1})
    assert r.status_code == 200, r.data
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep2"]).data["access"] == "read"
    assert "共享客户" in _names(api, t["rep2"])
    assert "共享客户" in _names(api, t["rep2"], scope="team")
    assert api.call("PATCH", f"/v1/customers/{c['id']}", t["rep2"], {"remark": "x", "version": 2}).status_code == 403
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    api.call("PUT", f"/v1/customers/{c['id']}/team", t["rep1"],
             {"members": [{"user_id": sales_team["rep2"], "access": "write", "until": past}], "version": 2})
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep2"]).status_code == 404
    assert "共享客户" not in _names(api, t["rep2"])


def test_given_transfer_with_previous_owner_kept_then_new_owner_owns_and_old_owner_reads(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "转移客户"}).data
    r = api.call("POST", f"/v1/customers/{c['id']}/transfer", t["rep1"],
                 {"to_user_id": sales_team["rep2"], "keep_previous_owner_as": "read", "version": 1})
    assert r.status_code == 200, r.data
    assert r.data["owner_id"] == sales_team["rep2"]
    assert "转移客户" in _names(api, t["rep2"], scope="mine")
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data["access"] == "read"
    assert "转移客户" not in _names(api, t["rep1"], scope="mine")


def test_given_owner_outside_scope_when_creating_then_422(api, sales_team):
    r = api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "越权", "owner_id": sales_team["rep2"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "owner_id"
    ok = api.call("POST", "/v1/customers", sales_team["tokens"]["manager"], {"name": "分配", "owner_id": sales_team["rep2"]})
    assert ok.status_code == 201 and ok.data["owner_id"] == sales_team["rep2"]


def test_given_negative_money_or_an_unknown_period_then_422_names_the_field_or_parameter(api, sales_team):
    import json
    from urllib.parse import quote

    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/customers", rep, {"name": "负额度", "credit_limit": "-100"})
    assert r.status_code == 422 and r.data["details"] == [{"field": "credit_limit", "type": "range", "message": "不能为负数"}]
    c = api.call("POST", "/v1/customers", rep, {"name": "正额度", "credit_limit": 100}).data
    r = api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"credit_limit": -1, "version": 1}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["message"] == "Must not be negative"
    def period(value: str) -> str:
        return "/v1/customers?filters=" + quote(json.dumps([{"field": "created_at", "op": "period", "value": value}]))

    r = api.call("GET", period("next_century"), rep)
    assert r.status_code == 422 and r.data["details"][0]["field"] == "filters"
    assert api.call("GET", period("本月"), rep).status_code == 200


def test_given_custom_number_fields_then_negatives_need_the_field_to_allow_them(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "budget", "label": "预算", "field_type": "money"})
    assert r.status_code == 201 and r.data["allow_negative"] is False
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "profit", "label": "利润", "field_type": "money", "allow_negative": True})
    assert r.status_code == 201 and r.data["allow_negative"] is True
    refused = api.call("POST", "/v1/customers", rep, {"name": "亏损客户", "custom": {"budget": -5, "profit": -5}})
    assert refused.status_code == 422 and [d["field"] for d in refused.data["details"]] == ["custom.budget"]
    ok = api.call("POST", "/v1/customers", rep, {"name": "亏损客户", "custom": {"budget": 5, "profit": "-1200.50"}})
    assert ok.status_code == 201 and ok.data["custom"] == {"budget": 5, "profit": -1200.5}


def test_given_a_customer_with_its_location_then_coordinates_are_kept_and_bad_ones_refused(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    made = api.call("POST", "/v1/customers", rep, {"name": "定位客户", "address": "南山区科技园",
                                                   "location": {"text": "深圳市南山区科技园", "region": "440305",
                                                                "lng": 113.9526, "lat": 22.5405}})
    assert made.status_code == 201, made.data
    loc = api.call("GET", f"/v1/customers/{made.data['id']}", rep).data["location"]
    assert (loc["lng"], loc["lat"], loc["region"]["name"]) == (113.9526, 22.5405, "广东省/深圳市/南山区")
    for bad in ({"lng": 113.9}, {"lng": 200, "lat": 22.5}, {"text": "x", "lat": -91, "lng": 0}, "深圳"):
        r = api.call("POST", "/v1/customers", rep, {"name": "坏定位", "location": bad})
        assert r.status_code == 422 and r.data["details"][0]["field"].startswith("location"), (bad, r.data)
