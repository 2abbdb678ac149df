"""Quotes (报价, SALES-9) and the deal rules (销售设置) through the API, approvals on real Step
Functions executions in moto: quotes from opportunities, the discount threshold's approval before
sending, the customer's answer, conversion into a contract at the accepted prices, expiry on the
day after validity; and the credit-limit control of contracts (blocked, special flow, off).

The sales team (conftest.py): 王经理 manager over reps 李娜 (rep1) and 张伟 (rep2)."""
from __future__ import annotations

import itertools

_n = itertools.count(1)


def _flow(api, team, business: str, name: str = "审批") -> None:
    r = api.call("POST", "/v1/approval-flows", team["admin"], {
        "name": f"{business}{name}", "business_type": business, "enabled": True,
        "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
    assert r.status_code == 201, r.data


def _product(api, admin: str, price: float = 1000) -> dict:
    r = api.call("POST", "/v1/products", admin, {"name": f"报价产品{next(_n)}", "sku": f"QT-{next(_n)}", "price": price})
    assert r.status_code == 201, r.data
    return r.data


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"报价客户{next(_n)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _quote(api, token: str, customer_id: str, product_id: str, discount: float = 0, **fields) -> dict:
    r = api.call("POST", "/v1/quotes", token, {"name": f"报价{next(_n)}", "customer": customer_id, "valid_until": "2099-12-31",
                                              "lines": [{"product": product_id, "quantity": 10, "discount": discount}], **fields})
    assert r.status_code == 201, r.data
    return r.data


def _post(api, token: str, q: dict, action: str, body: dict | None = None, status: int = 200) -> dict:
    r = api.call("POST", f"/v1/quotes/{q['id']}/{action}", token, {**({"version": q["version"]} if action != "submit" else {}),
                                                                   **(body or {})})
    assert r.status_code == status, (action, r.data)
    return r.data


def test_given_an_opportunity_with_products_when_quoted_then_the_quote_takes_its_lines_and_computes_the_discount(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    product = _product(api, admin)
    customer = _customer(api, rep)
    opp = api.call("POST", "/v1/opportunities", rep, {"name": "采购项目", "customer": customer["id"], "discount_rate": 5,
                                                       "lines": [{"product": product["id"], "quantity": 4, "discount": 10}]}).data
    q = api.call("POST", "/v1/quotes", rep, {"name": "第一版报价", "customer": customer["id"], "opportunity": opp["id"],
                                            "valid_until": "2099-01-31", "terms": "含税含运费"})
    assert q.status_code == 201, q.data
    q = q.data
    assert q["number"].startswith("BJ") and q["quote_status"] == "draft" and q["approval_status"] == "none"
    assert [(x["quantity"], x["price"], x["subtotal"]) for x in q["lines"]] == [(4, 900, 3600)]
    assert q["discount_rate"] == 5 and q["amount"] == 3420  # 3600 less 5 %
    assert q["discount"] == 14.5  # 4000 at list prices → 3420: 14.5 % off

    other = _customer(api, rep)
    wrong = api.call("POST", "/v1/quotes", rep, {"name": "错配", "customer": other["id"], "opportunity": opp["id"],
                                                "valid_until": "2099-01-31"})
    assert wrong.status_code == 422 and wrong.data["details"][0]["field"] == "opportunity"
    past = api.call("POST", "/v1/quotes", rep, {"name": "过期", "customer": customer["id"], "valid_until": "2020-01-01",
                                               "lines": [{"product": product["id"], "quantity": 1}]})
    assert past.status_code == 422 and past.data["details"][0]["field"] == "valid_until"
    empty = api.call("POST", "/v1/quotes", rep, {"name": "空", "customer": customer["id"], "valid_until": "2099-01-31"})
    assert empty.status_code == 422 and empty.data["details"][0]["field"] == "lines"
    sent_amount = api.call("POST", "/v1/quotes", rep, {"name": "手填金额", "customer": customer["id"], "valid_until": "2099-01-31",
                                                      "amount": 1, "lines": [{"product": product["id"], "quantity": 1}]})
    assert sent_amount.status_code == 422  # computed on the server, never taken from the client


def test_given_the_discount_threshold_when_a_quote_is_above_it_then_it_is_sent_only_once_approved(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    _flow(api, sales_team, "quote")
    rules = api.call("GET", "/v1/sales-settings", t["rep1"]).data
    assert rules["quote_discount_threshold"] == 10 and rules["credit_control"] == "block" and rules["version"] == 0
    assert api.call("PUT", "/v1/sales-settings", t["manager"], {**rules, "quote_discount_threshold": 50}).status_code == 403
    assert api.call("PUT", "/v1/sales-settings", admin, {"quote_discount_threshold": 15}).status_code == 422  # the whole rules
    saved = api.call("PUT", "/v1/sales-settings", admin, {"quote_discount_threshold": 15, "credit_control": "block",
                                                         "credit_flow": "contract_credit"})
    assert saved.status_code == 200 and saved.data["quote_discount_threshold"] == 15 and saved.data["version"] == 1
    assert api.call("PUT", "/v1/sales-settings", admin, {**saved.data, "quote_discount_threshold": 101}).status_code == 422
    assert api.call("PUT", "/v1/sales-settings", admin, {**saved.data, "version": None}).status_code == 428  # version needed

    product, customer = _product(api, admin), _customer(api, t["rep1"])
    modest = _quote(api, t["rep1"], customer["id"], product["id"], discount=15)  # at the threshold: no approval
    assert _post(api, t["rep1"], modest, "send")["quote_status"] == "sent"

    deep = _quote(api, t["rep1"], customer["id"], product["id"], discount=20)
    refused = api.call("POST", f"/v1/quotes/{deep['id']}/send", t["rep1"], {"version": deep["version"]})
    assert refused.status_code == 422 and refused.data["code"] == "QUOTE_APPROVAL_NEEDED" and "20" in refused.data["message"]
    pending = _post(api, t["rep1"], deep, "submit", {"comment": "大客户首单"})
    assert pending["approval_status"] == "pending"
    inst = api.call("GET", f"/v1/approvals/{pending['approval_id']}", t["manager"]).data
    assert inst["business_type"] == "quote"
    assert api.call("POST", f"/v1/approvals/{pending['approval_id']}/approve", t["manager"], {}).status_code == 200
    approved = api.call("GET", f"/v1/quotes/{deep['id']}", t["rep1"]).data
    assert approved["approval_status"] == "approved"
    sent = _post(api, t["rep1"], approved, "send")
    assert sent["quote_status"] == "sent" and sent["sent_at"]
    locked = api.call("PATCH", f"/v1/quotes/{deep['id']}", t["rep1"], {"terms": "改条款", "version": sent["version"]})
    assert locked.status_code == 422 and locked.data["details"][0]["field"] == "terms"
    assert api.call("GET", f"/v1/quotes/{deep['id']}", t["rep2"]).status_code in (403, 404)  # another rep's
    log = [e["action"] for e in api.call("GET", f"/v1/records/quote/{deep['id']}/logs", t["rep1"]).data["items"]]
    assert "send" in log


def test_given_an_accepted_quote_when_converted_then_a_draft_contract_keeps_the_accepted_prices_once(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    product, customer = _product(api, admin, price=500), _customer(api, t["rep1"])
    q = _quote(api, t["rep1"], customer["id"], product["id"], discount=5, terms="预付30%")
    q = _post(api, t["rep1"], q, "send")
    assert _post(api, t["rep1"], q, "convert", {}, status=422)["code"] == "INVALID_STATE"  # not accepted yet
    q = _post(api, t["rep1"], q, "accept", {"note": "客户已盖章"})
    assert q["quote_status"] == "accepted" and q["answer_note"] == "客户已盖章"
    cur = api.call("GET", f"/v1/products/{product['id']}", admin).data
    assert api.call("PATCH", f"/v1/products/{product['id']}", admin, {"price": 800, "version": cur["version"]}).status_code == 200

    done = _post(api, t["rep1"], q, "convert", {"name": "转合同", "start_date": "2027-01-01", "end_date": "2027-12-31"}, status=201)
    contract, quote = done["contract"], done["quote"]
    assert quote["quote_status"] == "converted" and quote["contract"]["id"] == contract["id"]
    assert contract["approval_status"] == "none" and contract["quote"]["id"] == q["id"] and contract["number"].startswith("HT")
    assert contract["amount"] == q["amount"] == 4750 and contract["lines"][0]["price"] == 475  # 500 less 5 %, not today's 800
    assert contract["payment_terms"] == "预付30%" and contract["customer"]["id"] == customer["id"]
    again = api.call("POST", f"/v1/quotes/{q['id']}/convert", t["rep1"], {"version": quote["version"]})
    assert again.status_code == 422 and again.data["code"] == "INVALID_STATE"
    stale = api.call("POST", f"/v1/quotes/{q['id']}/convert", t["rep1"], {"version": q["version"]})
    assert stale.status_code in (409, 422)
    related = api.call("GET", f"/v1/customers/{customer['id']}/related", t["rep1"]).data["related"]
    assert [x["id"] for x in related["quote"]] == [q["id"]] and [x["id"] for x in related["contract"]] == [contract["id"]]


def test_given_a_sent_quote_when_its_validity_passes_then_it_expires_on_the_day_after_and_cannot_be_accepted(api, sales_team):
    from chalicelib.core import clock
    from devstack.drivers import ScheduleDriver

    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    today = clock.now().date()
    until = today.fromordinal(today.toordinal() + 3).isoformat()
    q = _quote(api, rep, _customer(api, rep)["id"], _product(api, admin)["id"], valid_until=until)
    q = _post(api, rep, q, "send")
    api.pump()  # the table stream arms the quote's lapse timer
    clock.travel(5 * 86400)
    ScheduleDriver().run_once()
    q = api.call("GET", f"/v1/quotes/{q['id']}", rep).data
    assert q["quote_status"] == "expired"
    assert _post(api, rep, q, "accept", {}, status=422)["code"] == "INVALID_STATE"
    later = today.fromordinal(today.toordinal() + 30).isoformat()
    revived = api.call("PATCH", f"/v1/quotes/{q['id']}", rep, {"valid_until": later, "version": q["version"]})
    assert revived.status_code == 200 and revived.data["quote_status"] == "draft"  # a new validity: a draft to send again


def test_given_a_credit_limit_when_a_contract_would_pass_it_then_it_is_blocked_routed_to_the_credit_flow_or_let_through(
        api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    _flow(api, sales_team, "contract")
    customer = _customer(api, t["rep1"], credit_limit=100000)
    first = api.call("POST", "/v1/contracts", t["rep1"], {"name": "首单", "customer": customer["id"], "amount": 80000}).data
    iid = api.call("POST", f"/v1/contracts/{first['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200

    second = api.call("POST", "/v1/contracts", t["rep1"], {"name": "追加", "customer": customer["id"], "amount": 30000}).data
    blocked = api.call("POST", f"/v1/contracts/{second['id']}/submit", t["rep1"], {})
    assert blocked.status_code == 422 and blocked.data["code"] == "CREDIT_LIMIT_EXCEEDED"
    assert "100000.00" in blocked.data["details"][0]["message"] and "30000.00" in blocked.data["details"][0]["message"]
    assert api.call("GET", f"/v1/contracts/{second['id']}", t["rep1"]).data["approval_status"] == "none"
    small = api.call("POST", "/v1/contracts", t["rep1"], {"name": "小单", "customer": customer["id"], "amount": 20000}).data
    assert api.call("POST", f"/v1/contracts/{small['id']}/submit", t["rep1"], {}).status_code == 200  # 80000 + 20000 ≤ 100000
    third = api.call("POST", "/v1/contracts", t["rep1"], {"name": "再追加", "customer": customer["id"], "amount": 10000}).data
    again = api.call("POST", f"/v1/contracts/{third['id']}/submit", t["rep1"], {})
    assert again.data["code"] == "CREDIT_LIMIT_EXCEEDED"  # the one in review counts: 80000 + 20000 + 10000
    first = api.call("GET", f"/v1/contracts/{first['id']}", t["rep1"]).data
    raised = api.call("POST", f"/v1/contracts/{first['id']}/change", t["rep1"], {"changes": {"amount": 90000}, "version": first["version"]})
    assert raised.status_code == 422 and raised.data["code"] == "CREDIT_LIMIT_EXCEEDED"
    kept = api.call("GET", f"/v1/contracts/{first['id']}", t["rep1"]).data
    assert (kept["amount"], kept["approval_status"], kept["version"]) == (80000, "approved", first["version"])  # nothing changed

    rules = api.call("GET", "/v1/sales-settings", admin).data
    rules = api.call("PUT", "/v1/sales-settings", admin, {**rules, "credit_control": "approval"}).data
    missing = api.call("POST", f"/v1/contracts/{second['id']}/submit", t["rep1"], {})
    assert missing.status_code == 422 and missing.data["code"] == "APPROVAL_FLOW_MISSING"  # no credit flow yet
    _flow(api, sales_team, "contract_credit", "超信用额度审批")
    routed = api.call("POST", f"/v1/contracts/{second['id']}/submit", t["rep1"], {})
    assert routed.status_code == 200 and routed.data["approval_status"] == "pending"
    assert api.call("GET", f"/v1/approvals/{routed.data['approval_id']}", t["manager"]).data["business_type"] == "contract_credit"

    api.call("PUT", "/v1/sales-settings", admin, {**rules, "credit_control": "off", "version": rules["version"]})
    third = api.call("POST", "/v1/contracts", t["rep1"], {"name": "不控", "customer": customer["id"], "amount": 500000}).data
    plain = api.call("POST", f"/v1/contracts/{third['id']}/submit", t["rep1"], {})
    assert plain.status_code == 200
    assert api.call("GET", f"/v1/approvals/{plain.data['approval_id']}", t["manager"]).data["business_type"] == "contract"


def test_given_a_seller_who_may_not_read_the_credit_limit_when_blocked_then_the_refusal_shows_no_figures(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "看不到信用额度", "actions": {"customers": ["create", "list", "read"], "contracts": ["create", "update", "list", "read"]},
        "scopes": {"customers": "self", "contracts": "self"}, "fields": {"customers": {"credit_limit": "hidden"}}})
    assert role.status_code == 201, role.data
    assert api.call("POST", "/v1/org/users", admin, {"name": "新销售", "mobile": "13700020001", "department_id": sales_team["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"}).status_code == 201
    seller = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13700020001",
                                                      "password": "Passw0rd!2026"}).data["id_token"]
    customer = api.call("POST", "/v1/customers", admin, {"name": f"限额客户{next(_n)}", "credit_limit": 1000}).data
    cur = api.call("GET", f"/v1/customers/{customer['id']}", admin).data
    seller_id = api.call("GET", "/v1/me", seller).data["user"]["id"]
    moved = api.call("POST", f"/v1/customers/{customer['id']}/transfer", admin, {"to_user_id": seller_id, "version": cur["version"]})
    assert moved.status_code == 200, moved.data
    c = api.call("POST", "/v1/contracts", seller, {"name": "超额", "customer": customer["id"], "amount": 5000})
    assert c.status_code == 201, c.data
    blocked = api.call("POST", f"/v1/contracts/{c.data['id']}/submit", seller, {})
    assert blocked.status_code == 422 and blocked.data["code"] == "CREDIT_LIMIT_EXCEEDED"
    assert "1000" not in str(blocked.data) and not blocked.data.get("details")


def test_given_a_quote_in_the_wrong_state_when_acted_on_then_the_reason_reads_in_the_callers_language(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    q = _quote(api, rep, _customer(api, rep)["id"], _product(api, admin)["id"])
    for lang, text in (("zh-CN", "报价单还是草稿"), ("en", "the quote is a draft")):
        r = api.call("POST", f"/v1/quotes/{q['id']}/accept", rep, {"version": q["version"]}, headers={"Accept-Language": lang})
        assert r.status_code == 422 and text in r.data["message"] and "quote.status" not in r.data["message"], r.data


def test_given_a_customer_with_deals_when_its_360_is_read_then_contracts_bring_their_plans_payments_invoices_and_approvals(
        api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    for business in ("contract", "payment", "invoice"):
        _flow(api, sales_team, business)
    customer, product = _customer(api, t["rep1"]), _product(api, admin)
    q = _quote(api, t["rep1"], customer["id"], product["id"])
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": "360合同", "customer": customer["id"], "amount": 9000}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    plan = api.call("POST", "/v1/payment-plans", t["rep1"], {"title": "首期", "contract": c["id"], "amount": 3000, "due_date": "2099-01-01"})
    pay = api.call("POST", "/v1/payments", t["rep1"], {"contract": c["id"], "plan": plan.data["id"], "amount": 3000, "paid_on": "2026-12-01",
                                                      "method": "bank"})
    inv = api.call("POST", "/v1/invoices", t["rep1"], {"contract": c["id"], "amount": 3000, "content": "服务费", "title": "客户公司"})
    assert (plan.status_code, pay.status_code, inv.status_code) == (201, 201, 201), (plan.data, pay.data, inv.data)
    pay_iid = api.call("POST", f"/v1/payments/{pay.data['id']}/submit", t["rep1"], {}).data["approval_id"]
    cur = api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data
    below = api.call("POST", f"/v1/contracts/{c['id']}/change", t["rep1"], {"changes": {"amount": 2000}, "version": cur["version"]})
    assert below.status_code == 422 and below.data["details"][0]["field"] == "amount"  # 3000 is already recorded and invoiced

    view = api.call("GET", f"/v1/customers/{customer['id']}/related", t["rep1"])
    assert view.status_code == 200, view.data
    related = view.data["related"]
    assert [x["id"] for x in related["quote"]] == [q["id"]] and [x["id"] for x in related["contract"]] == [c["id"]]
    assert [x["id"] for x in related["payment_plan"]] == [plan.data["id"]] and [x["id"] for x in related["payment"]] == [pay.data["id"]]
    assert [x["id"] for x in related["invoice"]] == [inv.data["id"]]
    shown = {a["id"]: a for a in view.data["approvals"]}
    assert set(shown) == {iid, pay_iid}
    assert (shown[iid]["status"], shown[iid]["record"], shown[iid]["title"]) == ("approved", {"entity": "contract", "id": c["id"]}, "360合同")
    assert shown[pay_iid]["status"] == "running"
    line = api.call("GET", f"/v1/contracts/{c['id']}/timeline", t["rep1"]).data["items"]
    assert [(i["id"], i["status"]) for i in line if i["kind"] == "approval"] == [(iid, "approved")]
    assert {i["id"] for i in line if i["kind"] == "record"} == {plan.data["id"], pay.data["id"], inv.data["id"]}
    other = api.call("GET", f"/v1/customers/{customer['id']}/related", t["rep2"])
    assert other.status_code in (403, 404)  # another rep's customer


def test_given_a_leaving_rep_with_deals_when_handed_over_then_every_deal_record_moves_to_the_receiver(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    for business in ("contract",):
        _flow(api, sales_team, business)
    customer, product = _customer(api, t["rep1"]), _product(api, admin)
    opp = api.call("POST", "/v1/opportunities", t["rep1"], {"name": "交接商机", "customer": customer["id"], "amount": 1000}).data
    q = _quote(api, t["rep1"], customer["id"], product["id"])
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": "交接合同", "customer": customer["id"], "amount": 9000}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    plan = api.call("POST", "/v1/payment-plans", t["rep1"], {"title": "首期", "contract": c["id"], "amount": 3000, "due_date": "2099-01-01"})
    pay = api.call("POST", "/v1/payments", t["rep1"], {"contract": c["id"], "amount": 3000, "paid_on": "2026-12-01", "method": "bank"})
    inv = api.call("POST", "/v1/invoices", t["rep1"], {"contract": c["id"], "amount": 3000, "content": "服务费", "title": "客户公司"})
    made = {"customers": customer["id"], "opportunities": opp["id"], "quotes": q["id"], "contracts": c["id"],
            "payment-plans": plan.data["id"], "payments": pay.data["id"], "invoices": inv.data["id"]}
    r = api.call("POST", f"/v1/org/users/{sales_team['rep1']}/handover", admin, {"to_user_id": sales_team["rep2"]})
    assert r.status_code == 200, r.data
    for path, record_id in made.items():
        got = api.call("GET", f"/v1/{path}/{record_id}", t["rep2"])
        assert got.status_code == 200 and got.data["owner_id"] == sales_team["rep2"], (path, got.data,
                                                                                     api.call("GET", f"/v1/{path}/{record_id}", admin).data)


def test_given_two_contracts_checked_against_the_credit_limit_at_the_same_moment_then_only_one_passes(api, sales_team, monkeypatch):
    import threading

    from chalicelib.contracts import entity as contracts
    from chalicelib.contracts.entity import CONTRACT
    from chalicelib.core import context
    from chalicelib.core.errors import DomainError
    from chalicelib.engine import service as engine

    t = sales_team["tokens"]
    _flow(api, sales_team, "contract")
    customer = _customer(api, t["rep1"], credit_limit=100000)
    made = [api.call("POST", "/v1/contracts", t["rep1"], {"name": f"并发合同{i}", "customer": customer["id"], "amount": 60000}).data
            for i in range(2)]
    counting, counted = contracts.open_receivables, threading.Barrier(2)

    def both_count_first(*args, **kwargs):  # each submit counts the receivables before either has committed
        total = counting(*args, **kwargs)
        counted.wait(timeout=10)
        return total

    monkeypatch.setattr(contracts, "open_receivables", both_count_first)
    answers: list[str] = []

    def submit(contract_id: str) -> None:
        with context.acting_as(context.RequestContext(tenant_id=sales_team["id"], user_id=sales_team["rep1"])):
            try:
                engine.submit(CONTRACT, contract_id, {})
                answers.append("submitted")
            except DomainError as e:
                answers.append(e.code)

    threads = [threading.Thread(target=submit, args=(c["id"],)) for c in made]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(answers) == ["CREDIT_CHECK_RACED", "submitted"], answers  # 60000 each: both passing would owe 120000
    statuses = sorted(api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data["approval_status"] for c in made)
    assert statuses == ["none", "pending"]
    monkeypatch.undo()
    loser = next(c for c in made if api.call("GET", f"/v1/contracts/{c['id']}", t["rep1"]).data["approval_status"] == "none")
    again = api.call("POST", f"/v1/contracts/{loser['id']}/submit", t["rep1"], {})
    assert again.status_code == 422 and again.data["code"] == "CREDIT_LIMIT_EXCEEDED"  # counted anew: the other one is in review
