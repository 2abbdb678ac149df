"""Tasks (任务, WORK-1): assignment and who sees a task, the views, completion with the assigner's
approval, plans rolled up from their sub-tasks under concurrency, the due reminder as a real
schedule, recurrence made once, and notifications."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib.core import clock
from devstack.drivers import BusDriver, ScheduleDriver


def _iso(minutes: float) -> str:
    return clock.iso(clock.now() + timedelta(minutes=minutes))


def _task(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/tasks", token, {"title": "准备报价方案", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _inbox(api, token: str) -> list[dict]:
    return api.call("GET", "/v1/notifications", token).data["items"]


def _ids(page) -> list[str]:
    assert page.status_code == 200, page.data
    return [t["id"] for t in page.data["items"]]


def test_given_a_task_assigned_by_a_manager_then_owner_participant_and_assigner_see_it_and_only_they_change_it(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["manager"], owner_id=ids["rep1"], participant_ids=[ids["rep2"]], priority="high", important=True,
                 description="给华为准备报价", estimated_hours="4")
    assert task["assigned_by"] == ids["manager"] and task["owner_id"] == ids["rep1"] and task["status"] == "open"
    assert task["priority"] == "high" and task["delegated"] is True
    # the new owner is told
    assert [n["kind"] for n in _inbox(api, t["rep1"])] == ["task_assigned"]
    assert "王经理" in _inbox(api, t["rep1"])[0]["title"]
    # owner, participant, assigner read it; someone else does not even learn it exists
    for who in ("rep1", "rep2", "manager"):
        assert api.call("GET", f"/v1/tasks/{task['id']}", t[who]).status_code == 200
    assert api.call("GET", f"/v1/tasks/{task['id']}", t["agent"]).status_code == 404
    assert _ids(api.call("GET", "/v1/tasks", t["rep2"])) == [task["id"]]
    assert _ids(api.call("GET", "/v1/tasks", t["agent"])) == []
    # the participant may not edit the task's fields, but reports their own progress
    r = api.call("PATCH", f"/v1/tasks/{task['id']}", t["rep2"], {"title": "改标题", "version": task["version"]})
    assert r.status_code == 403
    r = api.call("POST", f"/v1/tasks/{task['id']}/progress", t["rep2"], {"progress": 40, "note": "资料已收集"})
    assert r.status_code == 200, r.data
    assert [(x["user"], x["progress"]) for x in r.data["participant_progress"]] == [(ids["rep2"], 40)]
    assert r.data["title"] == "准备报价方案"
    assert api.call("POST", f"/v1/tasks/{task['id']}/progress", t["agent"], {"progress": 10}).status_code == 404
    # the owner edits; the assigner and participant fields are checked
    r = api.call("PATCH", f"/v1/tasks/{task['id']}", t["rep1"], {"spent_hours": "1.5", "version": r.data["version"]})
    assert r.status_code == 200 and r.data["spent_hours"] == 1.5
    bad = api.call("POST", "/v1/tasks", t["manager"], {"title": "x", "participant_ids": ["nobody"], "assigned_by": ids["rep1"]})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.data["details"]} == {"assigned_by"}
    # a manager's data scope covers the tasks of their people
    own = _task(api, t["rep2"], title="张伟自己的任务")
    assert api.call("GET", f"/v1/tasks/{own['id']}", t["manager"]).status_code == 200
    assert api.call("GET", f"/v1/tasks/{own['id']}", t["rep1"]).status_code == 404
    bad = api.call("POST", "/v1/tasks", t["manager"], {"title": "x", "participant_ids": ["nobody"]})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "participant_ids.0"


def test_given_a_transfer_then_the_new_owner_is_told_and_the_assigner_keeps_the_task(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["manager"], owner_id=ids["rep1"])
    r = api.call("POST", f"/v1/tasks/{task['id']}/transfer", t["manager"], {"to_user_id": ids["rep2"], "version": task["version"]})
    assert r.status_code == 200, r.data
    BusDriver(only=("notifier",)).run_once()
    assert "transfer" in [n["kind"] for n in _inbox(api, t["rep2"])]
    assert api.call("GET", f"/v1/tasks/{task['id']}", t["rep1"]).status_code == 404  # no longer theirs
    assert _ids(api.call("GET", "/v1/tasks/views/assigned_by_me", t["manager"])) == [task["id"]]


def test_given_tasks_due_at_different_times_then_each_view_holds_the_right_ones(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    rep = t["rep1"]
    inbox = _task(api, rep, title="收件箱任务")
    overdue = _task(api, rep, title="已逾期", due_at=_iso(-60 * 30))
    today = _task(api, rep, title="今天", due_at=_iso(1))
    nxt = _task(api, rep, title="下一步", due_at=_iso(60 * 24 * 3))
    later = _task(api, rep, title="以后", due_at=_iso(60 * 24 * 30))
    delegated = _task(api, rep, title="分派给同事", owner_id=ids["rep1"], participant_ids=[ids["rep2"]])
    mine_by_manager = _task(api, t["manager"], title="经理分派", owner_id=ids["rep1"])
    view = lambda name, token=rep: _ids(api.call("GET", f"/v1/tasks/views/{name}", token))  # noqa: E731
    assert set(view("inbox")) == {inbox["id"], delegated["id"], mine_by_manager["id"]}
    assert view("today")[:2] == [overdue["id"], today["id"]] and len(view("today")) == 2
    assert view("next") == [nxt["id"]]
    assert view("later") == [later["id"]]
    assert view("participating", t["rep2"]) == [delegated["id"]]
    assert view("assigned_by_me", t["manager"]) == [mine_by_manager["id"]]
    assert view("assigned_by_me") == []  # the rep's own tasks are not "assigned by me"
    assert api.call("GET", "/v1/tasks/views/someday", rep).status_code == 404
    done = api.call("POST", f"/v1/tasks/{today['id']}/complete", rep, {})
    assert done.status_code == 200 and done.data["status"] == "done" and done.data["completed_by"] == ids["rep1"]
    assert view("today") == [overdue["id"]]
    assert view("done") == [today["id"]]


def test_given_completion_approval_then_the_assigner_approves_or_sends_it_back(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["manager"], owner_id=ids["rep1"], completion_approval=True, due_at=_iso(30))
    r = api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    assert r.status_code == 200 and r.data["status"] == "awaiting_approval"
    assert "task_awaiting_approval" in [n["kind"] for n in _inbox(api, t["manager"])]
    # only the assigner decides
    assert api.call("POST", f"/v1/tasks/{task['id']}/approve-completion", t["rep1"], {}).status_code == 403
    r = api.call("POST", f"/v1/tasks/{task['id']}/reject-completion", t["manager"], {"reason": "缺少报价附件"})
    assert r.status_code == 200 and r.data["status"] == "open" and r.data["rejection_reason"] == "缺少报价附件"
    assert "task_completion_rejected" in [n["kind"] for n in _inbox(api, t["rep1"])]
    assert api.call("POST", f"/v1/tasks/{task['id']}/approve-completion", t["manager"], {}).status_code == 422
    api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    r = api.call("POST", f"/v1/tasks/{task['id']}/approve-completion", t["manager"], {}, headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.data["status"] == "done" and r.data["completed_by"] == ids["manager"]
    assert "task_completion_approved" in [n["kind"] for n in _inbox(api, t["rep1"])]
    # a completion the assigner makes needs no approval
    own = _task(api, t["manager"], owner_id=ids["rep1"], completion_approval=True)
    assert api.call("POST", f"/v1/tasks/{own['id']}/complete", t["manager"], {}).data["status"] == "done"


def test_given_a_plan_then_its_progress_follows_its_sub_tasks_even_when_completed_at_once(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    plan = _task(api, t["manager"], title="Q3 客户拓展计划", is_plan=True)
    subs = [_task(api, t["manager"], title=f"子任务{i}", owner_id=ids["rep1"], parent={"entity": "task", "id": plan["id"]})
            for i in range(4)]
    got = api.call("GET", f"/v1/tasks/{plan['id']}", t["manager"]).data
    assert (got["children_total"], got["children_done"], got["progress"]) == (4, 0, 0)
    related = api.call("GET", f"/v1/tasks/{plan['id']}/related", t["manager"]).data["related"]["task"]
    assert {x["id"] for x in related} == {s["id"] for s in subs}

    def complete(sub: dict) -> int:
        return api.call("POST", f"/v1/tasks/{sub['id']}/complete", t["rep1"], {}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(complete, subs[:2])) == [200, 200]
    got = api.call("GET", f"/v1/tasks/{plan['id']}", t["manager"]).data
    assert (got["children_done"], got["progress"]) == (2, 50)
    assert complete(subs[0]) == 200  # completing a done task again counts nothing
    api.call("POST", f"/v1/tasks/{subs[1]['id']}/reopen", t["rep1"], {})
    api.call("DELETE", f"/v1/tasks/{subs[3]['id']}", t["manager"], headers={"If-Match": '"1"'})
    got = api.call("GET", f"/v1/tasks/{plan['id']}", t["manager"]).data
    assert (got["children_total"], got["children_done"], got["progress"]) == (3, 1, 33)
    bad = api.call("PATCH", f"/v1/tasks/{plan['id']}", t["manager"], {"parent": {"entity": "task", "id": subs[0]["id"]},
                                                                        "version": got["version"]})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "parent"


def test_given_a_due_task_then_its_owner_is_reminded_before_it_once_and_not_after_it_is_done(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["manager"], owner_id=ids["rep1"], due_at=_iso(120), remind_minutes_before=30)
    done = _task(api, t["rep1"], title="会做完的", due_at=_iso(120))
    api.call("POST", f"/v1/tasks/{done['id']}/complete", t["rep1"], {})
    api.pump()
    driver = ScheduleDriver()
    assert driver.run_once() == 0
    clock.travel(91 * 60)
    assert driver.run_once() == 1
    due = [n for n in _inbox(api, t["rep1"]) if n["kind"] == "task_due"]
    assert len(due) == 1 and due[0]["link"] == {"entity": "task", "id": task["id"]} and "准备报价方案" in due[0]["title"]
    clock.travel(120 * 60)
    assert driver.run_once() == 0


def test_given_a_repeating_task_when_completed_twice_then_exactly_one_next_occurrence_is_made(api, sales_team):
    t = sales_team["tokens"]
    first_due = "2030-01-31T02:00:00.000Z"
    task = _task(api, t["rep1"], title="月度客户回访", due_at=first_due, repeat="monthly", repeat_count=3)
    r1 = api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    r2 = api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    assert r1.status_code == r2.status_code == 200 and r1.data["next_task_id"] == r2.data["next_task_id"]
    nxt = api.call("GET", f"/v1/tasks/{r1.data['next_task_id']}", t["rep1"]).data
    assert nxt["due_at"].startswith("2030-02-28") and nxt["occurrence"] == 2 and nxt["series_id"] == task["id"]
    assert nxt["status"] == "open" and nxt["repeat"] == "monthly"
    third = api.call("POST", f"/v1/tasks/{nxt['id']}/complete", t["rep1"], {}).data["next_task_id"]
    assert api.call("GET", f"/v1/tasks/{third}", t["rep1"]).data["occurrence"] == 3
    last = api.call("POST", f"/v1/tasks/{third}/complete", t["rep1"], {}).data
    assert last.get("next_task_id") is None  # the series had three
    titles = [x["title"] for x in api.call("GET", "/v1/tasks", t["rep1"]).data["items"]]
    assert titles.count("月度客户回访") == 3
    bad = api.call("POST", "/v1/tasks", t["rep1"], {"title": "没有截止时间", "repeat": "daily"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "due_at"


def test_given_tags_and_related_records_then_they_are_checked(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "华为技术有限公司"}).data
    task = _task(api, t["rep1"], tags=["customer_visit"], links=[{"record": {"entity": "customer", "id": c["id"]}}])
    assert task["tags"] == ["customer_visit"] and task["links"][0]["record"]["id"] == c["id"]
    bad = api.call("POST", "/v1/tasks", t["rep2"], {"title": "x", "tags": ["nope"],
                                                    "links": [{"record": {"entity": "customer", "id": c["id"]}}]})
    assert bad.status_code == 422 and {d["field"] for d in bad.data["details"]} == {"tags", "links.0.record"}


def test_given_a_repeating_task_completed_reopened_and_completed_again_then_it_keeps_its_one_next_occurrence(api, sales_team):
    t = sales_team["tokens"]
    task = _task(api, t["rep1"], title="每周例会纪要", due_at="2030-01-07T02:00:00.000Z", repeat="weekly")
    first = api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    assert first.status_code == 200, first.data
    r = api.call("POST", f"/v1/tasks/{task['id']}/reopen", t["rep1"], {})
    assert r.status_code == 200 and r.data["status"] == "open" and r.data["next_task_id"] == first.data["next_task_id"]
    again = api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {})
    assert again.status_code == 200, again.data
    assert again.data["status"] == "done" and again.data["next_task_id"] == first.data["next_task_id"]
    titles = [x["title"] for x in api.call("GET", "/v1/tasks", t["rep1"]).data["items"]]
    assert titles.count("每周例会纪要") == 2
    # the next occurrence deleted meanwhile: completing once more does not make another one
    nxt = api.call("GET", f"/v1/tasks/{first.data['next_task_id']}", t["rep1"]).data
    assert api.call("DELETE", f"/v1/tasks/{nxt['id']}", t["rep1"], headers={"If-Match": f'"{nxt["version"]}"'}).status_code == 204
    api.call("POST", f"/v1/tasks/{task['id']}/reopen", t["rep1"], {})
    assert api.call("POST", f"/v1/tasks/{task['id']}/complete", t["rep1"], {}).status_code == 200
    titles = [x["title"] for x in api.call("GET", "/v1/tasks", t["rep1"]).data["items"]]
    assert titles.count("每周例会纪要") == 1


def test_given_a_sub_task_completed_or_reopened_by_two_requests_at_once_then_its_plan_counts_it_once(api, sales_team, monkeypatch):
    from chalicelib.tasks import service as tasks

    t, ids = sales_team["tokens"], sales_team
    plan = _task(api, t["manager"], title="渠道拓展计划", is_plan=True)
    subs = [_task(api, t["manager"], title=f"渠道{i}", owner_id=ids["rep1"], parent={"entity": "task", "id": plan["id"]})
            for i in range(3)]
    real = tasks.engine.change
    raced: list[str] = []

    def racing(d, p, rec, values, expected, **kw):
        """The other request's same change commits between this one's read and its write."""
        if kw.get("action") in ("complete", "reopen") and not raced:
            raced.append(kw["action"])
            other = {"complete": lambda: tasks._done(p, rec.id, None, "complete", tasks.COMPLETING),
                     "reopen": lambda: tasks.reopen(rec.id, None)}[kw["action"]]
            other()
        return real(d, p, rec, values, expected, **kw)

    monkeypatch.setattr(tasks.engine, "change", racing)
    r = api.call("POST", f"/v1/tasks/{subs[0]['id']}/complete", t["rep1"], {})
    assert raced == ["complete"] and r.status_code == 200 and r.data["status"] == "done", r.data
    got = api.call("GET", f"/v1/tasks/{plan['id']}", t["manager"]).data
    assert (got["children_total"], got["children_done"], got["progress"]) == (3, 1, 33)
    raced.clear()
    r = api.call("POST", f"/v1/tasks/{subs[0]['id']}/reopen", t["rep1"], {})
    assert raced == ["reopen"]
    assert r.status_code == 422 and r.data["code"] == "INVALID_STATE", r.data  # the other request reopened it
    got = api.call("GET", f"/v1/tasks/{plan['id']}", t["manager"]).data
    assert (got["children_done"], got["progress"]) == (0, 0)
    assert api.call("GET", f"/v1/tasks/{subs[0]['id']}", t["rep1"]).data["status"] == "open"


def test_given_participants_then_unknown_and_disabled_users_are_refused_one_by_one_and_at_most_twenty_take_part(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    assert api.call("POST", f"/v1/org/users/{ids['agent']}/disable", ids["admin"]).status_code == 200
    bad = api.call("POST", "/v1/tasks", t["manager"], {"title": "x", "participant_ids": [ids["rep1"], ids["agent"], "nobody"]})
    assert bad.status_code == 422 and [d["field"] for d in bad.data["details"]] == ["participant_ids.1", "participant_ids.2"]
    bad = api.call("POST", "/v1/tasks", t["manager"], {"title": "x", "participant_ids": [f"u{i}" for i in range(21)]},
                   headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "participant_ids"
    assert bad.data["details"][0]["message"] == "At most 20 items"
