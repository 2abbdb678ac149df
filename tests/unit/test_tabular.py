"""Spreadsheet columns and files (chalicelib/tabular): every field type shown in a cell and read
back from one, the columns a caller's field rules allow, and the CSV / XLSX writers and readers."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest

from chalicelib.core.permissions import FieldAccess, OrgSnapshot, OrgUser, Principal, Role, Scope
from chalicelib.engine.definition import EntityDef, Features
from chalicelib.engine.fieldtypes import TYPES, FieldSpec
from chalicelib.tabular import columns as tcols
from chalicelib.tabular import sheets

LEVELS = (("A", "重点客户", "Key"), ("B", "普通客户", "Regular"))


class User:
    def __init__(self, id_: str, name: str, mobile: str, status: str = "active") -> None:
        self.id, self.name, self.mobile, self.status = id_, name, mobile, status


class Dept:
    def __init__(self, id_: str, name: str) -> None:
        self.id, self.name = id_, name


class FakeLookup(tcols.Lookup):
    """The tenant's names without a table: two users (one name twice), departments, a dictionary, records."""

    def __init__(self) -> None:
        self.p = None
        self.tenant_id = "t1"
        self.users = {"u1": User("u1", "李娜", "13900000001"), "u2": User("u2", "张伟", "13900000002"),
                      "u3": User("u3", "王芳", "13900000003"), "u4": User("u4", "王芳", "13900000004")}
        self.departments = {"d1": Dept("d1", "销售部"), "d2": Dept("d2", "客服部")}
        self._dicts = {"industry": [("it", "IT/互联网", "IT / Internet"), ("retail", "零售", "Retail")]}
        self._every = {"industry": {"it": ("IT/互联网", "IT / Internet"), "retail": ("零售", "Retail"),
                                    "mining": ("采矿", "Mining")}}  # 采矿 disabled since: no longer offered
        self._titles = {}
        self._by_title = {}
        self._users_by = None
        self._depts_by = None
        self.records = {("customer", "c1"): "华为技术", ("customer", "c2"): "腾讯科技"}

    def _read_title(self, entity: str, record_id: str) -> str | None:
        return self.records.get((entity, record_id))

    def _find(self, entity: str, text: str) -> list[str]:
        if (entity, text) in self.records:
            return [text]
        return [rid for (e, rid), title in self.records.items() if e == entity and title == text]


LOOKUP = FakeLookup()


def col(f: FieldSpec, locale: str = "zh-CN", masked: bool = False) -> tcols.Column:
    return tcols._column(f.key, f, locale, LOOKUP, required=f.required, masked=masked)


# ---- every field type, both ways -----------------------------------------------------------------
# (spec, stored value, the cell shown in zh-CN, what parse gives back from that cell)
CASES = [
    (FieldSpec("t", "text"), "ACME 上海", "ACME 上海", "ACME 上海"),
    (FieldSpec("ta", "textarea"), "第一行\n第二行", "第一行\n第二行", "第一行\n第二行"),
    (FieldSpec("tg", "tags"), ["重点", "华东"], "重点、华东", ["重点", "华东"]),
    (FieldSpec("n", "number"), 42, 42, Decimal(42)),
    (FieldSpec("dc", "decimal"), "3.1416", Decimal("3.1416"), Decimal("3.1416")),
    (FieldSpec("m", "money"), 1234.5, Decimal("1234.50"), Decimal("1234.50")),
    (FieldSpec("pc", "percent"), "12.5", Decimal("12.50"), Decimal("12.50")),
    (FieldSpec("d", "date"), "2026-03-05", date(2026, 3, 5), "2026-03-05"),
    (FieldSpec("dt", "datetime"), "2026-03-05T06:30:00.000Z", datetime(2026, 3, 5, 14, 30), "2026-03-05T06:30:00.000Z"),
    (FieldSpec("b", "boolean"), True, "是", True),
    (FieldSpec("s", "select", options=LEVELS), "A", "重点客户", "A"),
    (FieldSpec("sd", "select", dictionary="industry"), "retail", "零售", "retail"),
    (FieldSpec("ms", "multiselect", options=LEVELS), ["A", "B"], "重点客户、普通客户", ["A", "B"]),
    (FieldSpec("u", "user"), "u1", "李娜", "u1"),
    (FieldSpec("us", "users"), ["u2", "u1"], "张伟、李娜", ["u2", "u1"]),
    (FieldSpec("dp", "department"), "d2", "客服部", "d2"),
    (FieldSpec("e", "email"), "li@example.com", "li@example.com", "li@example.com"),
    (FieldSpec("mb", "mobile"), "13812345678", "13812345678", "13812345678"),
    (FieldSpec("ph", "phone"), "021-12345678", "021-12345678", "021-12345678"),
    (FieldSpec("url", "url"), "https://example.com", "https://example.com", "https://example.com"),
    (FieldSpec("rg", "region"), {"code": "440305", "name": "广东省/深圳市/南山区"}, "广东省/深圳市/南山区", {"code": "440305"}),
    (FieldSpec("ad", "address"), {"text": "科技园 1 号"}, "科技园 1 号", {"text": "科技园 1 号"}),
    (FieldSpec("rf", "reference", entity="customer"), {"entity": "customer", "id": "c1"}, "华为技术", {"entity": "customer", "id": "c1"}),
]
SHOWN_ONLY = [
    (FieldSpec("f", "file"), [{"id": "f1", "name": "合同.pdf"}, {"id": "f2", "name": "报价.xlsx"}], "合同.pdf、报价.xlsx"),
    (FieldSpec("im", "image"), [{"id": "f3", "name": "门头.jpg"}], "门头.jpg"),
    (FieldSpec("tb", "table", columns=(FieldSpec("qty", "number"),)), [{"qty": 2}], '[{"qty": 2}]'),
]


def test_every_field_type_is_covered():
    assert {c[0].type for c in CASES} | {c[0].type for c in SHOWN_ONLY} == set(TYPES)


@pytest.mark.parametrize(("spec", "stored", "shown", "parsed"), CASES, ids=[c[0].type + ":" + c[0].key for c in CASES])
def test_given_a_stored_value_when_shown_and_read_back_then_the_cell_speaks_and_the_value_returns(spec, stored, shown, parsed):
    c = col(spec)
    cell = c.show(stored)
    assert cell == shown
    assert type(cell) is type(shown)
    assert tcols.parse(c, cell, LOOKUP) == parsed


@pytest.mark.parametrize(("spec", "stored", "shown"), SHOWN_ONLY, ids=[c[0].type for c in SHOWN_ONLY])
def test_files_and_tables_are_shown_but_not_imported(spec, stored, shown):
    c = col(spec)
    assert c.show(stored) == shown
    with pytest.raises(tcols.CellError) as e:
        tcols.parse(c, shown, LOOKUP)
    assert e.value.key == "tabular.unsupported"


def test_english_cells_name_codes_in_english():
    assert col(FieldSpec("s", "select", options=LEVELS), "en").show("B") == "Regular"
    assert col(FieldSpec("sd", "select", dictionary="industry"), "en").show("it") == "IT / Internet"
    assert col(FieldSpec("b", "boolean"), "en").show(False) == "No"
    assert col(FieldSpec("ms", "multiselect", options=LEVELS), "en").show(["A", "B"]) == "Key; Regular"


def test_empty_values_are_empty_cells_and_empty_cells_no_value():
    for spec, *_ in CASES:
        c = col(spec)
        assert c.show(None) is None
        assert tcols.parse(c, "  ", LOOKUP) is None
        assert tcols.parse(c, None, LOOKUP) is None


def test_a_masked_column_shows_the_value_as_the_api_masks_it():
    from chalicelib.core.permissions import mask

    c = col(FieldSpec("mobile", "mobile"), masked=True)
    assert c.show("13812345678") == "138****5678"
    assert c.show(mask("13812345678")) == "138****5678"  # a row from engine.present is masked already: once is enough
    assert col(FieldSpec("m", "money"), masked=True).show(Decimal("900000")) == mask(Decimal("900000"))


def test_money_keeps_two_places_and_unknown_codes_show_as_they_are():
    assert col(FieldSpec("m", "money")).show(Decimal("10")) == Decimal("10.00")
    assert str(col(FieldSpec("m", "money")).show("0.005")) == "0.01"  # 四舍五入
    assert col(FieldSpec("s", "select", options=LEVELS)).show("Z") == "Z"


# ---- reading what people write ------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["A", "a", "重点客户", "Key", "key"])
def test_a_select_takes_its_code_or_its_name_in_either_language(cell):
    assert tcols.parse(col(FieldSpec("s", "select", options=LEVELS)), cell, LOOKUP) == "A"


@pytest.mark.parametrize(("cell", "expected"), [("重点客户,普通客户", ["A", "B"]), ("A，B", ["A", "B"]), ("Key; Regular", ["A", "B"]),
                                                ("重点客户、重点客户", ["A"])])
def test_a_multiselect_splits_on_every_usual_separator(cell, expected):
    assert tcols.parse(col(FieldSpec("ms", "multiselect", options=LEVELS)), cell, LOOKUP) == expected


@pytest.mark.parametrize(("cell", "expected"), [("是", True), ("否", False), ("TRUE", True), ("false", False), ("1", True), ("0", False),
                                                ("Yes", True), ("n", False), (True, True), (1, True)])
def test_booleans_read_as_people_write_them(cell, expected):
    assert tcols.parse(col(FieldSpec("b", "boolean")), cell, LOOKUP) is expected


@pytest.mark.parametrize("cell", ["2026-03-05", "2026/3/5", "2026.03.05", "2026年3月5日", "20260305", "46086", 46086,
                                  46086.0, datetime(2026, 3, 5), date(2026, 3, 5), "2026-03-05 00:00:00"])
def test_dates_read_in_every_usual_spelling_and_as_excel_dates(cell):
    assert tcols.parse(col(FieldSpec("d", "date")), cell, LOOKUP) == "2026-03-05"


@pytest.mark.parametrize("cell", ["2026-03-05 14:30", "2026/3/5 14:30:00", datetime(2026, 3, 5, 14, 30), "2026-03-05T06:30:00Z",
                                  46086 + 14.5 / 24])
def test_datetimes_are_the_tenants_local_time_unless_they_say_otherwise(cell):
    assert tcols.parse(col(FieldSpec("dt", "datetime")), cell, LOOKUP) == "2026-03-05T06:30:00.000Z"


@pytest.mark.parametrize(("cell", "expected"), [("1,234.50", Decimal("1234.50")), ("¥88", Decimal(88)), ("  7 ", Decimal(7)),
                                                (12.25, Decimal("12.25")), ("-3", Decimal(-3))])
def test_numbers_take_thousands_separators_and_currency_signs(cell, expected):
    assert tcols.parse(col(FieldSpec("m", "money")), cell, LOOKUP) == expected


def test_a_percent_cell_reads_as_the_percent_number():
    assert tcols.parse(col(FieldSpec("p", "percent")), "12.5%", LOOKUP) == Decimal("12.5")


@pytest.mark.parametrize(("cell", "expected"), [("李娜", "u1"), ("13900000002", "u2"), ("u1", "u1"), (13900000002.0, "u2")])
def test_users_are_found_by_name_mobile_or_id(cell, expected):
    assert tcols.parse(col(FieldSpec("u", "user")), cell, LOOKUP) == expected


def test_a_mobile_exported_as_an_excel_number_reads_back_as_text():
    assert tcols.parse(col(FieldSpec("mb", "mobile")), 13812345678.0, LOOKUP) == "13812345678"
    assert tcols.parse(col(FieldSpec("mb", "mobile")), "138-1234-5678", LOOKUP) == "13812345678"


@pytest.mark.parametrize(("spec", "cell", "key"), [
    (FieldSpec("n", "number"), "abc", "tabular.number"),
    (FieldSpec("d", "date"), "next week", "tabular.date"),
    (FieldSpec("d", "date"), "2026-02-30", "tabular.date"),
    (FieldSpec("dt", "datetime"), "2026-03-05 25:00", "tabular.datetime"),
    (FieldSpec("b", "boolean"), "maybe", "tabular.boolean"),
    (FieldSpec("s", "select", options=LEVELS), "Z级", "tabular.option"),
    (FieldSpec("u", "user"), "王芳", "tabular.user_ambiguous"),
    (FieldSpec("u", "user"), "陌生人", "tabular.user"),
    (FieldSpec("dp", "department"), "财务部", "tabular.department"),
    (FieldSpec("rg", "region"), "火星", "tabular.region"),
    (FieldSpec("rf", "reference", entity="customer"), "不存在公司", "tabular.reference"),
])
def test_a_cell_that_does_not_read_says_why_in_both_languages(spec, cell, key):
    with pytest.raises(tcols.CellError) as e:
        tcols.parse(col(spec), cell, LOOKUP)
    assert e.value.key == key
    zh, en = e.value.text("zh-CN"), e.value.text("en")
    assert zh != key and en != key and zh != en


def test_the_option_error_lists_the_allowed_values():
    with pytest.raises(tcols.CellError) as e:
        tcols.parse(col(FieldSpec("s", "select", options=LEVELS)), "Z", LOOKUP)
    assert "重点客户" in e.value.text("zh-CN")


def test_the_quote_an_export_puts_before_a_formula_like_text_is_dropped_on_import():
    assert tcols.parse(col(FieldSpec("t", "text")), "'=1+1", LOOKUP) == "=1+1"
    assert tcols.parse(col(FieldSpec("t", "text")), "'引号", LOOKUP) == "'引号"


# ---- columns by field rules ------------------------------------------------------------------
DEF = EntityDef(
    name="gadget", module="gadgets", label=("小工具", "Gadget"), features=Features(custom_fields=False),
    fields=(FieldSpec("name", "text", ("名称", "Name"), required=True),
            FieldSpec("mobile", "mobile", ("手机", "Mobile")),
            FieldSpec("secret", "text", ("机密", "Secret")),
            FieldSpec("level", "select", ("级别", "Level"), options=LEVELS, default="B"),
            FieldSpec("locked", "boolean", ("锁定", "Locked"), readonly=True),
            FieldSpec("files", "file", ("附件", "Files"))))


def principal(fields: dict[str, FieldAccess]) -> Principal:
    role = Role("r", actions={"gadgets": frozenset({"list", "read", "create", "export", "import"})},
                scopes={"gadgets": Scope.ALL}, fields={"gadgets": fields})
    snap = OrgSnapshot("t1", {"d1": None}, {"u1": OrgUser("u1", "d1", role_ids=("r",))}, {"r": role})
    return Principal("t1", "u1", snap)


def test_export_columns_leave_out_hidden_fields_and_flag_masked_ones():
    p = principal({"secret": FieldAccess.HIDDEN, "mobile": FieldAccess.MASKED})
    cols = tcols.columns(DEF, p, "export", "zh-CN", lookup=LOOKUP)
    keys = [c.key for c in cols]
    assert keys == ["name", "mobile", "level", "locked", "files", "owner_id", "created_by", "created_at", "updated_at"]
    assert [c.key for c in cols if c.masked] == ["mobile"]
    assert [c.label for c in cols][:3] == ["名称", "手机", "级别"]
    assert cols[5].label == "负责人" and cols[5].type == "user"
    assert cols[2].choices == ("重点客户", "普通客户")


def test_import_columns_are_what_the_caller_may_write_on_create_plus_the_owner():
    p = principal({"secret": FieldAccess.READ, "mobile": FieldAccess.MASKED})
    cols = tcols.columns(DEF, p, "import", "en", lookup=LOOKUP)
    assert [c.key for c in cols] == ["name", "level", "owner_id"]
    assert [c.required for c in cols] == [True, False, False]  # a default makes a field optional
    assert [c.label for c in cols] == ["Name", "Level", "Owner"]
    assert cols[1].labels == ("级别", "Level")


def test_headers_match_in_either_language_with_the_templates_marks():
    cols = tcols.columns(DEF, principal({}), "import", "zh-CN", lookup=LOOKUP)
    assert [c.key for c in cols] == ["name", "mobile", "secret", "level", "owner_id"]
    found = tcols.match_headers(["*名称", "Level", " 负责人 ", "备注"], cols)
    assert [c.key if c else None for c in found] == ["name", "level", "owner_id", None]


def test_a_presented_record_becomes_a_row():
    cols = tcols.columns(DEF, principal({"mobile": FieldAccess.MASKED}), "export", "zh-CN", lookup=LOOKUP)
    row = tcols.cells(cols, {"name": "甲", "mobile": "138****5678", "level": "A", "owner_id": "u2", "created_by": "u1",
                             "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z", "custom": {}})
    assert row == ["甲", "138****5678", None, "重点客户", None, None, "张伟", "李娜", datetime(2026, 1, 1, 8), datetime(2026, 1, 2, 8)]


# ---- files ----------------------------------------------------------------------------------------
def _cols():
    return tcols.columns(DEF, principal({}), "export", "zh-CN", lookup=LOOKUP)


def test_csv_is_utf8_with_a_bom_and_reads_back():
    buf = io.BytesIO()
    with sheets.writer(buf, "csv") as w:
        w.header(_cols())
        w.row(["华为, \"技术\"", None, None, "重点客户", "是", None, "李娜", None, datetime(2026, 1, 1, 8), None])
        w.row(["=HYPERLINK(\"x\")", "+1", None, None, None, None, None, None, None, None])
    data = buf.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert not buf.closed
    rows = list(sheets.read_rows(io.BytesIO(data), "csv"))
    assert rows[0][0] == "名称"
    assert rows[1][:5] == ["华为, \"技术\"", "", "", "重点客户", "是"]
    assert rows[1][8] == "2026-01-01 08:00:00"
    assert rows[2][:2] == ["'=HYPERLINK(\"x\")", "'+1"]  # never a formula in the reader's spreadsheet


def test_a_code_of_a_disabled_dictionary_item_is_still_shown_by_its_name_but_no_longer_offered():
    c = col(FieldSpec("industry", "select", dictionary="industry"))
    assert c.show("mining") == "采矿"
    assert "采矿" not in c.choices
    with pytest.raises(tcols.CellError):
        tcols.parse(c, "采矿", LOOKUP)


def test_csv_headers_and_cells_starting_like_a_formula_or_a_control_character_are_quoted():
    buf = io.BytesIO()
    with sheets.writer(buf, "csv") as w:
        w.header(["=cmd|' /C calc'!A0", "名称"])
        w.row(["\t=1+1", "\r@SUM(A1)"])
    rows = list(sheets.read_rows(io.BytesIO(buf.getvalue()), "csv"))
    assert rows[0][0] == "'=cmd|' /C calc'!A0" and rows[0][1] == "名称"
    assert rows[1] == ["'\t=1+1", "'\r@SUM(A1)"]


def test_csv_without_bom_and_gb18030_csv_read():
    text = "名称,级别\n华为,重点客户\n\n"
    assert list(sheets.read_rows(io.BytesIO(text.encode("utf-8")), "csv")) == [["名称", "级别"], ["华为", "重点客户"], []]
    assert list(sheets.read_rows(io.BytesIO(text.encode("gb18030")), "csv"))[1] == ["华为", "重点客户"]


def test_xlsx_has_typed_cells_and_reads_back():
    from openpyxl import load_workbook

    cols = [*_cols(), tcols._column("amount", FieldSpec("amount", "money", ("金额", "Amount")), "zh-CN", LOOKUP, required=False)]
    buf = io.BytesIO()
    with sheets.writer(buf, "xlsx", "客户") as w:
        w.header(cols)
        w.row(["华为", "138****5678", None, "重点客户", "是", None, "李娜", "李娜", datetime(2026, 1, 1, 8, 30), None, Decimal("1234.50")])
        w.row(["=1+1", None, None, None, None, None, None, None, None, None, None])
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws.title == "客户"
    assert ws["A1"].value == "名称"
    assert ws["I2"].value == datetime(2026, 1, 1, 8, 30) and ws["I2"].is_date
    assert ws["K2"].value == 1234.5 and ws["K2"].number_format == "#,##0.00"
    assert ws["A3"].value == "=1+1" and ws["A3"].data_type == "s"
    rows = list(sheets.read_rows(io.BytesIO(buf.getvalue()), "xlsx"))
    assert rows[1][0] == "华为" and rows[1][8] == datetime(2026, 1, 1, 8, 30)
    assert rows[2] == ["=1+1"]


def test_an_xlsx_template_marks_required_columns_and_offers_the_allowed_values():
    from openpyxl import load_workbook

    cols = tcols.columns(DEF, principal({"mobile": FieldAccess.READ, "secret": FieldAccess.HIDDEN}), "import", "zh-CN", lookup=LOOKUP)
    buf = io.BytesIO()
    with sheets.writer(buf, "xlsx", "小工具") as w:
        w.header(cols, required_mark=True, notes=True)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    ws = wb["小工具"]
    assert [c.value for c in ws[1]] == ["*名称", "级别", "负责人"]
    assert "必填" in ws["A1"].comment.text
    assert "重点客户" in ws["B1"].comment.text
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1 and str(dvs[0].sqref).startswith("B2")
    choices = wb[sheets.CHOICES_SHEET]
    assert choices.sheet_state == "hidden"
    assert [r[0].value for r in choices.iter_rows()] == ["重点客户", "普通客户"]


def test_a_broken_xlsx_is_a_format_error():
    with pytest.raises(sheets.FormatError):
        list(sheets.read_rows(io.BytesIO(b"not a zip"), "xlsx"))
