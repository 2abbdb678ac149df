"""导入 under attack and at its limits, through the API: an oversized cell is refused with its length
and kept cut (the run never fails on DynamoDB's item size), headers past the limits and XLSX zip bombs
are refused with a 422 naming the limit, the 导入 permission is required, a mapping names only the
file's headers, a row tells every reason at once, and skipped duplicates are listed with what they matched."""
from __future__ import annotations

import csv
import io
import zipfile

import requests

from chalicelib.jobs import service as jobs

from .test_imports import HEAD, csv_bytes, errors, names, reps_may_import, run, start, upload, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def set_rep_import(api, team: dict, allowed: bool, module: str = "customers") -> None:
    admin = team["admin"]
    rep = next(r for r in api.call("GET", "/v1/org/roles", admin).data["items"] if r["id"] == "sales_rep")
    now = set(rep["actions"].get(module, []))
    actions = {**rep["actions"], module: sorted(now | {"import"} if allowed else now - {"import"})}
    r = api.call("PATCH", "/v1/org/roles/sales_rep", admin, {"actions": actions}, headers={"If-Match": f'"{rep["version"]}"'})
    assert r.status_code == 200, r.data


def mapping(api, token: str, iid: str, lang: str = "zh-CN"):
    return api.call("GET", f"/v1/imports/{iid}/mapping", token, headers={"Accept-Language": lang})


def workbook(sheet_xml: bytes | None = None, rows=None, extra_entries: int = 0, shared: list[str] | None = None) -> bytes:
    """A minimal XLSX written by hand (what openpyxl would not write: no <dimension>, millions of rows)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                   + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                      if shared is not None else "") + '</Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                   'Target="worksheets/sheet1.xml"/>'
                   + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                      'Target="sharedStrings.xml"/>' if shared is not None else "") + '</Relationships>')
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            if sheet_xml is not None:
                f.write(sheet_xml)
            for r in rows or ():
                f.write(r)
            f.write(b"</sheetData></worksheet>")
        for i in range(extra_entries):
            z.writestr(f"xl/media/pad{i}.xml", "<x/>")
    return buf.getvalue()


def inline_row(n: int, values: list[str]) -> bytes:
    return (f'<row r="{n}">' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values) + "</row>").encode()


def test_given_a_130000_character_name_then_that_row_is_refused_with_its_length_and_kept_cut_and_the_run_goes_on(api, sales_team):
    admin = sales_team["admin"]
    huge = "名" * 130_000
    body = csv_bytes([["客户名称", "手机", "备注"], ["正常公司", "13800001111", ""], [huge, "13800001112", "x" * 5000],
                      ["另一家公司", "13800001113", ""]])
    iid = upload(api, admin, "customer", body)
    dry = run(api, admin, iid, dry_run=True)
    assert dry["status"] == "succeeded", dry
    assert dry["result"]["created"] == 2 and dry["result"]["rejected"] == 1
    [bad] = errors(api, admin, iid)
    assert bad["row"] == 3 and bad["truncated"] is True
    assert bad["errors"] == [{"column": "客户名称", "message": "内容过长（130000 个字符，最多 100 个）"},  # the field's max length
                             {"column": "备注", "message": "内容过长（5000 个字符，最多 2000 个）"}]
    en = api.call("GET", f"/v1/imports/{iid}/errors", admin, headers={"Accept-Language": "en"})
    assert en.status_code == 200
    real = run(api, admin, iid, lang="en")
    assert real["status"] == "succeeded" and real["result"]["created"] == 2 and real["result"]["rejected"] == 1
    assert errors(api, admin, iid)[0]["errors"][0]["message"] == "Too long (130000 characters, at most 100)"
    link = api.call("GET", f"/v1/imports/{iid}/rejected?format=csv", admin)
    table = list(csv.reader(io.StringIO(requests.get(link.data["url"], timeout=10).content.decode("utf-8-sig"))))
    assert len(table[1][0]) == 1000 and table[1][0].endswith("…")  # the cell as kept: cut, marked
    assert table[1][1] == "13800001112"
    assert names(api, admin) == ["另一家公司", "正常公司"]


def test_given_a_failure_that_is_not_ours_then_the_job_tells_a_translated_message_and_never_the_raw_text(api, sales_team, monkeypatch):
    from pynamodb.exceptions import PutError

    from chalicelib.imports import runner

    admin = sales_team["admin"]

    def failing(self, c):
        raise PutError("Failed to put item: An error occurred (ValidationException) on request (x) on table (crm-local) "
                       "operation: Item size has exceeded the maximum allowed size")

    monkeypatch.setattr(runner.Run, "commit", failing)
    iid = upload(api, admin, "customer", csv_bytes([["客户名称"], ["某公司"]]))
    start(api, admin, iid, dry_run=True)
    jobs.run_queued()
    zh = api.call("GET", f"/v1/imports/{iid}", admin).data
    en = api.call("GET", f"/v1/imports/{iid}", admin, headers={"Accept-Language": "en"}).data
    assert zh["status"] == "failed"
    assert zh["error"] == "任务执行时发生内部错误（已记录），请稍后重试或联系管理员"
    assert en["error"] == "The job met an internal error (logged); try again later or ask an administrator"
    assert "crm-local" not in str(zh) and "PutError" not in str(en)


def test_given_headers_past_the_limits_then_the_mapping_and_the_start_answer_422_naming_the_limit(api, sales_team):
    admin = sales_team["admin"]
    wide = upload(api, admin, "customer", (",".join(f"列{i}" for i in range(200_000)) + "\n").encode())
    r = mapping(api, admin, wide)
    assert r.status_code == 422 and r.data["code"] == "IMPORT_HEADERS", r.data
    assert r.data["details"] == [{"field": "headers", "type": "range", "message": "表头最多 500 列"}]
    en = mapping(api, admin, wide, "en")
    assert en.data["details"][0]["message"] == "At most 500 header columns" and "500" in en.data["message"]
    s = api.call("POST", f"/v1/imports/{wide}/start", admin, {})
    assert s.status_code == 422 and s.data["code"] == "IMPORT_HEADERS"

    long_csv = upload(api, admin, "customer", csv_bytes([["客户名称", "长" * 201], ["甲", "乙"]]))
    r = mapping(api, admin, long_csv)
    assert r.status_code == 422 and r.data["details"][0]["message"] == "每个表头最多 200 个字符"
    for body in (workbook(shared=["客户名称", "x" * 300_000], sheet_xml=b'<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'),
                 workbook(rows=[inline_row(1, ["客户名称", "y" * 300_000])])):
        iid = upload(api, admin, "customer", body, "xlsx")
        r = mapping(api, admin, iid)
        assert r.status_code == 422 and r.data["code"] == "IMPORT_HEADERS", r.data
    just = upload(api, admin, "customer", csv_bytes([[f"列{i}" for i in range(500)], ["x"]]))
    assert mapping(api, admin, just).status_code == 200  # 500 columns is the limit, not past it


def test_given_xlsx_zip_bombs_then_they_are_refused_before_being_opened(api, sales_team):
    admin = sales_team["admin"]
    empty_rows = [b"<row/>" * 100_000] * 20  # 12 MB of XML in a few KB: the ratio
    bomb = workbook(rows=[inline_row(1, ["客户名称"]), *empty_rows])
    assert len(bomb) < 100_000
    iid = upload(api, admin, "customer", bomb, "xlsx")
    r = mapping(api, admin, iid)
    assert r.status_code == 422 and r.data["code"] == "IMPORT_TOO_LARGE", r.data
    assert r.data["details"][0] == {"field": "file", "type": "range", "message": "XLSX 文件的压缩比最大 100:1"}
    many = upload(api, admin, "customer", workbook(rows=[inline_row(1, ["客户名称"])], extra_entries=1000), "xlsx")
    r = mapping(api, admin, many, "en")
    assert r.status_code == 422 and r.data["details"][0]["message"] == "An XLSX file holds at most 1000 parts"


def test_given_an_xlsx_without_dimension_then_the_mapping_reads_only_its_first_row(api, sales_team, monkeypatch):
    """Shared strings and inline strings, no <dimension>: the header comes from the start of the sheet,
    and openpyxl (which would scan the whole sheet for its size) is not used by the mapping call."""
    from chalicelib.tabular import sheets

    admin = sales_team["admin"]
    rows = [f'<row r="{n}"><c t="s"><v>2</v></c><c><v>{13800000000 + n}</v></c></row>'.encode() for n in range(2, 3000)]
    body = workbook(sheet_xml=b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
                              b'<c r="D1" t="inlineStr"><is><t>\xe5\xa4\x87\xe6\xb3\xa8</t></is></c></row>',
                    rows=rows, shared=["客户名称", "手机", "无尺寸公司"])
    iid = upload(api, admin, "customer", body, "xlsx")

    def no_openpyxl(*a, **k):
        raise AssertionError("the mapping call opened the workbook")

    monkeypatch.setattr(sheets, "_first_sheet", no_openpyxl)
    r = mapping(api, admin, iid)
    assert r.status_code == 200, r.data
    assert r.data["headers"] == ["客户名称", "手机", "", "备注"]
    monkeypatch.undo()
    done = run(api, admin, iid, dry_run=True, mapping={"客户名称": "name", "手机": "mobile", "备注": None})
    assert done["status"] == "succeeded" and done["result"]["total"] == 2998, done
    assert done["result"]["created"] == 1 and done["result"]["skipped"] == 2997  # the same name again and again


def test_given_a_rep_without_the_import_permission_then_nothing_of_an_import_is_allowed(api, sales_team):
    rep, manager = sales_team["tokens"]["rep1"], sales_team["tokens"]["manager"]
    body = csv_bytes([HEAD, ["权限公司", "", "", ""]])
    import hashlib

    ask = {"type": "customer", "file_name": "a.csv", "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "format": "csv"}
    r = api.call("POST", "/v1/imports", rep, ask)
    assert r.status_code == 403, r.data
    assert api.call("GET", "/v1/imports/templates/customer?format=csv", rep, headers={"Accept": "*/*"}).status_code == 403
    en = api.call("POST", "/v1/imports", rep, ask, headers={"Accept-Language": "en"})
    assert en.status_code == 403 and "import" in en.data["message"].lower()
    # granted, an import is made; taken back, it can be neither mapped nor started
    set_rep_import(api, sales_team, True)
    iid = upload(api, rep, "customer", body)
    set_rep_import(api, sales_team, False)
    assert mapping(api, rep, iid).status_code == 403
    assert api.call("POST", f"/v1/imports/{iid}/start", rep, {}).status_code == 403
    # the built-in manager and administrator roles import
    assert run(api, manager, upload(api, manager, "customer", body))["result"]["created"] == 1
    admin = sales_team["admin"]
    assert run(api, admin, upload(api, admin, "customer", csv_bytes([HEAD, ["管理员导入", "", "", ""]])))["result"]["created"] == 1


def test_given_a_mapping_naming_a_header_the_file_has_not_then_422_names_it(api, sales_team):
    admin = sales_team["admin"]
    iid = upload(api, admin, "customer", csv_bytes([HEAD, ["映射公司", "", "", ""]]))
    r = api.call("POST", f"/v1/imports/{iid}/start", admin, {"mapping": {"客户名称": "name", "不存在的列": "mobile"}})
    assert r.status_code == 422, r.data
    assert r.data["details"] == [{"field": "mapping.不存在的列", "type": "option", "message": "文件中没有表头「不存在的列」"}]
    en = api.call("POST", f"/v1/imports/{iid}/start", admin, {"mapping": {"不存在的列": "mobile"}}, headers={"Accept-Language": "en"})
    assert en.data["details"][0]["message"] == "The file has no header '不存在的列'"


def test_given_a_row_with_several_errors_then_each_is_listed(api, sales_team):
    admin = sales_team["admin"]
    rows = [["客户名称", "手机", "邮箱", "负责人"], ["", "123", "bad-mail", "查无此人"], ["好公司", "13800001234", "", ""]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    done = run(api, admin, iid, dry_run=True)
    assert done["result"]["rejected"] == 1 and done["result"]["created"] == 1
    [bad] = errors(api, admin, iid)
    assert [e["column"] for e in bad["errors"]] == ["客户名称", "手机", "邮箱", "负责人"], bad
    assert "必填" in bad["errors"][0]["message"] and "查无此人" in bad["errors"][3]["message"]


def test_given_skipped_duplicates_then_they_are_listed_with_the_record_they_matched(api, sales_team):
    admin, manager = sales_team["admin"], sales_team["tokens"]["manager"]
    mine = api.call("POST", "/v1/customers", manager, {"name": "经理的客户"})
    theirs = api.call("POST", "/v1/customers", admin, {"name": "管理员的客户"})
    assert mine.status_code == theirs.status_code == 201
    api.pump()
    rows = [["客户名称"], ["经理的客户"], ["新客户"], ["新客户"], ["管理员的客户"]]
    iid = upload(api, manager, "customer", csv_bytes(rows))
    done = run(api, manager, iid)
    assert done["result"]["created"] == 1 and done["result"]["skipped"] == 3, done
    r = api.call("GET", f"/v1/imports/{iid}/skipped", manager)
    assert r.status_code == 200, r.data
    by_row = {i["row"]: i for i in r.data["items"]}
    assert sorted(by_row) == [2, 4, 5]
    assert by_row[2]["record"] == {"id": mine.data["id"], "title": "经理的客户"} and by_row[2]["columns"] == ["客户名称"]
    assert by_row[2]["message"] == "与已有记录「经理的客户」重复，已跳过"
    assert by_row[4]["earlier_row"] == 3 and by_row[4]["message"] == "与本文件第 3 行重复，已跳过"
    assert by_row[5]["record"] is None  # a record the manager may not see is never named
    assert by_row[5]["message"] == "与一条您无权查看的已有记录重复，已跳过"
    en = api.call("GET", f"/v1/imports/{iid}/skipped?limit=1", manager, headers={"Accept-Language": "en"})
    assert en.data["items"][0]["message"] == "Duplicates the record '经理的客户': skipped" and en.data["next_cursor"]
    assert api.call("GET", f"/v1/imports/{iid}/skipped", admin).status_code == 404  # the import is its creator's


def test_given_an_xlsx_of_ours_then_it_still_imports_as_before(api, sales_team):
    reps_may_import(api, sales_team)
    rep = sales_team["tokens"]["rep1"]
    body = xlsx_bytes([["客户名称", "手机"], ["表格二公司", 13800002299]])
    assert run(api, rep, upload(api, rep, "customer", body, "xlsx"))["result"]["created"] == 1


def repack(body: bytes, parts: dict[str, bytes | str | None]) -> bytes:
    """The workbook with these parts replaced (None: removed) or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename not in parts:
                z.writestr(info.filename, src.read(info.filename))
        for name, data in parts.items():
            if data is not None:
                z.writestr(name, data)
    return out.getvalue()


def test_given_a_workbook_pointing_its_parts_at_worksheet_names_then_they_are_held_to_what_is_read_whole(api, sales_team,
                                                                                                        monkeypatch):
    """The limits go by what a reader loads whole, not by a part's name: a workbook or a shared-string table
    named like a worksheet (which may be far larger, streamed) is refused past its own limit; a malformed
    relationships part is a format error, not a 500."""
    from chalicelib.tabular import xlsx

    admin = sales_team["admin"]
    base = workbook(rows=[inline_row(1, ["客户名称"]), inline_row(2, ["华山公司"])], shared=["客户名称"])
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        book, rels = z.read("xl/workbook.xml").decode(), z.read("_rels/.rels").decode()
    padded = book.replace("<sheets>", "<!--" + "填充" * 2_000 + "--><sheets>")
    moved = repack(base, {"xl/workbook.xml": None, "xl/worksheets/wb.xml": padded,
                          "_rels/.rels": rels.replace('Target="xl/workbook.xml"', 'Target="xl/worksheets/wb.xml"'),
                          "xl/worksheets/_rels/wb.xml.rels": repack_rels(base).replace('Target="', 'Target="/xl/')})
    monkeypatch.setattr(xlsx, "MAX_OTHER_PART", 4_000)  # the padded workbook is ~12 KB; the real limit is 16 MB
    iid = upload(api, admin, "customer", moved, "xlsx")
    r = mapping(api, admin, iid)
    assert r.status_code == 422 and r.data["code"] == "IMPORT_TOO_LARGE", r.data
    monkeypatch.undo()
    assert mapping(api, admin, iid).data["headers"] == ["客户名称"]  # within the real limit it reads as any workbook

    monkeypatch.setattr(xlsx, "MAX_LOADED_PART", 50)  # a shared-string table is read whole: its limit, whatever its name
    shared = repack(base, {"xl/sharedStrings.xml": None, "xl/worksheets/strings.xml": "<?xml version=\"1.0\"?><sst xmlns=\""
                           "http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><si><t>客户名称</t></si></sst>",
                           "xl/_rels/workbook.xml.rels": repack_rels(base).replace("sharedStrings.xml", "worksheets/strings.xml")})
    r = mapping(api, admin, upload(api, admin, "customer", shared, "xlsx"))
    assert r.status_code == 422 and r.data["code"] == "IMPORT_TOO_LARGE", r.data
    monkeypatch.undo()

    broken = repack(base, {"_rels/.rels": "<Relationships><Relationship"})
    for lang in ("zh-CN", "en"):
        r = mapping(api, admin, upload(api, admin, "customer", broken, "xlsx"), lang)
        assert r.status_code == 422 and r.data["code"] == "IMPORT_FORMAT", r.data


def repack_rels(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return z.read("xl/_rels/workbook.xml.rels").decode()


def test_given_a_chartsheet_first_then_the_mapping_and_the_run_read_the_same_worksheet(api, sales_team):
    admin = sales_team["admin"]
    base = workbook(rows=[inline_row(1, ["客户名称", "手机"]), inline_row(2, ["图表后公司", "13800002222"])])
    book = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="图表" sheetId="2" r:id="rId9"/><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
    rels = repack_rels(base).replace("</Relationships>", '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
                                     'officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/></Relationships>')
    chart = ('<?xml version="1.0"?><chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetViews><sheetView workbookViewId="0"/></sheetViews></chartsheet>')
    body = repack(base, {"xl/workbook.xml": book, "xl/_rels/workbook.xml.rels": rels, "xl/chartsheets/sheet1.xml": chart})
    iid = upload(api, admin, "customer", body, "xlsx")
    assert mapping(api, admin, iid).data["headers"] == ["客户名称", "手机"]
    done = run(api, admin, iid, dry_run=True)
    assert done["status"] == "succeeded" and done["result"]["created"] == 1, done
