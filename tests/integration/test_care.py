"""Customer care (客户关怀, SALES-14): rules remind owners of their contacts' birthdays, of
customers N days after a deal and of customers nobody contacted for N days, through each
record's own schedules, which move with the record and with the rules; holidays remind every
owner once how many customers to greet; revisits record a satisfaction score the customer
carries."""
from __future__ import annotations

import calendar
import itertools
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.ports import client
from devstack.drivers import BusDriver, ScheduleDriver

REACTING = ("notifier", "approval_timer", "rederive")  # what these tests count (webhooks hear every event too)

DAY = 86400
TZ = ZoneInfo("Asia/Shanghai")
_names = itertools.count(1)


# ---- helpers ------------------------------------------------------------------------------------------
def _today() -> date:
    return clock.now().astimezone(TZ).date()


def _nine(day: date) -> str:
    return clock.iso(datetime.combine(day, time(9), tzinfo=TZ))


def _yearly(month: int, day: int, year: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _to(moment: str, after: float = 60) -> None:
    """Move the clock to `after` seconds past a moment."""
    clock.travel(clock.parse_iso(moment).timestamp() + after - clock.now().timestamp())


def _rules(api, token: str, rules: list[dict], version: int | None = None):
    body = {"rules": rules, **({"version": version} if version is not None else {})}
    return api.call("PUT", "/v1/care-rules", token, body)


def _set(api, team: dict, rules: list[dict]) -> dict:
    current = api.call("GET", "/v1/care-rules", team["admin"]).data
    r = _rules(api, team["admin"], rules, current["version"] or None)
    assert r.status_code == 200, r.data
    return r.data


def _schedules() -> list[dict]:
    sched, group = client("scheduler"), get_settings().schedule_group
    return [json.loads(sched.get_schedule(Name=s["Name"], GroupName=group)["Target"]["Input"])
            for s in sched.list_schedules(GroupName=group)["Schedules"]]


def _timers(api, record_id: str) -> dict[str, str]:
    """A record's timers as scheduled, once the table stream has been read (functions/record_timers.py):
    timer -> the moment it stands for (one schedule each)."""
    api.pump()
    found = [(p["timer"], p["at"]) for p in _schedules() if p.get("kind") == "record_timer" and p["record_id"] == record_id]
    assert len(found) == len(dict(found)), found
    return dict(found)


def _fire(api) -> int:
    """The schedules that are due, fired (after the table stream has made the latest ones)."""
    api.pump()
    return ScheduleDriver().run_once()


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"关怀客户{next(_names)}", **fields})
    assert r.status_code == 201, r.data
    api.pump()  # its schedules are made within a second of the write (the table stream)
    return r.data


def _contact(api, token: str, customer_id: str, **fields) -> dict:
    r = api.call("POST", "/v1/contacts", token, {"name": f"联系人{next(_names)}", "customer": customer_id, **fields})
    assert r.status_code == 201, r.data
    api.pump()  # its schedules are made within a second of the write (the table stream)
    return r.data


def _inbox(api, token: str) -> list[dict]:
    return api.call("GET", "/v1/notifications", token).data["items"]


def _patch(api, token: str, path: str, rec: dict, **changes) -> dict:
    r = api.call("PATCH", f"{path}/{rec['id']}", token, {**changes, "version": rec["version"]})
    assert r.status_code == 200, r.data
    api.pump()
    return r.data


# ---- not contacted (遗忘客户) -------------------------------------------------------------------------------
def test_given_a_not_contacted_rule_then_a_follow_up_pushes_the_reminder_and_it_fires_once_to_the_owner(api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "not_contacted", "days": 10}])
    c = _customer(api, t["rep1"], name="久未联系的华为")
    first = _nine(_today() + timedelta(days=10))
    assert c["care_not_contacted_at"] == first and _timers(api, c["id"]) == {"care_not_contacted": first}

    clock.travel(5 * DAY)
    f = api.call("POST", "/v1/followups", t["rep1"], {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                       "content": "电话问候"})
    assert f.status_code == 201, f.data
    pushed = _nine(_today() + timedelta(days=10))
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data["care_not_contacted_at"] == pushed
    assert _timers(api, c["id"]) == {"care_not_contacted": pushed}  # the old schedule went

    _to(first)
    assert _fire(api) == 0 and _inbox(api, t["rep1"]) == []
    _to(pushed)
    assert _fire(api) == 1
    inbox = _inbox(api, t["rep1"])
    assert [(n["kind"], n["title"], n["link"]) for n in inbox] == [
        ("care_not_contacted", "客户「久未联系的华为」已 10 天没有跟进，别让它成为遗忘客户", {"entity": "customer", "id": c["id"]})]
    clock.travel(DAY)
    assert _fire(api) == 0 and len(_inbox(api, t["rep1"])) == 1  # once
    assert _inbox(api, t["rep2"]) == [] and _inbox(api, t["manager"]) == []


def test_given_rules_for_levels_then_the_rule_naming_the_level_wins_and_a_level_change_moves_the_moment(api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "not_contacted", "days": 7, "levels": ["A"]}, {"kind": "not_contacted", "days": 30}])
    key, regular = _customer(api, t["rep1"], level="A"), _customer(api, t["rep1"], level="B")
    assert key["care_not_contacted_at"] == _nine(_today() + timedelta(days=7))
    assert regular["care_not_contacted_at"] == _nine(_today() + timedelta(days=30))
    promoted = _patch(api, t["rep1"], "/v1/customers", regular, level="A")
    assert promoted["care_not_contacted_at"] == _nine(_today() + timedelta(days=7))
    assert _timers(api, regular["id"]) == {"care_not_contacted": promoted["care_not_contacted_at"]}


# ---- after a deal -----------------------------------------------------------------------------------------------
def test_given_an_after_deal_rule_then_the_deal_sets_the_reminder_going_back_clears_it_and_the_current_owner_is_told(
        api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "after_deal", "days": 7}])
    c = _customer(api, t["rep1"], name="刚成交的比亚迪")
    assert c["deal_at"] is None and c["care_after_deal_at"] is None and _timers(api, c["id"]) == {}

    closed = _patch(api, t["rep1"], "/v1/customers", c, deal_status="closed")
    assert closed["deal_at"] and closed["care_after_deal_at"] == _nine(_today() + timedelta(days=7))
    assert _timers(api, c["id"]) == {"care_after_deal": closed["care_after_deal_at"]}
    reopened = _patch(api, t["rep1"], "/v1/customers", closed, deal_status="none")
    assert reopened["deal_at"] is None and reopened["care_after_deal_at"] is None and _timers(api, c["id"]) == {}
    refused = api.call("PATCH", f"/v1/customers/{c['id']}", t["rep1"], {"deal_at": clock.now_iso(), "version": reopened["version"]})
    assert refused.status_code == 422  # read-only: derived from the deal status

    clock.travel(2 * DAY)
    again = _patch(api, t["rep1"], "/v1/customers", reopened, deal_status="closed")
    assert again["care_after_deal_at"] == _nine(_today() + timedelta(days=7))
    moved = api.call("POST", f"/v1/customers/{c['id']}/transfer", t["manager"], {"to_user_id": sales_team["rep2"],
                                                                                  "version": again["version"]})
    assert moved.status_code == 200, moved.data
    assert moved.data["care_after_deal_at"] == again["care_after_deal_at"]  # the deal did not move
    _to(again["care_after_deal_at"], after=-120)
    assert _fire(api) == 0
    clock.travel(180)
    assert _fire(api) == 1
    assert [n["title"] for n in _inbox(api, t["rep2"])] == ["客户「刚成交的比亚迪」成交已 7 天，请安排回访"]
    assert _inbox(api, t["rep1"]) == []


# ---- birthdays --------------------------------------------------------------------------------------------------
def _birthday_in(days: int) -> tuple[str, date]:
    """A birthday (born 1988, a leap year) that comes in `days` days, and that day."""
    day = _today() + timedelta(days=days)
    return f"1988-{day.month:02d}-{day.day:02d}", day


def test_given_a_birthday_rule_then_an_edit_moves_it_it_fires_once_and_next_years_is_armed(api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "birthday", "days": 3}])
    c = _customer(api, t["rep1"], name="宁德时代")
    birthday, day = _birthday_in(20)
    p = _contact(api, t["rep1"], c["id"], name="曾毓群", birthday=birthday)
    assert p["care_birthday_at"] == _nine(day - timedelta(days=3)) and _timers(api, p["id"]) == {"care_birthday": p["care_birthday_at"]}
    birthday, day = _birthday_in(10)
    p = _patch(api, t["rep1"], "/v1/contacts", p, birthday=birthday)
    reminder = _nine(day - timedelta(days=3))
    assert p["care_birthday_at"] == reminder and _timers(api, p["id"]) == {"care_birthday": reminder}

    _to(reminder, after=-120)
    assert _fire(api) == 0
    clock.travel(180)
    assert _fire(api) == 1
    assert [(n["kind"], n["title"], n["link"]) for n in _inbox(api, t["rep1"])] == [
        ("care_birthday", f"联系人「曾毓群」（宁德时代）{day.isoformat()} 生日，记得送上祝福", {"entity": "contact", "id": p["id"]})]
    following = _yearly(day.month, day.day, day.year + 1)
    next_year = _nine(following - timedelta(days=3))
    assert _timers(api, p["id"]) == {"care_birthday": next_year}  # armed without writing the contact
    assert api.call("GET", f"/v1/contacts/{p['id']}", t["rep1"]).data["version"] == p["version"]
    assert _fire(api) == 0

    clock.travel(300 * DAY)
    assert _fire(api) == 0
    _to(next_year)
    assert _fire(api) == 1
    assert len(_inbox(api, t["rep1"])) == 2
    assert _timers(api, p["id"]) == {"care_birthday": _nine(_yearly(day.month, day.day, day.year + 2) - timedelta(days=3))}
    # an edit in between leaves the rolled-on schedule alone; clearing the birthday removes it
    later = _patch(api, t["rep1"], "/v1/contacts", api.call("GET", f"/v1/contacts/{p['id']}", t["rep1"]).data, title="董事长")
    assert _timers(api, p["id"]) == {"care_birthday": _nine(_yearly(day.month, day.day, day.year + 2) - timedelta(days=3))}
    cleared = _patch(api, t["rep1"], "/v1/contacts", later, birthday=None)
    assert cleared["care_birthday_at"] is None and _timers(api, p["id"]) == {}


def test_given_a_birthday_reminder_that_comes_too_late_then_nobody_is_told_and_the_coming_one_is_armed(api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "birthday", "days": 1}])
    birthday, day = _birthday_in(4)
    p = _contact(api, t["rep1"], _customer(api, t["rep1"])["id"], birthday=birthday)
    clock.travel(6 * DAY)  # past the birthday: the schedule comes late (a retry long after its time)
    assert _fire(api) == 1
    assert _inbox(api, t["rep1"]) == []
    assert _timers(api, p["id"]) == {"care_birthday": _nine(_yearly(day.month, day.day, day.year + 1) - timedelta(days=1))}


def test_given_a_reader_whose_field_rules_hide_names_then_the_reminder_does_not_leak_them(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "外包销售", "actions": {"customers": ["list", "read"], "contacts": ["list", "read"]},
        "scopes": {"customers": "self", "contacts": "self"},
        "fields": {"customers": {"name": "hidden"}, "contacts": {"name": "hidden", "birthday": "hidden"}}})
    assert role.status_code == 201, role.data
    user = api.call("POST", "/v1/org/users", admin, {"name": "外包小王", "mobile": "13900000020", "department_id": sales_team["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"})
    assert user.status_code == 201, user.data
    _set(api, sales_team, [{"kind": "birthday", "days": 0}])
    c = _customer(api, admin, name="机密客户有限公司", owner_id=user.data["id"])
    birthday, day = _birthday_in(2)
    p = _contact(api, admin, c["id"], name="机密联系人", birthday=birthday, owner_id=user.data["id"])
    _to(p["care_birthday_at"])
    assert _fire(api) == 1
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000020",
                                                     "password": "Passw0rd!2026"}).data["id_token"]
    [n] = _inbox(api, token)
    assert n["title"] == "联系人「联系人」（客户）— 生日，记得送上祝福"  # names and the hidden birthday are not in it
    assert "机密" not in json.dumps(n, ensure_ascii=False) and day.isoformat() not in n["title"]


# ---- rule changes (in the background) ----------------------------------------------------------------------
def test_given_a_rule_change_then_the_bus_function_moves_the_schedules_and_disabling_removes_them(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    rules = _set(api, sales_team, [{"kind": "not_contacted", "days": 10}, {"kind": "birthday", "days": 3}])
    a, b = _customer(api, t["rep1"]), _customer(api, t["rep2"])
    birthday, day = _birthday_in(30)
    p = _contact(api, t["rep1"], a["id"], birthday=birthday)
    BusDriver(only=REACTING).run_once()  # the first save's re-derivation (nothing was there yet)

    ids = [r["id"] for r in rules["rules"]]
    changed = _rules(api, admin, [{"id": ids[0], "kind": "not_contacted", "days": 3}, {"id": ids[1], "kind": "birthday", "days": 1}],
                     rules["version"])
    assert changed.status_code == 200, changed.data
    assert [r["id"] for r in changed.data["rules"]] == ids  # ids are kept
    assert _timers(api, a["id"])["care_not_contacted"] == a["care_not_contacted_at"]  # not yet: in the background
    assert BusDriver(only=REACTING).run_once() == 1
    for c in (a, b):
        now = api.call("GET", f"/v1/customers/{c['id']}", admin).data
        assert now["care_not_contacted_at"] == _nine(_today() + timedelta(days=3))
        assert _timers(api, c["id"]) == {"care_not_contacted": now["care_not_contacted_at"]}
    assert _timers(api, p["id"]) == {"care_birthday": _nine(day - timedelta(days=1))}
    log = api.call("GET", f"/v1/records/customer/{a['id']}/logs", admin).data["items"]
    assert log[0]["action"] == "care_timer"

    off = _rules(api, admin, [{**r, "enabled": False} for r in changed.data["rules"]], changed.data["version"])
    assert off.status_code == 200, off.data
    assert BusDriver(only=REACTING).run_once() == 1
    assert _timers(api, a["id"]) == {} and _timers(api, b["id"]) == {} and _timers(api, p["id"]) == {}
    assert api.call("GET", f"/v1/contacts/{p['id']}", admin).data["care_birthday_at"] is None
    assert BusDriver(only=REACTING).run_once() == 0
    clock.travel(40 * DAY)
    assert _fire(api) == 0 and _inbox(api, t["rep1"]) == []


def test_given_a_rule_changed_before_the_background_caught_up_then_the_schedule_rechecks_and_moves_on(api, sales_team):
    t = sales_team["tokens"]
    rules = _set(api, sales_team, [{"kind": "not_contacted", "days": 5}])
    c = _customer(api, t["rep1"])
    r = _rules(api, sales_team["admin"], [{**rules["rules"][0], "days": 20}], rules["version"])
    assert r.status_code == 200
    _to(c["care_not_contacted_at"])
    assert _fire(api) == 1  # it fired, found the rule moved on, and took the new moment
    assert _inbox(api, t["rep1"]) == []
    now = api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data
    assert now["care_not_contacted_at"] == _nine(clock.parse_iso(c["created_at"]).astimezone(TZ).date() + timedelta(days=20))
    assert _timers(api, c["id"]) == {"care_not_contacted": now["care_not_contacted_at"]}


# ---- public pools ------------------------------------------------------------------------------------------------
def test_given_customers_in_a_public_pool_then_they_and_their_contacts_get_no_care_reminders(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    pool = api.call("POST", "/v1/pools", admin, {"name": "公海", "member_department_ids": [sales_team["sales"]]}).data
    _set(api, sales_team, [{"kind": "not_contacted", "days": 3}, {"kind": "after_deal", "days": 2}, {"kind": "birthday", "days": 1}])
    c = _customer(api, t["rep1"], deal_status="closed")
    birthday, _ = _birthday_in(5)
    p = _contact(api, t["rep1"], c["id"], birthday=birthday)
    assert set(_timers(api, c["id"])) == {"care_not_contacted", "care_after_deal"} and set(_timers(api, p["id"])) == {"care_birthday"}
    back = api.call("POST", f"/v1/customers/{c['id']}/pool", t["rep1"], {"pool_id": pool["id"], "reason": "暂无需求",
                                                                          "version": c["version"]})
    assert back.status_code == 200, back.data
    assert back.data["care_not_contacted_at"] is None and back.data["care_after_deal_at"] is None
    assert _timers(api, c["id"]) == {}
    _to(p["care_birthday_at"])
    assert _fire(api) == 1  # the contact's birthday came: nobody is told while its customer is in a pool
    clock.travel(10 * DAY)
    assert _fire(api) == 0
    assert _inbox(api, t["rep1"]) == [] and _inbox(api, t["rep2"]) == []
    assert set(_timers(api, p["id"])) == {"care_birthday"}  # next year's, should it be claimed by then


# ---- holidays --------------------------------------------------------------------------------------------------------
def test_given_holidays_then_one_schedule_each_tells_every_owner_how_many_customers_to_greet(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    soon = _today() + timedelta(days=5)
    if (soon.month, soon.day) == (2, 29):
        soon += timedelta(days=1)
    later = _today() + timedelta(days=40)
    rules = _set(api, sales_team, [{"kind": "holiday", "days": 2, "name": "节日问候", "holidays": [
        {"name": "国庆节", "date": f"{soon.month:02d}-{soon.day:02d}"}, {"name": "春节", "date": later.isoformat()}]},
        {"kind": "holiday", "days": 0, "levels": ["A"], "holidays": [{"name": "周年庆", "date": later.isoformat()}]}])
    for _ in range(3):
        _customer(api, t["rep1"], level="A")
    _customer(api, t["rep2"], level="B")
    holidays = sorted((p["holiday"], p["at"]) for p in _schedules() if p["kind"] == "care_holiday")
    assert holidays == sorted([(f"{soon.month:02d}-{soon.day:02d}", _nine(soon - timedelta(days=2))),
                               (later.isoformat(), _nine(later - timedelta(days=2))), (later.isoformat(), _nine(later))])

    _to(_nine(soon - timedelta(days=2)))
    assert _fire(api) == 1
    assert [n["title"] for n in _inbox(api, t["rep1"])] == [f"国庆节（{soon.isoformat()}）快到了：您有 3 位客户需要问候"]
    assert [n["title"] for n in _inbox(api, t["rep2"])] == [f"国庆节（{soon.isoformat()}）快到了：您有 1 位客户需要问候"]
    assert _inbox(api, t["manager"]) == []  # owns none
    following = _yearly(soon.month, soon.day, soon.year + 1)
    assert (f"{soon.month:02d}-{soon.day:02d}", _nine(following - timedelta(days=2))) in \
        [(p["holiday"], p["at"]) for p in _schedules() if p["kind"] == "care_holiday"]  # a yearly holiday: next year's

    # 春节 leaves the rules: its schedule goes at once; 周年庆 counts level A only
    kept = [{**rules["rules"][0], "holidays": rules["rules"][0]["holidays"][:1]}, rules["rules"][1]]
    assert _rules(api, admin, kept, rules["version"]).status_code == 200
    assert sorted(p["holiday"] for p in _schedules() if p["kind"] == "care_holiday") == \
        sorted([f"{soon.month:02d}-{soon.day:02d}", later.isoformat()])
    _to(_nine(later))
    assert _fire(api) == 1
    assert [n["title"] for n in _inbox(api, t["rep1"])][0] == f"周年庆（{later.isoformat()}）快到了：您有 3 位客户需要问候"
    assert len(_inbox(api, t["rep2"])) == 1  # its customer is of level B


# ---- satisfaction (客户回访) ----------------------------------------------------------------------------------------
def test_given_revisits_then_the_customer_carries_the_latest_satisfaction_and_lists_them(api, sales_team):
    t = sales_team["tokens"]
    _set(api, sales_team, [{"kind": "not_contacted", "days": 10}])
    c = _customer(api, t["rep1"], name="华为技术有限公司")
    p = _contact(api, t["rep1"], c["id"], name="任正非")
    assert c["satisfaction"] is None and c["last_revisit_at"] is None
    clock.travel(3 * DAY)
    first = api.call("POST", "/v1/revisits", t["rep1"], {"customer": c["id"], "contact": p["id"], "satisfaction": "4",
                                                          "method": "call", "content": "对交付基本满意"})
    assert first.status_code == 201, first.data
    now = api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data
    assert now["satisfaction"] == "4" and now["last_revisit_at"] == first.data["visited_at"]
    assert now["care_not_contacted_at"] == _nine(_today() + timedelta(days=10))  # a revisit is contact too
    clock.travel(DAY)
    second = api.call("POST", "/v1/revisits", t["rep1"], {"customer": c["id"], "satisfaction": "2", "content": "售后响应慢"}).data
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data["satisfaction"] == "2"
    # editing the older one changes nothing on the customer; deleting the latest falls back to the one before
    edited = _patch(api, t["rep1"], "/v1/revisits", first.data, satisfaction="5")
    assert api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data["satisfaction"] == "2"
    gone = api.call("DELETE", f"/v1/revisits/{second['id']}", t["manager"], headers={"If-Match": f'"{second["version"]}"'})
    assert gone.status_code == 204, gone.data
    now = api.call("GET", f"/v1/customers/{c['id']}", t["rep1"]).data
    assert now["satisfaction"] == "5" and now["last_revisit_at"] == edited["visited_at"]
    related = api.call("GET", f"/v1/customers/{c['id']}/related", t["rep1"]).data["related"]
    assert [(r["satisfaction"], r["contact"]["id"]) for r in related["revisit"]] == [("5", p["id"])]
    log = api.call("GET", f"/v1/records/customer/{c['id']}/logs", sales_team["admin"]).data["items"]
    assert "revisit" in {e["action"] for e in log}

    other = _customer(api, t["rep1"])
    stranger = _contact(api, t["rep1"], other["id"])
    bad = api.call("POST", "/v1/revisits", t["rep1"], {"customer": c["id"], "contact": stranger["id"], "satisfaction": "3",
                                                        "content": "x"})
    assert bad.status_code == 422 and [d["field"] for d in bad.data["details"]] == ["contact"]
    assert api.call("POST", "/v1/revisits", t["rep1"], {"customer": c["id"], "satisfaction": "6", "content": "x"}).status_code == 422


# ---- the rules themselves --------------------------------------------------------------------------------------------
def test_given_bad_rules_then_422_names_each_field_and_only_admins_save_versioned(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]

    def fields(rules: list[dict]) -> list[str]:
        r = _rules(api, admin, rules)
        assert r.status_code == 422, r.data
        return [d["field"] for d in r.data["details"]]

    assert fields([{"kind": "anniversary", "days": 1}]) == ["rules.0.kind"]
    assert fields([{"kind": "birthday", "days": 91}, {"kind": "not_contacted", "days": 0}]) == ["rules.0.days", "rules.1.days"]
    assert fields([{"kind": "holiday", "days": 1, "holidays": [
        {"name": "春节", "date": "2027-02-30"}, {"name": "中秋", "date": "中秋"}, {"name": "x", "date": "2-6"},
        {"name": "闰日", "date": "02-29"}]}]) == [f"rules.0.holidays.{i}.date" for i in range(4)]
    assert fields([{"kind": "holiday", "days": 1}, {"kind": "after_deal", "days": 3, "holidays": [{"name": "元旦", "date": "01-01"}]}]) \
        == ["rules.0.holidays", "rules.1.holidays"]
    assert fields([{"kind": "after_deal", "days": 3, "levels": ["A", "Z"]}]) == ["rules.0.levels.1"]
    overlap = _rules(api, admin, [{"kind": "after_deal", "days": 3, "levels": ["A", "B"]}, {"kind": "after_deal", "days": 5,
                                                                                            "levels": ["B"]}])
    assert overlap.status_code == 422 and overlap.data["details"][0]["field"] == "rules.1.levels"
    assert "第 1 条" in overlap.data["details"][0]["message"]

    assert _rules(api, t["manager"], [{"kind": "birthday", "days": 1}]).status_code == 403
    saved = _rules(api, admin, [{"kind": "after_deal", "days": 3, "levels": ["A"]}, {"kind": "after_deal", "days": 5},
                                {"kind": "after_deal", "days": 9, "enabled": False}])  # a disabled rule may overlap
    assert saved.status_code == 200, saved.data
    assert saved.data["version"] == 1 and all(r["id"] for r in saved.data["rules"])
    seen = api.call("GET", "/v1/care-rules", t["rep1"])
    assert seen.status_code == 200 and seen.data == saved.data
    assert _rules(api, admin, []).status_code == 428
    assert _rules(api, admin, [], version=0).status_code == 409
