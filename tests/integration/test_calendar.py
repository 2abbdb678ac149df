"""Calendar (日程, WORK-2): events with participants, conflicts on create and on move (warn / force /
error, private events shown as busy), day / week / month views with recurring events expanded and
single occurrences moved or cancelled, reminders as real schedules, other modules' dates in the
calendar, and the iCalendar feed behind a revocable secret link."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from chalicelib.core import clock
from devstack.drivers import ScheduleDriver

CST = "+08:00"


def _at(day: str, hm: str) -> str:
    return f"{day}T{hm}:00{CST}"


def _event(api, token: str, title: str, start: str, end: str, query: str = "", expect: int = 201, **fields) -> dict:
    api.pump()  # the index follows the table (within a second on the stack): conflicts are found in it
    r = api.call("POST", f"/v1/events{query}", token, {"title": title, "start_at": start, "end_at": end, **fields})
    assert r.status_code == expect, r.data
    return r.data


def _view(api, token: str, frm: str, to: str, **who) -> list[dict]:
    q = f"from={quote(frm)}&to={quote(to)}" + "".join(f"&{k}={v}" for k, v in who.items())
    r = api.call("GET", f"/v1/calendar?{q}", token)
    assert r.status_code == 200, r.data
    return r.data["items"]


def _future_monday() -> str:
    d = (clock.now() + timedelta(days=14)).date()
    return (d - timedelta(days=d.weekday())).isoformat()


def _day(monday: str, n: int) -> str:
    return (datetime.fromisoformat(monday) + timedelta(days=n)).date().isoformat()


def test_given_a_rep_is_busy_when_the_manager_schedules_a_meeting_with_them_then_a_warning_names_it_and_force_overrides(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    day = _future_monday()
    visit = _event(api, tok["rep1"], "拜访华为", _at(day, "10:00"), _at(day, "11:00"), location="深圳坂田")
    _event(api, tok["rep2"], "看牙医", _at(day, "10:30"), _at(day, "11:30"), private=True)
    body = {"title": "周例会", "start_at": _at(day, "10:15"), "end_at": _at(day, "10:45"), "participant_ids": [t["rep1"], t["rep2"]],
            "location": "3 楼会议室"}
    api.pump()
    r = api.call("POST", "/v1/events", tok["manager"], body)
    assert r.status_code == 409 and r.data["code"] == "EVENT_CONFLICT", r.data
    assert "force=true" in r.data["message"] and r.data["details"]["overridable"] is True
    by_user = {c["user_id"]: c for c in r.data["details"]["conflicts"]}
    assert set(by_user) == {t["rep1"], t["rep2"]}
    assert by_user[t["rep1"]]["user_name"] == "李娜"
    assert [(e["id"], e["title"]) for e in by_user[t["rep1"]]["events"]] == [(visit["id"], "拜访华为")]  # the manager's scope covers it
    hidden = by_user[t["rep2"]]["events"][0]
    assert hidden["busy"] is True and hidden["title"] == "忙碌" and hidden["id"] is None and hidden["location"] is None
    en = api.call("POST", "/v1/events", tok["manager"], body, headers={"Accept-Language": "en"})
    assert en.data["details"]["conflicts"][1]["events"][0]["title"] == "Busy" or \
        en.data["details"]["conflicts"][0]["events"][0]["title"] == "Busy"
    # a rep who is not in the meeting sees another rep's event only as busy time
    r2 = api.call("POST", "/v1/events", tok["rep2"], {**body, "participant_ids": [t["rep1"]]})
    assert r2.status_code == 409 and r2.data["details"]["conflicts"][0]["events"][0]["title"] == "忙碌"
    # error mode cannot be forced
    blocked = api.call("POST", "/v1/events?on_conflict=error&force=true", tok["manager"], body)
    assert blocked.status_code == 409 and blocked.data["code"] == "EVENT_CONFLICT_BLOCKED" and not blocked.data["details"]["overridable"]
    meeting = _event(api, tok["manager"], "周例会", body["start_at"], body["end_at"], query="?force=true",
                     participant_ids=body["participant_ids"], location=body["location"])
    assert meeting["busy_ids"] == [t["manager"], t["rep1"], t["rep2"]]
    # each participant's calendar has it; the rep sees their own busy time and the meeting
    rep1_day = _view(api, tok["rep1"], _at(day, "00:00"), _at(_day(day, 1), "00:00"))
    assert [e["title"] for e in rep1_day] == ["拜访华为", "周例会"]
    # moving the meeting onto a free slot is checked again: no conflict there
    moved = api.call("PATCH", f"/v1/events/{meeting['id']}", tok["manager"],
                     {"start_at": _at(day, "14:00"), "end_at": _at(day, "15:00"), "version": meeting["version"]})
    assert moved.status_code == 200, moved.data
    back = api.call("PATCH", f"/v1/events/{meeting['id']}", tok["manager"],
                    {"start_at": _at(day, "10:00"), "end_at": _at(day, "10:30"), "version": moved.data["version"]})
    assert back.status_code == 409 and back.data["code"] == "EVENT_CONFLICT"
    # a title change alone is not a move: no check
    renamed = api.call("PATCH", f"/v1/events/{meeting['id']}", tok["manager"], {"title": "周例会（改）", "version": moved.data["version"]})
    assert renamed.status_code == 200, renamed.data


def test_given_bad_events_then_422_with_the_reason(api, sales_team):
    tok = sales_team["tokens"]["rep1"]
    day = _future_monday()
    r = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "09:00")})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "end_at"
    r = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(_day(day, 40), "09:00")})
    assert r.status_code == 422 and "31" in r.data["details"][0]["message"]
    for rule in ("FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9", "FREQ=DAILY;COUNT=5000", "nonsense", "FREQ=WEEKLY;BYDAY=TU",
                 "FREQ=MONTHLY;BYMONTHDAY=30;BYMONTH=2", "FREQ=MONTHLY;BYMONTHDAY=40", "FREQ=WEEKLY;WKST=XX"):
        r = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "11:00"), "rrule": rule})
        assert r.status_code == 422 and r.data["details"][0]["field"] == "rrule", (rule, r.data)
    r = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "11:00"),
                                             "participant_ids": ["nobody"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "participant_ids.0"
    r = api.call("POST", "/v1/events?force=maybe", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "11:00")})
    assert r.status_code == 422
    en = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "09:00")},
                  headers={"Accept-Language": "en"})
    assert en.data["details"][0]["message"] == "The end must come after the start"


def test_given_a_weekly_event_then_views_expand_it_and_one_occurrence_moves_or_is_cancelled_alone(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    monday = _future_monday()
    weekly = _event(api, tok["manager"], "销售周会", _at(monday, "09:00"), _at(monday, "10:00"), rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=8",
                    participant_ids=[t["rep1"]])
    assert weekly["rrule"] == "FREQ=WEEKLY;COUNT=8;BYDAY=MO"
    week = _view(api, tok["rep1"], _at(monday, "00:00"), _at(_day(monday, 7), "00:00"))
    assert [(e["title"], e["occurrence"]) for e in week] == [("销售周会", monday)]
    month = _view(api, tok["rep1"], _at(monday, "00:00"), _at(_day(monday, 42), "00:00"))
    assert [e["occurrence"] for e in month] == [_day(monday, 7 * i) for i in range(6)]
    # the third Monday's meeting conflicts with a one-off event that day, found through the series span
    third = _day(monday, 14)
    r = api.call("POST", "/v1/events", tok["rep1"], {"title": "客户电话", "start_at": _at(third, "09:30"), "end_at": _at(third, "09:45")})
    assert r.status_code == 409 and r.data["details"]["conflicts"][0]["events"][0]["occurrence"] == third
    # cancel the second, move the third to Tuesday afternoon
    second = _day(monday, 7)
    c = api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/{second}", tok["manager"], {"cancelled": True, "version": weekly["version"]})
    assert c.status_code == 200, c.data
    m = api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/{third}", tok["manager"],
                 {"start_at": _at(_day(third, 1), "15:00"), "end_at": _at(_day(third, 1), "16:00"), "version": c.data["version"]})
    assert m.status_code == 200, m.data
    month = _view(api, tok["rep1"], _at(monday, "00:00"), _at(_day(monday, 42), "00:00"))
    assert [(e["occurrence"], e["start_at"][:13], e["moved"]) for e in month] == [
        (monday, f"{monday}T01", False), (third, f"{_day(third, 1)}T07", True),
        *[(_day(monday, 7 * i), f"{_day(monday, 7 * i)}T01", False) for i in (3, 4, 5)]]
    # now the Monday call is free
    _event(api, tok["rep1"], "客户电话", _at(third, "09:30"), _at(third, "09:45"))
    assert api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/2001-01-01", tok["manager"],
                    {"cancelled": True, "version": m.data["version"]}).status_code == 404
    # a department's week: the manager's department calendar has the meeting once per occurrence
    dept = _view(api, tok["manager"], _at(monday, "00:00"), _at(_day(monday, 7), "00:00"), department_id=t["sales"])
    assert [e["title"] for e in dept] == ["销售周会"]
    assert api.call("GET", f"/v1/calendar?from={quote(_at(monday, '00:00'))}&to={quote(_at(_day(monday, 90), '00:00'))}",
                    tok["rep1"]).status_code == 422


def test_given_participants_then_unknown_and_disabled_users_are_refused_one_by_one_and_at_most_twenty_take_part(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    day = _future_monday()
    assert api.call("POST", f"/v1/org/users/{t['agent']}/disable", t["admin"]).status_code == 200
    body = {"title": "x", "start_at": _at(day, "10:00"), "end_at": _at(day, "11:00")}
    r = api.call("POST", "/v1/events", tok["manager"], {**body, "participant_ids": [t["rep1"], t["agent"], "nobody"]})
    assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["participant_ids.1", "participant_ids.2"]
    r = api.call("POST", "/v1/events", tok["manager"], {**body, "participant_ids": [f"u{i}" for i in range(21)]},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "participant_ids"
    assert r.data["details"][0]["message"] == "At most 20 items"


def test_given_a_long_series_then_many_occurrences_are_cancelled_up_to_a_stated_limit(api, sales_team):
    tok = sales_team["tokens"]
    monday = _future_monday()
    weekly = _event(api, tok["rep1"], "晨会", _at(monday, "08:30"), _at(monday, "09:00"), rrule="FREQ=WEEKLY;BYDAY=MO")
    version = weekly["version"]
    for week in range(1, 23):  # more than the 20 items a tags field holds by default
        r = api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/{_day(monday, 7 * week)}", tok["rep1"],
                     {"cancelled": True, "version": version})
        assert r.status_code == 200, (week, r.data)
        version = r.data["version"]
    assert len(r.data["exdates"]) == 22
    # the real limit, and a message about it
    many = [_day(monday, 7 * week) for week in range(1, 201)]
    r = api.call("PATCH", f"/v1/events/{weekly['id']}", tok["rep1"], {"exdates": many, "version": version})
    assert r.status_code == 200, r.data
    r = api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/{_day(monday, 7 * 201)}", tok["rep1"],
                 {"cancelled": True, "version": r.data["version"]}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["message"] == "At most 200 occurrences of a series can be cancelled"
    r = api.call("PATCH", f"/v1/events/{weekly['id']}", tok["rep1"], {"exdates": [*many, _day(monday, 7 * 201)], "version": 99})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "exdates"


def test_given_a_moved_occurrence_then_it_is_an_occurrence_of_the_series_and_lasts_at_most_31_days(api, sales_team):
    tok = sales_team["tokens"]
    monday = _future_monday()
    weekly = _event(api, tok["rep1"], "周报会", _at(monday, "16:00"), _at(monday, "17:00"), rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=4")
    second = _day(monday, 7)
    r = api.call("PATCH", f"/v1/events/{weekly['id']}/occurrences/{second}", tok["rep1"],
                 {"start_at": _at(second, "16:00"), "end_at": _at(_day(second, 40), "16:00"), "version": weekly["version"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "overrides.0.end_at" and "31" in r.data["details"][0]["message"]
    tuesday = _day(monday, 8)  # not a Monday: no occurrence of the series
    r = api.call("PATCH", f"/v1/events/{weekly['id']}", tok["rep1"], {"overrides": [
        {"date": tuesday, "start_at": _at(tuesday, "10:00"), "end_at": _at(tuesday, "11:00")}], "version": weekly["version"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "overrides.0.date", r.data
    r = api.call("PATCH", f"/v1/events/{weekly['id']}", tok["rep1"], {"overrides": [
        {"date": second, "start_at": _at(second, "10:00"), "end_at": _at(_day(second, 33), "11:00")}], "version": weekly["version"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "overrides.0.end_at"
    r = api.call("PATCH", f"/v1/events/{weekly['id']}", tok["rep1"], {"overrides": [
        {"date": second, "start_at": _at(_day(second, 1), "10:00"), "end_at": _at(_day(second, 1), "11:00")}],
        "version": weekly["version"]})
    assert r.status_code == 200, r.data
    got = _view(api, tok["rep1"], _at(monday, "00:00"), _at(_day(monday, 35), "00:00"))
    assert [e["occurrence"] for e in got] == [_day(monday, 7 * i) for i in range(4)]


def test_given_an_event_with_a_reminder_then_every_participant_is_reminded_once_and_the_next_occurrence_is_armed(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _event(api, tok["manager"], "客户来访", clock.iso(start), clock.iso(start + timedelta(hours=1)), rrule="FREQ=DAILY;COUNT=2",
                participant_ids=[t["rep1"], t["rep2"]], reminder_minutes=30)
    api.pump()  # the reminder is a record timer: it follows the event through the table stream
    driver = ScheduleDriver()
    assert driver.run_once() == 0
    clock.travel(91 * 60)
    assert driver.run_once() == 1
    for who in ("manager", "rep1", "rep2"):
        inbox = [n for n in api.call("GET", "/v1/notifications", tok[who]).data["items"] if n["kind"] != "event_participant"]
        assert [n["kind"] for n in inbox] == ["event_reminder"], who
        assert inbox[0]["title"].startswith("日程提醒：客户来访") and inbox[0]["link"]["id"] == ev["id"]
    assert driver.run_once() == 0  # delivered once
    # the second day's reminder was armed when the first fired; moving the series moves it
    moved = api.call("PATCH", f"/v1/events/{ev['id']}", tok["manager"], {"reminder_minutes": 60, "version": ev["version"]})
    assert moved.status_code == 200, moved.data
    api.pump()
    clock.travel(int(23.5 * 3600))  # just past an hour before the second occurrence (its new reminder time)
    assert driver.run_once() >= 1
    assert len([n for n in api.call("GET", "/v1/notifications", tok["rep1"]).data["items"] if n["kind"] == "event_reminder"]) == 2
    # deleted: nothing more
    gone = api.call("DELETE", f"/v1/events/{ev['id']}", tok["manager"], headers={"If-Match": f'"{moved.data["version"]}"'})
    assert gone.status_code == 204


def test_given_a_deleted_event_then_its_reminder_does_not_fire(api, sales_team):
    tok = sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _event(api, tok["rep1"], "电话会", clock.iso(start), clock.iso(start + timedelta(hours=1)), reminder_minutes=10)
    assert api.call("DELETE", f"/v1/events/{ev['id']}", tok["rep1"], headers={"If-Match": f'"{ev["version"]}"'}).status_code == 204
    api.pump()
    clock.travel(3 * 3600)
    ScheduleDriver().run_once()
    assert api.call("GET", "/v1/notifications", tok["rep1"]).data["items"] == []


def test_given_follow_ups_and_contracts_then_their_dates_show_in_the_calendar_of_whom_they_concern(api, sales_team):
    tok = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", tok["rep1"], {"name": "上海远景科技"}).data
    nxt = clock.now() + timedelta(days=3)
    f = api.call("POST", "/v1/followups", tok["rep1"], {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                          "content": "约下周演示", "next_contact_at": clock.iso(nxt)})
    assert f.status_code == 201, f.data
    frm, to = clock.iso(clock.now()), clock.iso(clock.now() + timedelta(days=7))
    mine = _view(api, tok["rep1"], frm, to)
    assert [(i["type"], i["source"], i["title"]) for i in mine] == [("followup", "followup_next_contact", "约下周演示")]
    assert _view(api, tok["rep2"], frm, to) == []  # not theirs
    # the manager looking at the rep's calendar sees it (within their data scope); the other rep does not
    assert [i["id"] for i in _view(api, tok["manager"], frm, to, user_id=sales_team["rep1"])] == [f.data["id"]]
    assert _view(api, tok["rep2"], frm, to, user_id=sales_team["rep1"]) == []


def test_given_a_task_with_a_due_time_then_it_shows_in_the_calendar_of_its_owner_and_participants_only(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    due = clock.now() + timedelta(days=2)
    task = api.call("POST", "/v1/tasks", tok["manager"], {"title": "准备华为二期报价", "owner_id": t["rep1"],
                                                          "participant_ids": [t["rep2"]], "due_at": clock.iso(due)})
    assert task.status_code == 201, task.data
    api.pump()
    frm, to = clock.iso(clock.now()), clock.iso(clock.now() + timedelta(days=7))
    for who in ("rep1", "rep2"):
        assert [(i["type"], i["source"], i["id"], i["title"]) for i in _view(api, tok[who], frm, to)] == [
            ("task", "task_due", task.data["id"], "准备华为二期报价")], who
    moved = api.call("PATCH", f"/v1/tasks/{task.data['id']}", tok["rep1"], {"due_at": clock.iso(due + timedelta(days=10))},
                     headers={"If-Match": f'"{task.data["version"]}"'})
    assert moved.status_code == 200, moved.data
    api.pump()
    assert _view(api, tok["rep1"], frm, to) == []  # the due time moved out of the week


def test_given_a_feed_link_then_the_ics_feed_serves_my_events_without_sign_in_until_revoked(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    day = (clock.now() + timedelta(days=5)).date().isoformat()
    _event(api, tok["rep1"], "拜访客户; 讨论报价, 签约", _at(day, "10:00"), _at(day, "11:00"), location="北京, 朝阳区",
           description="第一行\n第二行" + "很长的说明" * 20, rrule="FREQ=DAILY;COUNT=3")
    _event(api, tok["manager"], "私事", _at(day, "14:00"), _at(day, "15:00"), private=True, participant_ids=[t["rep1"]])
    _event(api, tok["rep2"], "绝密项目", _at(day, "16:00"), _at(day, "17:00"), private=True)
    api.call("PATCH", "/v1/events/none/occurrences/x", tok["rep1"], {"cancelled": True})
    link = api.call("POST", "/v1/calendar/feed-link", tok["rep1"])
    assert link.status_code == 201 and link.data["url"].endswith(".ics")
    api.pump()
    r = api.http.get(link.data["url"])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")
    text = r.body.decode() if isinstance(r.body, bytes) else r.body
    cal = _parse_ics(text)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    events = {e["SUMMARY"]: e for e in cal}
    first = events["拜访客户\\; 讨论报价\\, 签约"]
    assert first["RRULE"] == "FREQ=DAILY;COUNT=3" and first["LOCATION"] == "北京\\, 朝阳区"
    assert first["DTSTART"] == f"{day.replace('-', '')}T020000Z" and first["UID"].endswith("@crm")
    assert first["DESCRIPTION"].startswith("第一行\\n第二行很长的说明")
    assert "私事" in events  # a participant sees the private event they take part in
    assert "绝密项目" not in text  # someone else's private event is not in my feed at all (not mine)
    # rotate: the old link stops; revoke: the new one stops too
    again = api.call("POST", "/v1/calendar/feed-link", tok["rep1"])
    assert api.http.get(link.data["url"]).status_code == 404
    assert api.http.get(again.data["url"]).status_code == 200
    assert api.call("DELETE", "/v1/calendar/feed-link", tok["rep1"]).status_code == 204
    assert api.http.get(again.data["url"]).status_code == 404
    assert api.http.get("/v1/calendar/feed/garbage.ics").status_code == 404


def _parse_ics(text: str) -> list[dict[str, str]]:
    """RFC 5545 reading enough for the test: CRLF lines, unfolding, VEVENT properties."""
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    unfolded: list[str] = []
    for line in text.split("\r\n"):
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        elif line:
            unfolded.append(line)
    events, current = [], None
    for line in unfolded:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name.split(";")[0]] = value
    assert all(e.get("UID") and e.get("DTSTART") and e.get("DTSTAMP") for e in events)
    return events


def test_given_a_source_of_a_record_type_not_installed_then_the_calendar_ignores_it(api, sales_team, monkeypatch):
    from chalicelib.calendar import service
    from chalicelib.core.modules import CalendarSource

    known = service.sources()
    assert {s.key for s in known} >= {"followup_next_contact", "contract_end", "approval_deadline"}
    monkeypatch.setattr(service, "sources", lambda: [*known, CalendarSource("lease_due", "lease", "due_at", ("owner_id",))])
    day = _future_monday()
    _event(api, sales_team["tokens"]["rep1"], "拜访", _at(day, "10:00"), _at(day, "11:00"))
    assert [i["title"] for i in _view(api, sales_team["tokens"]["rep1"], _at(day, "00:00"), _at(_day(day, 1), "00:00"))] == ["拜访"]


def test_given_my_pending_approval_with_a_time_limit_then_its_deadline_is_in_my_calendar(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    flow = api.call("POST", "/v1/approval-flows", t["admin"], {"name": "合同审批", "business_type": "contract", "enabled": True, "nodes": [
        {"id": "a", "name": "经理审批", "approvers": {"type": "users", "user_ids": [t["manager"]]}, "time_limit_hours": 24}]})
    assert flow.status_code == 201, flow.data
    c = api.call("POST", "/v1/customers", tok["rep1"], {"name": "华为技术有限公司"}).data
    contract = api.call("POST", "/v1/contracts", tok["rep1"], {"name": "华为 CRM 合同", "customer": c["id"], "amount": 100000,
                                                               "sign_date": clock.now().date().isoformat()})
    assert contract.status_code == 201, contract.data
    sent = api.call("POST", f"/v1/contracts/{contract.data['id']}/submit", tok["rep1"], {})
    assert sent.status_code == 200, sent.data
    frm, to = clock.iso(clock.now()), clock.iso(clock.now() + timedelta(days=2))
    mine = _view(api, tok["manager"], frm, to)
    assert [(i["type"], i["source"], i["title"]) for i in mine] == [("approval", "approval_deadline", "华为 CRM 合同")]
    assert _view(api, tok["rep1"], frm, to) == []  # the applicant does not decide it
