"""Lists, search, filters, facets and saved views through the API, as the users of a sales
team see them (the stream feeds the indexer between writes and reads, as on the stack)."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest


def _create(api, token, name, **fields):
    r = api.call("POST", "/v1/customers", token, {"name": name, **fields})
    assert r.status_code == 201, r.data
    return r.data


def _list(api, token, expect=200, **params):
    qs = "&".join(f"{k}={quote(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v))}" for k, v in params.items())
    r = api.call("GET", f"/v1/customers?{qs}", token)
    assert r.status_code == expect, r.data
    return r.data


def _names(page) -> list[str]:
    return sorted(i["name"] for i in page["items"])


@pytest.fixture()
def team(api, sales_team):
    t = sales_team
    tk = t["tokens"]
    _create(api, tk["rep1"], "华为技术有限公司", mobile="13811112222", level="A", industry="it", region="广东/深圳")
    _create(api, tk["rep1"], "ACME 上海分公司", email="wang.fang@acme.com", level="B", industry="it")
    _create(api, tk["rep2"], "华夏建材", mobile="13922223333", level="A", remark="年度合同待续签")
    _create(api, tk["manager"], "经理的大客户", level="A", credit_limit="500000", mobile="13833334444")
    return t


def test_search_finds_chinese_terms_and_phone_prefixes_within_my_scope(api, team):
    tk = team["tokens"]
    assert _names(_list(api, tk["manager"], q="华为")) == ["华为技术有限公司"]
    assert _names(_list(api, tk["manager"], q="合同")) == ["华夏建材"]
    assert _names(_list(api, tk["manager"], q="ACME 上海")) == ["ACME 上海分公司"]
    assert _names(_list(api, tk["manager"], q="wang.f")) == ["ACME 上海分公司"]
    assert _names(_list(api, tk["manager"], q="1381111")) == ["华为技术有限公司"]
    page = _list(api, tk["manager"], q="华为")
    assert page["items"][0]["highlight"]["name"] == "<em>华为</em>技术有限公司"
    # a rep sees only their own customers, in lists and in search
    assert _names(_list(api, tk["rep1"])) == ["ACME 上海分公司", "华为技术有限公司"]
    assert _names(_list(api, tk["rep1"], q="1383333")) == []
    assert _names(_list(api, tk["rep2"], q="华")) == ["华夏建材"]
    assert _names(_list(api, tk["manager"])) == ["ACME 上海分公司", "华为技术有限公司", "华夏建材", "经理的大客户"]


def test_global_search_groups_hits_and_never_shows_what_i_may_not_see(api, team):
    tk = team["tokens"]
    r = api.call("GET", f"/v1/search?q={quote('客户')}", tk["rep1"])
    assert r.status_code == 200, r.data
    assert r.data["total"] == 0 and r.data["groups"][0]["hits"] == []
    r = api.call("GET", f"/v1/search?q={quote('客户')}", tk["manager"])
    group = r.data["groups"][0]
    assert group["type"] == "customer" and group["total"] == 1
    assert group["hits"][0]["title"] == "经理的大客户" and "<em>客户</em>" in group["hits"][0]["highlight"]["name"]
    other = api.call("GET", f"/v1/search?q={quote('华为')}", api.call("POST", "/v1/auth/login", body={
        "tenant_id": team["id"], "mobile": "13800000000", "password": "Passw0rd!2026"}).data["id_token"])
    assert other.data["total"] == 1  # the admin (全部) sees it; no other tenant's records exist for them


def test_masked_and_hidden_fields_cannot_be_searched_filtered_or_counted(api, team):
    agent = team["tokens"]["agent"]  # service agent: department scope, mobile masked, credit_limit hidden
    listed = _list(api, agent)
    assert len(listed["items"]) == 4
    assert all("credit_limit" not in i for i in listed["items"])
    assert _names(_list(api, agent, q="1381111")) == []  # the masked number is not searchable
    r = _list(api, agent, expect=422, filters=[{"field": "mobile", "op": "eq", "value": "13811112222"}])
    assert r["code"] == "FIELD_NOT_READABLE"
    assert _list(api, agent, expect=422, facets="credit_limit")["code"] == "FIELD_NOT_READABLE"
    assert _list(api, agent, expect=422, sort="-credit_limit")["code"] == "FIELD_NOT_READABLE"


def test_filters_sort_facets_and_cursor(api, team):
    m = team["tokens"]["manager"]
    page = _list(api, m, filters=[{"field": "level", "op": "eq", "value": "A"}], facets="level,industry", sort="name")
    assert [i["name"] for i in page["items"]] == sorted(["华为技术有限公司", "华夏建材", "经理的大客户"])
    assert page["total"] == 3
    assert page["facets"]["level"] == [{"value": "A", "count": 3}]
    assert page["facets"]["industry"] == [{"value": "it", "count": 1}]
    all_facets = _list(api, m, facets="level")["facets"]["level"]
    assert all_facets == [{"value": "A", "count": 3}, {"value": "B", "count": 1}]
    assert _names(_list(api, m, filters=[{"field": "credit_limit", "op": "range", "value": {"gte": 1000}}])) == ["经理的大客户"]
    assert _names(_list(api, m, filters=[{"field": "mobile", "op": "missing"}])) == ["ACME 上海分公司"]
    assert _names(_list(api, m, filters=[{"field": "region", "op": "contains", "value": "深圳"}])) == ["华为技术有限公司"]
    assert _names(_list(api, m, filters=[{"field": "created_at", "op": "period", "value": "本月"}])) == _names(_list(api, m))
    assert _list(api, m, filters=[{"field": "created_at", "op": "period", "value": "上月"}])["items"] == []
    seen, cursor = [], None
    while True:
        page = _list(api, m, limit=3, sort="-created_at", **({"cursor": cursor} if cursor else {}))
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 4 == len(set(seen))
    assert _list(api, m, expect=400, cursor=cursor or "bm90LWEtY3Vyc29y")["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("params, code", [
    ({"filters": "not json"}, "VALIDATION_FAILED"),
    ({"filters": [{"field": "nope", "op": "eq", "value": 1}]}, "UNKNOWN_FILTER_FIELD"),
    ({"filters": [{"field": "level", "op": "between", "value": 1}]}, "VALIDATION_FAILED"),
    ({"filters": [{"field": "credit_limit", "op": "range", "value": {"gte": "many"}}]}, "INVALID_FILTER"),
    ({"filters": [{"field": "name", "op": "period", "value": "本月"}]}, "INVALID_FILTER"),
    ({"filters": [{"field": "created_at", "op": "period", "value": "下个世纪"}]}, "VALIDATION_FAILED"),  # names the filters parameter
    ({"sort": "-tags"}, "UNKNOWN_FILTER_FIELD"),
    ({"facets": "custom.nope"}, "UNKNOWN_FILTER_FIELD"),
])
def test_bad_list_parameters_get_a_clear_error_in_both_languages(api, team, params, code):
    m = team["tokens"]["manager"]
    r = _list(api, m, expect=422, **params)
    assert r["code"] == code and r["message"]
    qs = "&".join(f"{k}={quote(json.dumps(v) if isinstance(v, list) else v)}" for k, v in params.items())
    en = api.call("GET", f"/v1/customers?{qs}", m, headers={"Accept-Language": "en"})
    assert en.data["code"] == code and en.data["message"] != r["message"]
    # one language each: no English reason inside a Chinese message, no Chinese in an English one
    zh_texts = [r["message"], *(d["message"] for d in r.get("details") or [] if isinstance(d, dict) and "message" in d)]
    en_texts = [en.data["message"], *(d["message"] for d in en.data.get("details") or [] if isinstance(d, dict) and "message" in d)]
    assert not any(re.search(r"\b(is|a|an|the|needs|expected|unknown)\b", t) for t in zh_texts), zh_texts
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in en_texts), en_texts


def test_custom_fields_are_validated_filtered_and_counted(api, team):
    admin, rep = team["admin"], team["tokens"]["rep1"]
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "budget", "label": "预算", "field_type": "money"})
    assert r.status_code == 201, r.data
    assert r.data["filter_field"] == "custom.budget"
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "channel", "label": "渠道", "field_type": "select",
                                                       "options": [{"code": "web", "label": "官网"}, {"code": "expo", "label": "展会"}]})
    assert r.status_code == 201, r.data
    assert api.call("POST", "/v1/fields/customer", rep, {"key": "x", "label": "x", "field_type": "text"}).status_code == 403
    dup = api.call("POST", "/v1/fields/customer", admin, {"key": "budget", "label": "又一个", "field_type": "number"})
    assert dup.status_code == 422 and dup.data["code"] == "DUPLICATE"

    bad = api.call("POST", "/v1/customers", rep, {"name": "坏数据", "custom": {"budget": "很多", "channel": "tv", "nope": 1}})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.data["details"]} == {"custom.budget", "custom.channel", "custom.nope"}
    a = _create(api, rep, "预算高", custom={"budget": 120000, "channel": "web"})
    assert a["custom"] == {"budget": 120000, "channel": "web"}
    _create(api, rep, "预算低", custom={"budget": "800.5", "channel": "expo"})
    _create(api, rep, "没预算")
    assert _names(_list(api, rep, filters=[{"field": "custom.budget", "op": "range", "value": {"gte": 1000}}])) == ["预算高"]
    assert _names(_list(api, rep, filters=[{"field": "custom.channel", "op": "in", "value": ["expo"]}])) == ["预算低"]
    page = _list(api, rep, facets="custom.channel", sort="-custom.budget")
    assert page["facets"]["custom.channel"] == [{"value": "expo", "count": 1}, {"value": "web", "count": 1}]
    assert [i["name"] for i in page["items"]][:2] == ["预算高", "预算低"]
    # clearing a custom value through PATCH takes it out of the filter
    r = api.call("PATCH", f"/v1/customers/{a['id']}", rep, {"custom": {"budget": None}, "version": a["version"]})
    assert r.status_code == 200 and r.data["custom"] == {"channel": "web"}
    assert _list(api, rep, filters=[{"field": "custom.budget", "op": "exists"}])["total"] == 1


def test_saved_views_personal_and_shared(api, team):
    admin, rep1, rep2 = team["admin"], team["tokens"]["rep1"], team["tokens"]["rep2"]
    r = api.call("POST", "/v1/views/customer", rep1, {"name": "A级客户", "filters": [{"field": "level", "op": "eq", "value": "A"}],
                                                       "sort": "name"})
    assert r.status_code == 201, r.data
    view = r.data
    assert _names(_list(api, rep1, view=view["id"])) == ["华为技术有限公司"]
    assert [v["name"] for v in api.call("GET", "/v1/views/customer", rep2).data["items"]] == []
    assert api.call("GET", f"/v1/customers?view={view['id']}", rep2).status_code == 404
    assert api.call("POST", "/v1/views/customer", rep1, {"name": "大家的", "shared": True}).status_code == 403
    shared = api.call("POST", "/v1/views/customer", admin, {"name": "本月新增", "shared": True,
                                                            "filters": [{"field": "created_at", "op": "period", "value": "本月"}]})
    assert shared.status_code == 201, shared.data
    listed = api.call("GET", "/v1/views/customer", rep2).data["items"]
    assert [(v["name"], v["editable"]) for v in listed] == [("本月新增", False)]
    assert _names(_list(api, rep2, view=shared.data["id"])) == ["华夏建材"]
    assert api.call("DELETE", f"/v1/views/customer/{shared.data['id']}", rep2, headers={"If-Match": '"1"'}).status_code == 403
    bad = api.call("POST", "/v1/views/customer", rep1, {"name": "坏的", "filters": [{"field": "nope", "op": "eq", "value": 1}]})
    assert bad.status_code == 422
    upd = api.call("PATCH", f"/v1/views/customer/{view['id']}", rep1, {"name": "B级", "filters": [{"field": "level", "op": "eq", "value": "B"}],
                                                                       "version": view["version"]})
    assert upd.status_code == 200, upd.data
    assert _names(_list(api, rep1, view=view["id"])) == ["ACME 上海分公司"]


def test_deleted_customers_leave_lists_and_come_back_when_restored(api, team):
    rep = team["tokens"]["rep1"]
    c = _create(api, rep, "要删除的客户")
    assert "要删除的客户" in _names(_list(api, rep))
    r = api.call("DELETE", f"/v1/customers/{c['id']}", team["tokens"]["manager"], headers={"If-Match": f'"{c["version"]}"'})
    assert r.status_code == 204, r.data
    assert "要删除的客户" not in _names(_list(api, rep, q="删除"))
    r = api.call("POST", f"/v1/recycle-bin/customer/{c['id']}/restore", team["admin"])
    assert r.status_code in (200, 204), r.data
    assert "要删除的客户" in _names(_list(api, rep, q="删除"))


def test_transfer_and_team_grants_move_records_between_lists(api, team):
    tk = team["tokens"]
    c = _create(api, tk["rep1"], "转移的客户")
    r = api.call("POST", f"/v1/customers/{c['id']}/transfer", tk["rep1"], {"to_user_id": team["rep2"], "keep_previous_owner_as": "read",
                                                                          "version": c["version"]})
    assert r.status_code == 200, r.data
    assert "转移的客户" in _names(_list(api, tk["rep2"], scope="mine"))
    assert "转移的客户" in _names(_list(api, tk["rep1"], scope="team"))
    assert "转移的客户" not in _names(_list(api, tk["rep1"], scope="mine"))


def test_a_required_custom_field_binds_new_records_and_never_strands_old_ones(api, team):
    admin, rep = team["admin"], team["tokens"]["rep1"]
    old = _create(api, rep, "老客户")
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "contact_person", "label": "联系人", "field_type": "text", "required": True})
    assert r.status_code == 201, r.data
    missing = api.call("POST", "/v1/customers", rep, {"name": "新客户"})
    assert missing.status_code == 422 and missing.data["details"][0]["field"] == "custom.contact_person"
    assert _create(api, rep, "新客户", custom={"contact_person": "王芳"})["custom"] == {"contact_person": "王芳"}
    edited = api.call("PATCH", f"/v1/customers/{old['id']}", rep, {"remark": "补充备注", "version": old["version"]})
    assert edited.status_code == 200, edited.data
    cleared = api.call("PATCH", f"/v1/customers/{old['id']}", rep, {"custom": {"contact_person": None}, "version": edited.data["version"]})
    assert cleared.status_code == 422
    off = api.call("PATCH", "/v1/fields/customer/contact_person", admin, {"active": False, "version": r.data["version"]})
    assert off.status_code == 200 and off.data["active"] is False
    assert api.call("POST", "/v1/customers", rep, {"name": "又一个"}).status_code == 201
    assert _names(_list(api, rep, q="王芳")) == ["新客户"]  # custom text fields are searchable too
