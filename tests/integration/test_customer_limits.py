"""Ownership limits (拥有/锁定客户数上限) on every path that assigns an owner, enforced by
conditional transactions on counter items — including under concurrency — and lock/unlock."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def _limits(api, token: str, rules: list[dict], version: int | None = None):
    return api.call("PUT", "/v1/customer-limits", token, {"rules": rules, **({"version": version} if version else {})})


def _held(api, token: str, user_id: str | None = None) -> dict:
    return api.call("GET", "/v1/customer-limits/holdings" + (f"?user_id={user_id}" if user_id else ""), token).data


def test_given_a_limit_of_three_when_a_rep_creates_then_the_fourth_is_refused_and_deleting_frees_a_place(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    api.call("POST", "/v1/customers", rep, {"name": "已有客户"})  # before any limit: counted when the limits are saved
    saved = _limits(api, sales_team["admin"], [{"user_id": sales_team["rep1"], "owned": 3}])
    assert saved.status_code == 200, saved.data
    assert _held(api, rep)["owned"] == 1
    made = [api.call("POST", "/v1/customers", rep, {"name": f"客户{i}"}) for i in range(3)]
    assert [m.status_code for m in made] == [201, 201, 422]
    assert made[2].data["code"] == "CUSTOMER_LIMIT" and "3" in made[2].data["message"]
    assert _held(api, rep) == {"user_id": sales_team["rep1"], "owned": 3, "open": 3, "locked": 0,
                               "limit": {"owned": 3, "locked": None, "exclude_closed": False}}
    gone = made[0].data
    assert api.call("DELETE", f"/v1/customers/{gone['id']}", sales_team["tokens"]["manager"],
                    headers={"If-Match": f'"{gone["version"]}"'}).status_code == 204
    assert api.call("POST", "/v1/customers", rep, {"name": "新客户"}).status_code == 201
    # restoring the deleted one would go over: refused, nothing changes
    back = api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", sales_team["admin"])
    assert back.status_code == 422 and back.data["code"] == "CUSTOMER_LIMIT"
    assert _held(api, rep)["owned"] == 3


def test_given_a_department_limit_excluding_closed_deals_then_transfers_and_deal_status_follow_it(api, sales_team):
    t = sales_team["tokens"]
    assert _limits(api, sales_team["admin"], [{"department_id": sales_team["sales"], "owned": 1, "exclude_closed": True}]).status_code == 200
    a = api.call("POST", "/v1/customers", t["rep1"], {"name": "甲"}).data
    assert api.call("POST", "/v1/customers", t["rep1"], {"name": "乙"}).status_code == 422
    closed = api.call("PATCH", f"/v1/customers/{a['id']}", t["rep1"], {"deal_status": "closed", "version": a["version"]})
    assert closed.status_code == 200
    b = api.call("POST", "/v1/customers", t["rep1"], {"name": "乙"})  # a closed deal does not count
    assert b.status_code == 201
    # transfer to a rep at the limit is refused; the customer stays where it was
    c = api.call("POST", "/v1/customers", t["rep2"], {"name": "丙"}).data
    moved = api.call("POST", f"/v1/customers/{c['id']}/transfer", t["rep2"], {"to_user_id": sales_team["rep1"], "version": c["version"]})
    assert moved.status_code == 422 and moved.data["code"] == "CUSTOMER_LIMIT"
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep2"]).data["owner_id"] == sales_team["rep2"]
    bulk = api.call("POST", "/v1/customers/transfer", t["manager"], {"ids": [c["id"]], "to_user_id": sales_team["rep1"]})
    assert bulk.data["items"][0]["status"] == 422
    reopened = api.call("PATCH", f"/v1/customers/{a['id']}", t["rep1"], {"deal_status": "none", "version": closed.data["version"]})
    assert reopened.status_code == 422 and reopened.data["code"] == "CUSTOMER_LIMIT"  # it would count again


def test_given_20_concurrent_creates_against_a_limit_of_5_then_exactly_5_exist(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    assert _limits(api, sales_team["admin"], [{"user_id": sales_team["rep1"], "owned": 5}]).status_code == 200
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda i: api.call("POST", "/v1/customers", rep, {"name": f"并发{i}"}), range(20)))
    assert sorted(a.status_code for a in answers).count(201) == 5
    assert {a.status_code for a in answers} <= {201, 409, 422}
    assert _held(api, rep)["owned"] == 5
    assert len(api.call("GET", "/v1/customers?scope=mine", rep).data["items"]) == 5


def test_given_a_lock_limit_then_locking_counts_and_unlocking_frees(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    assert _limits(api, sales_team["admin"], [{"user_id": sales_team["rep1"], "locked": 1}]).status_code == 200
    a = api.call("POST", "/v1/customers", rep, {"name": "锁一"}).data
    b = api.call("POST", "/v1/customers", rep, {"name": "锁二"}).data
    locked = api.call("POST", f"/v1/customers/{a['id']}/lock", rep, {"version": a["version"]})
    assert locked.status_code == 200 and locked.data["locked"] is True
    again = api.call("POST", f"/v1/customers/{b['id']}/lock", rep, {"version": b["version"]}, headers={"Accept-Language": "en"})
    assert again.status_code == 422 and again.data["code"] == "CUSTOMER_LOCK_LIMIT" and "(1)" in again.data["message"]
    assert api.call("POST", f"/v1/customers/{a['id']}/lock", rep, {"version": locked.data["version"]}).status_code == 422
    assert api.call("POST", f"/v1/customers/{a['id']}/unlock", rep, {"version": locked.data["version"]}).status_code == 200
    assert api.call("POST", f"/v1/customers/{b['id']}/lock", rep, {"version": b["version"]}).status_code == 200
    assert _held(api, rep)["locked"] == 1
    actions = [e["action"] for e in api.call("GET", f"/v1/records/customer/{a['id']}/logs", rep).data["items"]]
    assert actions[:2] == ["unlock", "lock"]


def test_given_limit_rules_then_only_admins_set_them_and_bad_rules_are_named(api, sales_team):
    assert _limits(api, sales_team["tokens"]["manager"], []).status_code == 403
    bad = _limits(api, sales_team["admin"], [{"user_id": "nobody", "owned": 1}, {"owned": 2},
                                              {"user_id": sales_team["rep1"], "department_id": sales_team["sales"]}])
    assert bad.status_code == 422
    ok = _limits(api, sales_team["admin"], [{"user_id": sales_team["rep1"], "owned": 2}])
    assert _limits(api, sales_team["admin"], []).status_code == 428  # then the version you read
    assert _limits(api, sales_team["admin"], [], version=ok.data["version"]).status_code == 200
    assert api.call("GET", f"/v1/customer-limits/holdings?user_id={sales_team['rep2']}", sales_team["tokens"]["rep1"]).status_code == 403
