"""Reminders: an EventBridge Scheduler schedule per reminder, delivered to the inbox once."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from chalicelib.core import clock
from chalicelib.ports import client
from devstack.drivers import ScheduleDriver


def _schedule(name: str) -> dict | None:
    c = client("scheduler")
    try:
        return c.get_schedule(Name=name, GroupName="crm-test")
    except c.exceptions.ResourceNotFoundException:
        return None


def _at(minutes: int) -> str:
    return (datetime.now(timezone(timedelta(hours=8))) + timedelta(minutes=minutes)).isoformat()


def test_given_reminder_when_created_then_one_time_schedule_in_shanghai_time_with_delete_after(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/reminders", rep, {"title": "给华为回电话", "remind_at": "2099-01-02T09:30:00+08:00"})
    assert r.status_code == 201, r.data
    sch = _schedule(r.data["schedule_name"])
    assert sch["ScheduleExpression"] == "at(2099-01-02T09:30:00)"
    assert sch["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert sch["ActionAfterCompletion"] == "DELETE"
    payload = json.loads(sch["Target"]["Input"])
    assert payload == {"kind": "reminder", "tenant_id": sales_team["id"], "reminder_id": r.data["id"], "due": "2099-01-02T01:30:00.000Z"}
    assert r.data["schedule_name"] == f"rem-{sales_team['id']}-{r.data['id']}"


def test_given_due_reminder_when_scheduler_fires_then_inbox_shows_it_once_and_read_marks_work(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/reminders", rep, {"title": "拜访上海ACME", "remind_at": _at(30), "note": "带合同"}).data
    driver = ScheduleDriver()
    assert driver.run_once() == 0  # not due yet
    assert api.call("GET", "/v1/notifications/unread-count", rep).data == {"unread": 0}
    clock.travel(31 * 60)
    assert driver.run_once() == 1
    assert _schedule(r["schedule_name"]) is None  # deleted after completion
    inbox = api.call("GET", "/v1/notifications", rep).data["items"]
    assert [n["title"] for n in inbox] == ["提醒：拜访上海ACME"]
    assert inbox[0]["body"] == "带合同" and inbox[0]["link"] == {"entity": "reminder", "id": r["id"]}
    en = api.call("GET", "/v1/notifications", rep, headers={"Accept-Language": "en"}).data["items"]
    assert en[0]["title"] == "Reminder: 拜访上海ACME"
    assert api.call("GET", "/v1/notifications/unread-count", rep).data == {"unread": 1}
    assert api.call("GET", f"/v1/reminders/{r['id']}", rep).data["status"] == "delivered"
    # Scheduler retries deliver the same event again: nothing new for the user
    from functions.reminders import handler

    assert handler({"kind": "reminder", "tenant_id": sales_team["id"], "reminder_id": r["id"], "due": r["remind_at"]}) == {"delivered": False}
    assert api.call("GET", "/v1/notifications/unread-count", rep).data == {"unread": 1}
    # mark read (twice is harmless)
    nid = inbox[0]["id"]
    assert api.call("POST", f"/v1/notifications/{nid}/read", rep).data["read_at"]
    api.call("POST", f"/v1/notifications/{nid}/read", rep)
    assert api.call("GET", "/v1/notifications/unread-count", rep).data == {"unread": 0}
    assert api.call("GET", "/v1/notifications?unread=true", rep).data["items"] == []
    # someone else's inbox is not mine
    assert api.call("POST", f"/v1/notifications/{nid}/read", sales_team["tokens"]["rep2"]).status_code == 404


def test_given_rescheduled_or_cancelled_reminder_then_schedule_follows_and_stale_fire_is_ignored(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/reminders", rep, {"title": "跟进", "remind_at": _at(10)}).data
    old_due = r["remind_at"]
    moved = api.call("PATCH", f"/v1/reminders/{r['id']}", rep, {"remind_at": _at(120), "version": 1})
    assert moved.status_code == 200
    sch = _schedule(r["schedule_name"])
    assert json.loads(sch["Target"]["Input"])["due"] == moved.data["remind_at"] != old_due
    from functions.reminders import handler

    # a schedule made for the old time that still fires does nothing
    assert handler({"kind": "reminder", "tenant_id": sales_team["id"], "reminder_id": r["id"], "due": old_due}) == {"delivered": False}
    cancelled = api.call("PATCH", f"/v1/reminders/{r['id']}", rep, {"status": "cancelled", "version": 2})
    assert cancelled.data["status"] == "cancelled" and _schedule(r["schedule_name"]) is None
    past = api.call("POST", "/v1/reminders", rep, {"title": "过去", "remind_at": "2020-01-01T09:00:00+08:00"})
    assert past.status_code == 422
    naive = api.call("POST", "/v1/reminders", rep, {"title": "无时区", "remind_at": "2099-01-01T09:00:00"})
    assert naive.status_code == 422
    other = api.call("GET", f"/v1/reminders/{r['id']}", sales_team["tokens"]["rep2"])
    assert other.status_code == 404


def test_given_deleted_reminder_then_schedule_is_gone(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    r = api.call("POST", "/v1/reminders", rep, {"title": "删除我", "remind_at": _at(60)}).data
    assert _schedule(r["schedule_name"]) is not None
    assert api.call("DELETE", f"/v1/reminders/{r['id']}", rep, headers={"If-Match": '"1"'}).status_code == 204
    assert _schedule(r["schedule_name"]) is None
    assert api.call("GET", "/v1/reminders", rep).data["items"] == []


def test_given_a_deleted_reminder_then_only_its_owner_sees_and_restores_it_and_its_schedule_returns(api, sales_team):
    from datetime import UTC, datetime, timedelta

    from chalicelib.core.settings import get_settings
    from chalicelib.ports import client

    rep = sales_team["tokens"]["rep1"]
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = api.call("POST", "/v1/reminders", rep, {"title": "回访华为", "remind_at": soon}).data
    group = get_settings().schedule_group

    def scheduled() -> list[str]:
        return [x["Name"] for x in client("scheduler").list_schedules(GroupName=group)["Schedules"]]

    assert scheduled() == [r["schedule_name"]]
    assert api.call("DELETE", f"/v1/reminders/{r['id']}", rep, headers={"If-Match": '"1"'}).status_code == 204
    assert scheduled() == []
    # a private record: not in the tenant's bin, in its owner's own bin
    assert api.call("GET", "/v1/recycle-bin", sales_team["admin"]).data["items"] == []
    assert [i["id"] for i in api.call("GET", "/v1/recycle-bin?mine=true", rep).data["items"]] == [r["id"]]
    assert api.call("GET", "/v1/recycle-bin?mine=true", sales_team["admin"]).data["items"] == []
    assert api.call("POST", f"/v1/recycle-bin/reminder/{r['id']}/restore", sales_team["admin"]).status_code == 404
    assert api.call("POST", f"/v1/recycle-bin/reminder/{r['id']}/restore", rep).status_code == 200
    assert scheduled() == [r["schedule_name"]]
    assert api.call("GET", f"/v1/reminders/{r['id']}", rep).data["status"] == "scheduled"


def test_given_tampered_cursor_when_listing_then_422_invalid_cursor_never_a_500(api, sales_team):
    from chalicelib.core.pagination import decode, encode

    rep = sales_team["tokens"]["rep1"]
    for title in ("一", "二"):
        assert api.call("POST", "/v1/reminders", rep, {"title": title, "remind_at": _at(60)}).status_code == 201
    issued = api.call("GET", "/v1/reminders?limit=1", rep).data["next_cursor"]
    key = decode(issued)
    assert api.call("GET", f"/v1/reminders?limit=1&cursor={issued}", rep).status_code == 200
    for forged in (5, "x", [key], {}, {**key, "sk": 5}, {**key, "sk": {"N": "1"}}, {**key, "extra": {"S": "x"}},
                   {k: v for k, v in key.items() if k != "sk"}):
        r = api.call("GET", f"/v1/reminders?limit=1&cursor={encode(forged)}", rep)
        assert r.status_code == 422 and r.data["code"] == "INVALID_CURSOR", (forged, r.status_code, r.data)
