"""Approvals you can trust, through the API on real executions: the applicant never approves
their own request on any path, a resubmission re-reads its conditions in both modes, nothing
waits on someone who cannot act, and a refused submit leaves nothing behind.

The organisation (`oa`, conftest.py): 刘总监 director ← 王经理 manager ← reps 李娜 / 张伟, four
finance clerks without supervisors, and the tenant's administrator (its only super administrator).
"""
from __future__ import annotations

import pytest

from .approval_kit import act, app_status, apply, instance, make_form, pending_ids, users


def _flow_id(api, oa, form_id: str) -> str:
    return api.call("GET", f"/v1/forms/{form_id}", oa["admin"]).data["flow_id"]


def _mine(api, oa, who: str = "rep") -> list[dict]:
    r = api.call("GET", "/v1/applications", oa["tokens"][who])
    assert r.status_code == 200, r.data
    return r.data["items"]


def _history(api, oa, iid: str) -> list[dict]:
    return api.call("GET", f"/v1/approvals/{iid}/history", oa["admin"]).data["items"]


# ---- segregation of duties --------------------------------------------------------------------------

def test_given_an_applicant_when_they_name_themselves_on_any_path_then_it_is_refused_and_nothing_is_left(api, oa):
    form = make_form(api, oa, [{"id": "pick", "name": "自选", "approvers": {"type": "applicant_choice"}}], model="free")
    me = oa["ids"]["rep"]
    for body in ({"approvers": {"pick": [me]}},
                 {"approvers": {"pick": [oa["ids"]["manager"]]}, "extra_nodes": [{"after": "pick", "name": "我自己", "user_ids": [me]}]}):
        r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form, "data": {"amount": 9000}, **body})
        assert r.status_code == 422 and [d["type"] for d in r.data["details"]] == ["self"], r.data
    assert _mine(api, oa) == []  # refused submits leave no draft behind

    iid = apply(api, oa, form, approvers={"pick": [oa["ids"]["manager"]]})["instance_id"]
    for action, body in (("transfer", {"to_user_id": me}), ("add-signers", {"user_ids": [me]})):
        r = api.call("POST", f"/v1/approvals/{iid}/{action}", oa["tokens"]["manager"], body)
        assert r.status_code == 422 and r.data["details"][0]["type"] == "self", (action, r.data)
    assert instance(api, oa, iid)["steps"][0]["assignees"] == [oa["ids"]["manager"]]


def test_given_a_node_only_the_applicant_could_approve_when_submitted_then_their_supervisor_stands_in_or_it_is_refused(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理审批", "approvers": users(oa, "manager")}], no_approver="admin")
    inst = instance(api, oa, apply(api, oa, form, who="manager")["instance_id"], who="manager")
    assert inst["steps"][0]["assignees"] == [oa["ids"]["director"]] and inst["steps"][0]["auto"] == "stand_in"
    assert "approve" not in inst["my_actions"]

    # the administrator applies on a node only they could approve: no supervisor, no other administrator
    own = make_form(api, oa, [{"id": "a", "name": "管理员审批", "approvers": {"type": "users", "user_ids": [oa["admin_id"]]}}],
                    no_approver="admin")
    r = api.call("POST", "/v1/applications", oa["admin"], {"form_id": own, "data": {"amount": 1}})
    assert r.status_code == 422 and r.data["details"][0]["type"] == "no_approver", r.data
    assert "管理员审批" in r.data["details"][0]["message"]
    assert api.call("GET", "/v1/applications", oa["admin"]).data["items"] == []


def test_given_an_overdue_step_when_it_escalates_then_the_applicant_is_passed_over(api, oa):
    from chalicelib.approvals import service

    form = make_form(api, oa, [{"id": "a", "name": "李娜审核", "approvers": users(oa, "rep"), "time_limit_hours": 1,
                                "on_timeout": "escalate"}])
    inst = apply(api, oa, form, who="manager")  # rep's supervisor is the applicant
    assert service.on_overdue(oa["id"], inst["instance_id"], 0, 1) == "escalate"
    step = instance(api, oa, inst["instance_id"], who="manager")["steps"][0]
    assert step["assignees"] == [oa["ids"]["rep"], oa["ids"]["director"]]  # the next one up, not the manager


# ---- conditions re-read on every resubmit -------------------------------------------------------------

def _branch_form(api, oa) -> str:
    """经理 → (amount > 10,000: 总监) → 财务."""
    return make_form(api, oa, [
        {"id": "mgr", "name": "经理", "approvers": users(oa, "manager")},
        {"id": "big", "name": "金额判断", "kind": "branch", "branches": [
            {"name": "大额", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 10000}],
             "nodes": [{"id": "dir", "name": "总监", "approvers": users(oa, "director")}]},
            {"name": "其他", "priority": 2, "conditions": [], "nodes": []}]},
        {"id": "fin", "name": "财务", "approvers": users(oa, "f1")},
    ])


@pytest.mark.parametrize("first,then,rejecter,mode,steps,resumes_at,passed", [
    # raised across the threshold after 财务 rejected: 总监 is now needed before 财务
    (5000, 20000, "f1", "rejected_node", ["经理", "总监", "财务"], "总监", ["经理"]),
    (5000, 20000, "f1", "start", ["经理", "总监", "财务"], "经理", []),
    # lowered after 总监 rejected: 总监 is no longer needed, 经理's approval stands, 财务 decides
    (20000, 5000, "director", "rejected_node", ["经理", "财务"], "财务", ["经理"]),
    (20000, 5000, "director", "start", ["经理", "财务"], "经理", []),
])
def test_given_a_rejection_when_the_amount_crosses_a_branch_threshold_and_it_is_resubmitted_then_the_plan_follows(
        api, oa, first, then, rejecter, mode, steps, resumes_at, passed):
    form = _branch_form(api, oa)
    app = apply(api, oa, form, amount=first)
    iid = app["instance_id"]
    act(api, oa, "manager", iid, "approve")
    act(api, oa, rejecter, iid, "reject", {"comment": "请修改金额"})
    assert app_status(api, oa, app["id"]) == "rejected"
    version = api.call("GET", f"/v1/applications/{app['id']}", oa["tokens"]["rep"]).data["version"]
    r = api.call("PATCH", f"/v1/applications/{app['id']}", oa["tokens"]["rep"], {"data": {"amount": then, "reason": "测试"}},
                 headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.data

    again = act(api, oa, "rep", iid, "resubmit", {"from": mode})
    assert [s["name"] for s in again["steps"]] == steps
    assert again["steps"][again["current_step"]]["name"] == resumes_at
    assert [s["name"] for s in again["steps"] if s["state"] == "passed"] == passed
    entry = _history(api, oa, iid)[-1]
    assert entry["action"] == "resubmit" and entry["detail"]["plan_changed"] is True and entry["detail"]["resumed_at"] == resumes_at
    who = {"经理": "manager", "总监": "director", "财务": "f1"}
    for name in steps[steps.index(resumes_at):]:
        last = act(api, oa, who[name], iid, "approve")
    assert last["status"] == "approved" and app_status(api, oa, app["id"]) == "approved"


# ---- nothing waits forever ------------------------------------------------------------------------------

def test_given_a_pending_approver_when_disabled_then_their_tasks_go_to_the_flow_admins_and_a_later_step_follows(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")},
                               {"id": "b", "name": "总监", "approvers": users(oa, "director")}],
                     admin_user_ids=[oa["ids"]["f2"]])
    iid = apply(api, oa, form)["instance_id"]
    assert api.call("POST", f"/v1/org/users/{oa['ids']['manager']}/disable", oa["admin"]).status_code == 200
    assert pending_ids(api, oa, "f2") == [iid] and instance(api, oa, iid)["steps"][0]["assignees"] == [oa["ids"]["f2"]]
    entry = _history(api, oa, iid)[-1]
    assert entry["action"] == "reassign" and entry["detail"]["reason"] == "disabled"
    assert entry["detail"]["from_user_id"] == oa["ids"]["manager"] and entry["detail"]["to_user_ids"] == [oa["ids"]["f2"]]

    # the director is disabled while the approval is still on 经理: 总监 goes to the flow's admin when it starts
    assert api.call("POST", f"/v1/org/users/{oa['ids']['director']}/disable", oa["admin"]).status_code == 200
    after = act(api, oa, "f2", iid, "approve")
    assert after["current_step"] == 1 and after["steps"][1]["assignees"] == [oa["ids"]["f2"]]
    assert act(api, oa, "f2", iid, "approve")["status"] == "approved"


def test_given_a_leaving_approver_when_handed_over_then_the_receiver_decides_unless_they_applied(api, oa):
    from devstack.drivers import BusDriver

    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    mine = apply(api, oa, form)["instance_id"]  # rep's
    theirs = apply(api, oa, form, who="rep2")["instance_id"]  # rep2's: rep2 cannot receive it
    r = api.call("POST", f"/v1/org/users/{oa['ids']['manager']}/handover", oa["admin"], {"to_user_id": oa["ids"]["rep2"], "disable": True})
    assert r.status_code == 200 and r.data["moved"] == {"approvals": 1}, r.data  # what the receiver got
    assert pending_ids(api, oa, "rep2") == [mine]
    admin_box = api.call("GET", "/v1/approvals?box=pending", oa["admin"]).data["items"]
    assert [i["instance_id"] for i in admin_box] == [theirs]  # the flow's administrator (the super administrator)
    BusDriver().run_once()  # the hand-over summary reaches the receiver, in one language
    told = [n["title"] for n in api.call("GET", "/v1/notifications", oa["tokens"]["rep2"]).data["items"] if n["kind"] == "handover"]
    assert len(told) == 1 and "待审批 1 条" in told[0], told
    assert [h["detail"].get("reason") for h in _history(api, oa, mine) if h["action"] == "reassign"] == ["handover"]


def test_given_an_admin_when_reassigning_a_pending_task_then_it_moves_and_others_are_refused(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    iid = apply(api, oa, form)["instance_id"]
    body = {"from_user_id": oa["ids"]["manager"], "to_user_id": oa["ids"]["f3"], "comment": "经理休假"}
    assert api.call("POST", f"/v1/approvals/{iid}/reassign", oa["tokens"]["manager"], body).status_code == 403
    bad = api.call("POST", f"/v1/approvals/{iid}/reassign", oa["admin"], {**body, "to_user_id": oa["ids"]["rep"]})
    assert bad.status_code == 422 and bad.data["details"][0]["type"] == "self"
    nobody = api.call("POST", f"/v1/approvals/{iid}/reassign", oa["admin"], {**body, "from_user_id": oa["ids"]["f4"]})
    assert nobody.status_code == 422 and nobody.data["details"][0]["field"] == "from_user_id"
    r = api.call("POST", f"/v1/approvals/{iid}/reassign", oa["admin"], body)
    assert r.status_code == 200 and r.data["steps"][0]["assignees"] == [oa["ids"]["f3"]]
    assert pending_ids(api, oa, "manager") == [] and pending_ids(api, oa, "f3") == [iid]
    assert act(api, oa, "f3", iid, "approve")["status"] == "approved"


def test_given_an_approval_waiting_only_on_a_disabled_user_then_urge_skips_them_and_the_daily_check_tells_the_admins(api, oa):
    from chalicelib.approvals import service
    from chalicelib.core import clock
    from devstack.drivers import ScheduleDriver

    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    r = api.call("POST", "/v1/applications", oa["admin"], {"form_id": form, "data": {"amount": 100, "reason": "管理员的申请"}})
    iid = r.data["instance_id"]  # the administrator applied: no one else administers the flow, so nothing can move it
    assert api.call("POST", f"/v1/org/users/{oa['ids']['manager']}/disable", oa["admin"]).status_code == 200
    assert api.call("GET", f"/v1/approvals/{iid}", oa["admin"]).data["steps"][0]["assignees"] == [oa["ids"]["manager"]]
    urged = api.call("POST", f"/v1/approvals/{iid}/urge", oa["admin"])
    assert urged.status_code == 200 and _history(api, oa, iid)[-1]["detail"]["users"] == []

    listed = api.call("GET", "/v1/approvals/stuck", oa["admin"])
    assert listed.status_code == 200
    assert [(i["instance_id"], i["waiting_on"]) for i in listed.data["items"]] == [(iid, [oa["ids"]["manager"]])]
    assert api.call("GET", "/v1/approvals/stuck", oa["tokens"]["director"]).status_code == 403

    at = service.arm_watch(oa["id"])  # as the flow's creation did
    clock.travel(clock.parse_iso(at).timestamp() + 1 - clock.now().timestamp())
    api.pump()
    ScheduleDriver().run_once()
    inbox = api.call("GET", "/v1/notifications", oa["admin"]).data["items"]
    alert = [n for n in inbox if "停用" in n["title"] or "disabled" in n["title"]]
    assert len(alert) == 1 and "管理员的申请" in alert[0]["title"], inbox
    assert ScheduleDriver().run_once() == 0  # tomorrow's check is armed, not due yet


# ---- atomic submits, one answer for a losing click ----------------------------------------------------------

def test_given_a_disabled_flow_or_form_when_a_draft_is_submitted_then_it_is_refused_and_stays_a_draft(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    draft = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form, "data": {"amount": 10}, "submit": False}).data
    flow = api.call("GET", f"/v1/approval-flows/{_flow_id(api, oa, form)}", oa["admin"]).data
    api.call("PATCH", f"/v1/approval-flows/{flow['id']}", oa["admin"], {"enabled": False}, headers={"If-Match": f'"{flow["version"]}"'})
    r = api.call("POST", f"/v1/applications/{draft['id']}/submit", oa["tokens"]["rep"], {})
    assert r.status_code == 422 and r.data["code"] == "APPROVAL_FLOW_DISABLED"
    form_now = api.call("GET", f"/v1/forms/{form}", oa["admin"]).data
    api.call("PATCH", f"/v1/forms/{form}", oa["admin"], {"enabled": False}, headers={"If-Match": f'"{form_now["version"]}"'})
    r = api.call("POST", f"/v1/applications/{draft['id']}/submit", oa["tokens"]["rep"], {})
    assert r.status_code == 422 and r.data["code"] == "FORM_DISABLED"
    assert [(a["id"], a["status"], a["instance_id"]) for a in _mine(api, oa)] == [(draft["id"], "draft", None)]


def test_given_two_decisions_on_one_step_when_the_second_arrives_then_it_gets_409_whether_or_not_the_first_ended_the_approval(api, oa):
    last = make_form(api, oa, [{"id": "any", "name": "或签", "approvers": users(oa, "f1", "f2"), "mode": "any"}])
    middle = make_form(api, oa, [{"id": "any", "name": "或签", "approvers": users(oa, "f1", "f2"), "mode": "any"},
                                 {"id": "b", "name": "总监", "approvers": users(oa, "director")}])
    for form, status in ((last, "approved"), (middle, "running")):
        iid = apply(api, oa, form)["instance_id"]
        assert act(api, oa, "f1", iid, "approve")["status"] == status
        for decision in ("approve", "reject"):
            r = api.call("POST", f"/v1/approvals/{iid}/{decision}", oa["tokens"]["f2"], {})
            assert r.status_code == 409 and r.data["code"] == "APPROVAL_STEP_CLOSED", (status, r.data)
