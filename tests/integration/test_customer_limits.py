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


# ---- hand-over (交接) into a receiver with limits --------------------------------------------------
def _handover(api, sales_team, **kw):
    return api.call("POST", f"/v1/org/users/{sales_team['rep1']}/handover", sales_team["admin"], {"to_user_id": sales_team["rep2"]},
                    **kw)


def _owners(api, sales_team) -> list[str]:
    return sorted(c["owner_id"] for c in api.call("GET", "/v1/customers", sales_team["admin"]).data["items"])


def test_given_a_receiver_without_room_when_handing_over_then_refused_upfront_and_nothing_moves(api, sales_team):
    t, rep1, rep2 = sales_team["tokens"], sales_team["rep1"], sales_team["rep2"]
    assert _limits(api, sales_team["admin"], [{"user_id": rep2, "owned": 3}]).status_code == 200
    api.call("POST", "/v1/customers", t["rep2"], {"name": "张伟的客户"})
    mine = [api.call("POST", "/v1/customers", t["rep1"], {"name": f"李娜的客户{i}"}).data for i in range(3)]
    contact = api.call("POST", "/v1/contacts", t["rep1"], {"name": "王总", "customer": mine[0]["id"]}).data
    lead = api.call("POST", "/v1/leads", t["rep1"], {"name": "赵总"}).data
    refused = _handover(api, sales_team, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.data["code"] == "HANDOVER_CUSTOMER_LIMIT", refused.data
    assert refused.data["message"] == ("Hand-over not started: 3 customers counted against the limit would move, but the receiver's "
                                       "limit (3) leaves room for 2 more. Raise the limit or choose another receiver; nothing was moved")
    assert refused.data["details"] == {"user_id": rep2, "moving": 3, "room": 2, "owned_max": 3, "exclude_closed": False}
    zh = _handover(api, sales_team)
    assert "将转入 3 个" in zh.data["message"] and "最多还能接收 2 个" in zh.data["message"]
    # nothing moved — not the contacts or leads of modules handed over before customers either — and rep1 is still active
    assert _owners(api, sales_team) == sorted([rep1, rep1, rep1, rep2])
    assert api.call("GET", f"/v1/contacts/{contact['id']}", t["rep1"]).data["owner_id"] == rep1
    assert api.call("GET", f"/v1/leads/{lead['id']}", t["rep1"]).data["owner_id"] == rep1
    assert (_held(api, t["rep1"])["owned"], _held(api, t["rep2"])["owned"]) == (3, 1)
    assert api.call("GET", "/v1/me", t["rep1"]).status_code == 200
    assert "handover" not in [e["action"] for e in api.call("GET", f"/v1/records/user/{rep1}/logs", sales_team["admin"]).data["items"]]

    # locked customers count against the receiver's lock limit the same way
    assert _limits(api, sales_team["admin"], [{"user_id": rep2, "owned": 10, "locked": 1}], version=1).status_code == 200
    for c in mine[:2]:
        assert api.call("POST", f"/v1/customers/{c['id']}/lock", t["rep1"], {"version": c["version"]}).status_code == 200
    locked = _handover(api, sales_team, headers={"Accept-Language": "en"})
    assert locked.status_code == 422 and locked.data["code"] == "HANDOVER_LOCK_LIMIT"
    assert locked.data["details"] == {"user_id": rep2, "moving": 2, "room": 1, "locked_max": 1}
    assert "2 locked customers would move" in locked.data["message"] and "room for 1 more" in locked.data["message"]
    assert _owners(api, sales_team) == sorted([rep1, rep1, rep1, rep2])
    # room enough: everything moves
    assert _limits(api, sales_team["admin"], [{"user_id": rep2, "owned": 4, "locked": 2}], version=2).status_code == 200
    done = _handover(api, sales_team)
    assert done.status_code == 200, done.data
    assert done.data["moved"] == {"customers": 3, "contacts": 1, "leads": 1} and done.data["disabled"] is True
    assert _owners(api, sales_team) == [rep2] * 4
    assert _held(api, sales_team["admin"], rep2) | {"limit": None} == {"user_id": rep2, "owned": 4, "open": 4, "locked": 2,
                                                                       "limit": None}


def test_given_a_department_limit_excluding_closed_deals_then_only_open_customers_need_room(api, sales_team):
    t, rep2 = sales_team["tokens"], sales_team["rep2"]
    assert _limits(api, sales_team["admin"], [{"department_id": sales_team["sales"], "owned": 2, "exclude_closed": True}]
                   ).status_code == 200
    api.call("POST", "/v1/customers", t["rep2"], {"name": "张伟的客户"})
    talks = [api.call("POST", "/v1/customers", t["rep1"], {"name": f"在谈客户{i}"}).data for i in range(2)]
    for name in ("成交客户一", "成交客户二"):
        api.call("POST", "/v1/customers", t["rep1"], {"name": name, "deal_status": "closed"})
    refused = _handover(api, sales_team)  # two open customers, one open place: closed deals neither move into nor take places
    assert refused.status_code == 422 and refused.data["code"] == "HANDOVER_CUSTOMER_LIMIT"
    assert refused.data["details"] == {"user_id": rep2, "moving": 2, "room": 1, "owned_max": 2, "exclude_closed": True}
    closed = api.call("PATCH", f"/v1/customers/{talks[0]['id']}", t["rep1"], {"deal_status": "closed", "version": talks[0]["version"]})
    assert closed.status_code == 200
    done = _handover(api, sales_team)
    assert done.status_code == 200, done.data
    assert done.data["moved"] == {"customers": 4}
    assert _owners(api, sales_team) == [rep2] * 5
    assert (_held(api, sales_team["admin"], rep2)["owned"], _held(api, sales_team["admin"], rep2)["open"]) == (5, 2)


def test_given_a_customer_given_to_the_receiver_midway_then_the_hand_over_stops_and_calling_again_moves_the_rest(
        api, sales_team, monkeypatch):
    from chalicelib.core import context, handover
    from chalicelib.customers.entity import CUSTOMER
    from chalicelib.engine import service as engine

    t, rep1, rep2 = sales_team["tokens"], sales_team["rep1"], sales_team["rep2"]
    assert _limits(api, sales_team["admin"], [{"user_id": rep2, "owned": 3}]).status_code == 200
    for i in range(3):
        api.call("POST", "/v1/customers", t["rep1"], {"name": f"李娜的客户{i}"})
    lead = api.call("POST", "/v1/leads", t["rep1"], {"name": "赵总"}).data
    checked = handover.checks()["customers"]
    raced: list[dict] = []

    def check_then_race(tenant_id: str, from_user_id: str, to_user_id: str) -> None:
        checked(tenant_id, from_user_id, to_user_id)  # room for 3: the hand-over may start …
        if not raced:  # … and the manager gives rep2 a customer before the moves (the transfers' own condition catches it)
            with context.acting_as(context.RequestContext(tenant_id=sales_team["id"], user_id=sales_team["manager"])):
                raced.append(engine.create(CUSTOMER, {"name": "经理分配的客户", "owner_id": rep2}, None))

    monkeypatch.setitem(handover._CHECKS, "customers", check_then_race)
    stopped = _handover(api, sales_team)
    assert stopped.status_code == 422 and stopped.data["code"] == "CUSTOMER_LIMIT", stopped.data
    assert (_held(api, t["rep1"])["owned"], _held(api, t["rep2"])["owned"]) == (1, 3)  # two moved, one is left
    assert api.call("GET", "/v1/me", t["rep1"]).status_code == 200  # not disabled: the hand-over did not finish
    assert api.call("GET", f"/v1/leads/{lead['id']}", t["rep1"]).data["owner_id"] == rep1
    # the place is freed; the same call again moves what is left, and only that
    assert api.call("DELETE", f"/v1/customers/{raced[0]['id']}", t["manager"], headers={"If-Match": '"1"'}).status_code == 204
    again = _handover(api, sales_team)
    assert again.status_code == 200, again.data
    assert again.data["moved"] == {"customers": 1, "leads": 1} and again.data["disabled"] is True
    assert _owners(api, sales_team) == [rep2] * 3
    assert _held(api, sales_team["admin"], rep2)["owned"] == 3 and _held(api, sales_team["admin"], rep1)["owned"] == 0
