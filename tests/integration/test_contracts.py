"""Contracts (合同, SALES-10) through the API, approvals on real Step Functions executions in moto:
numbering, lines priced as on opportunities, approval with the customer becoming a deal, change
requests after approval, terminate / void / renew, and the expiry reminder's schedule.

The sales team (conftest.py): 王经理 manager over reps 李娜 (rep1) and 张伟 (rep2)."""
from __future__ import annotations

import itertools

_n = itertools.count(1)


def _flow(api, team) -> None:
    r = api.call("POST", "/v1/approval-flows", team["admin"], {
        "name": "合同审批", "business_type": "contract", "enabled": True,
        "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
    assert r.status_code == 201, r.data


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"合同客户{next(_n)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _contract(api, token: str, customer_id: str, **fields) -> dict:
    r = api.call("POST", "/v1/contracts", token, {"name": f"年度合同{next(_n)}", "customer": customer_id, "amount": 50000,
                                                 "start_date": "2027-01-01", "end_date": "2027-12-31", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _post(api, token: str, c: dict, action: str, body: dict | None = None, status: int = 200) -> dict:
    r = api.call("POST", f"/v1/contracts/{c['id']}/{action}", token, {**(body or {}), **({"version": c["version"]}
                                                                                       if action not in ("submit", "renew") else {})})
    assert r.status_code == status, (action, r.data)
    return r.data


def test_given_a_contract_when_submitted_and_approved_then_it_is_numbered_and_the_customer_becomes_a_deal(api, sales_team):
    t = sales_team["tokens"]
    _flow(api, sales_team)
    customer = _customer(api, t["rep1"])
    first = _contract(api, t["rep1"], customer["id"])
    second = _contract(api, t["rep1"], customer["id"])
    assert first["number"].startswith("HT") and first["number"] != second["number"]
    assert first["approval_status"] == "none" and first["state"] == "normal"
    bad = api.call("POST", "/v1/contracts", t["rep1"], {"name": "倒签", "customer": customer["id"], "amount": 1,
                                                       "start_date": "2027-02-01", "end_date": "2027-01-01"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "end_date"
    missing = api.call("POST", "/v1/contracts", t["rep1"], {"name": "无金额", "customer": customer["id"]})
    assert missing.status_code == 422 and missing.data["details"][0]["field"] == "amount"

    sent = _post(api, t["rep1"], first, "submit", {"comment": "请审批"})
    assert sent["approval_status"] == "pending"
    iid = sent["approval_id"]
    assert api.call("PATCH", f"/v1/contracts/{first['id']}", t["rep1"], {"amount": 1, "version": sent["version"]}).status_code == 422
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {"comment": "同意"}).status_code == 200
    done = api.call("GET", f"/v1/contracts/{first['id']}", t["rep1"]).data
    assert done["approval_status"] == "approved"
    shown = api.call("GET", f"/v1/customers/{customer['id']}", t["rep1"]).data
    assert shown["deal_status"] == "closed" and shown["deal_at"]
    log = [e["action"] for e in api.call("GET", f"/v1/records/customer/{customer['id']}/logs", t["rep1"]).data["items"]]
    assert "contract_approved" in log


def test_given_an_approved_contract_when_its_terms_change_then_only_a_change_request_does_it_and_it_is_approved_again(api, sales_team):
    t = sales_team["tokens"]
    _flow(api, sales_team)
    c = _contract(api, t["rep1"], _customer(api, t["rep1"])["id"])
    iid = _post(api, t["rep1"], c, "submit")["approval_id"]
    api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {})
    c = api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data
    refused = api.call("PATCH", f"/v1/contracts/{c['id']}", t["rep1"], {"amount": 60000, "version": c["version"]})
    assert refused.status_code == 422 and [(d["field"], d["type"]) for d in refused.data["details"]] == [("amount", "approved")]
    remark = api.call("PATCH", f"/v1/contracts/{c['id']}", t["rep1"], {"remark": "客户要求开专票", "version": c["version"]})
    assert remark.status_code == 200 and remark.data["approval_status"] == "approved"  # not a term
    changed = _post(api, t["rep1"], remark.data, "change", {"changes": {"amount": 60000}, "comment": "追加模块"})
    assert changed["amount"] == 60000 and changed["approval_status"] == "pending" and changed["approval_id"] != iid
    assert api.call("POST", f"/v1/approvals/{changed['approval_id']}/approve", t["manager"], {}).status_code == 200
    log = api.call("GET", f"/v1/records/contract/{c['id']}/logs", t["rep1"]).data["items"]
    change = next(e for e in log if e["action"] == "update" and any(x["field"] == "amount" for x in e["changes"]))
    assert [(x["before"], x["after"]) for x in change["changes"] if x["field"] == "amount"] == [(50000, 60000)]
    draft = _contract(api, t["rep1"], _customer(api, t["rep1"])["id"])
    _post(api, t["rep1"], draft, "change", {"changes": {"amount": 1}}, status=422)  # a draft is simply edited


def test_given_contracts_when_terminated_voided_or_renewed_then_their_state_and_history_follow(api, sales_team):
    t = sales_team["tokens"]
    _flow(api, sales_team)
    customer = _customer(api, t["rep1"])
    draft = _contract(api, t["rep1"], customer["id"])
    _post(api, t["rep1"], draft, "terminate", {"reason": "未生效"}, status=422)  # only an approved one ends early
    voided = _post(api, t["rep1"], draft, "void", {"reason": "客户取消"})
    assert (voided["state"], voided["state_reason"]) == ("voided", "客户取消") and voided["state_changed_at"]
    assert api.call("PATCH", f"/v1/contracts/{draft['id']}", t["rep1"], {"remark": "x", "version": voided["version"]}).status_code == 422
    _post(api, t["rep1"], voided, "void", {"reason": "again"}, status=422)

    c = _contract(api, t["rep1"], customer["id"], payment_terms="季度付款")
    iid = _post(api, t["rep1"], c, "submit")["approval_id"]
    api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {})
    c = api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data
    ended = _post(api, t["rep1"], c, "terminate", {"reason": "客户业务调整"})
    assert ended["state"] == "terminated" and ended["approval_status"] == "approved"
    renewed = _post(api, t["rep1"], c, "renew", {"start_date": "2028-01-01", "end_date": "2028-12-31"}, status=201)
    assert renewed["renewal_of"]["id"] == c["id"] and renewed["name"] == f"{c['name']}（续签）"
    assert (renewed["amount"], renewed["payment_terms"], renewed["approval_status"]) == (50000, "季度付款", "none")
    assert renewed["number"] != c["number"]
    related = api.call("GET", f"/v1/customers/{customer['id']}/related", t["rep1"]).data["related"]["contract"]
    assert {x["id"] for x in related} == {draft["id"], c["id"], renewed["id"]}


def test_given_a_contract_with_an_end_date_when_saved_then_its_owner_is_reminded_30_days_before(api, sales_team):
    from chalicelib.core import clock
    from devstack.drivers import ScheduleDriver

    t = sales_team["tokens"]
    soon = clock.now().date().fromordinal(clock.now().date().toordinal() + 31).isoformat()
    c = _contract(api, t["rep1"], _customer(api, t["rep1"])["id"], start_date="2026-01-01", end_date=soon)
    clock.travel(2 * 86400)
    api.pump()
    ScheduleDriver().run_once()
    inbox = api.call("GET", "/v1/notifications", t["rep1"]).data["items"]
    assert [n["link"] for n in inbox if n["kind"] == "record_due"] == [{"entity": "contract", "id": c["id"]}]
