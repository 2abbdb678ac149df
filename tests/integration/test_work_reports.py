"""Work reports (工作报告, WORK-6) through the API: one report per author and period, the template's
sections, figures filled in and frozen at submit, who reads a report, supervisors' reviews (批阅),
who has not submitted, and the scheduled reminder to them."""
from __future__ import annotations

import boto3
import pytest

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.reports import periods


@pytest.fixture()
def team(api, sales_team):
    t = sales_team
    return {**t, **{k: t["tokens"][k] for k in ("manager", "rep1", "rep2", "agent")},
            "ids": {k: t[k] for k in ("manager", "rep1", "rep2", "agent")}}


def _report(api, token, **body):
    r = api.call("POST", "/v1/work-reports", token, {"kind": "daily", **body})
    assert r.status_code == 201, r.data
    return r.data


def _fill(api, token, rep, **extra):
    rows = [{"key": s["key"], "content": f"{s['label']}：已完成"} for s in rep["sections"]]
    r = api.call("PATCH", f"/v1/work-reports/{rep['id']}", token, {"sections": rows, "version": rep["version"], **extra})
    assert r.status_code == 200, r.data
    return r.data


def _submit(api, token, rep):
    r = api.call("POST", f"/v1/work-reports/{rep['id']}/submit", token, {"version": rep["version"]})
    assert r.status_code == 200, r.data
    return r.data


def test_given_a_rep_when_she_writes_her_daily_report_then_the_period_sections_recipient_and_figures_are_filled_in(api, team):
    customer = api.call("POST", "/v1/customers", team["rep1"], {"name": "华为技术有限公司"}).data
    api.call("POST", "/v1/followups", team["rep1"], {"about": {"entity": "customer", "id": customer["id"]}, "type": "call",
                                                     "content": "电话沟通需求"})
    api.call("POST", "/v1/customers", team["rep2"], {"name": "别人的客户"})  # not hers: not counted
    api.pump()
    rep = _report(api, team["rep1"], links=[{"record": {"entity": "customer", "id": customer["id"]}, "note": "重点客户"}])
    today = periods.today().isoformat()
    assert (rep["kind"], rep["date"], rep["period"], rep["period_start"], rep["period_end"], rep["status"]) == \
        ("daily", today, today, today, today, "draft")
    assert rep["title"] == f"日报 {today}"
    assert [(s["key"], s["label"]) for s in rep["sections"]] == [("done", "今日工作"), ("plan", "明日计划"),
                                                                 ("problems", "问题与需要的支持")]
    assert rep["recipients"] == [{"user_id": team["ids"]["manager"]}]  # her supervisor by default
    assert (rep["stat_followups"], rep["stat_new_customers"], rep["stat_new_contracts"], rep["stat_payments"]) == (1, 1, 0, 0)
    assert rep["links"][0]["record"] == {"entity": "customer", "id": customer["id"]}
    # weekly: the ISO week, Monday to Sunday
    week = _report(api, team["rep1"], kind="weekly", date="2026-12-02")
    assert (week["period"], week["period_start"], week["period_end"]) == ("2026-W49", "2026-11-30", "2026-12-06")
    month = _report(api, team["rep1"], kind="monthly", date="2026-02-10")
    assert (month["period"], month["period_start"], month["period_end"], month["title"]) == \
        ("2026-02", "2026-02-01", "2026-02-28", "月报 2026-02")


def test_given_a_report_of_a_period_when_a_second_is_written_then_409_naming_the_first_and_the_draft_is_edited_instead(api, team):
    first = _report(api, team["rep1"], date="2026-12-01")
    again = api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "daily", "date": "2026-12-01"})
    assert again.status_code == 409 and again.data["code"] == "WORK_REPORT_EXISTS", again.data
    assert again.data["details"]["id"] == first["id"] and "2026-12-01" in again.data["message"]
    en = api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "daily", "date": "2026-12-01"},
                  headers={"Accept-Language": "en"})
    assert en.status_code == 409 and en.data["message"].startswith("You already have a report")
    # another author, another kind, another day: each its own
    assert api.call("POST", "/v1/work-reports", team["rep2"], {"kind": "daily", "date": "2026-12-01"}).status_code == 201
    assert api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "weekly", "date": "2026-12-01"}).status_code == 201
    edited = _fill(api, team["rep1"], first, summary="拜访两家客户")
    assert edited["summary"] == "拜访两家客户" and edited["sections"][0]["content"].endswith("已完成")
    # moving the draft to a day that has a report is refused too; to a free day it moves (and frees 12-01)
    second = _report(api, team["rep1"], date="2026-12-02")
    clash = api.call("PATCH", f"/v1/work-reports/{second['id']}", team["rep1"], {"date": "2026-12-01", "version": second["version"]})
    assert clash.status_code == 409 and clash.data["details"]["id"] == first["id"]
    moved = api.call("PATCH", f"/v1/work-reports/{first['id']}", team["rep1"], {"date": "2026-12-03", "version": edited["version"]})
    assert moved.status_code == 200 and moved.data["period"] == "2026-12-03"
    assert api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "daily", "date": "2026-12-01"}).status_code == 201
    # in the recycle bin the period is free; restoring while another holds it is refused
    gone = api.call("DELETE", f"/v1/work-reports/{second['id']}", team["rep1"], headers={"If-Match": str(second["version"])})
    assert gone.status_code == 204, gone.data
    third = _report(api, team["rep1"], date="2026-12-02")
    assert third["id"] != second["id"]
    # a report is written by its author only
    other = api.call("POST", "/v1/work-reports", team["manager"], {"kind": "daily", "owner_id": team["ids"]["rep1"], "date": "2026-12-09"})
    assert other.status_code == 422 and other.data["details"][0]["field"] == "owner_id"


def test_given_ten_reports_of_one_day_written_at_once_then_exactly_one_is_kept_and_the_others_are_409(api, team):
    import threading

    from chalicelib.core import context
    from chalicelib.core.errors import DomainError
    from chalicelib.engine import service as engine
    from chalicelib.reports.entity import WORK_REPORT

    results: list[str] = []
    barrier = threading.Barrier(10)

    def write() -> None:
        with context.acting_as(context.RequestContext(tenant_id=team["id"], user_id=team["ids"]["rep1"])):
            barrier.wait()
            try:
                results.append(engine.create(WORK_REPORT, {"kind": "daily", "date": "2026-12-01"}, None)["id"])
            except DomainError as e:
                results.append(e.code)

    threads = [threading.Thread(target=write) for _ in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    made = [r for r in results if r != "WORK_REPORT_EXISTS"]
    assert len(made) == 1 and results.count("WORK_REPORT_EXISTS") == 9, results
    mine = api.call("GET", "/v1/work-reports?scope=mine", team["rep1"]).data["items"]
    assert [x["id"] for x in mine] == made


def test_given_a_draft_when_submitted_then_required_sections_are_checked_and_the_figures_are_frozen(api, team):
    rep = _report(api, team["rep1"])
    empty = api.call("POST", f"/v1/work-reports/{rep['id']}/submit", team["rep1"], {"version": rep["version"]})
    assert empty.status_code == 422
    assert [d["field"] for d in empty.data["details"]] == ["sections.0.content", "sections.1.content"]
    assert "今日工作" in empty.data["details"][0]["message"]
    assert rep["stat_new_customers"] == 0
    api.call("POST", "/v1/customers", team["rep1"], {"name": "阿里巴巴"})
    api.pump()
    fresh = api.call("POST", f"/v1/work-reports/{rep['id']}/refresh", team["rep1"], {"version": rep["version"]})
    assert fresh.status_code == 200 and fresh.data["stat_new_customers"] == 1, fresh.data
    rep = _fill(api, team["rep1"], fresh.data)
    assert api.call("POST", f"/v1/work-reports/{rep['id']}/submit", team["manager"], {"version": rep["version"]}).status_code == 403
    done = _submit(api, team["rep1"], rep)
    assert done["status"] == "submitted" and done["submitted_at"] and done["stat_new_customers"] == 1
    api.call("POST", "/v1/customers", team["rep1"], {"name": "腾讯"})
    api.pump()
    again = api.call("GET", f"/v1/work-reports/{rep['id']}", team["rep1"]).data
    assert again["stat_new_customers"] == 1  # frozen at submit
    for method, path, body in (("PATCH", "", {"summary": "改", "version": done["version"]}),
                               ("POST", "/refresh", {"version": done["version"]}),
                               ("POST", "/submit", {"version": done["version"]})):
        r = api.call(method, f"/v1/work-reports/{rep['id']}{path}", team["rep1"], body)
        assert r.status_code == 422 and r.data["code"] == "WORK_REPORT_SUBMITTED", (path, r.data)
    gone = api.call("DELETE", f"/v1/work-reports/{rep['id']}", team["rep1"], headers={"If-Match": str(done["version"])})
    assert gone.status_code == 422
    # the manager (her supervisor) is told
    inbox = api.call("GET", "/v1/notifications", team["manager"]).data["items"]
    assert [n["title"] for n in inbox if n["kind"] == "work_report.submitted"] == [f"李娜提交了日报（{rep['period']}）"]


def test_given_reports_when_others_read_them_then_author_managers_and_recipients_see_them_and_nobody_else(api, team):
    rep = _report(api, team["rep1"], summary="拜访华为", recipients=[{"user_id": team["ids"]["manager"]}, {"user_id": team["ids"]["agent"]}])
    rid = rep["id"]

    def sees(token) -> tuple[int, bool, bool, int]:
        one = api.call("GET", f"/v1/work-reports/{rid}", token).status_code
        listed = rid in [x["id"] for x in api.call("GET", "/v1/work-reports", token).data["items"]]
        found = rid in [x["id"] for x in api.call("GET", "/v1/work-reports?q=拜访华为", token).data["items"]]
        timeline = api.call("GET", f"/v1/work-reports/{rid}/timeline", token).status_code
        return one, listed, found, timeline

    assert sees(team["rep1"]) == (200, True, True, 200)
    assert sees(team["manager"]) == (200, True, True, 200)  # her supervisor: his data scope covers her
    assert sees(team["rep2"]) == (404, False, False, 404)  # a colleague: never
    assert sees(team["agent"]) == (404, False, False, 404)  # a recipient, while it is a draft
    assert sees(team["admin"])[0] == 200
    assert rid in str(api.call("GET", "/v1/search?q=拜访华为", team["rep1"]).data)
    assert rid not in str(api.call("GET", "/v1/search?q=拜访华为", team["rep2"]).data)  # global search: the same rule
    rep = _submit(api, team["rep1"], _fill(api, team["rep1"], rep))
    assert sees(team["agent"]) == (200, True, True, 200)  # a recipient of the submitted report
    assert sees(team["rep2"]) == (404, False, False, 404)
    shared = api.call("GET", "/v1/work-reports?scope=team", team["agent"]).data["items"]
    assert [x["id"] for x in shared] == [rid] and shared[0]["access"] == "read"
    assert api.call("PATCH", f"/v1/work-reports/{rid}", team["agent"], {"summary": "x", "version": rep["version"]}).status_code == 403


def test_given_a_submitted_report_when_reviewed_then_recipients_and_managers_may_and_the_author_is_told(api, team):
    rep = _report(api, team["rep1"], recipients=[{"user_id": team["ids"]["agent"]}])
    early = api.call("POST", f"/v1/work-reports/{rep['id']}/review", team["manager"], {"remark": "好"})
    assert early.status_code == 422 and early.data["code"] == "WORK_REPORT_NOT_SUBMITTED"
    rep = _submit(api, team["rep1"], _fill(api, team["rep1"], rep))
    assert api.call("POST", f"/v1/work-reports/{rep['id']}/review", team["rep2"], {"remark": "x"}).status_code == 404
    assert api.call("POST", f"/v1/work-reports/{rep['id']}/review", team["rep1"], {"remark": "x"}).status_code == 403
    a = api.call("POST", f"/v1/work-reports/{rep['id']}/review", team["agent"], {"remark": "客户反馈已同步"})
    assert a.status_code == 200, a.data
    m = api.call("POST", f"/v1/work-reports/{rep['id']}/review", team["manager"], {"remark": "明天重点跟进华为"})
    assert m.status_code == 200, m.data  # her supervisor, though not a chosen recipient
    assert [(r["reviewer_id"], r["remark"]) for r in m.data["reviews"]] == [(team["ids"]["agent"], "客户反馈已同步"),
                                                                            (team["ids"]["manager"], "明天重点跟进华为")]
    assert m.data["reviewed_at"] == m.data["reviews"][1]["reviewed_at"]
    inbox = api.call("GET", "/v1/notifications", team["rep1"]).data["items"]
    told = sorted((n["title"], n["body"]) for n in inbox if n["kind"] == "work_report.reviewed")
    assert told == [(f"王经理批阅了你的日报（{rep['period']}）", "明天重点跟进华为"),
                    (f"赵客服批阅了你的日报（{rep['period']}）", "客户反馈已同步")]
    # comments (评论) are on: a reader comments and mentions the author; a colleague who may not read it cannot
    c = api.call("POST", f"/v1/work-reports/{rep['id']}/comments", team["manager"], {"body": "@李娜 华为的方案周五前给我"})
    assert c.status_code == 201, c.data
    assert api.call("POST", f"/v1/work-reports/{rep['id']}/comments", team["rep2"], {"body": "x"}).status_code == 404
    listed = api.call("GET", f"/v1/work-reports/{rep['id']}/comments", team["agent"]).data["items"]
    assert [x["body"] for x in listed] == ["@李娜 华为的方案周五前给我"]
    assert "mention" in [n["kind"] for n in api.call("GET", "/v1/notifications", team["rep1"]).data["items"]]
    log = api.call("GET", f"/v1/records/work_report/{rep['id']}/logs", team["rep1"])
    assert log.status_code == 200, log.data
    assert [e["action"] for e in log.data["items"]][:3] == ["review", "review", "submit"]
    assert api.call("GET", f"/v1/records/work_report/{rep['id']}/logs", team["rep2"]).status_code == 404


def test_given_a_team_when_the_manager_asks_who_has_not_submitted_then_his_people_without_a_submitted_report(api, team):
    day = "2026-12-01"
    _submit(api, team["rep1"], _fill(api, team["rep1"], _report(api, team["rep1"], date=day)))
    draft = _report(api, team["rep2"], date=day)
    r = api.call("GET", f"/v1/work-reports/missing?kind=daily&period={day}", team["manager"])
    assert r.status_code == 200, r.data
    assert (r.data["period"], r.data["expected"], r.data["submitted"]) == (day, 2, 1)
    assert [(m["name"], m["status"], m["report_id"]) for m in r.data["missing"]] == [("张伟", "draft", draft["id"])]
    dept = api.call("GET", f"/v1/work-reports/missing?kind=daily&period={day}&department_id={team['service']}", team["manager"])
    assert dept.status_code == 200 and dept.data["expected"] == 0
    everyone = api.call("GET", f"/v1/work-reports/missing?kind=daily&period={day}", team["admin"]).data
    assert {m["name"] for m in everyone["missing"]} == {"张伟", "赵客服", "王经理"}
    weekly = api.call("GET", "/v1/work-reports/missing?kind=weekly&period=2026-W49", team["manager"]).data
    assert (weekly["period_start"], weekly["submitted"], len(weekly["missing"])) == ("2026-11-30", 0, 2)
    assert api.call("GET", f"/v1/work-reports/missing?kind=daily&period={day}", team["rep1"]).status_code == 403
    bad = api.call("GET", "/v1/work-reports/missing?kind=weekly&period=2026-W99", team["manager"])
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "period"
    nodept = api.call("GET", "/v1/work-reports/missing?kind=daily&department_id=nope", team["manager"])
    assert nodept.status_code == 422 and nodept.data["details"][0]["field"] == "department_id"


def test_given_templates_when_an_admin_changes_them_then_new_reports_take_the_new_sections(api, team):
    got = api.call("GET", "/v1/work-report-templates", team["rep1"])
    assert got.status_code == 200 and got.data["version"] == 0 and got.data["templates"]["daily"][0]["key"] == "done"
    tpl = got.data["templates"]
    tpl["daily"] = [{"key": "visits", "label": {"zh-CN": "今日拜访", "en": "Visits today"}, "required": True},
                    {"key": "plan", "label": {"zh-CN": "明日计划", "en": "Plan for tomorrow"}}]
    assert api.call("PUT", "/v1/work-report-templates", team["rep1"], {"templates": tpl}).status_code == 403
    dup = api.call("PUT", "/v1/work-report-templates", team["admin"],
                   {"templates": {**tpl, "weekly": [tpl["daily"][0], tpl["daily"][0]]}})
    assert dup.status_code == 422
    put = api.call("PUT", "/v1/work-report-templates", team["admin"], {"templates": tpl})
    assert put.status_code == 200 and put.data["version"] == 1, put.data
    stale = api.call("PUT", "/v1/work-report-templates", team["admin"], {"templates": tpl, "version": 0})
    assert stale.status_code == 409
    rep = api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "daily", "sections": [{"key": "extra", "label": "其他",
                                                                                            "content": "培训"}]},
                   headers={"Accept-Language": "en"}).data
    assert [(s["key"], s["label"]) for s in rep["sections"]] == [("visits", "Visits today"), ("plan", "Plan for tomorrow"),
                                                                 ("extra", "其他")]
    r = api.call("POST", f"/v1/work-reports/{rep['id']}/submit", team["rep1"], {"version": rep["version"]})
    assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["sections.0.content"]


def test_given_a_link_to_a_record_she_may_not_read_when_written_then_422(api, team):
    theirs = api.call("POST", "/v1/customers", team["rep2"], {"name": "张伟的客户"}).data
    r = api.call("POST", "/v1/work-reports", team["rep1"], {"kind": "daily", "links": [{"record": {"entity": "customer",
                                                                                                   "id": theirs["id"]}}]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "links.0.record"


def test_given_daily_reminders_when_their_time_comes_then_who_has_not_submitted_is_reminded_once(api, team):
    from devstack.drivers import ScheduleDriver
    from functions import reminders

    assert api.call("GET", "/v1/work-report-settings", team["manager"]).status_code == 403
    cur = api.call("GET", "/v1/work-report-settings", team["admin"]).data
    assert cur["reminders"]["daily"] == {"enabled": False, "time": "18:00", "days": [1, 2, 3, 4, 5]}
    rules = {**cur["reminders"], "daily": {"enabled": True, "time": "18:00", "days": [1, 2, 3, 4, 5, 6, 7]}}
    bad = api.call("PUT", "/v1/work-report-settings", team["admin"],
                   {"reminders": {**rules, "weekly": {"enabled": True, "time": "17:00", "days": [8]}}})
    assert bad.status_code == 422
    r = api.call("PUT", "/v1/work-report-settings", team["admin"], {"reminders": rules})
    assert r.status_code == 200, r.data
    sched = boto3.client("scheduler", region_name=get_settings().region).get_schedule(
        Name=f"wrr-{team['id']}-daily", GroupName=get_settings().schedule_group)
    assert sched["ScheduleExpression"] == "cron(0 18 * * ? *)"
    assert sched["ScheduleExpressionTimezone"] == get_settings().default_timezone
    driver = ScheduleDriver()
    driver.run_once()
    due = min(when for name, (_, when) in driver._due.items() if name == f"wrr-{team['id']}-daily")
    clock.travel((due - clock.now()).total_seconds() - 120)
    _submit(api, team["rep1"], _fill(api, team["rep1"], _report(api, team["rep1"])))  # today's, before 18:00
    clock.travel(180)
    assert driver.run_once() >= 1

    def told(token) -> list[str]:
        return [n["title"] for n in api.call("GET", "/v1/notifications", token).data["items"] if n["kind"] == "work_report.missing"]

    period = periods.today().isoformat()
    assert told(team["rep2"]) == [f"你还没有提交日报（{period}）"]
    assert told(team["rep1"]) == []
    # delivered again (Scheduler retries): nobody is told twice
    assert reminders.handler({"kind": "work_report_reminder", "tenant_id": team["id"], "report_kind": "daily"}) == \
        {"delivered": False}
    assert len(told(team["rep2"])) == 1
    # switched off: the schedule is gone
    v = api.call("GET", "/v1/work-report-settings", team["admin"]).data["version"]
    off = api.call("PUT", "/v1/work-report-settings", team["admin"],
                   {"reminders": {**rules, "daily": {**rules["daily"], "enabled": False}}, "version": v})
    assert off.status_code == 200
    names = [x["Name"] for x in boto3.client("scheduler", region_name=get_settings().region).list_schedules(
        GroupName=get_settings().schedule_group)["Schedules"]]
    assert f"wrr-{team['id']}-daily" not in names


def test_given_the_demo_then_sales_one_has_todays_reports_and_zhang_wei_has_not_submitted(api):
    from devstack import demo

    demo.seed()
    sun = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000003",
                                                   "password": demo.PASSWORD}).data["id_token"]
    r = api.call("GET", "/v1/work-reports/missing?kind=daily&department_id=" + _dept(api, sun, "销售一部"), sun)
    assert r.status_code == 200, r.data
    assert [m["name"] for m in r.data["missing"]] == ["张伟"] and r.data["submitted"] == 1
    mine = api.call("GET", "/v1/work-reports?scope=mine", sun).data["items"]
    assert [(x["kind"], x["status"]) for x in mine] == [("daily", "submitted")]
    li = [x for x in api.call("GET", "/v1/work-reports", sun).data["items"] if x["owner_id"] != mine[0]["owner_id"]]
    assert sorted((x["kind"], x["status"], len(x["reviews"] or [])) for x in li) == [("daily", "submitted", 1), ("weekly", "draft", 0)]


def _dept(api, token, name):
    return next(d["id"] for d in api.call("GET", "/v1/org/departments", token).data["items"] if d["name"] == name)
