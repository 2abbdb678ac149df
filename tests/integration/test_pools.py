"""Public pools (公海): definitions, put back with a reason, pool lists with the previous owner and
days in the pool, claim with a daily cap and a cool-down for the previous owner, distribute by pool
admins, ownership limits on claims, and one winner when two claim one customer at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib.core import clock


def _pool(api, sales_team, **extra) -> dict:
    r = api.call("POST", "/v1/pools", sales_team["admin"], {
        "name": "销售公海", "admin_ids": [sales_team["manager"]], "member_department_ids": [sales_team["sales"]], **extra})
    assert r.status_code == 201, r.data
    return r.data


def _put_back(api, token: str, customer: dict, pool_id: str, reason: str = "长期未成交"):
    return api.call("POST", f"/v1/customers/{customer['id']}/pool", token, {"pool_id": pool_id, "reason": reason,
                                                                            "version": customer["version"]})


def test_given_a_pool_when_a_rep_puts_a_customer_back_then_members_see_it_and_one_claims_it(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "回收客户", "mobile": "13912340000"}).data
    gone = _put_back(api, t["rep1"], c, pool["id"])
    assert gone.status_code == 200, gone.data
    assert gone.data["pool"] == pool["id"] and gone.data["previous_owner_id"] == sales_team["rep1"]
    assert gone.data["owner_id"] == f"pool:{pool['id']}" and gone.data["pool_reason"] == "长期未成交"
    assert api.call("GET", "/v1/customers?scope=mine", t["rep1"]).data["items"] == []  # nobody's now
    listed = api.call("GET", f"/v1/pools/{pool['id']}/customers", t["rep2"]).data["items"]
    assert [(x["name"], x["previous_owner_id"], x["days_in_pool"]) for x in listed] == [("回收客户", sales_team["rep1"], 0)]
    assert listed[0]["mobile"] == "13912340000"
    agent_view = api.call("GET", f"/v1/pools/{pool['id']}/customers", t["agent"]).data["items"]
    assert agent_view[0]["mobile"] == "139****0000"  # field rules apply in pools too
    clock.travel(3 * 86400)
    assert api.call("GET", f"/v1/pools/{pool['id']}/customers", t["rep2"]).data["items"][0]["days_in_pool"] == 3
    claimed = api.call("POST", f"/v1/pools/{pool['id']}/customers/{c['id']}/claim", t["rep2"])
    assert claimed.status_code == 200, claimed.data
    assert claimed.data["owner_id"] == sales_team["rep2"] and claimed.data.get("pool") is None
    assert api.call("GET", f"/v1/pools/{pool['id']}/customers", t["rep2"]).data["items"] == []
    actions = [e["action"] for e in api.call("GET", f"/v1/records/customer/{c['id']}/logs", t["rep2"]).data["items"]]
    assert actions[:2] == ["claim", "pool"]


def test_given_a_daily_cap_and_a_cooldown_then_claims_stop_at_the_cap_and_the_previous_owner_waits(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team, daily_claim_cap=2, reclaim_cooldown_days=7)
    customers = []
    for i in range(4):
        c = api.call("POST", "/v1/customers", t["rep1"], {"name": f"公海客户{i}"}).data
        customers.append(_put_back(api, t["rep1"], c, pool["id"]).data)
    answers = [api.call("POST", f"/v1/pools/{pool['id']}/customers/{c['id']}/claim", t["rep2"]) for c in customers[:3]]
    assert [a.status_code for a in answers] == [200, 200, 422] and answers[2].data["code"] == "POOL_DAILY_CAP"
    mine = api.call("POST", f"/v1/pools/{pool['id']}/customers/{customers[3]['id']}/claim", t["rep1"])
    assert mine.status_code == 422 and mine.data["code"] == "POOL_COOLDOWN"
    clock.travel(8 * 86400)  # a new day, and the cool-down is over
    assert api.call("POST", f"/v1/pools/{pool['id']}/customers/{customers[2]['id']}/claim", t["rep2"]).status_code == 200
    assert api.call("POST", f"/v1/pools/{pool['id']}/customers/{customers[3]['id']}/claim", t["rep1"]).status_code == 200


def test_given_two_members_claiming_one_customer_at_once_then_exactly_one_wins(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    c = _put_back(api, t["rep1"], api.call("POST", "/v1/customers", t["rep1"], {"name": "抢手客户"}).data, pool["id"]).data
    with ThreadPoolExecutor(max_workers=4) as ex:
        answers = list(ex.map(lambda who: api.call("POST", f"/v1/pools/{pool['id']}/customers/{c['id']}/claim", t[who]),
                              ["rep2", "manager", "rep2", "manager"]))
    assert sorted(a.status_code for a in answers).count(200) == 1
    assert all(a.status_code in (200, 404, 409) for a in answers)


def test_given_20_concurrent_claims_by_one_rep_against_a_limit_of_5_then_exactly_5(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    pool = _pool(api, sales_team)
    ids = []
    for i in range(20):
        c = api.call("POST", "/v1/customers", t["rep1"], {"name": f"限额客户{i}"}).data
        ids.append(_put_back(api, t["rep1"], c, pool["id"]).data["id"])
    assert api.call("PUT", "/v1/customer-limits", admin, {"rules": [{"user_id": sales_team["rep2"], "owned": 5}]}).status_code == 200
    with ThreadPoolExecutor(max_workers=10) as ex:
        answers = list(ex.map(lambda cid: api.call("POST", f"/v1/pools/{pool['id']}/customers/{cid}/claim", t["rep2"]), ids))
    assert sorted(a.status_code for a in answers).count(200) == 5
    assert {a.data["code"] for a in answers if a.status_code != 200} <= {"CUSTOMER_LIMIT", "VERSION_CONFLICT"}
    assert api.call("GET", "/v1/customer-limits/holdings", t["rep2"]).data["owned"] == 5


def test_given_pool_admins_then_they_distribute_and_others_may_not(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    cs = [_put_back(api, t["rep1"], api.call("POST", "/v1/customers", t["rep1"], {"name": f"分配客户{i}"}).data, pool["id"]).data
          for i in range(2)]
    assert api.call("POST", f"/v1/pools/{pool['id']}/distribute", t["rep2"],
                    {"ids": [cs[0]["id"]], "to_user_id": sales_team["rep2"]}).status_code == 403
    done = api.call("POST", f"/v1/pools/{pool['id']}/distribute", t["manager"],
                    {"ids": [c["id"] for c in cs] + ["nothing"], "to_user_id": sales_team["rep2"]})
    assert done.status_code == 200 and [i["status"] for i in done.data["items"]] == [200, 200, 404]
    assert {c["name"] for c in api.call("GET", "/v1/customers?scope=mine", t["rep2"]).data["items"]} == {"分配客户0", "分配客户1"}


def test_given_pool_rules_then_locked_customers_stay_out_and_strangers_see_no_pool(api, sales_team, make_tenant):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "锁定客户"}).data
    locked = api.call("POST", f"/v1/customers/{c['id']}/lock", t["rep1"], {"version": c["version"]}).data
    refused = _put_back(api, t["rep1"], locked, pool["id"])
    assert refused.status_code == 422 and refused.data["code"] == "INVALID_STATE"
    other = api.call("POST", "/v1/pools", sales_team["admin"], {"name": "客服公海", "member_user_ids": [sales_team["agent"]]}).data
    assert api.call("GET", f"/v1/pools/{other['id']}/customers", t["rep1"]).status_code == 404
    assert {p["name"] for p in api.call("GET", "/v1/pools", t["rep1"]).data["items"]} == {"销售公海"}
    assert api.call("POST", "/v1/pools", t["manager"], {"name": "x"}).status_code == 403
