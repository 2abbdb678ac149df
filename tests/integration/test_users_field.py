"""The `users` field type (several people of the tenant) through the API: tasks' and events'
participants, a custom field of customers — checked against the tenant's active users, filtered
and faceted as keywords, exported with the people's names and imported back from them."""
from __future__ import annotations

import io
import json
from urllib.parse import quote

from openpyxl import load_workbook

from tests.integration.test_imports import csv_bytes, errors, run, upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _list(api, token, path, **params):
    qs = "&".join(f"{k}={quote(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v))}" for k, v in params.items())
    api.pump()
    r = api.call("GET", f"{path}?{qs}", token)
    assert r.status_code == 200, r.data
    return r.data


def test_given_participants_then_they_are_active_users_of_the_tenant_named_by_position_in_zh_and_en(api, sales_team, make_tenant):
    s, admin = sales_team, sales_team["admin"]
    outsider = make_tenant(mobile="13700000000")
    me = api.call("GET", "/v1/me", outsider["admin"]).data["user"]["id"]
    ok = api.call("POST", "/v1/tasks", admin, {"title": "方案评审", "participant_ids": [s["rep1"], s["rep2"], s["rep1"]]})
    assert ok.status_code == 201, ok.data
    assert ok.data["participant_ids"] == [s["rep1"], s["rep2"]]  # stored as before: the ids, each once
    for lang, text in (("zh-CN", "员工不存在或已停用"), ("en", "No such active user")):
        r = api.call("POST", "/v1/tasks", admin, {"title": "x", "participant_ids": [s["rep1"], "nobody", me]},
                     headers={"Accept-Language": lang})
        assert r.status_code == 422, r.data
        assert [(d["field"], d["message"]) for d in r.data["details"]] == [("participant_ids.1", text), ("participant_ids.2", text)]
    r = api.call("POST", "/v1/events", admin, {"title": "周会", "start_at": "2026-12-07T10:00:00+08:00",
                                               "participant_ids": [f"u{i}" for i in range(21)]}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "participant_ids", r.data
    assert "20" in r.data["details"][0]["message"]
    r = api.call("POST", "/v1/events", admin, {"title": "周会", "start_at": "2026-12-07T10:00:00+08:00", "participant_ids": s["rep1"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "participant_ids"
    # a disabled user is refused like an unknown one
    assert api.call("POST", f"/v1/org/users/{s['agent']}/disable", admin).status_code in (200, 204)
    r = api.call("POST", "/v1/events", admin, {"title": "周会", "start_at": "2026-12-07T10:00:00+08:00",
                                               "participant_ids": [s["rep1"], s["agent"]]})
    assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["participant_ids.1"]
    # participants are a keyword list in the index: a task is found by any of them
    found = _list(api, admin, "/v1/tasks", filters=[{"field": "participant_ids", "op": "eq", "value": s["rep2"]}])
    assert [t["id"] for t in found["items"]] == [ok.data["id"]]


def test_given_a_users_custom_field_then_it_filters_facets_exports_names_and_imports_from_names(api, sales_team):
    s, admin = sales_team, sales_team["admin"]
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "helpers", "label": "协作人", "field_type": "users"})
    assert r.status_code == 201, r.data
    made = api.call("POST", "/v1/customers", admin, {"name": "华为技术", "custom": {"helpers": [s["rep1"], s["manager"]]}})
    assert made.status_code == 201, made.data
    assert made.data["custom"]["helpers"] == [s["rep1"], s["manager"]]
    bad = api.call("POST", "/v1/customers", admin, {"name": "腾讯", "custom": {"helpers": ["nobody"]}})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "custom.helpers.0", bad.data
    assert api.call("POST", "/v1/customers", admin, {"name": "阿里", "custom": {"helpers": [s["rep2"]]}}).status_code == 201
    page = _list(api, admin, "/v1/customers", filters=[{"field": "custom.helpers", "op": "eq", "value": s["manager"]}])
    assert [c["name"] for c in page["items"]] == ["华为技术"]
    page = _list(api, admin, "/v1/customers", facets="custom.helpers")
    facet = {b["value"]: b["count"] for b in page["facets"]["custom.helpers"]}
    assert facet == {s["rep1"]: 1, s["manager"]: 1, s["rep2"]: 1}
    # export: the people by name
    api.pump()
    r = api.call("POST", "/v1/exports", admin, {"type": "customer", "ids": [made.data["id"]]},
                 headers={"Accept": XLSX, "Accept-Language": "zh-CN"})
    assert r.status_code == 200, r.data
    rows = list(load_workbook(io.BytesIO(r.body)).active.iter_rows(values_only=True))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["协作人"] == "李娜、王经理"
    # import: names (or mobiles) back to ids; an unknown person rejects the row
    rows = [["客户名称", "协作人"], ["京东", "张伟、13900000002"], ["美团", "张伟、查无此人"]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    done = run(api, admin, iid)
    assert done["result"]["created"] == 1 and done["result"]["rejected"] == 1, done
    assert errors(api, admin, iid)[0]["errors"][0]["column"] == "协作人"
    page = _list(api, admin, "/v1/customers", filters=[{"field": "custom.helpers", "op": "eq", "value": s["rep2"]}])
    jd = next(c for c in page["items"] if c["name"] == "京东")
    assert jd["custom"]["helpers"] == [s["rep2"], s["rep1"]]


def test_given_a_task_with_participants_when_exported_and_imported_then_names_go_out_and_ids_come_back(api, sales_team):
    s, admin = sales_team, sales_team["admin"]
    t = api.call("POST", "/v1/tasks", admin, {"title": "回款跟进", "participant_ids": [s["rep2"], s["rep1"]]})
    assert t.status_code == 201, t.data
    api.pump()
    r = api.call("POST", "/v1/exports", admin, {"type": "task", "ids": [t.data["id"]]}, headers={"Accept": XLSX})
    assert r.status_code == 200, r.data
    rows = list(load_workbook(io.BytesIO(r.body)).active.iter_rows(values_only=True))
    assert dict(zip(rows[0], rows[1], strict=True))["参与人"] == "张伟、李娜"
    iid = upload(api, admin, "task", csv_bytes([["标题", "参与人"], ["合同归档", "张伟、李娜"]]))
    done = run(api, admin, iid)
    assert done["result"]["created"] == 1, (done, errors(api, admin, iid))
    page = _list(api, admin, "/v1/tasks", filters=[{"field": "participant_ids", "op": "eq", "value": s["rep1"]}])
    assert sorted((x["title"], tuple(x["participant_ids"])) for x in page["items"]) == [
        ("合同归档", (s["rep2"], s["rep1"])), ("回款跟进", (s["rep2"], s["rep1"]))]
