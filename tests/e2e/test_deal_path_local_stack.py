"""The whole deal, over HTTP against the local stack (`make dev`), as a new company would run it:
lead → customer (with an opportunity) → product lines and stages → quote (its PDF) → contract
(approved in a real Step Functions execution) → payment plan → payment (approved) → invoice
(approved, issued) → the dashboard's figures, funnel and trend (the PNG too) follow.

A tenant of its own (created through the platform API), so the demo company stays as the README
walkthroughs describe it: an administrator (finance), a sales manager and a rep reporting to them."""
from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.conftest import Stack

TENANT, PASSWORD = "dealpath", "Deal@2026!safe"
ADMIN, MANAGER, REP = "13900000101", "13900000102", "13900000103"


def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


def _company(stack: Stack) -> dict[str, str]:
    _ok(stack.call("POST", "/v1/platform/tenants", stack.platform_token(), {
        "id": TENANT, "name": "一路成交科技", "admin_name": "财务刘", "admin_mobile": ADMIN, "admin_password": PASSWORD}), 201)
    admin = stack.login(ADMIN, tenant=TENANT, password=PASSWORD)
    root = _ok(stack.call("GET", "/v1/org/departments", admin))["items"][0]["id"]
    manager = _ok(stack.call("POST", "/v1/org/users", admin, {"name": "王经理", "mobile": MANAGER, "department_id": root,
                                                             "role_ids": ["sales_manager"], "password": PASSWORD}), 201)
    _ok(stack.call("POST", "/v1/org/users", admin, {"name": "李销售", "mobile": REP, "department_id": root, "role_ids": ["sales_rep"],
                                                   "supervisor_id": manager["id"], "password": PASSWORD}), 201)
    for business in ("quote", "contract", "payment", "invoice"):
        _ok(stack.call("POST", "/v1/approval-flows", admin, {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]}), 201)
    return {"admin": admin, "manager": stack.login(MANAGER, tenant=TENANT, password=PASSWORD),
            "rep": stack.login(REP, tenant=TENANT, password=PASSWORD)}


def _approve_from_inbox(stack: Stack, manager: str, submitted: dict) -> None:
    """The manager finds the submitted request in the inbox and approves it (the execution moves on its own tick)."""
    iid = submitted["approval_id"]
    item = stack.eventually(lambda: next((i for i in _ok(stack.call("GET", "/v1/approvals?box=pending&limit=100", manager))["items"]
                                          if i["instance_id"] == iid), None))
    assert item, f"{iid} is not in the manager's inbox"
    _ok(stack.call("POST", f"/v1/approvals/{iid}/approve", manager, {"comment": "同意"}))


def _approved(stack: Stack, token: str, path: str) -> dict:
    got = stack.eventually(lambda: (lambda r: r if r.get("approval_status") == "approved" else None)(_ok(stack.call("GET", path, token))))
    assert got, path
    return got


def test_given_a_new_company_when_a_lead_becomes_a_paid_and_invoiced_contract_then_every_step_and_the_dashboard_follow(stack):
    from pypdf import PdfReader

    t = _company(stack)
    rep, manager, admin = t["rep"], t["manager"], t["admin"]
    product = _ok(stack.call("POST", "/v1/products", admin, {"name": "CRM 专业版（年）", "sku": "PRO-Y", "price": 30000,
                                                            "unit": "year"}), 201)
    before = _ok(stack.call("GET", "/v1/dashboard?scope=self&range=month", rep))
    funnel_png = stack.call("GET", "/v1/dashboard/funnel/png?scope=self", rep, headers={"Accept": "image/png"})
    assert funnel_png.status_code == 200 and funnel_png.content[:4] == b"\x89PNG"

    # lead → customer, contact and opportunity in one conversion
    lead = _ok(stack.call("POST", "/v1/leads", rep, {"name": "陈总", "company": "星河零售有限公司", "mobile": "13712345678"}), 201)
    converted = _ok(stack.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {"opportunity": {"name": "星河门店 CRM"}}))
    customer_id = converted["customer_id"]
    opp = stack.eventually(lambda: next(iter(_ok(stack.call("GET", "/v1/opportunities?q=星河门店", rep))["items"]), None))
    assert opp and opp["customer"]["id"] == customer_id
    opp = _ok(stack.call("PATCH", f"/v1/opportunities/{opp['id']}", rep, {"lines": [{"product": product["id"], "quantity": 2}],
                                                                          "version": opp["version"]}))
    assert opp["amount"] == 60000
    opp = _ok(stack.call("POST", f"/v1/opportunities/{opp['id']}/stage", rep, {"stage_id": "proposal", "version": opp["version"]}))

    # quote from the opportunity (no discount: sent without approval), its PDF, accepted, converted
    quote = _ok(stack.call("POST", "/v1/quotes", rep, {"name": "星河门店 CRM 报价", "customer": customer_id, "opportunity": opp["id"],
                                                      "valid_until": "2099-12-31", "terms": "款到开通"}), 201)
    assert (quote["amount"], quote["discount"]) == (60000, 0)
    pdf = stack.call("GET", f"/v1/quotes/{quote['id']}/pdf", rep, headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "星河零售有限公司" in text and "CRM专业版（年）" in text
    quote = _ok(stack.call("POST", f"/v1/quotes/{quote['id']}/send", rep, {"version": quote["version"]}))
    quote = _ok(stack.call("POST", f"/v1/quotes/{quote['id']}/accept", rep, {"note": "客户确认", "version": quote["version"]}))
    done = _ok(stack.call("POST", f"/v1/quotes/{quote['id']}/convert", rep, {"name": "星河门店 CRM 合同", "start_date": "2027-01-01",
                                                                            "end_date": "2027-12-31", "version": quote["version"]}), 201)
    contract = done["contract"]

    # the contract, approved by the manager from the inbox in a real execution; the customer becomes a deal
    _approve_from_inbox(stack, manager, _ok(stack.call("POST", f"/v1/contracts/{contract['id']}/submit", rep, {"comment": "请审批"})))
    contract = _approved(stack, rep, f"/v1/contracts/{contract['id']}")
    assert _ok(stack.call("GET", f"/v1/customers/{customer_id}", rep))["deal_status"] == "closed"

    # plan and payment (approved), invoice (approved, issued by finance)
    plan = _ok(stack.call("POST", "/v1/payment-plans", rep, {"title": "首付款", "contract": contract["id"], "amount": 30000,
                                                            "due_date": "2099-01-31"}), 201)
    pay = _ok(stack.call("POST", "/v1/payments", rep, {"contract": contract["id"], "plan": plan["id"], "amount": 30000, "method": "bank",
                                                      "paid_on": datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()}), 201)
    _approve_from_inbox(stack, manager, _ok(stack.call("POST", f"/v1/payments/{pay['id']}/submit", rep, {})))
    _approved(stack, rep, f"/v1/payments/{pay['id']}")
    contract = _ok(stack.call("GET", f"/v1/contracts/{contract['id']}", rep))
    assert (contract["received_amount"], contract["outstanding_amount"]) == (30000, 30000)
    assert _ok(stack.call("GET", f"/v1/payment-plans/{plan['id']}", rep))["status"] == "done"
    inv = _ok(stack.call("POST", "/v1/invoices", rep, {"contract": contract["id"], "amount": 30000, "title": "星河零售有限公司",
                                                      "content": "软件服务费"}), 201)
    _approve_from_inbox(stack, manager, _ok(stack.call("POST", f"/v1/invoices/{inv['id']}/submit", rep, {})))
    inv = _approved(stack, rep, f"/v1/invoices/{inv['id']}")
    issued = _ok(stack.call("POST", f"/v1/invoices/{inv['id']}/issue", admin, {"invoice_number": "00012345", "invoice_date": "2026-12-01",
                                                                             "version": inv["version"]}))
    assert issued["invoice_status"] == "issued"

    # the customer 360 has the whole deal; the dashboard, the funnel and the trend follow
    related = _ok(stack.call("GET", f"/v1/customers/{customer_id}/related", rep))
    assert {k: len(related["related"].get(k, [])) for k in ("opportunity", "quote", "contract", "payment_plan", "payment", "invoice")} == \
        {"opportunity": 1, "quote": 1, "contract": 1, "payment_plan": 1, "payment": 1, "invoice": 1}
    assert {a["record"]["entity"] for a in related["approvals"]} == {"contract", "payment", "invoice"}

    def moved() -> dict | None:
        d = _ok(stack.call("GET", "/v1/dashboard?scope=self&range=month", rep))
        return d if d["briefing"]["payment_amount"]["amount"] == before["briefing"]["payment_amount"]["amount"] + 30000 else None

    after = stack.eventually(moved)
    assert after, "the dashboard did not follow"
    assert after["briefing"]["customers"]["count"] == before["briefing"]["customers"]["count"] + 1
    stages = {s["stage"]: s["count"] for s in after["funnel"]["stages"]}
    assert stages["proposal"] == 1
    assert sum(p["amount"] or 0 for p in after["trend"]["payment"]) == sum(p["amount"] or 0 for p in before["trend"]["payment"]) + 30000
    png = stack.call("GET", "/v1/dashboard/funnel/png?scope=self", rep, headers={"Accept": "image/png"})
    assert png.status_code == 200 and png.content != funnel_png.content
