"""Event reminders as record timers: the schedule follows the event through the table stream (create,
move, a cancelled or moved occurrence, delete, restore), a recurring event re-arms the next occurrence
when one fires, and everyone taking part is told once. Driven by the local Scheduler driver with the
clock moved (no sleeps)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.calendar import recurrence
from chalicelib.core import clock
from devstack.drivers import ScheduleDriver


def _reminders(api, token: str) -> list[dict]:
    return [n for n in api.call("GET", "/v1/notifications", token).data["items"] if n["kind"] == "event_reminder"]


def _create(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/events?force=true", token, fields)
    assert r.status_code == 201, r.data
    api.pump()  # the stream arms the timer
    return r.data


def _day(at) -> str:
    return at.astimezone(recurrence.tz()).date().isoformat()


def test_given_a_daily_event_then_a_cancelled_occurrence_is_not_reminded_and_the_next_is(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _create(api, tok["manager"], title="晨会", start_at=clock.iso(start), end_at=clock.iso(start + timedelta(minutes=30)),
                 rrule="FREQ=DAILY;COUNT=3", participant_ids=[t["rep1"]], reminder_minutes=10)
    # the first occurrence is cancelled: its schedule is replaced by the second's
    r = api.call("PATCH", f"/v1/events/{ev['id']}/occurrences/{_day(start)}", tok["manager"], {"cancelled": True, "version": ev["version"]})
    assert r.status_code == 200, r.data
    api.pump()
    driver = ScheduleDriver()
    clock.travel(2 * 3600 - 9 * 60)
    assert driver.run_once() == 0 and _reminders(api, tok["rep1"]) == []
    clock.travel(24 * 3600)  # 9 minutes before the second occurrence
    assert driver.run_once() == 1
    got = _reminders(api, tok["rep1"])
    assert len(got) == 1 and got[0]["link"]["occurrence"] == _day(start + timedelta(days=1))
    assert len(_reminders(api, tok["manager"])) == 1  # the owner too
    # it re-armed the third
    clock.travel(24 * 3600)
    assert driver.run_once() == 1
    assert [n["link"]["occurrence"] for n in _reminders(api, tok["rep1"])] == [_day(start + timedelta(days=2)),
                                                                                _day(start + timedelta(days=1))]
    clock.travel(24 * 3600)
    assert driver.run_once() == 0  # the series is over


def test_given_a_moved_occurrence_then_its_reminder_comes_at_the_new_time(api, sales_team):
    tok = sales_team["tokens"]
    start = clock.now() + timedelta(hours=3)
    ev = _create(api, tok["rep1"], title="客户电话", start_at=clock.iso(start), end_at=clock.iso(start + timedelta(hours=1)),
                 rrule="FREQ=WEEKLY;COUNT=2", reminder_minutes=30)
    later = start + timedelta(hours=5)
    r = api.call("PATCH", f"/v1/events/{ev['id']}/occurrences/{_day(start)}", tok["rep1"],
                 {"start_at": clock.iso(later), "end_at": clock.iso(later + timedelta(hours=1)), "version": ev["version"]})
    assert r.status_code == 200, r.data
    api.pump()
    driver = ScheduleDriver()
    clock.travel(3 * 3600 - 29 * 60)  # the old reminder time: nothing
    assert driver.run_once() == 0
    clock.travel(5 * 3600)  # 29 minutes before the moved occurrence
    assert driver.run_once() == 1
    got = _reminders(api, tok["rep1"])
    assert len(got) == 1 and got[0]["link"]["occurrence"] == _day(start)


def test_given_a_deleted_event_then_no_reminder_and_restored_it_is_armed_again(api, sales_team):
    tok = sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _create(api, tok["rep1"], title="电话会", start_at=clock.iso(start), end_at=clock.iso(start + timedelta(hours=1)),
                 reminder_minutes=10)
    assert api.call("DELETE", f"/v1/events/{ev['id']}", tok["rep1"], headers={"If-Match": f'"{ev["version"]}"'}).status_code == 204
    api.pump()
    driver = ScheduleDriver()
    clock.travel(60 * 60)
    assert driver.run_once() == 0
    r = api.call("POST", f"/v1/recycle-bin/event/{ev['id']}/restore", tok["rep1"], {})
    assert r.status_code == 200, r.data
    api.pump()
    clock.travel(51 * 60)
    assert driver.run_once() == 1 and len(_reminders(api, tok["rep1"])) == 1


def test_given_the_time_or_reminder_changes_then_the_schedule_is_replaced_and_nobody_is_told_twice(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _create(api, tok["manager"], title="方案评审", start_at=clock.iso(start), end_at=clock.iso(start + timedelta(hours=1)),
                 participant_ids=[t["rep1"], t["rep2"]], reminder_minutes=30)
    later = start + timedelta(hours=1)
    r = api.call("PATCH", f"/v1/events/{ev['id']}", tok["manager"], {"start_at": clock.iso(later), "end_at": clock.iso(later + timedelta(hours=1)),
                                                                    "participant_ids": [t["rep1"]], "version": ev["version"]})
    assert r.status_code == 200, r.data
    api.pump()
    driver = ScheduleDriver()
    clock.travel(2 * 3600 - 29 * 60)  # the old time's reminder is gone
    assert driver.run_once() == 0
    clock.travel(3600)
    assert driver.run_once() == 1
    assert driver.run_once() == 0
    assert len(_reminders(api, tok["rep1"])) == 1 and len(_reminders(api, tok["manager"])) == 1
    assert _reminders(api, tok["rep2"]) == []  # no longer taking part
    # an event created too late for its reminder (more than 15 minutes past it) is not reminded
    soon = clock.now() + timedelta(minutes=5)
    _create(api, tok["rep2"], title="临时电话", start_at=clock.iso(soon), end_at=clock.iso(soon + timedelta(minutes=30)),
            reminder_minutes=60)
    clock.travel(5 * 60)
    assert driver.run_once() == 0
    # … but one a few minutes late is (a reminder due 10 minutes ago)
    soon = clock.now() + timedelta(minutes=20)
    _create(api, tok["rep2"], title="临时会议", start_at=clock.iso(soon), end_at=clock.iso(soon + timedelta(minutes=30)),
            reminder_minutes=30)
    clock.travel(2 * 60)
    assert driver.run_once() == 1 and [n["title"] for n in _reminders(api, tok["rep2"])][0].startswith("日程提醒：临时会议")


def _legacy_schedule(tenant_id: str, event_id: str, start, minutes: int) -> dict:
    """A schedule as the calendar armed them before reminders were record timers: one per occurrence."""
    import hashlib

    from chalicelib.ports import scheduler

    at = start - timedelta(minutes=minutes)
    payload = {"kind": "event_reminder", "tenant_id": tenant_id, "event_id": event_id, "start": clock.iso(start), "at": clock.iso(at)}
    name = scheduler.schedule_name("evr", hashlib.sha256(f"{tenant_id}|{event_id}|{clock.iso(start)}".encode()).hexdigest()[:24])
    scheduler.upsert(name, at, payload)
    return payload


def test_given_an_event_from_before_record_timers_when_its_old_schedule_fires_then_it_is_reminded_once_and_moves_to_its_timer(
        api, sales_team):
    from chalicelib.calendar import reminders as calendar_reminders
    from chalicelib.engine import due, registry
    from chalicelib.ports import scheduler
    from functions import reminders as target

    t, tok = sales_team, sales_team["tokens"]
    start = clock.now() + timedelta(hours=2)
    ev = _create(api, tok["manager"], title="周例会", start_at=clock.iso(start), end_at=clock.iso(start + timedelta(minutes=30)),
                 rrule="FREQ=DAILY;COUNT=3", participant_ids=[t["rep1"]], reminder_minutes=10)
    # as it was before the change: no record timer, the old per-occurrence schedule
    d = registry.find("event")
    scheduler.delete(due._timer_name(t["id"], d, ev["id"], calendar_reminders.TIMER, clock.iso(start - timedelta(minutes=10))))
    old = _legacy_schedule(t["id"], ev["id"], start, 10)
    driver = ScheduleDriver()
    clock.travel(2 * 3600 - 9 * 60)
    assert driver.run_once() == 1
    got = _reminders(api, tok["rep1"])
    assert len(got) == 1 and got[0]["link"]["occurrence"] == _day(start) and len(_reminders(api, tok["manager"])) == 1
    # Scheduler delivering it again tells nobody twice
    assert target.handler(old) == {"delivered": False}
    assert len(_reminders(api, tok["rep1"])) == 1
    # the event is on its record timer now: the next occurrence is reminded without any write of the event;
    # an old schedule of that occurrence too (armed before the change) fires alongside and tells nobody twice
    _legacy_schedule(t["id"], ev["id"], start + timedelta(days=1), 10)
    clock.travel(24 * 3600)
    assert driver.run_once() == 2
    assert [n["link"]["occurrence"] for n in _reminders(api, tok["rep1"])] == [_day(start + timedelta(days=1)), _day(start)]
    # an old schedule the event no longer says (its time moved since) delivers nothing and arms the event's moment
    stale = _legacy_schedule(t["id"], ev["id"], start + timedelta(days=2, hours=-1), 10)
    assert target.handler(stale) == {"delivered": False}
    clock.travel(24 * 3600)
    assert driver.run_once() >= 1
    assert len(_reminders(api, tok["rep1"])) == 3
