"""Exports (导出, PLAT-8) through the API: the caller's data scope and field rules, names instead of
codes in their language, custom fields, typed XLSX cells and CSV with a BOM, the operation log."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTH_NOW = datetime.now().strftime("%Y-%m")


@pytest.fixture()
def exporting(api, sales_team):
    """A role like a rep's (own customers) that may export, with the service agent's field rules
    (mobile masked, credit limit hidden); a custom select field; customers of the exporter and of 张伟."""
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "导出代表", "actions": {"customers": ["create", "list", "read", "export"]}, "scopes": {"customers": "self"},
        "fields": {"customers": {"mobile": "masked", "credit_limit": "hidden"}}})
    assert role.status_code == 201, role.data
    user = api.call("POST", "/v1/org/users", admin, {"name": "钱导出", "mobile": "13900000011", "department_id": sales_team["sales"],
                                                      "role_ids": [role.data["id"]], "password": "Passw0rd!2026"})
    assert user.status_code == 201, user.data
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000011",
                                                     "password": "Passw0rd!2026"}).data["id_token"]
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "tier", "label": "合作等级", "field_type": "select", "options": [
        {"code": "gold", "label": "金牌", "label_en": "Gold"}, {"code": "silver", "label": "银牌", "label_en": "Silver"}]})
    assert r.status_code == 201, r.data

    def customer(name: str, owner: str, **values) -> str:
        r = api.call("POST", "/v1/customers", admin, {"name": name, "owner_id": owner, **values})
        assert r.status_code == 201, r.data
        return r.data["id"]

    mine = customer("华为技术", user.data["id"], level="A", industry="retail", mobile="13812345678", credit_limit=1000,
                    custom={"tier": "gold"}, tags=["重点", "华东"])
    other = customer("腾讯科技", sales_team["rep2"], level="B", mobile="13987654321")
    second = customer("=SUM(A1)", user.data["id"], level="B")
    return {"token": token, "user": user.data["id"], "mine": mine, "other": other, "second": second}


def _export(api, token, body, media=XLSX, locale="zh-CN"):
    api.pump()  # the index follows the table's stream
    return api.call("POST", "/v1/exports", token, body, headers={"Accept": media, "Accept-Language": locale})


def _sheet(resp):
    assert resp.status_code == 200, resp.data
    ws = load_workbook(io.BytesIO(resp.body)).active
    rows = list(ws.iter_rows(values_only=True))
    return ws, rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_given_a_rep_like_exporter_when_they_export_customers_then_only_their_scope_with_field_rules(api, exporting):
    resp = _export(api, exporting["token"], {"type": "customer", "format": "xlsx"})
    assert resp.headers["Content-Type"] == XLSX
    assert "attachment" in resp.headers["Content-Disposition"]
    ws, header, rows = _sheet(resp)
    assert sorted(r["客户名称"] for r in rows) == ["=SUM(A1)", "华为技术"]  # not 张伟's 腾讯科技
    assert "信用额度" not in header  # hidden: no column at all
    hua = next(r for r in rows if r["客户名称"] == "华为技术")
    assert hua["手机"] == "138****5678"  # masked as the API masks it
    assert hua["客户级别"] == "A（重点客户）" and hua["所属行业"] == "零售"  # dictionary codes as names
    assert hua["合作等级"] == "金牌"  # the custom field, by its option's name
    assert hua["标签"] == "重点、华东"
    assert hua["负责人"] == "钱导出"
    assert isinstance(hua["创建时间"], datetime)  # a typed date cell, not text
    formula = next(c for c in ws["A"] if c.value == "=SUM(A1)")
    assert formula.data_type == "s"  # a text that looks like a formula stays text


def test_codes_are_named_in_english_for_an_english_caller(api, exporting):
    _, header, rows = _sheet(_export(api, exporting["token"], {"type": "customer", "format": "xlsx"}, locale="en"))
    assert header[0] == "Name" and "Owner" in header
    hua = next(r for r in rows if r["Name"] == "华为技术")
    assert hua["Level"] == "A (key)" and hua["Industry"] == "Retail" and hua["合作等级"] == "Gold"


def test_csv_has_a_bom_and_the_same_rows(api, exporting):
    resp = _export(api, exporting["token"], {"type": "customer", "format": "csv"}, media="text/csv")
    assert resp.status_code == 200, resp.data
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(resp.body.decode("utf-8-sig"))))
    assert sorted(r["客户名称"] for r in rows) == ["'=SUM(A1)", "华为技术"]
    assert next(r for r in rows if r["客户名称"] == "华为技术")["手机"] == "138****5678"


def test_selected_ids_and_filters_stay_within_the_scope(api, exporting):
    token = exporting["token"]
    _, _, rows = _sheet(_export(api, token, {"type": "customer", "ids": [exporting["mine"], exporting["other"]]}))
    assert [r["客户名称"] for r in rows] == ["华为技术"]  # a selected id outside the scope exports nothing
    _, _, rows = _sheet(_export(api, token, {"type": "customer", "query": {"filters": [{"field": "level", "op": "eq", "value": "B"}]}}))
    assert [r["客户名称"] for r in rows] == ["=SUM(A1)"]
    _, _, rows = _sheet(_export(api, token, {"type": "customer", "query": {"q": "华为"}}))
    assert [r["客户名称"] for r in rows] == ["华为技术"]


def test_a_filter_on_a_hidden_field_is_refused_and_a_bad_type_is_a_422(api, exporting):
    r = _export(api, exporting["token"], {"type": "customer", "query": {"filters": [{"field": "credit_limit", "op": "exists"}]}})
    assert r.status_code == 422, r.data
    r = _export(api, exporting["token"], {"type": "nothing_here"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "type"


def test_without_the_export_action_the_export_is_refused(api, sales_team, exporting):
    r = _export(api, sales_team["tokens"]["rep1"], {"type": "customer"})  # 销售代表: no 导出 on customers
    assert r.status_code == 403, r.data


def test_the_export_is_in_the_operation_log(api, sales_team, exporting):
    assert _export(api, exporting["token"], {"type": "customer", "format": "csv"}, media="text/csv").status_code == 200
    log = api.call("GET", f"/v1/audit?month={MONTH_NOW}", sales_team["admin"])
    assert log.status_code == 200, log.data
    entry = next(e for e in log.data["items"] if e["action"] == "export")
    assert entry["actor_id"] == exporting["user"] and entry["entity"] == "export"
    changes = {c["field"]: c["after"] for c in entry["changes"]}
    assert changes["type"] == "customer" and changes["rows"] == 2 and changes["format"] == "csv"


def test_a_custom_object_exports_too(api, sales_team):
    admin = sales_team["admin"]
    r = api.call("POST", "/v1/objects", admin, {"key": "visit", "label": "拜访", "title_field": "subject", "fields": [
        {"key": "subject", "label": "主题", "type": "text", "required": True, "searchable": True},
        {"key": "amount", "label": "金额", "type": "money"}, {"key": "day", "label": "日期", "type": "date"}]})
    assert r.status_code == 201, r.data
    assert api.call("POST", "/v1/objects/visit/records", admin, {"subject": "首次拜访", "amount": "12.5", "day": "2026-03-05"}).status_code == 201
    ws, header, rows = _sheet(_export(api, admin, {"type": "obj_visit"}))
    assert rows[0]["主题"] == "首次拜访" and rows[0]["日期"] == datetime(2026, 3, 5)
    amount = ws.cell(2, header.index("金额") + 1)
    assert amount.value == 12.5 and amount.number_format == "#,##0.00"


# ---- as a job ----------------------------------------------------------------------------------------
def _run_jobs(api):
    from chalicelib.jobs import service as jobs

    api.pump()
    jobs.run_queued()


def test_an_export_without_asking_for_the_file_is_a_job_with_a_presigned_download(api, exporting):
    import requests

    token = exporting["token"]
    r = _export(api, token, {"type": "customer", "format": "xlsx"}, media="application/json")
    assert r.status_code == 202, r.data
    assert r.data["status"] == "queued" and r.data["kind"] == "export" and r.data["link"] is None
    assert r.data["progress"]["total"] == 2
    _run_jobs(api)
    done = api.call("GET", f"/v1/exports/{r.data['id']}", token)
    assert done.status_code == 200, done.data
    assert done.data["status"] == "succeeded" and done.data["rows"] == 2 and done.data["file_name"].endswith(".xlsx")
    assert f"tenants/{api.call('GET', '/v1/me', token).data['tenant_id']}/exports/" in done.data["link"]
    got = requests.get(done.data["link"], timeout=10)
    assert got.status_code == 200
    ws = load_workbook(io.BytesIO(got.content)).active
    names = sorted(row[0] for row in ws.iter_rows(min_row=2, values_only=True))
    assert names == ["=SUM(A1)", "华为技术"]
    assert "信用额度" not in [c.value for c in ws[1]]


def test_background_is_a_job_even_when_the_file_was_asked_for_and_others_do_not_see_it(api, sales_team, exporting):
    r = _export(api, exporting["token"], {"type": "customer", "format": "csv", "background": True}, media="text/csv")
    assert r.status_code == 202, r.data
    _run_jobs(api)
    assert api.call("GET", f"/v1/exports/{r.data['id']}", sales_team["tokens"]["rep2"]).status_code == 404
    done = api.call("GET", f"/v1/exports/{r.data['id']}", exporting["token"]).data
    assert done["status"] == "succeeded" and done["rows"] == 2


def test_a_large_selection_goes_to_a_job_even_when_the_file_was_asked_for(api, exporting, monkeypatch):
    from chalicelib.exports import service

    monkeypatch.setattr(service, "DIRECT_MAX", 1)
    r = _export(api, exporting["token"], {"type": "customer"})
    assert r.status_code == 202 and r.data["progress"]["total"] == 2


def test_a_file_too_large_for_one_answer_goes_to_a_job(api, exporting, monkeypatch):
    from chalicelib.exports import service

    monkeypatch.setattr(service, "DIRECT_BYTES", 100)  # two customers make a larger XLSX than that
    r = _export(api, exporting["token"], {"type": "customer"})
    assert r.status_code == 202 and r.data["progress"]["total"] == 2, r.data
    _run_jobs(api)
    done = api.call("GET", f"/v1/exports/{r.data['id']}", exporting["token"]).data
    assert done["status"] == "succeeded" and done["rows"] == 2


def test_a_job_pages_through_the_index(api, exporting, monkeypatch):
    """Pages of one record: the search_after cursor carries the export across pages without repeats."""
    from chalicelib.exports import service

    monkeypatch.setattr(service, "PAGE", 1)
    r = _export(api, exporting["token"], {"type": "customer", "format": "csv", "background": True}, media="text/csv")
    _run_jobs(api)
    assert api.call("GET", f"/v1/exports/{r.data['id']}", exporting["token"]).data["rows"] == 2


# ---- the operation log of a month ---------------------------------------------------------------
def test_the_audit_month_export_is_refused_to_a_non_admin(api, sales_team, exporting):
    for token in (exporting["token"], sales_team["tokens"]["manager"]):
        r = api.call("POST", "/v1/audit/export", token, {"month": MONTH_NOW, "format": "xlsx"})
        assert r.status_code == 403, r.data


def test_an_admin_exports_a_month_of_the_log_in_their_language_with_archived_entries(api, sales_team, exporting):
    import json

    import requests

    from chalicelib.core import clock
    from chalicelib.core.settings import get_settings
    from chalicelib.ports import files

    # an entry the table no longer holds: archived to S3 by functions/audit_archiver.py, 200 days ago
    clock.travel(-200 * 86400)
    old_month = clock.now_iso()[:7]
    at = clock.now_iso()
    clock.travel(200 * 86400)
    files.put(files.tenant_key(sales_team["id"], "audit", old_month[:4], old_month[5:7], at[8:10], f"LOG_{at}.json"), json.dumps({
        "tenant_id": sales_team["id"], "entity": "customer", "record_id": exporting["mine"], "action": "update",
        "actor_id": sales_team["rep1"], "at": at, "changes": json.dumps([{"field": "name", "before": "旧名", "after": "华为技术"}]),
        "note": None, "sk": f"{at}#x"}, ensure_ascii=False).encode(), "application/json")
    assert get_settings().audit_ttl_days < 200

    admin = sales_team["admin"]
    for month, expect in ((old_month, "旧名"), (MONTH_NOW, "华为技术")):
        r = api.call("POST", "/v1/audit/export", admin, {"month": month, "format": "xlsx"}, headers={"Accept-Language": "en"})
        assert r.status_code == 202, r.data
        _run_jobs(api)
        done = api.call("GET", f"/v1/exports/{r.data['id']}", admin).data
        assert done["status"] == "succeeded", done
        ws = load_workbook(io.BytesIO(requests.get(done["link"], timeout=10).content)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][:3] == ("Time", "By", "Action")
        assert any(expect in str(row[5]) for row in rows[1:]), rows
        assert isinstance(rows[1][0], datetime)
    by_customer = [row for row in rows[1:] if row[3] == "Customer"]
    assert by_customer and by_customer[0][1] == "管理员" and by_customer[0][2] == "Create"


def test_a_month_whose_archive_went_to_glacier_fails_at_once_with_a_reason_in_the_readers_language(api, sales_team):
    from chalicelib.core import clock
    from chalicelib.core.settings import get_settings
    from chalicelib.ports import client, files

    clock.travel(-300 * 86400)
    month, at = clock.now_iso()[:7], clock.now_iso()
    clock.travel(300 * 86400)
    client("s3").put_object(Bucket=get_settings().archive_bucket, StorageClass="GLACIER", Body=b"{}",
                            Key=files.tenant_key(sales_team["id"], "audit", month[:4], month[5:7], at[8:10], f"LOG_{at}.json"))
    r = api.call("POST", "/v1/audit/export", sales_team["admin"], {"month": month, "format": "csv"})
    assert r.status_code == 202, r.data
    _run_jobs(api)
    job = api.call("GET", f"/v1/jobs/{r.data['id']}", sales_team["admin"], headers={"Accept-Language": "en"}).data
    assert (job["status"], job["failures"]) == ("failed", 1), job
    assert "cold storage" in job["error"] and month in job["error"]


def test_a_customers_pools_are_exported_by_name_while_the_api_keeps_the_pool_id(api, sales_team):
    """将进入的公海 / 所在公海 hold a pool id: the file shows the pool's name (both languages: it has one name)."""
    admin = sales_team["admin"]
    pool = api.call("POST", "/v1/pools", admin, {"name": "华南公海", "admin_ids": [sales_team["manager"]],
                                                  "member_department_ids": [sales_team["sales"]],
                                                  "rules": [{"kind": "no_followup", "days": 10}]})
    assert pool.status_code == 201, pool.data
    due = api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "将回收的客户"}).data
    assert due["pool_due_pool"] == pool.data["id"]  # the API keeps the id
    pooled = api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "已放入公海的客户"}).data
    r = api.call("POST", f"/v1/customers/{pooled['id']}/pool", sales_team["tokens"]["rep1"],
                 {"pool_id": pool.data["id"], "reason": "暂无需求"}, headers={"If-Match": f'"{pooled["version"]}"'})
    assert r.status_code == 200, r.data
    for locale, name, due_col, in_col in (("zh-CN", "客户名称", "将进入的公海", "所在公海"), ("en", "Name", "Pool it will enter", "Public pool")):
        _, _, rows = _sheet(_export(api, admin, {"type": "customer", "format": "xlsx"}, locale=locale))
        by_name = {row[name]: row for row in rows}
        assert by_name["将回收的客户"][due_col] == "华南公海", by_name["将回收的客户"]
        assert by_name["已放入公海的客户"][in_col] == "华南公海", by_name["已放入公海的客户"]
    csv_rows = list(csv.DictReader(io.StringIO(_export(api, admin, {"type": "customer", "format": "csv"}, media="text/csv")
                                               .body.decode("utf-8-sig"))))
    assert next(x for x in csv_rows if x["客户名称"] == "将回收的客户")["将进入的公海"] == "华南公海"
