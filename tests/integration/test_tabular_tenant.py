"""Spreadsheet columns against a real tenant (moto): dictionary names, custom fields, users by name,
field rules of a built-in role, and the import template of a standard record type."""
from __future__ import annotations

import io

from chalicelib.core.permissions import Principal
from chalicelib.engine import registry
from chalicelib.org import service as org
from chalicelib.tabular import columns as tcols
from chalicelib.tabular import sheets


def _principal(tenant: str, user: str) -> Principal:
    return Principal(tenant, user, org.load(tenant, fresh=True).snapshot)


def test_customer_columns_name_codes_users_and_custom_fields_in_the_callers_language(api, sales_team):
    admin = sales_team["admin"]
    r = api.call("POST", "/v1/fields/customer", admin, {"key": "tier", "label": "合作等级", "field_type": "select",
                                                        "options": [{"code": "gold", "label": "金牌", "label_en": "Gold"}]})
    assert r.status_code == 201, r.data
    d = registry.find("customer")
    p = _principal(sales_team["id"], sales_team["admin_id"])
    zh = {c.key: c for c in tcols.columns(d, p, "export", "zh-CN")}
    en = {c.key: c for c in tcols.columns(d, p, "export", "en")}
    assert zh["industry"].show("retail") == "零售" and en["industry"].show("retail") == "Retail"
    assert zh["custom.tier"].show("gold") == "金牌" and en["custom.tier"].show("gold") == "Gold"
    assert zh["owner_id"].show(sales_team["rep1"]) == "李娜"
    lookup = tcols.Lookup(p)
    imp = {c.key: c for c in tcols.columns(d, p, "import", "zh-CN", lookup=lookup)}
    assert "locked" not in imp and "pool" not in imp  # read-only and derived fields are not imported
    assert tcols.parse(imp["industry"], "制造业", lookup) == "manufacturing"
    assert tcols.parse(imp["custom.tier"], "Gold", lookup) == "gold"
    assert tcols.parse(imp["owner_id"], "张伟", lookup) == sales_team["rep2"]
    assert tcols.parse(imp["owner_id"], "13900000002", lookup) == sales_team["rep1"]


def test_a_service_agent_gets_the_mobile_masked_and_no_credit_limit(api, sales_team):
    d = registry.find("customer")
    cols = {c.key: c for c in tcols.columns(d, _principal(sales_team["id"], sales_team["agent"]), "export", "zh-CN")}
    assert "credit_limit" not in cols
    assert cols["mobile"].masked and cols["mobile"].show("13812345678") == "138****5678"


def test_the_customer_import_template_in_english(api, sales_team):
    from openpyxl import load_workbook

    d = registry.find("customer")
    data = sheets.template(d, _principal(sales_team["id"], sales_team["admin_id"]), "xlsx", "en")
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Customer"]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "*Name" and "Industry" in headers and "Owner" in headers
    industry = ws.cell(1, headers.index("Industry") + 1)
    assert "Manufacturing" in industry.comment.text
    csv_data = sheets.template(d, _principal(sales_team["id"], sales_team["admin_id"]), "csv", "zh-CN")
    assert csv_data.startswith(b"\xef\xbb\xbf*\xe5\xae\xa2\xe6\x88\xb7\xe5\x90\x8d\xe7\xa7\xb0")  # BOM, *客户名称
