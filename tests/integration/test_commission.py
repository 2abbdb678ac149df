"""Commission (销售提成, SALES-13) through the API: plans with rates by product and category and tiers
by achievement of the month's target; statements per rep with hand-computed figures (Decimal, 2
dp) within the caller's scope; closing a month freezes its statements."""
from __future__ import annotations

from tests.integration.test_targets import approved_contract, flows, months, payment, put_targets


def _catalogue(api, admin) -> dict[str, str]:
    tree = [{"id": "sw", "name": "软件"}, {"id": "crm", "name": "CRM", "parent_id": "sw"}, {"id": "hw", "name": "硬件"}]
    assert api.call("PUT", "/v1/product-categories", admin, {"categories": tree}).status_code == 200
    made = {}
    for key, name, category, price in (("crm", "CRM 授权", "crm", 10000), ("server", "服务器", "hw", 20000)):
        r = api.call("POST", "/v1/products", admin, {"name": name, "category": category, "price": price})
        assert r.status_code == 201, r.data
        made[key] = r.data["id"]
    return made


def _plan(team, products, **over) -> dict:
    return {"id": "sales", "name": "销售提成方案", "base": "payment_amount", "default_rate": 2,
            "category_rates": [{"category_id": "sw", "rate": 5}], "product_rates": [{"product_id": products["server"], "rate": 1}],
            "tiers": [{"from_rate": 100, "multiplier": 1.2}, {"from_rate": 0, "multiplier": 0.8}, {"from_rate": 80, "multiplier": 1}],
            "user_ids": [team["rep1"], team["rep2"]], **over}


def test_given_a_plan_when_statements_are_asked_then_lines_rates_tiers_and_totals_are_as_computed_by_hand(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    rep1, rep2 = sales_team["rep1"], sales_team["rep2"]
    flows(api, sales_team)
    products = _catalogue(api, admin)

    # plans: validation and rights
    bad = _plan(sales_team, products, product_rates=[{"product_id": "nope", "rate": 1}], category_rates=[{"category_id": "nope", "rate": 1}],
                tiers=[{"from_rate": 80, "multiplier": 1}, {"from_rate": 80, "multiplier": 2}])
    r = api.call("PUT", "/v1/commission/plans", admin, {"plans": [bad]})
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"plans.0.product_rates.0.product_id", "plans.0.category_rates.0.category_id",
                                                       "plans.0.tiers.0.from_rate", "plans.0.tiers.1.from_rate"}
    assert api.call("PUT", "/v1/commission/plans", admin, {"plans": [_plan(sales_team, products, default_rate=101)]}).status_code == 422
    assert api.call("PUT", "/v1/commission/plans", t["manager"], {"plans": [_plan(sales_team, products)]}).status_code == 403
    r = api.call("PUT", "/v1/commission/plans", admin, {"plans": [_plan(sales_team, products)]})
    assert r.status_code == 200, r.data
    assert [x["from_rate"] for x in r.data["plans"][0]["tiers"]] == ["0", "80", "100"]  # kept in order
    assert api.call("GET", "/v1/commission/plans", t["rep1"]).data["version"] == 1

    # rep1: a contract with lines (CRM 10000 at 5 % by its category's parent, server 20000 at 1 % by product: 2.3333 %)
    # and one without (the default 2 %); rep2: one without lines and no target
    with_lines = approved_contract(api, sales_team, "rep1", None, "2026-10-08",
                                   lines=[{"product": products["crm"], "quantity": 1}, {"product": products["server"], "quantity": 1}])
    assert with_lines["amount"] == 30000
    plain = approved_contract(api, sales_team, "rep1", 10000, "2026-10-09")
    other = approved_contract(api, sales_team, "rep2", 8000, "2026-10-10")
    p1 = payment(api, sales_team, "rep1", with_lines["id"], 15000, "2026-11-10")
    p2 = payment(api, sales_team, "rep1", plain["id"], 5000, "2026-11-20")
    payment(api, sales_team, "rep1", plain["id"], 1000, "2026-10-31")  # October: not in November's statement
    payment(api, sales_team, "rep1", plain["id"], 700, "2026-11-21", approve=False)  # not approved: not counted
    p3 = payment(api, sales_team, "rep2", other["id"], 8000, "2026-11-05")
    assert put_targets(api, admin, [{"subject": f"user:{rep1}", "months": months((11, 16000))}], metric="payment_amount").status_code == 200

    r = api.call("GET", "/v1/commission/statements?period=2026-11", admin)
    assert r.status_code == 200, r.data
    s = r.data
    assert s["closed"] is False and [x["user_id"] for x in s["items"]] == sorted([rep1, rep2])
    one = next(x for x in s["items"] if x["user_id"] == rep1)
    assert [(x["id"], x["base_amount"], x["rate"], x["commission"]) for x in one["lines"]] == [
        (p1["id"], "15000.00", "2.3333", "350.00"), (p2["id"], "5000.00", "2", "100.00")]
    assert (one["target"], one["actual"], one["achievement_rate"], one["multiplier"]) == ("16000.00", "20000.00", "125.00", "1.2")
    assert (one["commission_before_tier"], one["commission_total"]) == ("450.00", "540.00")
    two = next(x for x in s["items"] if x["user_id"] == rep2)
    assert [x["id"] for x in two["lines"]] == [p3["id"]]
    assert (two["target"], two["achievement_rate"], two["multiplier"], two["commission_total"]) == ("0.00", None, "1", "160.00")
    assert (s["base_total"], s["commission_total"]) == ("28000.00", "700.00")

    # a lower achievement takes a lower tier
    assert put_targets(api, admin, [{"subject": f"user:{rep1}", "months": months((11, 40000))}], metric="payment_amount",
                       version=1).status_code == 200
    low = api.call("GET", f"/v1/commission/statements?period=2026-11&user_id={rep1}", admin).data["items"]
    assert [(x["achievement_rate"], x["multiplier"], x["commission_total"]) for x in low] == [("50.00", "0.8", "360.00")]

    # scope: a rep sees their own statement, the manager their team's
    mine = api.call("GET", "/v1/commission/statements?period=2026-11", t["rep1"]).data
    assert [x["user_id"] for x in mine["items"]] == [rep1] and mine["commission_total"] == "360.00"
    assert len(api.call("GET", "/v1/commission/statements?period=2026-11", t["manager"]).data["items"]) == 2
    assert api.call("GET", "/v1/commission/statements?period=2026-13", admin).status_code == 422

    # on contract amounts: October's approved contracts by sign date, each at its own rate; no contract target: ×1
    plans = api.call("GET", "/v1/commission/plans", admin).data
    r = api.call("PUT", "/v1/commission/plans", admin, {"plans": [_plan(sales_team, products, base="contract_amount")],
                                                        "version": plans["version"]})
    assert r.status_code == 200, r.data
    october = api.call("GET", f"/v1/commission/statements?period=2026-10&user_id={rep1}", t["manager"]).data["items"]
    assert [(x["kind"], x["id"], x["base_amount"], x["rate"], x["commission"]) for x in october[0]["lines"]] == [
        ("contract", with_lines["id"], "30000.00", "2.3333", "699.99"), ("contract", plain["id"], "10000.00", "2", "200.00")]
    assert (october[0]["multiplier"], october[0]["commission_total"]) == ("1", "899.99")


def test_given_a_closed_month_when_a_later_payment_is_dated_in_it_then_its_statements_do_not_change(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    rep1 = sales_team["rep1"]
    flows(api, sales_team)
    products = _catalogue(api, admin)
    assert api.call("PUT", "/v1/commission/plans", admin, {"plans": [_plan(sales_team, products, tiers=[])]}).status_code == 200
    c = approved_contract(api, sales_team, "rep1", 10000, "2026-10-01")
    payment(api, sales_team, "rep1", c["id"], 3000, "2026-11-03")
    api.pump()  # the statements read the search index, which follows the table through the stream
    assert api.call("POST", "/v1/commission/statements/2026-11/close", t["rep1"], {}).status_code == 403
    assert api.call("POST", "/v1/commission/statements/2026-11/close", t["manager"], {}).status_code == 403
    from chalicelib.targets.service import local_today

    running = local_today().isoformat()[:7]
    assert api.call("POST", f"/v1/commission/statements/{running}/close", admin, {}).status_code == 422  # not ended yet
    assert api.call("POST", "/v1/commission/statements/2026-13/close", admin, {}).status_code == 422
    closed = api.call("POST", "/v1/commission/statements/2026-11/close", admin, {})
    assert closed.status_code == 200, closed.data
    assert closed.data["closed"] is True and closed.data["commission_total"] == "60.00"
    again = api.call("POST", "/v1/commission/statements/2026-11/close", admin, {})
    assert again.status_code == 409 and again.data["code"] == "PERIOD_CLOSED"

    payment(api, sales_team, "rep1", c["id"], 2000, "2026-11-25")  # approved after the close, dated in the month
    after = api.call("GET", "/v1/commission/statements?period=2026-11", admin).data
    assert after["closed"] is True and after["closed_by"] == sales_team["admin_id"]
    mine = next(x for x in after["items"] if x["user_id"] == rep1)
    assert (mine["actual"], mine["commission_total"], len(mine["lines"])) == ("3000.00", "60.00", 1)
    assert after["commission_total"] == "60.00"
    live = api.call("GET", f"/v1/targets/achievement?year=2026&subject=user:{rep1}&metric=payment_amount", admin).data
    assert live["items"][10]["actual"] == "5000.00"  # achievement stays live
    rep_view = api.call("GET", "/v1/commission/statements?period=2026-11", t["rep1"]).data
    assert [x["user_id"] for x in rep_view["items"]] == [rep1]
    assert api.call("GET", "/v1/commission/statements?period=2026-11", t["rep2"]).data["items"][0]["user_id"] == sales_team["rep2"]
