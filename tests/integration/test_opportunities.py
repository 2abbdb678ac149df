"""Opportunities (商机, SALES-7) through the API: stage groups, moving between stages with history,
closing and reopening, the customer's figures, the Kanban board and the weighted forecast — each
within the caller's data scope.

The sales team (conftest.py): 王经理 manager over reps 李娜 (rep1) and 张伟 (rep2) in 销售部; 赵客服 agent.
"""
from __future__ import annotations

import itertools

import pytest

_n = itertools.count(1)


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"商机客户{next(_n)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _opportunity(api, token: str, customer_id: str, **fields) -> dict:
    r = api.call("POST", "/v1/opportunities", token, {"name": f"商机{next(_n)}", "customer": customer_id, **fields})
    assert r.status_code == 201, r.data
    return r.data


def _post(api, token: str, opp: dict, action: str, body: dict, status: int = 200) -> dict:
    r = api.call("POST", f"/v1/opportunities/{opp['id']}/{action}", token, {**body, "version": opp["version"]})
    assert r.status_code == status, r.data
    return r.data


def test_given_product_lines_when_saved_then_the_server_prices_them_and_totals_follow(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    product = api.call("POST", "/v1/products", admin, {
        "name": "云服务器年包", "sku": f"ECS-{next(_n)}", "price": 1000, "unit": "year",
        "price_tiers": [{"min_quantity": 10, "unit_price": 900}], "level_discounts": [{"level": "A", "discount": 10}]})
    assert product.status_code == 201, product.data
    gone = api.call("POST", "/v1/products", admin, {"name": "停售型号", "sku": f"OLD-{next(_n)}", "price": 50, "on_shelf": False}).data
    customer = _customer(api, rep, level="A")
    r = api.call("POST", "/v1/opportunities", rep, {"name": "上云项目", "customer": customer["id"], "discount_rate": 5, "amount": 1, "lines": [
        {"product": product.data["id"], "quantity": 12, "discount": 2, "subtotal": 1, "unit_price": 1}]})
    assert r.status_code == 201, r.data
    line = r.data["lines"][0]
    # tier 900 (12 ≥ 10), level A 10 % → 810; the line's own 2 % → 793.80; × 12 = 9525.60 (sent figures replaced)
    assert (line["list_price"], line["unit_price"], line["price"], line["subtotal"]) == (1000, 810, 793.8, 9525.6)
    assert (line["tier_min_quantity"], line["level"], line["level_discount"]) == (10, "A", 10)
    assert r.data["lines_total"] == 9525.6 and r.data["amount"] == 9049.32  # less the 5 % order discount
    assert r.data["weighted_amount"] == 904.93  # 10 % at the first stage
    off = api.call("POST", "/v1/opportunities", rep, {"name": "旧型号", "customer": customer["id"], "lines": [
        {"product": gone["id"], "quantity": 1}]})
    assert off.status_code == 422 and off.data["details"][0]["field"] == "lines.0.product", off.data
    # taken off the shelf later, a kept line keeps its price; a new quantity is priced again (and refused)
    v = api.call("GET", f"/v1/products/{product.data['id']}", admin).data["version"]
    assert api.call("PATCH", f"/v1/products/{product.data['id']}", admin, {"on_shelf": False, "version": v}).status_code == 200
    kept = api.call("PATCH", f"/v1/opportunities/{r.data['id']}", rep, {"remark": "客户确认", "version": r.data["version"]})
    assert kept.status_code == 200 and kept.data["amount"] == 9049.32, kept.data
    more = api.call("PATCH", f"/v1/opportunities/{r.data['id']}", rep, {
        "lines": [{**line, "quantity": 20}], "version": kept.data["version"]})
    assert more.status_code == 422 and more.data["details"][0]["field"] == "lines.0.product"


def test_given_a_lead_when_converted_with_an_opportunity_then_all_three_are_created_together(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    lead = api.call("POST", "/v1/leads", rep, {"name": "陈总", "company": f"转化公司{next(_n)}", "mobile": "13512340000"}).data
    bad = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {"opportunity": {"name": "首单", "stage_group": "nope"}})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "opportunity.stage_group", bad.data
    assert api.call("GET", f"/v1/leads/{lead['id']}", rep).data["status"] != "converted"  # nothing was written
    r = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {"opportunity": {"name": "首单", "amount": 30000,
                                                                                  "expected_close_date": "2027-02-01"}})
    assert r.status_code == 200, r.data
    related = api.call("GET", f"/v1/customers/{r.data['customer_id']}/related", rep).data["related"]
    assert [(o["name"], o["amount"], o["lead"]["id"]) for o in related["opportunity"]] == [("首单", 30000, lead["id"])]
    customer = api.call("GET", f"/v1/customers/{r.data['customer_id']}", rep).data
    assert customer["open_opportunities"] == 1 and customer["last_opportunity_at"]


GROUPS = [{"id": "project", "name": "项目型销售", "stages": [
    {"id": "lead", "name": "立项", "win_rate": 10}, {"id": "bid", "name": "投标", "win_rate": 40},
    {"id": "contract", "name": "合同谈判", "win_rate": 80}]}]


def test_given_the_standard_group_when_a_rep_moves_an_opportunity_then_rate_weight_and_history_follow(api, sales_team):
    from chalicelib.core import clock

    rep = sales_team["tokens"]["rep1"]
    customer = _customer(api, rep)
    opp = _opportunity(api, rep, customer["id"], amount=100000, expected_close_date="2026-12-20")
    assert (opp["stage_group"], opp["stage"], opp["stage_name"], opp["status"]) == ("standard", "contact", "初步接洽", "open")
    assert opp["win_rate"] == 10 and opp["weighted_amount"] == 10000
    clock.travel(3 * 86400)
    moved = _post(api, rep, opp, "stage", {"stage_id": "proposal", "note": "已发方案"})
    assert (moved["stage"], moved["win_rate"], moved["weighted_amount"]) == ("proposal", 50, 50000)
    entry = moved["stage_history"][-1]
    assert (entry["from_stage"], entry["to_stage"], entry["by"], entry["days_in_stage"], entry["note"]) == \
        ("初步接洽", "方案报价", sales_team["rep1"], 3, "已发方案")
    back = _post(api, rep, moved, "stage", {"stage_id": "needs"})  # 回退
    assert back["stage"] == "needs" and back["win_rate"] == 30 and len(back["stage_history"]) == 2
    _post(api, rep, back, "stage", {"stage_id": "needs"}, status=422)  # already there
    _post(api, rep, back, "stage", {"stage_id": "nowhere"}, status=422)
    stale = api.call("POST", f"/v1/opportunities/{opp['id']}/stage", rep, {"stage_id": "negotiation", "version": opp["version"]})
    assert stale.status_code == 409  # a move from an old read
    refused = api.call("PATCH", f"/v1/opportunities/{opp['id']}", rep, {"stage": "negotiation", "version": back["version"]})
    assert refused.status_code == 422 and refused.data["details"][0]["type"] == "read_only"
    log = [e["action"] for e in api.call("GET", f"/v1/records/opportunity/{opp['id']}/logs", rep).data["items"]]
    assert log.count("stage") == 2


def test_given_an_opportunity_when_closed_and_reopened_then_status_reason_and_the_customers_figures_follow(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    customer = _customer(api, rep)
    first = _opportunity(api, rep, customer["id"], amount=5000)
    second = _opportunity(api, rep, customer["id"], amount=8000)
    shown = api.call("GET", f"/v1/customers/{customer['id']}", rep).data
    assert shown["open_opportunities"] == 2 and shown["last_opportunity_at"] == second["created_at"]

    _post(api, rep, first, "close", {"outcome": "lost"}, status=422)  # lost needs a reason
    _post(api, rep, first, "close", {"outcome": "won", "loss_reason": "price"}, status=422)
    _post(api, rep, first, "close", {"outcome": "lost", "loss_reason": "no_such_reason"}, status=422)
    lost = _post(api, rep, first, "close", {"outcome": "lost", "loss_reason": "price", "note": "价格太高"})
    assert (lost["status"], lost["loss_reason"], lost["win_rate"], lost["weighted_amount"]) == ("lost", "price", 0, 0)
    assert lost["closed_at"] and lost["stage_history"][-1]["to_stage"] == "输单"
    assert api.call("GET", f"/v1/customers/{customer['id']}", rep).data["open_opportunities"] == 1
    _post(api, rep, lost, "stage", {"stage_id": "needs"}, status=422)  # a closed one does not move
    won = _post(api, rep, second, "close", {"outcome": "won"})
    assert won["win_rate"] == 100 and won["weighted_amount"] == 8000
    assert api.call("GET", f"/v1/customers/{customer['id']}", rep).data["open_opportunities"] == 0

    again = _post(api, rep, lost, "reopen", {})
    assert (again["status"], again.get("loss_reason"), again["stage"], again["win_rate"]) == ("open", None, "contact", 10)
    assert api.call("GET", f"/v1/customers/{customer['id']}", rep).data["open_opportunities"] == 1
    r = api.call("DELETE", f"/v1/opportunities/{again['id']}", sales_team["tokens"]["manager"], headers={"If-Match": f'"{again["version"]}"'})
    assert r.status_code == 204, r.data
    assert api.call("GET", f"/v1/customers/{customer['id']}", rep).data["open_opportunities"] == 0


def test_given_stage_groups_limited_to_departments_when_reps_create_then_only_their_groups_open(api, sales_team):
    admin, rep, agent = sales_team["admin"], sales_team["tokens"]["rep1"], sales_team["tokens"]["agent"]
    current = api.call("GET", "/v1/opportunity-stage-groups", rep).data
    assert current["version"] == 0 and [g["id"] for g in current["groups"]] == ["standard"]
    assert api.call("PUT", "/v1/opportunity-stage-groups", rep, {"groups": GROUPS}).status_code == 403
    # the standard group may be switched off, never removed (opportunities may point at it)
    dropped = api.call("PUT", "/v1/opportunity-stage-groups", admin, {"groups": GROUPS})
    assert dropped.status_code == 422 and dropped.data["details"][0]["type"] == "removed"
    standard = {**current["groups"][0], "active": False}
    standard.pop("open_to_me")
    groups = [standard, {**GROUPS[0], "department_ids": [sales_team["sales"]]}]
    saved = api.call("PUT", "/v1/opportunity-stage-groups", admin, {"groups": groups})
    assert saved.status_code == 200 and saved.data["version"] == 1, saved.data
    again = api.call("PUT", "/v1/opportunity-stage-groups", admin, {"groups": groups})
    assert again.status_code == 428  # later saves name the version they read

    customer = _customer(api, rep)
    opp = _opportunity(api, rep, customer["id"])
    assert (opp["stage_group"], opp["stage"], opp["win_rate"]) == ("project", "lead", 10)
    r = api.call("POST", "/v1/opportunities", rep, {"name": "旧流程", "customer": customer["id"], "stage_group": "standard"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "stage_group"
    changed = api.call("PATCH", f"/v1/opportunities/{opp['id']}", rep, {"stage_group": "standard", "version": opp["version"]})
    assert changed.status_code == 422 and changed.data["details"][0]["type"] == "fixed"
    # 赵客服 is in 销售部 too but the service agent may not create opportunities at all
    assert api.call("POST", "/v1/opportunities", agent, {"name": "x", "customer": customer["id"]}).status_code == 403


def test_given_opportunities_of_a_team_when_the_board_and_forecast_are_read_then_each_sees_their_scope(api, sales_team):
    t = sales_team["tokens"]
    mine = _customer(api, t["rep1"])
    theirs = _customer(api, t["rep2"])
    a = _opportunity(api, t["rep1"], mine["id"], amount=10000, expected_close_date="2026-12-10")
    _opportunity(api, t["rep1"], mine["id"], amount=20000, expected_close_date="2027-01-05")
    b = _opportunity(api, t["rep2"], theirs["id"], amount=40000, expected_close_date="2026-12-31")
    _post(api, t["rep2"], b, "stage", {"stage_id": "negotiation"})
    won = _opportunity(api, t["rep1"], mine["id"], amount=7000)
    _post(api, t["rep1"], won, "close", {"outcome": "won"})
    _post(api, t["rep1"], a, "stage", {"stage_id": "needs"})

    board = api.call("GET", "/v1/opportunities/board", t["manager"])
    assert board.status_code == 200, board.data
    cols = {c["stage"]: (c["count"], c["amount"], c["weighted_amount"]) for c in board.data["columns"]}
    assert cols == {"contact": (1, 20000, 2000), "needs": (1, 10000, 3000), "proposal": (0, 0, 0), "negotiation": (1, 40000, 28000)}
    assert board.data["won"] == {"count": 1, "amount": 7000, "weighted_amount": 7000}
    own = api.call("GET", "/v1/opportunities/board", t["rep1"]).data  # a rep sees their own only
    assert {c["stage"]: c["count"] for c in own["columns"]}["negotiation"] == 0

    f = api.call("GET", "/v1/opportunities/forecast?period=month&by=owner", t["manager"])
    assert f.status_code == 200, f.data
    rows = [(r["period"], r["owner_id"], r["count"], r["amount"], r["weighted_amount"]) for r in f.data["items"]]
    assert rows == [("2026-12", sales_team["rep1"], 1, 10000, 3000), ("2026-12", sales_team["rep2"], 1, 40000, 28000),
                    ("2027-01", sales_team["rep1"], 1, 20000, 2000)]
    assert f.data["totals"] == {"count": 3, "amount": 70000, "weighted_amount": 33000}
    q = api.call("GET", "/v1/opportunities/forecast?period=quarter&by=department", t["manager"]).data
    assert [(r["period"], r["department_id"], r["weighted_amount"]) for r in q["items"]] == [
        ("2026-Q4", sales_team["sales"], 31000), ("2027-Q1", sales_team["sales"], 2000)]
    rep_view = api.call("GET", "/v1/opportunities/forecast", t["rep2"]).data
    assert rep_view["totals"] == {"count": 1, "amount": 40000, "weighted_amount": 28000}


@pytest.mark.parametrize("field", ["amount", "weighted_amount"])
def test_given_a_hidden_amount_when_the_board_or_forecast_would_sum_it_then_it_is_refused(api, sales_team, field):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": f"看不到金额{field}", "actions": {"opportunities": ["list", "read"]}, "scopes": {"opportunities": "all"},
        "fields": {"opportunities": {field: "hidden"}}})
    assert role.status_code == 201, role.data
    mobile = "1370001000" + str(len(field) % 10)
    assert api.call("POST", "/v1/org/users", admin, {"name": "无金额", "mobile": mobile, "department_id": sales_team["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"}).status_code == 201
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": mobile, "password": "Passw0rd!2026"}).data["id_token"]
    for path in ("/v1/opportunities/forecast", "/v1/opportunities/board"):
        r = api.call("GET", path, token)
        assert r.status_code == 422 and r.data["code"] == "FIELD_NOT_READABLE", (path, r.data)
