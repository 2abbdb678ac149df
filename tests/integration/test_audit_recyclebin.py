"""Operation log (field-level before/after) and the recycle bin."""
from __future__ import annotations


def test_given_customer_changes_when_reading_log_then_who_when_what_with_before_after(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "华为", "level": "B"}).data
    api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"level": "A", "remark": "重点", "version": 1})
    api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"level": "A", "version": 2})  # no change, no entry
    log = api.call("GET", f"/v1/records/customer/{c['id']}/logs", rep).data["items"]
    assert [e["action"] for e in log] == ["update", "create"]
    update = log[0]
    assert update["actor_id"] == sales_team["rep1"] and update["at"]
    assert {ch["field"]: (ch["before"], ch["after"]) for ch in update["changes"]} == {"level": ("B", "A"), "remark": (None, "重点")}
    assert {"field": "name", "before": None, "after": "华为"} in log[1]["changes"]
    # someone who cannot read the customer cannot read its log
    assert api.call("GET", f"/v1/records/customer/{c['id']}/logs", sales_team["tokens"]["rep2"]).status_code == 404
    # admins see the tenant-wide log and a user's actions
    mine = api.call("GET", f"/v1/audit?user_id={sales_team['rep1']}", sales_team["admin"]).data["items"]
    assert {e["record_id"] for e in mine if e["entity"] == "customer"} == {c["id"]}
    month = api.call("GET", "/v1/audit", sales_team["admin"]).data["items"]
    assert any(e["entity"] == "department" for e in month)
    assert api.call("GET", "/v1/audit", rep).status_code == 403


def test_given_deleted_customer_when_restored_then_back_with_team_and_log_and_purge_is_admin_only(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "回收客户"}).data
    api.call("PUT", f"/v1/customers/{c['id']}/team", t["rep1"], {"members": [{"user_id": sales_team["rep2"], "access": "read"}], "version": 1})
    # reps may not delete (no 删除 permission); their manager may
    assert api.call("DELETE", f"/v1/customers/{c['id']}", t["rep1"], headers={"If-Match": '"2"'}).status_code == 403
    assert api.call("DELETE", f"/v1/customers/{c['id']}", t["manager"], headers={"If-Match": '"2"'}).status_code == 204
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).status_code == 404
    assert api.call("GET", "/v1/customers", t["rep2"]).data["items"] == []
    binned = api.call("GET", "/v1/recycle-bin", sales_team["admin"]).data["items"]
    assert [(i["entity"], i["name"]) for i in binned] == [("customer", "回收客户")]
    # the rep may delete records of other types (their own tasks, events, reports), so may list the bin —
    # only what they could restore, which is not this customer
    rep_bin = api.call("GET", "/v1/recycle-bin", t["rep1"])
    assert rep_bin.status_code == 200 and [i["entity"] for i in rep_bin.data["items"]] == []
    # the rep may not restore (no delete permission); the manager may (delete + scope)
    assert api.call("POST", f"/v1/recycle-bin/customer/{c['id']}/restore", t["rep1"]).status_code == 403
    assert api.call("POST", f"/v1/recycle-bin/customer/{c['id']}/restore", t["manager"]).status_code == 200
    back = api.call("GET", f"/v1/customers/{c['id']}", t["rep2"]).data
    assert back["name"] == "回收客户" and back["access"] == "read"
    actions = [e["action"] for e in api.call("GET", f"/v1/records/customer/{c['id']}/logs", t["rep1"]).data["items"]]
    assert actions[:2] == ["restore", "delete"]
    again = api.call("POST", f"/v1/recycle-bin/customer/{c['id']}/restore", sales_team["admin"])
    assert again.status_code == 422 and again.data["code"] == "NOT_IN_RECYCLE_BIN"
    # purge: only from the bin, only by admins
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{c['id']}", sales_team["admin"]).status_code == 422
    assert api.call("DELETE", f"/v1/customers/{c['id']}", t["manager"], headers={"If-Match": f'"{back["version"]}"'}).status_code == 204
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{c['id']}", t["manager"]).status_code == 403
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{c['id']}", sales_team["admin"]).status_code == 204
    assert api.call("GET", "/v1/recycle-bin", sales_team["admin"]).data["items"] == []
    assert api.call("POST", f"/v1/recycle-bin/customer/{c['id']}/restore", sales_team["admin"]).status_code == 404


def test_given_a_manager_who_may_delete_customers_when_listing_the_bin_then_they_find_what_they_could_restore(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    mine = [api.call("POST", "/v1/customers", t["rep1"], {"name": f"下属客户{i}"}).data for i in range(3)]
    outside = [api.call("POST", "/v1/customers", admin, {"name": f"总部客户{i}"}).data for i in range(3)]
    for c in [mine[0], outside[0], mine[1], outside[1], outside[2], mine[2]]:  # interleaved in the bin
        assert api.call("DELETE", f"/v1/customers/{c['id']}", admin, headers={"If-Match": '"1"'}).status_code == 204
    # one page at a time, the manager sees exactly their subordinates' deleted customers, newest first
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/v1/recycle-bin?limit=1" + (f"&cursor={cursor}" if cursor else ""), t["manager"])
        assert page.status_code == 200, page.data
        seen += [i["name"] for i in page.data["items"]]
        cursor = page.data["next_cursor"]
        if not cursor:
            break
    assert seen == ["下属客户2", "下属客户1", "下属客户0"]
    assert len(api.call("GET", "/v1/recycle-bin", admin).data["items"]) == 6
    # what they find, they may restore; what is outside their scope answers as a missing one
    assert api.call("POST", f"/v1/recycle-bin/customer/{mine[0]['id']}/restore", t["manager"]).status_code == 200
    assert api.call("POST", f"/v1/recycle-bin/customer/{outside[0]['id']}/restore", t["manager"]).status_code == 404
    # a user who may delete no customer finds none of them in the bin
    agent_bin = api.call("GET", "/v1/recycle-bin", t["agent"])
    assert agent_bin.status_code == 200 and [i for i in agent_bin.data["items"] if i["entity"] == "customer"] == []


def test_given_a_month_that_does_not_exist_when_reading_the_log_then_422_names_the_parameter(api, sales_team):
    admin = sales_team["admin"]
    for month in ("2026-13", "2026-00", "2026-1", "26-01", "1850-01"):
        r = api.call("GET", f"/v1/audit?month={month}", admin)
        assert r.status_code == 422, month
        assert [d["field"] for d in r.data["details"]] == ["month"]
    en = api.call("GET", "/v1/audit?month=2026-13", admin, headers={"Accept-Language": "en"})
    assert en.data["details"][0]["message"] == "A month YYYY-MM (01–12) expected"
    assert api.call("GET", "/v1/audit?month=2026-12", admin).status_code == 200
