"""Approvals through the API, on real Step Functions executions in moto (execution on).

Every test submits an application of a small form bound to a flow, acts through the API as
the people of a small organisation, and checks what they would see: the instance, the
inboxes, the history, the application's status, and where the execution is.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from .approval_kit import act, app_status, apply, instance, machine, make_form, pending_ids, users
from .test_observability import json_logs

# ---- modes -----------------------------------------------------------------------------------

def test_given_sequential_node_when_each_approves_in_order_then_the_next_one_is_asked_and_the_application_passes(api, oa):
    form = make_form(api, oa, [{"id": "seq", "name": "逐级审批", "approvers": users(oa, "manager", "director"), "mode": "sequential"}])
    app = apply(api, oa, form)
    iid = app["instance_id"]
    assert pending_ids(api, oa, "manager") == [iid]
    assert pending_ids(api, oa, "director") == []  # not yet: 依次
    act(api, oa, "director", iid, "approve", status=403)  # not their turn

    after = act(api, oa, "manager", iid, "approve", {"comment": "同意"})
    assert after["status"] == "running" and after["current_step"] == 0
    assert pending_ids(api, oa, "manager") == [] and pending_ids(api, oa, "director") == [iid]

    done = act(api, oa, "director", iid, "approve")
    assert done["status"] == "approved"
    assert app_status(api, oa, app["id"]) == "approved"
    m = machine(done, oa["id"])
    assert m["status"] == "SUCCEEDED" and m["states"][-1] == "Approved"


def test_given_countersign_node_when_one_of_three_rejects_then_the_application_is_rejected_and_the_others_inboxes_empty(api, oa):
    form = make_form(api, oa, [{"id": "cs", "name": "财务会签", "approvers": users(oa, "f1", "f2", "f3"), "mode": "all"}])
    iid = apply(api, oa, form)["instance_id"]
    assert all(pending_ids(api, oa, f) == [iid] for f in ("f1", "f2", "f3"))
    act(api, oa, "f1", iid, "approve")
    assert instance(api, oa, iid)["status"] == "running"  # 会签: one approval is not enough
    done = act(api, oa, "f2", iid, "reject", {"comment": "预算不足"})
    assert done["status"] == "rejected"
    assert pending_ids(api, oa, "f3") == []
    act(api, oa, "f3", iid, "approve", status=409)  # their step is closed (APPROVAL_STEP_CLOSED, as for any losing click)
    assert machine(done, oa["id"])["states"][-1] == "Rejected"
    handled = api.call("GET", "/v1/approvals?box=handled", oa["tokens"]["f2"]).data["items"]
    assert [(h["instance_id"], h["decision"]) for h in handled] == [(iid, "reject")]


def test_given_countersign_node_when_everyone_approves_then_it_passes(api, oa):
    form = make_form(api, oa, [{"id": "cs", "name": "财务会签", "approvers": users(oa, "f1", "f2"), "mode": "all"}])
    iid = apply(api, oa, form)["instance_id"]
    act(api, oa, "f1", iid, "approve")
    assert act(api, oa, "f2", iid, "approve")["status"] == "approved"


def test_given_or_sign_node_when_two_approvers_click_at_the_same_time_then_exactly_one_decision_counts(api, oa):
    from chalicelib.approvals import service
    from chalicelib.core import context
    from chalicelib.core.errors import Conflict, ValidationFailed

    form = make_form(api, oa, [{"id": "any", "name": "或签", "approvers": users(oa, "f1", "f2"), "mode": "any"},
                               {"id": "last", "name": "总监", "approvers": users(oa, "director")}])
    iid = apply(api, oa, form)["instance_id"]
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def click(who: str, decision: str) -> None:
        with context.acting_as(context.RequestContext(tenant_id=oa["id"], user_id=oa["ids"][who])):
            barrier.wait()
            try:
                results[who] = (service.approve(iid, None, []) if decision == "approve" else
                                service.reject(iid, "applicant", None, None, []))["status"]
            except (Conflict, ValidationFailed) as e:
                results[who] = e.code

    threads = [threading.Thread(target=click, args=("f1", "approve")), threading.Thread(target=click, args=("f2", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the slower click is told the step was decided (409), also when the faster one rejected and so ended the approval
    assert sorted(map(str, results.values())) in (["APPROVAL_STEP_CLOSED", "running"], ["APPROVAL_STEP_CLOSED", "rejected"])
    inst = instance(api, oa, iid)
    votes = inst["steps"][0]["votes"]
    assert len(votes) == 1  # the first decision won; the other click changed nothing
    winner = "approve" if inst["status"] == "running" else "reject"
    assert votes[0]["decision"] == winner
    if winner == "approve":
        assert inst["current_step"] == 1 and pending_ids(api, oa, "director") == [iid]
    history = api.call("GET", f"/v1/approvals/{iid}/history", oa["tokens"]["rep"]).data["items"]
    assert [h["action"] for h in history].count(winner) == 1 and len([h for h in history if h["action"] in ("approve", "reject")]) == 1
    m = machine(inst, oa["id"])
    assert (m["token_round"] == inst["round"]) if winner == "approve" else m["states"][-1] == "Rejected"


@pytest.mark.parametrize("votes,expected", [
    (["approve", "reject", "reject", "approve"], "approved"),  # 2 of 4: a tie passes (半数通过)
    (["reject", "reject", "reject"], "rejected"),  # 3 of 4 reject: half can no longer approve
    (["reject", "approve", "reject"], "running"),  # 1:2 with one to go — still open
])
def test_given_majority_node_when_votes_come_in_then_half_approving_passes(api, oa, votes, expected):
    form = make_form(api, oa, [{"id": "maj", "name": "半数通过", "approvers": users(oa, "f1", "f2", "f3", "f4"), "mode": "majority"}])
    iid = apply(api, oa, form)["instance_id"]
    last = None
    for who, vote in zip(("f1", "f2", "f3", "f4"), votes, strict=False):
        last = act(api, oa, who, iid, vote)
    assert last["status"] == expected


def test_given_a_double_click_when_the_same_approval_arrives_twice_then_the_second_changes_nothing(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")},
                               {"id": "b", "name": "总监", "approvers": users(oa, "director")}])
    iid = apply(api, oa, form)["instance_id"]
    first = act(api, oa, "manager", iid, "approve")
    second = act(api, oa, "manager", iid, "approve")
    assert second["version"] == first["version"] and second["current_step"] == 1
    history = api.call("GET", f"/v1/approvals/{iid}/history", oa["tokens"]["rep"]).data["items"]
    assert [h["action"] for h in history] == ["submit", "approve"]


def test_given_a_stranger_when_they_try_to_act_then_it_is_as_if_the_instance_did_not_exist(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    iid = apply(api, oa, form)["instance_id"]
    missing = api.call("GET", "/v1/approvals/01NOSUCHINSTANCE000000000", oa["tokens"]["rep2"])
    assert missing.status_code == 404
    assert act(api, oa, "rep2", iid, "approve", status=404) == missing.data
    assert api.call("GET", f"/v1/approvals/{iid}", oa["tokens"]["rep2"]).data == missing.data


# ---- branches and approver rules ---------------------------------------------------------------

BRANCHY = [
    {"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}},
    {"id": "gate", "name": "金额判断", "kind": "branch", "branches": [
        {"name": "其他", "priority": 0, "conditions": [], "nodes": []},
        {"name": "大额", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 50000}],
         "nodes": [{"id": "big", "name": "财务会签", "approvers": {"type": "role", "role_id": "ROLE"}, "mode": "all"}]},
        {"name": "中额", "priority": 2, "conditions": [{"field": "amount", "op": "gt", "value": 10000}],
         "nodes": [{"id": "mid", "name": "二级主管", "approvers": {"type": "supervisor", "level": 2}}]},
    ]},
]


def _branchy(oa) -> list[dict]:
    return json.loads(json.dumps(BRANCHY).replace('"ROLE"', f'"{oa["finance_role"]}"'))


@pytest.mark.parametrize("amount,names", [
    (80000, ["直属上级", "财务会签"]),  # priority 1 wins over the also-matching priority 2
    (20000, ["直属上级", "二级主管"]),
    (500, ["直属上级"]),  # the default branch adds nothing
])
def test_given_amount_branches_when_submitted_then_the_plan_follows_the_first_matching_branch_by_priority(api, oa, amount, names):
    form = make_form(api, oa, _branchy(oa))
    inst = instance(api, oa, apply(api, oa, form, amount=amount)["instance_id"])
    assert [s["name"] for s in inst["steps"]] == names
    assert inst["steps"][0]["assignees"] == [oa["ids"]["manager"]]
    if amount == 80000:
        assert sorted(inst["steps"][1]["assignees"]) == sorted(oa["ids"][f"f{i}"] for i in range(1, 5))
    if amount == 20000:
        assert inst["steps"][1]["assignees"] == [oa["ids"]["director"]]


def test_given_approver_rules_when_resolved_then_chain_head_fallback_and_choice_resolve_to_people(api, oa):
    nodes = [
        {"id": "chain", "name": "连续主管", "approvers": {"type": "supervisor_chain", "level": 3}},
        {"id": "head", "name": "部门负责人", "approvers": {"type": "department_head"}},
        {"id": "far", "name": "三级主管", "approvers": {"type": "supervisor", "level": 3, "fallback": "nearest"}},
        {"id": "gone", "name": "五级主管", "approvers": {"type": "supervisor", "level": 5, "fallback": "skip"}},
        {"id": "pick", "name": "自选", "approvers": {"type": "applicant_choice"}},
        {"id": "cc", "name": "知会财务", "kind": "notify", "approvers": users(oa, "f4")},
    ]
    form = make_form(api, oa, nodes)
    r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form, "data": {"amount": 1}})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "approvers.pick"  # the applicant must choose
    app = apply(api, oa, form, approvers={"pick": [oa["ids"]["f1"]]})
    steps = instance(api, oa, app["instance_id"])["steps"]
    ids = oa["ids"]
    assert steps[0]["assignees"] == [ids["manager"], ids["director"]] and steps[0]["mode"] == "sequential"
    assert steps[1]["assignees"] == [ids["manager"]]
    assert steps[2]["assignees"] == [ids["director"]]  # only two levels exist: the nearest
    assert steps[3]["assignees"] == [] and steps[3]["state"] == "skipped"  # no approver: auto-pass
    assert steps[4]["assignees"] == [ids["f1"]]


def test_given_no_approver_and_admin_policy_when_submitted_then_the_admin_gets_it(api, oa):
    form = make_form(api, oa, [{"id": "gone", "name": "五级主管", "approvers": {"type": "supervisor", "level": 5, "fallback": "skip"}}],
                     no_approver="admin")
    inst = instance(api, oa, apply(api, oa, form)["instance_id"])
    assert inst["steps"][0]["assignees"] == [oa["admin_id"]] and inst["steps"][0]["auto"] == "admin"


def test_given_a_fixed_flow_when_the_applicant_changes_approvers_then_422_but_a_predefined_flow_accepts(api, oa):
    nodes = [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}]
    fixed = make_form(api, oa, nodes)
    r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": fixed, "data": {"amount": 1},
                                                                    "approvers": {"a": [oa["ids"]["director"]]}})
    assert r.status_code == 422 and r.data["details"][0]["type"] == "fixed_flow"
    predefined = make_form(api, oa, nodes, model="predefined")
    inst = instance(api, oa, apply(api, oa, predefined, approvers={"a": [oa["ids"]["director"]]})["instance_id"])
    assert inst["steps"][0]["assignees"] == [oa["ids"]["director"]]
    r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": predefined, "data": {"amount": 1},
                                                                    "extra_nodes": [{"after": "a", "name": "加一级", "user_ids": [oa["ids"]["f1"]]}]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "extra_nodes"
    free = make_form(api, oa, nodes, model="free")
    inst = instance(api, oa, apply(api, oa, free, extra_nodes=[{"after": "a", "name": "加一级", "user_ids": [oa["ids"]["f1"]]}])["instance_id"])
    assert [s["name"] for s in inst["steps"]] == ["经理", "加一级"]


# ---- lifecycle -------------------------------------------------------------------------------

THREE = [{"id": "n1", "name": "经理", "approvers": {"type": "users", "user_ids": ["M"]}},
         {"id": "n2", "name": "总监", "approvers": {"type": "users", "user_ids": ["D"]}},
         {"id": "n3", "name": "财务", "approvers": {"type": "users", "user_ids": ["F"]}}]


def _three(oa) -> list[dict]:
    ids = oa["ids"]
    return [{**n, "approvers": {"type": "users", "user_ids": [{"M": ids["manager"], "D": ids["director"], "F": ids["f1"]}[
        n["approvers"]["user_ids"][0]]]}} for n in THREE]


def test_given_reject_to_an_earlier_node_when_it_approves_again_then_the_flow_continues_from_there(api, oa):
    form = make_form(api, oa, _three(oa))
    iid = apply(api, oa, form)["instance_id"]
    act(api, oa, "manager", iid, "approve")
    act(api, oa, "director", iid, "approve")
    back = act(api, oa, "f1", iid, "reject", {"to": "node", "node_id": "n1", "comment": "请经理复核"})
    assert back["status"] == "running" and back["current_step"] == 0
    assert pending_ids(api, oa, "manager") == [iid]
    m = machine(back, oa["id"])
    assert m["token_round"] == back["round"] and m["status"] == "RUNNING"
    act(api, oa, "f1", iid, "reject", {"to": "node", "node_id": "n3"}, status=403)  # not their turn any more
    act(api, oa, "manager", iid, "approve")
    act(api, oa, "director", iid, "approve")
    assert act(api, oa, "f1", iid, "approve")["status"] == "approved"
    bad = api.call("POST", f"/v1/approvals/{iid}/reject", oa["tokens"]["f1"], {"to": "node", "node_id": "n3"})
    assert bad.status_code == 409 and bad.data["code"] == "APPROVAL_STEP_CLOSED"


def test_given_a_rejection_when_the_applicant_resubmits_from_the_rejecting_node_then_earlier_approvals_stand(api, oa):
    form = make_form(api, oa, _three(oa))
    app = apply(api, oa, form)
    iid = app["instance_id"]
    act(api, oa, "manager", iid, "approve")
    act(api, oa, "director", iid, "reject", {"comment": "补充材料"})
    assert app_status(api, oa, app["id"]) == "rejected"
    act(api, oa, "rep2", iid, "resubmit", {"from": "rejected_node"}, status=404)
    again = act(api, oa, "rep", iid, "resubmit", {"from": "rejected_node", "comment": "已补充"})
    assert again["status"] == "running" and again["current_step"] == 1
    assert again["steps"][0]["state"] == "passed"
    assert app_status(api, oa, app["id"]) == "pending"
    act(api, oa, "director", iid, "approve")
    assert act(api, oa, "f1", iid, "approve")["status"] == "approved"
    m = machine(instance(api, oa, iid), oa["id"])
    assert m["status"] == "SUCCEEDED"


def test_given_a_rejection_when_resubmitted_from_start_then_everyone_approves_again(api, oa):
    form = make_form(api, oa, _three(oa)[:2])
    iid = apply(api, oa, form)["instance_id"]
    act(api, oa, "manager", iid, "approve")
    act(api, oa, "director", iid, "reject")
    again = act(api, oa, "rep", iid, "resubmit", {"from": "start"})
    assert again["current_step"] == 0 and pending_ids(api, oa, "manager") == [iid]


def test_given_withdraw_when_the_applicant_withdraws_then_tasks_leave_the_inboxes_and_the_record_says_withdrawn(api, oa):
    form = make_form(api, oa, [{"id": "cs", "name": "会签", "approvers": users(oa, "f1", "f2"), "mode": "all"}])
    app = apply(api, oa, form)
    iid = app["instance_id"]
    act(api, oa, "f1", iid, "withdraw", status=403)
    done = act(api, oa, "rep", iid, "withdraw", {"comment": "不需要了"})
    assert done["status"] == "withdrawn" and app_status(api, oa, app["id"]) == "withdrawn"
    assert pending_ids(api, oa, "f1") == [] and pending_ids(api, oa, "f2") == []
    assert machine(done, oa["id"])["states"][-1] == "Withdrawn"
    assert act(api, oa, "rep", iid, "withdraw")["status"] == "withdrawn"  # twice is harmless


def test_given_transfer_and_add_signer_when_used_then_the_new_people_must_decide(api, oa):
    form = make_form(api, oa, [{"id": "cs", "name": "会签", "approvers": users(oa, "f1", "f2"), "mode": "all"}])
    iid = apply(api, oa, form)["instance_id"]
    act(api, oa, "f1", iid, "transfer", {"to_user_id": oa["ids"]["f3"], "comment": "出差，转交"})
    assert pending_ids(api, oa, "f1") == [] and pending_ids(api, oa, "f3") == [iid]
    act(api, oa, "f1", iid, "approve", status=403)
    act(api, oa, "f2", iid, "add-signers", {"user_ids": [oa["ids"]["f4"]]})
    act(api, oa, "f2", iid, "approve")
    act(api, oa, "f3", iid, "approve")
    assert instance(api, oa, iid)["status"] == "running"  # 加签: f4 must approve too
    assert act(api, oa, "f4", iid, "approve")["status"] == "approved"
    actions = [h["action"] for h in api.call("GET", f"/v1/approvals/{iid}/history", oa["tokens"]["rep"]).data["items"]]
    assert actions == ["submit", "transfer", "add_signer", "approve", "approve", "approve"]


def test_given_comments_and_urge_when_used_then_history_and_notifications_show_them(api, oa, upload):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    app = apply(api, oa, form)
    iid = app["instance_id"]
    memo = upload(oa["tokens"]["manager"], b"%PDF-1.7 please attach the contract", name="说明.pdf")
    # attachments are files the commenter uploaded and confirmed: an object key, or someone else's file, is refused
    act(api, oa, "manager", iid, "comments", {"comment": "x", "attachments": [{"name": "说明.pdf", "key": "files/x.pdf"}]}, status=422)
    act(api, oa, "rep", iid, "comments", {"comment": "x", "attachments": [{"id": memo["id"]}]}, status=422)
    act(api, oa, "manager", iid, "comments", {"comment": "请补充合同", "attachments": [{"id": memo["id"]}]})
    act(api, oa, "rep", iid, "urge")
    act(api, oa, "rep", iid, "urge", status=429)
    act(api, oa, "rep2", iid, "comments", {"comment": "路过"}, status=404)
    history = api.call("GET", f"/v1/approvals/{iid}/history", oa["tokens"]["manager"]).data["items"]
    assert [h["action"] for h in history] == ["submit", "comment", "urge"]
    assert history[1]["attachments"] == [{"id": memo["id"], "name": "说明.pdf", "size": memo["size"], "content_type": "application/pdf",
                                          "sha256": memo["sha256"]}]
    # the applicant, a participant of the approval, may download it; a colleague outside it may not
    assert api.call("GET", f"/v1/files/{memo['id']}/download", oa["tokens"]["rep"]).status_code == 200
    assert api.call("GET", f"/v1/files/{memo['id']}/download", oa["tokens"]["rep2"]).status_code == 404
    inbox = api.call("GET", "/v1/notifications", oa["tokens"]["manager"]).data["items"]
    kinds = sorted(n["title"] for n in inbox)
    assert any("催办" in k for k in kinds) and any("待审批" in k for k in kinds)
    timeline = api.call("GET", f"/v1/records/application/{app['id']}/logs", oa["tokens"]["rep"])
    assert timeline.status_code == 200, timeline.data
    assert {"approval.submit", "approval.comment", "approval.urge"} <= {e["action"] for e in timeline.data["items"]}


def test_given_inboxes_when_counted_then_each_box_counts_what_it_lists(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}], cc_user_ids=[oa["ids"]["f2"]])
    one = apply(api, oa, form)["instance_id"]
    two = apply(api, oa, form)["instance_id"]
    act(api, oa, "manager", one, "approve")
    counts = api.call("GET", "/v1/approvals/counts", oa["tokens"]["manager"]).data
    assert counts["pending"] == 1 and counts["handled"] == 1
    mine = api.call("GET", "/v1/approvals/counts", oa["tokens"]["rep"]).data
    assert mine["mine_running"] == 1
    listed = api.call("GET", "/v1/approvals?box=mine", oa["tokens"]["rep"]).data["items"]
    assert {i["instance_id"] for i in listed} == {one, two}
    cc = api.call("GET", "/v1/approvals?box=cc", oa["tokens"]["f2"]).data["items"]
    assert {i["instance_id"] for i in cc} == {one, two}
    assert api.call("GET", "/v1/approvals/counts", oa["tokens"]["f2"]).data["cc"] == 2


# ---- time limits -----------------------------------------------------------------------------

def test_given_a_time_limit_when_the_state_machine_times_out_then_the_overdue_policy_acts(api, oa):
    """The execution's own timeout fires (TimeoutSecondsPath) and puts approvals.step.overdue on
    the bus; the timer function (as the bus rule would) auto-passes the step."""
    from chalicelib.ports import client
    from devstack.resources import subscription_queue
    from functions.approval_timer import handler

    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager"), "time_limit_hours": 1 / 3600,
                                "on_timeout": "auto_pass"},
                               {"id": "b", "name": "总监", "approvers": users(oa, "director")}])
    iid = apply(api, oa, form)["instance_id"]
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=subscription_queue("approval_timer"))["QueueUrl"]
    deadline = time.monotonic() + 10
    event = None
    while event is None and time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get("Messages", [])
        if msgs:
            event = json.loads(msgs[0]["Body"])
    assert event is not None, "the execution did not report the overdue step"
    assert event["detail-type"] == "approvals.step.overdue" and event["detail"]["instance_id"] == iid
    assert handler(event)["outcome"] == "auto_pass"
    inst = instance(api, oa, iid)
    assert inst["current_step"] == 1 and pending_ids(api, oa, "director") == [iid]
    assert handler(event)["outcome"] == "stale"  # a redelivered event changes nothing


def test_given_a_dead_execution_when_someone_approves_then_the_decision_stands_and_the_error_is_logged(api, oa):
    from chalicelib.approvals import service
    from chalicelib.approvals.models import ApprovalInstance
    from chalicelib.core.settings import environment
    from chalicelib.ports import client

    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")},
                               {"id": "b", "name": "总监", "approvers": users(oa, "director")}])
    iid = apply(api, oa, form)["instance_id"]
    item = ApprovalInstance.get(*ApprovalInstance.key(oa["id"], iid))
    assert service.reconcile(oa["id"], iid)  # the execution is up and waiting at the first step
    client("stepfunctions").stop_execution(executionArn=service.execution_arn(item), cause="operator")
    with environment(CRM_APPROVAL_TOKEN_WAIT_SECONDS="0.3"), json_logs() as lines:
        moved = act(api, oa, "manager", iid, "approve")
    assert moved["current_step"] == 1 and pending_ids(api, oa, "director") == [iid]  # nothing the approver did is lost
    errors = [x for x in lines if x["message"] == "approval execution not running"]
    assert errors and errors[0]["level"] == "ERROR" and errors[0]["status"] == "ABORTED"
