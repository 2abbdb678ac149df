"""导入 through the API: template, upload (presigned PUT), mapping, dry run with per-row errors in
the caller's language, duplicates skip / overwrite / create (the file's own earlier rows too),
ownership within the caller's data scope, custom objects, XLSX and CSV (BOM, GB18030), a crash
in the middle of a file resumed without any row written twice, cancelling, rejected rows as a file."""
from __future__ import annotations

import csv
import hashlib
import io

import requests

from chalicelib.jobs import service as jobs

HEAD = ["客户名称", "手机", "邮箱", "负责人"]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def reps_may_import(api, team: dict, module: str = "customers") -> None:
    """The tenant's administrator grants the sales reps' role 导入 of `module` (the built-in role has none)."""
    admin = team["admin"]
    roles = api.call("GET", "/v1/org/roles", admin)
    assert roles.status_code == 200, roles.data
    rep = next(r for r in roles.data["items"] if r["id"] == "sales_rep")
    actions = {**rep["actions"], module: sorted({*rep["actions"].get(module, []), "import"})}
    r = api.call("PATCH", "/v1/org/roles/sales_rep", admin, {"actions": actions},
                 headers={"If-Match": f'"{rep["version"]}"'})
    assert r.status_code == 200, r.data


def upload(api, token: str, type_: str, body: bytes, fmt: str = "csv", name: str | None = None) -> str:
    r = api.call("POST", "/v1/imports", token, {"type": type_, "file_name": name or f"导入.{fmt}", "size": len(body),
                                                "sha256": hashlib.sha256(body).hexdigest(), "format": fmt})
    assert r.status_code == 201, r.data
    assert r.data["status"] == "created" and r.data["upload"]["method"] == "PUT"
    put = requests.put(r.data["upload"]["url"], data=body, headers=r.data["upload"]["headers"], timeout=10)
    assert put.status_code == 200, put.text
    return r.data["id"]


def start(api, token: str, import_id: str, lang: str = "zh-CN", **body) -> dict:
    r = api.call("POST", f"/v1/imports/{import_id}/start", token, body, headers={"Accept-Language": lang})
    assert r.status_code == 202, r.data
    return r.data


def run(api, token: str, import_id: str, lang: str = "zh-CN", **body) -> dict:
    start(api, token, import_id, lang, **body)
    jobs.run_queued()
    r = api.call("GET", f"/v1/imports/{import_id}", token)
    assert r.status_code == 200, r.data
    return r.data


def errors(api, token: str, import_id: str) -> list[dict]:
    r = api.call("GET", f"/v1/imports/{import_id}/errors", token)
    assert r.status_code == 200, r.data
    return r.data["items"]


def names(api, token: str, path: str = "/v1/customers") -> list[str]:
    api.pump()
    r = api.call("GET", f"{path}?limit=100", token)
    assert r.status_code == 200, r.data
    return sorted(c.get("name") or c.get("customer_name") for c in r.data["items"])


def test_given_a_template_then_its_headers_follow_the_field_configuration_in_my_language(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    assert api.call("GET", "/v1/imports/templates/customer?format=csv", rep, headers={"Accept": "application/json"}).status_code == 406
    zh = api.call("GET", "/v1/imports/templates/customer?format=csv", rep, headers={"Accept": "text/csv"})
    assert zh.status_code == 200, zh.data
    assert zh.headers["Content-Type"] == "text/csv"
    header = next(csv.reader(io.StringIO(zh.body.decode("utf-8-sig"))))
    assert header[0].lstrip("*") == "客户名称" and any(h.startswith("负责人") for h in header)
    assert not any("锁定" in h for h in header)  # read-only fields are not imported
    en = api.call("GET", "/v1/imports/templates/customer?format=xlsx", rep,
                  headers={"Accept-Language": "en", "Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert en.status_code == 200
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(en.body)).worksheets[0]
    assert str(ws.cell(1, 1).value).lstrip("*").strip() == "Name"
    assert api.call("GET", "/v1/imports/templates/nope?format=csv", rep, headers={"Accept": "*/*"}).status_code == 404


def test_given_a_csv_with_bad_rows_when_dry_run_then_rows_are_reported_in_my_language_and_nothing_is_written(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    body = csv_bytes([HEAD, ["星辰科技", "13800001111", "a@xc.cn", "李娜"], ["", "13800001112", "", ""],
                      ["晨光文具", "123", "", ""], ["天宇物流", "13800001114", "bad-mail", ""]])
    iid = upload(api, rep, "customer", body)
    m = api.call("GET", f"/v1/imports/{iid}/mapping", rep)
    assert m.status_code == 200, m.data
    assert m.data["mapping"] == {"客户名称": "name", "手机": "mobile", "邮箱": "email", "负责人": "owner_id"}
    done = run(api, rep, iid, dry_run=True)
    assert done["status"] == "succeeded" and done["dry_run"] is True
    assert done["result"]["created"] == 1 and done["result"]["rejected"] == 3
    assert done["progress"] == {"total": 4, "done": 4, "errors": 3}
    found = errors(api, rep, iid)
    assert [e["row"] for e in found] == [3, 4, 5]  # as the spreadsheet shows them (the header is row 1)
    assert found[0]["errors"][0]["column"] == "客户名称" and "必填" in found[0]["errors"][0]["message"]
    assert found[1]["errors"][0]["column"] == "手机"
    assert names(api, rep) == []  # a dry run writes nothing
    again = run(api, rep, iid, lang="en", dry_run=True)
    assert again["run"] == 2
    en = errors(api, rep, iid)
    assert en[0]["errors"][0]["column"] == "客户名称" and "required" in en[0]["errors"][0]["message"].lower()
    assert api.call("GET", f"/v1/imports/{iid}", sales_team["tokens"]["rep2"]).status_code == 404  # mine only

    real = run(api, rep, iid)
    assert real["result"]["created"] == 1 and real["result"]["rejected"] == 3 and real["dry_run"] is False
    assert names(api, rep) == ["星辰科技"]
    rejected = api.call("GET", f"/v1/imports/{iid}/rejected?format=csv", rep)
    assert rejected.status_code == 200, rejected.data
    assert rejected.data["rows"] == 3
    text = requests.get(rejected.data["url"], timeout=10).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [*HEAD, "错误原因"]
    assert table[1][1] == "13800001112" and "客户名称" in table[1][-1]
    assert len(table) == 4
    xlsx = api.call("GET", f"/v1/imports/{iid}/rejected?format=xlsx", rep, headers={"Accept-Language": "en"})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(requests.get(xlsx.data["url"], timeout=10).content)).worksheets[0]
    assert [c.value for c in ws[1]] == [*HEAD, "Error"]
    again = api.call("POST", f"/v1/imports/{iid}/start", rep, {})
    assert again.status_code == 422 and again.data["code"] == "IMPORT_DONE"
    log = api.call("GET", f"/v1/records/import/{iid}/logs", rep)
    assert log.status_code == 200, log.data  # the import in the operation log, with its counts
    entry = next(e for e in log.data["items"] if e["action"] == "import")
    assert {c["field"]: c["after"] for c in entry["changes"]} | {} == {"total": 4, "created": 1, "overwritten": 0, "skipped": 0,
                                                                      "rejected": 3}


def test_given_existing_customers_when_imported_then_duplicates_are_skipped_overwritten_or_refused(api, sales_team):
    admin = sales_team["admin"]
    made = api.call("POST", "/v1/customers", admin, {"name": "华为技术有限公司", "email": "old@hw.cn"})
    assert made.status_code == 201, made.data
    api.pump()
    rows = [["客户名称", "邮箱"], ["华为技术有限公司", "new@hw.cn"], ["小米科技", "mi@mi.cn"], ["小米科技", "mi2@mi.cn"]]
    skip = run(api, admin, upload(api, admin, "customer", csv_bytes(rows)), duplicates="skip")
    assert {k: skip["result"][k] for k in ("created", "skipped", "rejected")} == {"created": 1, "skipped": 2, "rejected": 0}
    assert names(api, admin) == ["华为技术有限公司", "小米科技"]

    rows = [["客户名称", "邮箱"], ["华为技术有限公司", "new@hw.cn"], ["比亚迪", "a@byd.cn"], ["比亚迪", "b@byd.cn"]]
    over = run(api, admin, upload(api, admin, "customer", csv_bytes(rows)), duplicates="overwrite")
    assert over["result"]["overwritten"] == 2 and over["result"]["created"] == 1
    api.pump()
    hw = api.call("GET", f"/v1/customers/{made.data['id']}", admin).data
    assert hw["email"] == "new@hw.cn"
    byd = [c for c in api.call("GET", "/v1/customers?limit=100", admin).data["items"] if c["name"] == "比亚迪"]
    assert len(byd) == 1 and byd[0]["email"] == "b@byd.cn"  # the file's later row overwrote its earlier one

    # the default rules block a second customer of the same name: "create" never makes that duplicate
    rows = [["客户名称"], ["华为技术有限公司"], ["蔚来汽车"], ["蔚来汽车"]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    create = run(api, admin, iid, duplicates="create")
    assert create["result"]["created"] == 1 and create["result"]["rejected"] == 2
    assert all("重复" in e["errors"][0]["message"] or "已存在" in e["errors"][0]["message"] for e in errors(api, admin, iid))

    # a warn-only rule lets "create" make the duplicate
    r = api.call("PUT", "/v1/duplicate-rules", admin, {"rules": [{"kind": "company", "entities": ["customer"], "action": "warn"}]})
    assert r.status_code == 200, r.data
    create = run(api, admin, upload(api, admin, "customer", csv_bytes([["客户名称"], ["蔚来汽车"], ["蔚来汽车"]])), duplicates="create")
    assert create["result"]["created"] == 2
    assert names(api, admin).count("蔚来汽车") == 3


def test_given_a_rep_when_rows_name_someone_elses_owner_then_those_rows_are_refused(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    rows = [["客户名称", "负责人"], ["自己的客户", "李娜"], ["别人的客户", "张伟"], ["默认给自己", ""]]
    iid = upload(api, rep, "customer", csv_bytes(rows))
    done = run(api, rep, iid)
    assert done["result"]["created"] == 2 and done["result"]["rejected"] == 1
    [bad] = errors(api, rep, iid)
    assert bad["row"] == 3 and bad["errors"][0]["column"] == "负责人"
    assert names(api, rep) == ["自己的客户", "默认给自己"]
    manager = sales_team["tokens"]["manager"]
    done = run(api, manager, upload(api, manager, "customer", csv_bytes([["客户名称", "负责人"], ["给张伟的", "张伟"]])))
    assert done["result"]["created"] == 1  # a manager may import into a subordinate's name


def test_given_customer_limits_when_an_import_goes_over_then_the_rows_past_the_limit_are_refused(api, sales_team):
    reps_may_import(api, sales_team)
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    r = api.call("PUT", "/v1/customer-limits", admin, {"rules": [{"user_id": sales_team["rep1"], "owned": 3}]})
    assert r.status_code in (200, 201), r.data
    rows = [["客户名称"], *[[f"限额客户{i}"] for i in range(5)]]
    iid = upload(api, rep, "customer", csv_bytes(rows))
    done = run(api, rep, iid)
    assert done["result"]["created"] == 3 and done["result"]["rejected"] == 2
    assert len(names(api, rep)) == 3


def test_given_xlsx_and_gb18030_files_then_both_import(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    x = run(api, rep, upload(api, rep, "customer", xlsx_bytes([["客户名称", "手机"], ["表格公司", 13800002222], [None, None],
                                                                 ["第二家", "13800002223"]]), "xlsx"))
    assert x["result"]["created"] == 2, x
    g = run(api, rep, upload(api, rep, "customer", csv_bytes([["客户名称"], ["国标编码公司"]], "gb18030")))
    assert g["result"]["created"] == 1
    assert names(api, rep) == sorted(["表格公司", "第二家", "国标编码公司"])


def test_given_a_custom_object_then_its_records_import(api, sales_team):
    admin = sales_team["admin"]
    obj = {"key": "subscription", "label": "电话征订", "label_en": "Journal subscription", "title_field": "customer_name",
           "fields": [{"key": "customer_name", "label": "客户名称", "type": "text", "required": True, "searchable": True},
                      {"key": "start_date", "label": "开始日期", "label_en": "Start date", "type": "date", "required": True},
                      {"key": "channel", "label": "受订途径", "type": "select",
                       "options": [{"code": "rep", "label": "业务员"}, {"code": "phone", "label": "电话征订"}]}]}
    assert api.call("POST", "/v1/objects", admin, obj).status_code == 201
    rows = [["客户名称", "开始日期", "受订途径"], ["杭州书店", "2026/3/5", "电话征订"], ["宁波书店", "不是日期", "业务员"]]
    iid = upload(api, admin, "subscription", csv_bytes(rows))
    done = run(api, admin, iid)
    assert done["result"]["created"] == 1 and done["result"]["rejected"] == 1, done
    assert errors(api, admin, iid)[0]["errors"][0]["column"] == "开始日期"
    api.pump()
    items = api.call("GET", "/v1/objects/subscription/records", admin).data["items"]
    assert [(i["customer_name"], i["start_date"], i["channel"]) for i in items] == [("杭州书店", "2026-03-05", "phone")]


def test_given_a_crash_in_the_middle_of_a_file_when_resumed_then_every_row_is_there_exactly_once(api, sales_team, monkeypatch):
    from chalicelib.db import tx
    from chalicelib.imports import runner

    admin = sales_team["admin"]
    monkeypatch.setattr(runner, "CHUNK", 20)
    monkeypatch.setattr(runner, "TX_ITEMS", 25)  # several transactions per chunk
    real_write, calls = tx.write, {"n": 0}

    def crashing(ops):
        real_write(ops)
        calls["n"] += 1
        if calls["n"] == 7:  # in the middle of the second chunk, after a transaction committed
            raise RuntimeError("the container went away")

    monkeypatch.setattr(runner.tx, "write", crashing)
    rows = [["客户名称", "手机"], *[[f"续传客户{i:03d}", f"139{i:08d}"] for i in range(60)]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    start(api, admin, iid)
    jobs.run_queued()
    done = api.call("GET", f"/v1/imports/{iid}", admin).data
    assert done["status"] == "succeeded", done
    assert done["result"]["created"] == 60 and done["result"]["rejected"] == 0
    api.pump()
    listed = api.call("GET", "/v1/customers?limit=100", admin).data
    assert listed["total"] == 60
    assert sorted(c["name"] for c in listed["items"]) == [f"续传客户{i:03d}" for i in range(60)]


def test_given_a_running_import_when_cancelled_then_it_stops_at_its_next_chunk(api, sales_team, monkeypatch):
    from chalicelib.imports import runner, service

    admin = sales_team["admin"]
    monkeypatch.setattr(runner, "CHUNK", 10)
    rows = [["客户名称"], *[[f"取消客户{i}"] for i in range(40)]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    real = runner.Run.process

    def cancel_midway(self, batch):
        real(self, batch)
        if self.cp["created"] >= 10:
            from chalicelib.jobs import service as jobs_

            jobs_.cancel(self.p, self.ctx.job["id"])

    monkeypatch.setattr(runner.Run, "process", cancel_midway)
    start(api, admin, iid)
    jobs.run_queued()
    got = api.call("GET", f"/v1/imports/{iid}", admin).data
    assert got["status"] == "cancelled"
    assert len(names(api, admin)) < 40
    # cancelling a queued one ends it at once
    iid2 = upload(api, admin, "customer", csv_bytes([["客户名称"], ["不会导入"]]))
    start(api, admin, iid2)
    c = api.call("POST", f"/v1/imports/{iid2}/cancel", admin)
    assert c.status_code == 200 and c.data["status"] == "cancelled"
    jobs.run_queued()
    assert "不会导入" not in names(api, admin)
    assert service  # the module under test


def test_given_bad_requests_then_clear_422s(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/imports", rep, {"type": "customer", "file_name": "a.csv", "size": 10, "sha256": "x" * 64, "format": "csv"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "sha256"
    r = api.call("POST", "/v1/imports", rep, {"type": "customer", "file_name": "a.csv", "size": 10, "sha256": "0" * 64, "format": "csv"})
    iid = r.data["id"]
    not_up = api.call("POST", f"/v1/imports/{iid}/start", rep, {})
    assert not_up.status_code == 422 and not_up.data["code"] == "IMPORT_NOT_UPLOADED"
    iid = upload(api, rep, "customer", csv_bytes([HEAD, ["甲公司", "", "", ""]]))
    bad = api.call("POST", f"/v1/imports/{iid}/start", rep, {"mapping": {"客户名称": "nope"}})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "mapping.客户名称"


def test_given_a_mapping_i_chose_when_i_import_again_then_it_is_offered_again(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    rows = [["公司", "手机号码", "备注"], ["映射公司", "13800003333", "不导入这一列"]]
    iid = upload(api, rep, "customer", csv_bytes(rows))
    suggested = api.call("GET", f"/v1/imports/{iid}/mapping", rep).data["mapping"]
    assert suggested == {"公司": None, "手机号码": None, "备注": "remark"}  # headers that name no column stay unmapped
    chosen = {"公司": "name", "手机号码": "mobile", "备注": None}
    done = run(api, rep, iid, mapping=chosen)
    assert done["result"]["created"] == 1
    again = upload(api, rep, "customer", csv_bytes([rows[0], ["映射公司二", "13800003334", "x"]]))
    assert api.call("GET", f"/v1/imports/{again}/mapping", rep).data["mapping"] == chosen
    other = upload(api, sales_team["tokens"]["rep2"], "customer", csv_bytes(rows))
    assert api.call("GET", f"/v1/imports/{other}/mapping", sales_team["tokens"]["rep2"]).data["mapping"] == suggested  # per user
