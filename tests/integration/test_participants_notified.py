"""Participants of tasks and events are told they take part: on create, and those a later change adds
— once each; someone removed is not told again (notifications/participants.py, shared by both)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.core import clock


def _told(api, token: str, kind: str) -> list[dict]:
    return [n for n in api.call("GET", "/v1/notifications", token).data["items"] if n["kind"] == kind]


def test_given_a_task_when_participants_are_added_later_then_each_new_one_is_told_once(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    r = api.call("POST", "/v1/tasks", tok["manager"], {"title": "准备投标文件", "owner_id": t["rep1"], "participant_ids": [t["rep2"]]})
    assert r.status_code == 201, r.data
    task = r.data
    got = _told(api, tok["rep2"], "task_participant")
    assert len(got) == 1 and got[0]["title"] == "王经理 邀请你参与任务「准备投标文件」" and got[0]["link"]["id"] == task["id"]
    assert _told(api, tok["rep1"], "task_participant") == []  # the owner is told it is assigned to them instead
    # the agent is added, rep2 stays: only the agent is told
    r = api.call("PATCH", f"/v1/tasks/{task['id']}", tok["manager"], {"participant_ids": [t["rep2"], t["agent"]], "version": task["version"]})
    assert r.status_code == 200, r.data
    assert len(_told(api, tok["agent"], "task_participant")) == 1 and len(_told(api, tok["rep2"], "task_participant")) == 1
    # rep2 is removed and the title changes: nobody is told anything new
    r = api.call("PATCH", f"/v1/tasks/{task['id']}", tok["manager"], {"participant_ids": [t["agent"]], "title": "准备投标文件（终稿）",
                                                                   "version": r.data["version"]})
    assert r.status_code == 200, r.data
    assert len(_told(api, tok["rep2"], "task_participant")) == 1 and len(_told(api, tok["agent"], "task_participant")) == 1
    en = api.call("GET", "/v1/notifications", tok["agent"], headers={"Accept-Language": "en"}).data["items"]
    assert "王经理 added you to the task “准备投标文件”" in [n["title"] for n in en]


def test_given_an_event_when_a_participant_is_added_later_then_they_are_told_once_and_one_removed_is_not(api, sales_team):
    t, tok = sales_team, sales_team["tokens"]
    start = clock.now() + timedelta(days=3)
    r = api.call("POST", "/v1/events?force=true", tok["manager"], {"title": "客户答谢会", "start_at": clock.iso(start),
                                                                   "participant_ids": [t["rep1"]]})
    assert r.status_code == 201, r.data
    ev = r.data
    got = _told(api, tok["rep1"], "event_participant")
    assert len(got) == 1 and got[0]["title"].startswith("王经理 邀请你参加日程「客户答谢会」（") and got[0]["link"]["id"] == ev["id"]
    assert _told(api, tok["manager"], "event_participant") == []  # the one who scheduled it
    r = api.call("PATCH", f"/v1/events/{ev['id']}?force=true", tok["manager"], {"participant_ids": [t["rep1"], t["rep2"]],
                                                                                  "version": ev["version"]})
    assert r.status_code == 200, r.data
    assert len(_told(api, tok["rep2"], "event_participant")) == 1 and len(_told(api, tok["rep1"], "event_participant")) == 1
    r = api.call("PATCH", f"/v1/events/{ev['id']}?force=true", tok["manager"], {"participant_ids": [t["rep2"]], "location": "国贸",
                                                                                  "version": r.data["version"]})
    assert r.status_code == 200, r.data
    assert len(_told(api, tok["rep1"], "event_participant")) == 1 and len(_told(api, tok["rep2"], "event_participant")) == 1
    # a participant who adds someone else is not told about themselves; the owner is not told either
    r = api.call("PATCH", f"/v1/events/{ev['id']}?force=true", tok["manager"], {"participant_ids": [t["rep2"], t["manager"]],
                                                                                  "version": r.data["version"]})
    assert r.status_code == 200, r.data
    assert _told(api, tok["manager"], "event_participant") == []
