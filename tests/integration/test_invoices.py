"""Invoices (发票, SALES-12) through the API, approvals on real Step Functions executions: requests
against approved contracts (专票 details, tax number format, never past the contract amount — also
twelve at once), approval, issue by a role with the `issue` action (number unique in the tenant), void
giving the amount back, delete and restore, data scope and tenant isolation."""
from __future__ import annotations

import itertools
import json
import threading
from urllib.parse import quote

_n = itertools.count(1)
SPECIAL = {"invoice_type": "special", "tax_number": "91440300MA5F0XXX1Q", "bank": "招商银行深圳分行", "bank_account": "755912345610001",
           "registered_address": "深圳市龙岗区坂田街道", "registered_phone": "0755-28780808"}


def _flows(api, team) -> None:
    for business in ("contract", "invoice"):
        r = api.call("POST", "/v1/approval-flows", team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
        assert r.status_code == 201, r.data


def _approved_contract(api, team, amount: float = 10000, customer: str | None = None) -> dict:
    t = team["tokens"]
    customer = customer or api.call("POST", "/v1/customers", t["rep1"], {"name": f"开票客户{next(_n)}"}).data["id"]
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": f"开票合同{next(_n)}", "customer": customer, "amount": amount}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    return api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data


def _invoice(api, token: str, contract_id: str, amount: float, status: int = 201, headers: dict | None = None, **fields) -> dict:
    r = api.call("POST", "/v1/invoices", token, {"contract": contract_id, "amount": amount, "content": "软件服务费", **fields},
                 headers=headers)
    assert r.status_code == status, r.data
    return r.data


def _invoiced(api, token: str, contract_id: str):
    return api.call("GET", f"/v1/contracts/{contract_id}", token).data.get("invoiced_amount")


def _version(api, t, contract: dict) -> int:
    return api.call("GET", f"/v1/contracts/{contract['id']}", t["rep1"]).data["version"]  # each request stamps it


def _approve(api, team, invoice: dict) -> dict:
    t = team["tokens"]
    iid = api.call("POST", f"/v1/invoices/{invoice['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    got = api.call("GET", f"/v1/invoices/{invoice['id']}", t["rep1"]).data
    assert got["approval_status"] == "approved", got
    return got


def _finance(api, team) -> str:
    """财务 with the built-in 系统管理员 role (`admin`), which holds the `issue` action."""
    r = api.call("POST", "/v1/org/users", team["admin"], {"name": "吴财务", "mobile": "13900000009", "department_id": team["root"],
                                                          "role_ids": ["admin"], "password": "Passw0rd!2026"})
    assert r.status_code == 201, r.data
    return api.call("POST", "/v1/auth/login", body={"tenant_id": team["id"], "mobile": "13900000009",
                                                   "password": "Passw0rd!2026"}).data["id_token"]


def test_given_an_approved_contract_when_invoices_are_requested_then_details_are_checked_and_the_amount_reserved(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    customer = api.call("POST", "/v1/customers", t["rep1"], {"name": "深圳鹏城软件有限公司"}).data["id"]
    draft = api.call("POST", "/v1/contracts", t["rep1"], {"name": "未审合同", "customer": customer, "amount": 100}).data
    refused = _invoice(api, t["rep1"], draft["id"], 10, status=422)  # not approved yet
    assert refused["details"][0]["field"] == "contract"
    c = _approved_contract(api, sales_team, customer=customer)
    assert _invoiced(api, t["rep1"], c["id"]) is None

    missing = _invoice(api, t["rep1"], c["id"], 100, status=422, invoice_type="special")
    assert {d["field"] for d in missing["details"]} == {"tax_number", "bank", "bank_account", "registered_address", "registered_phone"}
    en = _invoice(api, t["rep1"], c["id"], 100, status=422, headers={"Accept-Language": "en"}, invoice_type="special")
    assert any("Taxpayer ID" in d["message"] for d in en["details"])
    bad = _invoice(api, t["rep1"], c["id"], 100, status=422, **{**SPECIAL, "tax_number": "1234567890"})
    assert [d["field"] for d in bad["details"]] == ["tax_number"] and "15" in bad["details"][0]["message"]
    assert _invoice(api, t["rep1"], c["id"], 0, status=422)["details"][0]["field"] == "amount"
    assert _invoice(api, t["rep1"], c["id"], 1, status=422, customer=customer)["details"][0]["type"] == "read_only"

    first = _invoice(api, t["rep1"], c["id"], 4000)
    assert first["number"].startswith("FP") and first["invoice_status"] == "requested" and first["approval_status"] == "none"
    assert first["title"] == "深圳鹏城软件有限公司" and first["customer"]["id"] == customer  # from the contract's customer
    second = _invoice(api, t["rep1"], c["id"], 3000, **{**SPECIAL, "tax_number": "91440300ma5f0xxx1q"})
    assert second["tax_number"] == "91440300MA5F0XXX1Q" and second["invoice_type"] == "special"
    assert _invoiced(api, t["rep1"], c["id"]) == 7000
    over = _invoice(api, t["rep1"], c["id"], 3000.01, status=422)
    assert over["code"] == "INVOICE_OVER_CONTRACT" and "3000" in over["message"] and over["details"][0]["field"] == "amount"
    edit = api.call("PATCH", f"/v1/invoices/{first['id']}", t["rep1"], {"amount": 3500, "version": first["version"]})
    assert edit.status_code == 200, edit.data
    assert _invoiced(api, t["rep1"], c["id"]) == 6500
    too_much = api.call("PATCH", f"/v1/invoices/{first['id']}", t["rep1"], {"amount": 7001, "version": edit.data["version"]})
    assert too_much.status_code == 422 and too_much.data["code"] == "INVOICE_OVER_CONTRACT"

    related = api.call("GET", f"/v1/contracts/{c['id']}/related", t["rep1"]).data["related"]["invoice"]
    assert sorted(i["id"] for i in related) == sorted([first["id"], second["id"]])
    timeline = api.call("GET", f"/v1/contracts/{c['id']}/timeline", t["rep1"]).data["items"]
    assert {i["id"] for i in timeline if i["kind"] == "record" and i["type"] == "invoice"} == {first["id"], second["id"]}
    query = quote(json.dumps([{"field": "customer", "op": "eq", "value": customer}]))
    of_customer = api.call("GET", f"/v1/invoices?filters={query}", t["rep1"])  # the customer's invoices
    assert of_customer.status_code == 200, of_customer.data
    assert {i["id"] for i in of_customer.data["items"]} == {first["id"], second["id"]}


def test_given_a_request_when_approved_issued_and_voided_then_the_contract_amount_follows(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    finance = _finance(api, sales_team)
    c = _approved_contract(api, sales_team, amount=10000)
    first = _approve(api, sales_team, _invoice(api, t["rep1"], c["id"], 6000))
    assert first["invoice_status"] == "requested"
    edit = api.call("PATCH", f"/v1/invoices/{first['id']}", t["rep1"], {"amount": 1, "version": first["version"]})
    assert edit.status_code == 422 and edit.data["code"] == "INVALID_STATE"  # approved: void it instead
    gone = api.call("DELETE", f"/v1/invoices/{first['id']}", t["manager"], headers={"If-Match": f'"{first["version"]}"'})
    assert gone.status_code == 422 and gone.data["code"] == "INVALID_STATE"

    body = {"invoice_number": "44031234", "invoice_date": "2026-12-05", "version": first["version"]}
    assert api.call("POST", f"/v1/invoices/{first['id']}/issue", t["rep1"], body).status_code == 403  # a rep does not issue
    assert api.call("POST", f"/v1/invoices/{first['id']}/issue", t["manager"], body).status_code == 403
    issued = api.call("POST", f"/v1/invoices/{first['id']}/issue", finance, body)
    assert issued.status_code == 200, issued.data
    assert (issued.data["invoice_status"], issued.data["invoice_number"], issued.data["invoice_date"]) == ("issued", "44031234", "2026-12-05")
    assert issued.data["issued_by"] and issued.data["issued_at"]
    again = api.call("POST", f"/v1/invoices/{first['id']}/issue", finance, {**body, "version": issued.data["version"]})
    assert again.status_code == 422 and again.data["code"] == "INVALID_STATE"

    draft = _invoice(api, t["rep1"], c["id"], 1000)
    early = api.call("POST", f"/v1/invoices/{draft['id']}/issue", finance, {**body, "invoice_number": "44039999", "version": draft["version"]})
    assert early.status_code == 422 and early.data["code"] == "INVALID_STATE"  # not approved yet
    second = _approve(api, sales_team, draft)
    same = api.call("POST", f"/v1/invoices/{second['id']}/issue", finance, {**body, "version": second["version"]})
    assert same.status_code == 422 and same.data["details"][0]["field"] == "invoice_number"  # unique in the tenant
    assert _invoiced(api, t["rep1"], c["id"]) == 7000

    third = _invoice(api, t["rep1"], c["id"], 3000)
    iid = api.call("POST", f"/v1/invoices/{third['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/reject", t["manager"], {"comment": "抬头有误"}).status_code == 200
    assert _invoiced(api, t["rep1"], c["id"]) == 7000  # a rejected request reserves nothing

    issued_now = api.call("GET", f"/v1/invoices/{first['id']}", t["rep1"]).data
    void = {"reason": "客户信息有误，红冲", "version": issued_now["version"]}
    assert api.call("POST", f"/v1/invoices/{first['id']}/void", t["rep1"], void).status_code == 403  # the issuer role only
    voided = api.call("POST", f"/v1/invoices/{first['id']}/void", finance, void)
    assert voided.status_code == 200, voided.data
    assert (voided.data["invoice_status"], voided.data["void_reason"]) == ("voided", "客户信息有误，红冲")
    assert _invoiced(api, t["rep1"], c["id"]) == 1000
    twice = api.call("POST", f"/v1/invoices/{first['id']}/void", finance, {**void, "version": voided.data["version"]})
    assert twice.status_code == 422
    cancel = api.call("POST", f"/v1/invoices/{second['id']}/void", t["rep1"], {"reason": "客户取消", "version": second["version"]})
    assert cancel.status_code == 200, cancel.data  # an approved request not issued yet: its owner may void it
    assert _invoiced(api, t["rep1"], c["id"]) == 0
    log = [e["action"] for e in api.call("GET", f"/v1/records/invoice/{first['id']}/logs", t["rep1"]).data["items"]]
    assert "issue" in log and "void" in log
    contract_log = [e["action"] for e in api.call("GET", f"/v1/records/contract/{c['id']}/logs", t["rep1"]).data["items"]]
    assert {"invoice", "invoice_rejected", "invoice_voided"} <= set(contract_log)


def test_given_a_draft_request_when_deleted_and_restored_then_its_amount_goes_and_comes_back(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    c = _approved_contract(api, sales_team, amount=5000)
    draft = _invoice(api, t["rep1"], c["id"], 4000)
    r = api.call("DELETE", f"/v1/invoices/{draft['id']}", t["manager"], headers={"If-Match": f'"{draft["version"]}"'})
    assert r.status_code == 204, r.data
    assert _invoiced(api, t["rep1"], c["id"]) == 0
    _invoice(api, t["rep1"], c["id"], 2000)
    refused = api.call("POST", f"/v1/recycle-bin/invoice/{draft['id']}/restore", sales_team["admin"])
    assert refused.status_code == 422 and refused.data["code"] == "INVOICE_OVER_CONTRACT"  # 2000 + 4000 > 5000
    assert api.call("GET", f"/v1/invoices/{draft['id']}", t["rep1"]).status_code == 404  # still in the bin
    assert _invoiced(api, t["rep1"], c["id"]) == 2000


def test_given_roles_and_tenants_when_invoices_are_read_then_scope_and_isolation_hold(api, sales_team, make_tenant):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    c = _approved_contract(api, sales_team)
    inv = _invoice(api, t["rep1"], c["id"], 100)
    assert api.call("GET", f"/v1/invoices/{inv['id']}", t["rep2"]).status_code == 404  # another rep's
    assert api.call("GET", f"/v1/invoices/{inv['id']}", t["manager"]).status_code == 200  # her manager's
    assert api.call("POST", "/v1/invoices", t["agent"], {"contract": c["id"], "amount": 1}).status_code == 403
    other = make_tenant(mobile="13800000077")
    assert api.call("GET", f"/v1/invoices/{inv['id']}", other["admin"]).status_code == 404
    assert api.call("GET", "/v1/invoices", other["admin"]).data["items"] == []
    assert api.call("POST", "/v1/invoices", other["admin"], {"contract": c["id"], "amount": 1}).status_code == 422  # no such contract

    moved = api.call("POST", f"/v1/contracts/{c['id']}/transfer", t["manager"], {"to_user_id": sales_team["rep2"],
                                                                                "keep_previous_owner_as": "none", "version": _version(api, t, c)})
    assert moved.status_code == 200, moved.data
    assert api.call("GET", f"/v1/invoices/{inv['id']}", t["rep2"]).data["owner_id"] == sales_team["rep2"]  # the cascade


def test_given_twelve_requests_at_once_when_made_then_the_contract_is_never_invoiced_past_its_amount(api, sales_team):
    from chalicelib.core import context
    from chalicelib.core.errors import DomainError
    from chalicelib.engine import service as engine
    from chalicelib.invoices.entity import INVOICE

    _flows(api, sales_team)
    c = _approved_contract(api, sales_team, amount=10000)
    results: list[object] = []
    barrier = threading.Barrier(12)

    def request() -> None:
        with context.acting_as(context.RequestContext(tenant_id=sales_team["id"], user_id=sales_team["rep1"])):
            barrier.wait()
            try:
                results.append(engine.create(INVOICE, {"contract": c["id"], "amount": 1000}, None)["id"])
            except DomainError as e:
                results.append(e.code)

    threads = [threading.Thread(target=request) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    made = [r for r in results if isinstance(r, str) and len(r) == 26]
    refused = [r for r in results if r not in made]
    assert 1 <= len(made) <= 10 and set(refused) <= {"INVOICE_OVER_CONTRACT", "VERSION_CONFLICT"}, results
    assert _invoiced(api, sales_team["tokens"]["rep1"], c["id"]) == 1000 * len(made)  # exactly its requests
    listed = api.call("GET", f"/v1/contracts/{c['id']}/related", sales_team["tokens"]["rep1"]).data["related"]["invoice"]
    assert sorted(i["id"] for i in listed) == sorted(made)
