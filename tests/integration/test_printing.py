"""Printing (打印, UX-2) through the API: a record as a PDF laid out by the tenant's print template —
the company header, labelled fields in the caller's language, the product lines and totals, terms —
with a subset of the CJK font embedded; field rules, data scope and tenants respected; every print in
the operation log; templates validated.

The sales team (conftest.py): 王经理 manager over reps 李娜 (rep1) and 张伟 (rep2); 赵客服 service agent."""
from __future__ import annotations

import io
import itertools
import re

import pytest
from pypdf import PdfReader

_n = itertools.count(1)
PDF = {"Accept": "application/pdf"}
COMPANY = "华夏智联科技有限公司"


def _text(body: bytes) -> str:
    """Every page's text without whitespace (pypdf's extraction spaces CJK glyphs apart with blanks and NULs)."""
    reader = PdfReader(io.BytesIO(body))
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def _fonts(body: bytes) -> list[dict]:
    """Each font of each page: its name and the keys of its descriptor (FontFile2/3 = embedded)."""
    out = []
    for page in PdfReader(io.BytesIO(body)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptors = [d.get_object()["/FontDescriptor"].get_object() for d in font.get("/DescendantFonts", [])]
            if "/FontDescriptor" in font:
                descriptors.append(font["/FontDescriptor"].get_object())
            out.append({"subtype": str(font["/Subtype"]), "name": str(font["/BaseFont"]),
                        "embedded": [k for d in descriptors for k in d if k.startswith("/FontFile")]})
    return out


def _product(api, admin: str) -> dict:
    r = api.call("POST", "/v1/products", admin, {"name": "云服务器年包", "sku": f"ECS-{next(_n)}", "price": 1000, "unit": "year",
                                                "price_tiers": [{"min_quantity": 10, "unit_price": 900}]})
    assert r.status_code == 201, r.data
    return r.data


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"深圳前海云帆科技有限公司{next(_n)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _contract(api, token: str, customer_id: str, **fields) -> dict:
    r = api.call("POST", "/v1/contracts", token, {"name": f"云服务采购合同{next(_n)}", "customer": customer_id,
                                                 "sign_date": "2026-11-20", "start_date": "2027-01-01", "end_date": "2027-12-31",
                                                 **fields})
    assert r.status_code == 201, r.data
    return r.data


def _template(api, admin: str, entity: str = "contract", **body) -> dict:
    r = api.call("PUT", f"/v1/print-templates/{entity}", admin, {
        "company_name": COMPANY, "company_address": "深圳市南山区科技园科苑路 88 号", "company_phone": "0755-8888 6666",
        "title": "销售合同", "footer": "本合同一式两份，双方各执一份，自双方签字盖章之日起生效。",
        "fields": ["number", "name", "customer", "company_signer", "sign_date", "start_date", "end_date", "payment_terms", "owner_id"],
        **body})
    assert r.status_code == 200, r.data
    return r.data


def _print(api, token: str, path: str, headers: dict | None = None):
    return api.call("GET", path, token, headers={**PDF, **(headers or {})})


def test_given_a_contract_with_lines_when_printed_then_the_pdf_has_the_header_the_fields_the_lines_and_an_embedded_font_subset(
        api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    _template(api, admin)
    product = _product(api, admin)
    customer = _customer(api, rep)
    c = _contract(api, rep, customer["id"], discount_rate=5, payment_terms="签约后五个工作日内支付全款", company_signer=sales_team["rep1"],
                  lines=[{"product": product["id"], "quantity": 12, "discount": 2}])

    r = _print(api, rep, f"/v1/contracts/{c['id']}/pdf")

    assert r.status_code == 200, r.data
    assert r.headers["Content-Type"] == "application/pdf" and r.body.startswith(b"%PDF-")
    assert f"{c['number']}.pdf" in r.headers["Content-Disposition"]
    text = _text(r.body)
    # the company header, the title and the fields with their labels and values as people write them
    for expected in (COMPANY, "深圳市南山区科技园科苑路88号", "0755-88886666", "销售合同", c["number"], customer["name"], "客户",
                     "签约日期", "2026年11月20日", "2027年12月31日", "签约后五个工作日内支付全款", "负责人", "李娜", "公司签约人"):
        assert expected in text, expected
    # the product line (tier price 900, its own 2 % off → 882 × 12) and the totals with two decimals and separators
    for expected in ("产品明细", "云服务器年包", "年", "¥900.00", "12", "2%", "¥10,584.00", "产品合计", "整单折扣", "5%", "合同金额",
                     "¥10,054.80"):
        assert expected in text, expected
    assert "本合同一式两份" in text and "第1页，共1页" in text and "打印：李娜" in text
    # the CJK font is embedded as a subset (ABCDEF+NotoSansSC), never referenced without its file
    fonts = _fonts(r.body)
    assert fonts and all(f["embedded"] for f in fonts), fonts
    assert any(re.fullmatch(r"/[A-Z]{6}\+NotoSansSC.*", f["name"]) for f in fonts), fonts
    assert len(r.body) < 200_000  # a subset: the whole font is 8 MB
    # and the print is in the contract's operation log
    log = api.call("GET", f"/v1/records/contract/{c['id']}/logs", rep).data["items"]
    assert [(e["action"], e["actor_id"], e["note"]) for e in log if e["action"] == "print"] == [("print", sales_team["rep1"], "销售合同")]


def test_given_an_english_caller_when_printing_then_labels_and_page_texts_are_english(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    product = _product(api, admin)
    c = _contract(api, rep, _customer(api, rep)["id"], lines=[{"product": product["id"], "quantity": 1}])

    r = _print(api, rep, f"/v1/contracts/{c['id']}/pdf", {"Accept-Language": "en"})

    assert r.status_code == 200, r.data
    text = _text(r.body)
    # no template saved: the contract's default one, the tenant's name in the header
    for expected in ("Contract", "Number", "Customer", "Signedon", "2026-11-20", "Products", "Product", "Unit", "Price", "Quantity",
                     "Subtotal", "¥1,000.00", "Amount", "Owner", "Page1of1", f"{sales_team['id']}有限公司"):
        assert expected in text, expected
    assert "合同金额" not in text and "产品明细" not in text


def test_given_fields_the_role_may_not_read_when_printing_then_they_are_not_printed(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "合同打印员", "actions": {"contracts": ["list", "read", "print"], "customers": ["list", "read"]},
        "scopes": {"contracts": "all", "customers": "all"},
        "fields": {"contracts": {"payment_terms": "hidden", "amount": "hidden", "remark": "masked"}}})
    assert role.status_code == 201, role.data
    assert api.call("POST", "/v1/org/users", admin, {"name": "打印员", "mobile": "13700009001", "department_id": sales_team["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"}).status_code == 201
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13700009001",
                                                      "password": "Passw0rd!2026"}).data["id_token"]
    _template(api, admin, fields=["number", "name", "amount", "payment_terms", "remark", "customer"])
    rep = sales_team["tokens"]["rep1"]
    c = _contract(api, rep, _customer(api, rep)["id"], amount=123456.78, payment_terms="预付百分之三十尾款验收后付清",
                  remark="客户要求开具增值税专用发票")

    shown = _text(_print(api, token, f"/v1/contracts/{c['id']}/pdf").body)
    full = _text(_print(api, admin, f"/v1/contracts/{c['id']}/pdf").body)

    assert "123,456.78" in full and "预付百分之三十" in full and "客户要求开具增值税专用发票" in full  # the admin sees all
    for hidden in ("123,456.78", "合同金额", "预付百分之三十", "付款方式", "客户要求开具增值税专用发票"):
        assert hidden not in shown, hidden
    assert "备注" in shown and "客户要****专用发票" in shown  # masked, as on screen
    assert c["name"] in shown and c["number"] in shown


def test_given_callers_outside_the_record_or_without_print_when_printing_then_404_403_and_406(api, sales_team, make_tenant):
    t = sales_team["tokens"]
    c = _contract(api, t["rep1"], _customer(api, t["rep1"])["id"], amount=1000)
    path = f"/v1/contracts/{c['id']}/pdf"
    other = make_tenant()

    assert _print(api, t["rep2"], path).status_code == 404  # another rep's contract: outside the data scope
    assert _print(api, other["admin"], path).status_code == 404  # another tenant
    assert _print(api, t["agent"], path).data["code"] == "FORBIDDEN"  # service agents may read, not print
    assert _print(api, t["manager"], path).status_code == 200  # the rep's manager (本人及下属)
    assert _print(api, t["rep1"], "/v1/contracts/nope/pdf").status_code == 404
    # a PDF goes only to a request that accepts one
    for accept in ("application/json", "text/html, application/pdf;q=0"):
        refused = api.call("GET", path, t["rep1"], headers={"Accept": accept})
        assert refused.status_code == 406 and refused.data["code"] == "NOT_ACCEPTABLE", refused.data
        assert "Accept: application/pdf" in refused.data["message"]
    assert api.call("GET", path, t["rep1"]).status_code == 406  # no Accept at all
    assert _print(api, t["rep1"], path, {"Accept": "*/*"}).status_code == 200
    log = api.call("GET", f"/v1/records/contract/{c['id']}/logs", t["rep1"]).data["items"]
    assert sum(e["action"] == "print" for e in log) == 2  # the refused ones printed nothing


def test_given_a_customer_when_printed_with_the_default_template_then_it_prints_its_own_fields(api, sales_team):
    manager = sales_team["tokens"]["manager"]
    parent = _customer(api, manager, name="华为技术有限公司")
    cust = _customer(api, manager, name="华为技术有限公司深圳分公司", mobile="13912345678", credit_limit=5000000,
                     parent_customer=parent["id"], tags=["重点", "华南"], remark="年度框架客户")

    r = _print(api, manager, f"/v1/customers/{cust['id']}/pdf")

    assert r.status_code == 200, r.data
    text = _text(r.body)
    for expected in ("客户", "华为技术有限公司深圳分公司", "客户名称", "手机", "13912345678", "信用额度", "¥5,000,000.00", "上级客户",
                     "华为技术有限公司", "重点、华南", "年度框架客户", "王经理"):
        assert expected in text, expected
    assert "产品明细" not in text


def test_given_a_customer_due_to_enter_a_pool_when_printed_then_the_pool_is_printed_by_name(api, sales_team):
    admin = sales_team["admin"]
    pool = api.call("POST", "/v1/pools", admin, {"name": "华南公海", "admin_ids": [sales_team["manager"]],
                                                  "member_department_ids": [sales_team["sales"]],
                                                  "rules": [{"kind": "no_followup", "days": 10}]}).data
    cust = _customer(api, sales_team["tokens"]["rep1"])
    assert cust["pool_due_pool"] == pool["id"]
    _template(api, admin, "customer", title="客户资料", fields=["name", "pool_due_pool", "owner_id"])

    text = _text(_print(api, admin, f"/v1/customers/{cust['id']}/pdf").body)

    assert "将进入的公海" in text and "华南公海" in text and pool["id"] not in text


def test_given_template_routes_when_used_then_defaults_validation_versions_and_permissions_hold(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    default = api.call("GET", "/v1/print-templates/contract", admin)
    assert default.status_code == 200 and default.data["default"] is True and default.data["version"] == 0
    fields = default.data["fields"]
    assert fields[0] == "number" and "customer" in fields and fields[-1] == "owner_id"
    assert not {"lines", "lines_total", "approval_id", "reserved_amount"} & set(fields)
    assert {"key": "lines_total", "label": "产品合计"} in default.data["available_fields"]

    bad = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["name", "no_such", "name", "lines"]},
                   headers={"Accept-Language": "en"})
    assert bad.status_code == 422, bad.data
    assert [(d["field"], d["type"]) for d in bad.data["details"]] == [("fields.1", "unknown"), ("fields.2", "duplicate"),
                                                                      ("fields.3", "unknown")]
    assert bad.data["details"][0]["message"] == "Contract has no printable field 'no_such'"
    zh = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["no_such"]})
    assert zh.data["details"][0]["message"] == "合同没有可打印的字段「no_such」"
    assert api.call("PUT", "/v1/print-templates/contract", admin, {"fields": []}).data["details"][0]["field"] == "fields"
    extra = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["name"], "colour": "red"})
    assert extra.status_code == 422 and extra.data["details"][0]["field"] == "colour"

    saved = _template(api, admin)
    assert saved["default"] is False and saved["version"] == 1 and saved["company_name"] == COMPANY
    again = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["name"]})
    assert again.status_code == 428  # the second save names the version it read
    stale = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["name"], "version": 7})
    assert stale.status_code == 409
    ok = api.call("PUT", "/v1/print-templates/contract", admin, {"fields": ["name"]}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.data["fields"] == ["name"] and ok.data["company_name"] is None

    assert api.call("GET", "/v1/print-templates/contract", rep).status_code == 403
    assert api.call("PUT", "/v1/print-templates/contract", rep, {"fields": ["name"]}).status_code == 403
    assert api.call("GET", "/v1/print-templates/lead", admin).status_code == 404  # leads have no print action
    assert api.call("GET", "/v1/print-templates/customer", admin).data["default"] is True


@pytest.mark.parametrize("entity", ["contract", "customer"])
def test_given_another_tenants_template_when_read_then_each_tenant_sees_only_its_own(api, make_tenant, entity):
    a, b = make_tenant(), make_tenant()
    _template(api, a["admin"], entity, fields=["name"], company_name="甲方公司")
    assert api.call("GET", f"/v1/print-templates/{entity}", a["admin"]).data["company_name"] == "甲方公司"
    theirs = api.call("GET", f"/v1/print-templates/{entity}", b["admin"]).data
    assert theirs["default"] is True and theirs["company_name"] is None


def test_given_a_quote_when_printed_then_the_record_type_prints_through_the_same_engine_route(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    product = _product(api, admin)
    q = api.call("POST", "/v1/quotes", rep, {"name": "云服务器报价", "customer": _customer(api, rep)["id"], "valid_until": "2099-12-31",
                                            "discount_rate": 10, "terms": "报价含税，有效期内有效",
                                            "lines": [{"product": product["id"], "quantity": 2}]})
    assert q.status_code == 201, q.data

    r = _print(api, rep, f"/v1/quotes/{q.data['id']}/pdf")

    assert r.status_code == 200, r.data
    text = _text(r.body)
    for expected in ("报价单", q.data["number"], "有效期至", "2099年12月31日", "报价含税", "云服务器年包", "¥2,000.00", "整单折扣", "10%",
                     "报价金额", "¥1,800.00"):
        assert expected in text, expected
