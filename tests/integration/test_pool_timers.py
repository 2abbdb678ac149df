"""Pool timers (自动回收): each owned customer carries when it would enter a public pool by the
pool's rules, one Scheduler schedule recycles it then and another warns its owner before; the
moment moves with follow-ups, lock, deal status, level, owner moves and rule changes; the schedule
re-checks the rules when it fires; owners see who enters a pool tomorrow or this week."""
from __future__ import annotations

import itertools
import json
from datetime import timedelta

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.ports import client
from devstack.drivers import BusDriver, ScheduleDriver

REACTING = ("notifier", "approval_timer", "rederive")  # what these tests count (webhooks hear every event too)

DAY = 86400


def _pool(api, team, **extra) -> dict:
    body = {"name": "销售公海", "admin_ids": [team["manager"]], "member_department_ids": [team["sales"]],
            "rules": [{"kind": "no_followup", "days": 10}], "remind_days_before": 3, **extra}
    r = api.call("POST", "/v1/pools", team["admin"], body)
    assert r.status_code == 201, r.data
    BusDriver(only=REACTING).run_once()  # the pool's members' customers take their moments (nobody has any yet)
    return r.data


def _timers(api, customer_id: str) -> dict[str, str]:
    """The customer's record timers as scheduled (once the table stream has been read, as the
    record_timers function does): timer -> the moment it stands for."""
    api.pump()
    sched, group = client("scheduler"), get_settings().schedule_group
    out = {}
    for s in sched.list_schedules(GroupName=group)["Schedules"]:
        payload = json.loads(sched.get_schedule(Name=s["Name"], GroupName=group)["Target"]["Input"])
        if payload.get("kind") == "record_timer" and payload["record_id"] == customer_id:
            out[payload["timer"]] = payload["at"]
    return out


def _at(iso: str) -> float:
    return clock.parse_iso(iso).timestamp()


_names = itertools.count(1)


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"久未跟进的客户{next(_names)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def test_given_a_no_follow_up_rule_then_the_customer_is_warned_about_and_recycled_by_its_schedules(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    c = _customer(api, t["rep1"], mobile="13912345678")
    assert c["pool_due_pool"] == pool["id"]
    assert round(_at(c["pool_due_at"]) - _at(c["owned_since"])) == 10 * DAY
    assert round(_at(c["pool_due_at"]) - _at(c["pool_warn_at"])) == 3 * DAY
    assert _timers(api, c["id"]) == {"pool_recycle": c["pool_due_at"], "pool_warning": c["pool_warn_at"]}

    clock.travel(6 * DAY)
    assert ScheduleDriver().run_once() == 0  # nothing before the warning
    clock.travel(1 * DAY + 60)
    assert ScheduleDriver().run_once() == 1  # 待进入公海提醒
    inbox = api.call("GET", "/v1/notifications", t["rep1"]).data["items"]
    assert [n["kind"] for n in inbox] == ["pool_warning"] and "销售公海" in inbox[0]["title"]
    assert inbox[0]["link"] == {"entity": "customer", "id": c["id"]}
    from chalicelib.core import context
    from chalicelib.engine import due

    clock.travel(600)
    with context.acting_as(context.system_context(sales_team["id"])):  # Scheduler retries the same schedule
        assert due.fire_timer(sales_team["id"], "customer", c["id"], "pool_warning", c["pool_warn_at"]) is False
    assert len(api.call("GET", "/v1/notifications", t["rep1"]).data["items"]) == 1

    clock.travel(3 * DAY)
    assert ScheduleDriver().run_once() == 1  # the recycling
    gone = api.call("GET", f"/v1/pools/{pool['id']}/customers/{c['id']}", t["rep2"])
    assert gone.status_code == 200, gone.data
    assert gone.data["owner_id"] == f"pool:{pool['id']}" and gone.data["previous_owner_id"] == sales_team["rep1"]
    assert gone.data["pool_reason"] == "10 天未跟进，自动回收" and gone.data["pool_due_at"] is None
    assert _timers(api, c["id"]) == {}
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).status_code == 404  # not theirs any more
    kinds = [n["kind"] for n in api.call("GET", "/v1/notifications", t["rep1"]).data["items"]]
    assert kinds == ["pool_recycled", "pool_warning"]
    log = api.call("GET", f"/v1/records/customer/{c['id']}/logs", sales_team["admin"]).data["items"]
    assert log[0]["action"] == "recycle"
    assert ScheduleDriver().run_once() == 0

    # claimed by another rep: the pool's clock starts again for them
    claimed = api.call("POST", f"/v1/pools/{pool['id']}/customers/{c['id']}/claim", t["rep2"]).data
    assert round(_at(claimed["pool_due_at"]) - clock.now().timestamp()) == 10 * DAY
    assert _timers(api, c["id"])["pool_recycle"] == claimed["pool_due_at"]


def test_given_a_follow_up_then_the_pool_moment_and_its_schedules_move(api, sales_team):
    t = sales_team["tokens"]
    _pool(api, sales_team)
    c = _customer(api, t["rep1"])
    clock.travel(5 * DAY)
    f = api.call("POST", "/v1/followups", t["rep1"], {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                       "content": "电话回访"})
    assert f.status_code == 201, f.data
    after = api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data
    assert round(_at(after["pool_due_at"]) - _at(after["last_followup_at"])) == 10 * DAY
    assert _timers(api, c["id"]) == {"pool_recycle": after["pool_due_at"], "pool_warning": after["pool_warn_at"]}
    clock.travel(6 * DAY)  # past the first moment, before the new warning
    assert ScheduleDriver().run_once() == 0
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data["owner_id"] == sales_team["rep1"]


def test_given_lock_deal_level_and_options_then_exemptions_follow_the_pool_rules(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    pool = _pool(api, sales_team, rules=[{"kind": "no_followup", "days": 10, "levels": ["C"]}, {"kind": "no_deal", "days": 60}])
    low = _customer(api, t["rep1"], level="C")
    key = _customer(api, t["rep1"], level="A")
    assert round(_at(low["pool_due_at"]) - _at(low["owned_since"])) == 10 * DAY  # the C rule is the earliest
    assert round(_at(key["pool_due_at"]) - _at(key["owned_since"])) == 60 * DAY  # only 未成交 applies to A

    locked = api.call("POST", f"/v1/customers/{low['id']}/lock", t["rep1"], {"version": low["version"]})
    assert locked.status_code == 200, locked.data
    assert locked.data["pool_due_at"] is None and _timers(api, low["id"]) == {}  # locked customers are exempt
    unlocked = api.call("POST", f"/v1/customers/{low['id']}/unlock", t["rep1"], {"version": locked.data["version"]}).data
    assert unlocked["pool_due_at"] == low["pool_due_at"] and set(_timers(api, low["id"])) == {"pool_recycle", "pool_warning"}

    closed = api.call("PATCH", f"/v1/customers/{key['id']}", t["rep1"], {"deal_status": "closed", "version": key["version"]})
    assert closed.status_code == 200, closed.data
    assert closed.data["pool_due_at"] is None and _timers(api, key["id"]) == {}  # closed deals stay with their owner

    # the pool now takes closed-deal customers too: 未成交 no longer applies, a C-level rule would
    r = api.call("PATCH", f"/v1/pools/{pool['id']}", admin, {"include_closed": True, "version": pool["version"]})
    assert r.status_code == 200, r.data
    assert BusDriver(only=REACTING).run_once() == 1
    assert api.call("GET", f"/v1/customers/{key['id']}", t["rep1"]).data["pool_due_at"] is None
    relevel = api.call("PATCH", f"/v1/customers/{key['id']}", t["rep1"], {"level": "C", "version": closed.data["version"]})
    assert round(_at(relevel.data["pool_due_at"]) - _at(key["owned_since"])) == 10 * DAY


def test_given_a_rule_change_then_the_members_customers_take_their_new_moments_in_the_background(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    pool = _pool(api, sales_team)
    a, b = _customer(api, t["rep1"], name="甲公司"), _customer(api, t["rep2"], name="乙公司")
    r = api.call("PATCH", f"/v1/pools/{pool['id']}", admin, {"rules": [{"kind": "no_followup", "days": 3}],
                                                             "version": pool["version"]})
    assert r.status_code == 200, r.data
    assert BusDriver(only=REACTING).run_once() == 1
    for c in (a, b):
        now = api.call("GET", f"/v1/customers/{c['id']}", admin).data
        assert round(_at(now["pool_due_at"]) - _at(c["owned_since"])) == 3 * DAY
        assert _timers(api, c["id"])["pool_recycle"] == now["pool_due_at"]
    log = api.call("GET", f"/v1/records/customer/{a['id']}/logs", admin).data["items"]
    assert log[0]["action"] == "pool_timer"
    # the sales department leaves the pool: nobody's customers enter it any more
    r = api.call("PATCH", f"/v1/pools/{pool['id']}", admin, {"member_department_ids": [], "version": r.data["version"]})
    assert BusDriver(only=REACTING).run_once() == 1
    assert api.call("GET", f"/v1/customers/{a['id']}", admin).data["pool_due_at"] is None
    assert _timers(api, a["id"]) == {} and _timers(api, b["id"]) == {}
    assert BusDriver(only=REACTING).run_once() == 0


def test_given_a_rep_moved_to_a_department_outside_the_pool_then_their_customers_stop_counting_down(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    _pool(api, sales_team)
    c = _customer(api, t["rep1"])
    me = api.call("GET", f"/v1/org/users/{sales_team['rep1']}", admin).data
    r = api.call("PATCH", f"/v1/org/users/{sales_team['rep1']}", admin, {"department_id": sales_team["service"],
                                                                          "version": me["version"]})
    assert r.status_code == 200, r.data
    assert BusDriver(only=REACTING).run_once() >= 1
    assert api.call("GET", f"/v1/customers/{c['id']}", admin).data["pool_due_at"] is None and _timers(api, c["id"]) == {}


def test_given_the_rules_changed_before_the_background_caught_up_then_the_schedule_rechecks_and_moves_on(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    pool = _pool(api, sales_team)
    c = _customer(api, t["rep1"])
    api.pump()  # its schedules are made, for the old rule
    r = api.call("PATCH", f"/v1/pools/{pool['id']}", admin, {"rules": [{"kind": "no_followup", "days": 30}],
                                                             "version": pool["version"]})
    assert r.status_code == 200  # the background re-derivation has not run yet
    clock.travel(10 * DAY + 60)
    ScheduleDriver().run_once()
    now = api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data
    assert now["owner_id"] == sales_team["rep1"]  # not recycled on the old rule
    assert round(_at(now["pool_due_at"]) - _at(c["owned_since"])) == 30 * DAY
    assert _timers(api, c["id"])["pool_recycle"] == now["pool_due_at"]


def test_given_a_transfer_or_a_hand_over_then_the_timer_follows_the_new_owner(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    _pool(api, sales_team, member_department_ids=[], member_user_ids=[sales_team["rep1"], sales_team["rep2"]])
    c = _customer(api, t["rep1"])
    clock.travel(2 * DAY)
    moved = api.call("POST", f"/v1/customers/{c['id']}/transfer", t["manager"], {"to_user_id": sales_team["manager"],
                                                                                  "version": c["version"]})
    assert moved.status_code == 200, moved.data
    assert moved.data["pool_due_at"] is None and _timers(api, c["id"]) == {}  # the manager is in no pool
    back = api.call("POST", f"/v1/customers/{c['id']}/transfer", t["manager"], {"to_user_id": sales_team["rep2"],
                                                                                 "version": moved.data["version"]}).data
    assert round(_at(back["pool_due_at"]) - clock.now().timestamp()) == 10 * DAY  # owned since now
    handed = api.call("POST", f"/v1/org/users/{sales_team['rep2']}/handover", admin, {"to_user_id": sales_team["rep1"]})
    assert handed.status_code == 200, handed.data
    after = api.call("GET", f"/v1/customers/{c['id']}", admin).data
    assert after["owner_id"] == sales_team["rep1"] and after["owned_since"] != back["owned_since"]
    assert _timers(api, c["id"])["pool_recycle"] == after["pool_due_at"]


def test_given_customers_about_to_enter_then_owners_see_tomorrow_and_this_week_within_their_scope(api, sales_team):
    t = sales_team["tokens"]
    pool = _pool(api, sales_team)
    soon = _customer(api, t["rep1"], name="明天进公海")
    clock.travel(4 * DAY)
    later = _customer(api, t["rep1"], name="本周进公海")
    _customer(api, t["rep2"], name="别人的客户")
    clock.travel(5 * DAY)  # soon: due in one day; later: in six days
    names = lambda r: [x["name"] for x in r.data["items"]]  # noqa: E731
    tomorrow = api.call("GET", "/v1/pools/upcoming?within=tomorrow", t["rep1"])
    assert tomorrow.status_code == 200, tomorrow.data
    assert names(tomorrow) == ["明天进公海"]
    assert names(api.call("GET", "/v1/pools/upcoming", t["rep1"])) == ["明天进公海", "本周进公海"]
    assert names(api.call("GET", f"/v1/pools/upcoming?within=week&pool_id={pool['id']}", t["manager"])) == \
        ["明天进公海", "本周进公海", "别人的客户"]
    assert soon["id"] != later["id"]
    bad = api.call("GET", "/v1/pools/upcoming?within=month", t["rep1"])
    assert bad.status_code == 422
    assert api.call("GET", "/v1/pools/upcoming?pool_id=nope", t["rep1"]).status_code == 404
    assert api.call("GET", "/v1/pools/upcoming?pool_id=", t["rep1"]).status_code == 422
    assert api.call("GET", "/v1/pools/upcoming?cursor=%C2%98", t["rep1"]).status_code == 400


def test_given_timers_then_a_customer_write_without_moving_them_calls_scheduler_not_at_all(api, sales_team, monkeypatch):
    from chalicelib.ports import scheduler

    t = sales_team["tokens"]
    _pool(api, sales_team)
    c = _customer(api, t["rep1"])
    api.pump()  # its schedules are made
    calls = []
    monkeypatch.setattr(scheduler, "upsert", lambda *a, **k: calls.append(("upsert", a)))
    monkeypatch.setattr(scheduler, "delete", lambda *a, **k: calls.append(("delete", a)))
    r = api.call("PATCH", f"/v1/customers/{c['id']}", t["rep1"], {"remark": "改个备注", "version": c["version"]})
    assert r.status_code == 200 and r.data["pool_due_at"] == c["pool_due_at"]
    assert api.pump() >= 1 and calls == []  # the stream saw the change; the moments did not move
    f = api.call("POST", "/v1/followups", t["rep1"], {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                       "content": "跟进一次"})
    assert f.status_code == 201 and calls == []  # the request itself never calls Scheduler…
    api.pump()
    assert sorted(kind for kind, _ in calls) == ["delete", "delete", "upsert", "upsert"]  # …the stream moves both timers
    assert clock.now() < clock.parse_iso(c["pool_due_at"]) - timedelta(days=9)
