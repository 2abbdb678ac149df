"""The plan and the tally: pure rules of the approval engine (chalicelib/approvals/plan.py)."""
from __future__ import annotations

import itertools

import pytest

from chalicelib.approvals import plan
from chalicelib.core.permissions import OrgSnapshot, OrgUser


def _step(mode: str, people: list[str], votes: dict[str, str]) -> dict:
    return {"mode": mode, "assignees": people, "votes": votes, "state": "active"}


@pytest.mark.parametrize("mode,votes,expected", [
    ("all", {"a": "approve", "b": "approve"}, plan.WAITING),
    ("all", {"a": "approve", "b": "approve", "c": "approve"}, plan.PASSED),
    ("all", {"a": "approve", "b": "reject"}, plan.REJECTED),
    ("any", {"b": "approve"}, plan.PASSED),
    ("any", {"c": "reject"}, plan.REJECTED),
    ("any", {}, plan.WAITING),
    ("sequential", {"a": "approve"}, plan.WAITING),
    ("sequential", {"a": "approve", "b": "approve", "c": "approve"}, plan.PASSED),
    ("sequential", {"a": "reject"}, plan.REJECTED),
])
def test_given_votes_when_tallied_then_each_mode_decides_as_documented(mode, votes, expected):
    assert plan.tally(_step(mode, ["a", "b", "c"], votes)) == expected


def test_given_majority_when_every_vote_order_is_tried_then_half_approving_passes_and_more_than_half_rejecting_rejects():
    people = ["a", "b", "c", "d"]
    for decisions in itertools.product(["approve", "reject", None], repeat=4):
        votes = {u: d for u, d in zip(people, decisions, strict=True) if d}
        approve = sum(d == "approve" for d in decisions)
        reject = sum(d == "reject" for d in decisions)
        expected = plan.PASSED if approve >= 2 else plan.REJECTED if reject >= 3 else plan.WAITING
        assert plan.tally(_step("majority", people, votes)) == expected, votes


def test_given_a_sequential_step_when_asked_who_may_act_then_only_the_next_in_line():
    s = _step("sequential", ["a", "b", "c"], {"a": "approve"})
    assert plan.current_assignees(s) == ["b"]
    assert plan.current_assignees({**s, "mode": "all"}) == ["b", "c"]
    assert plan.current_assignees({**s, "state": "passed"}) == []


@pytest.mark.parametrize("cond,data,expected", [
    ({"field": "amount", "op": "gt", "value": 100}, {"amount": "100.01"}, True),
    ({"field": "amount", "op": "gt", "value": 100}, {"amount": 100}, False),
    ({"field": "amount", "op": "gte", "value": "1e2"}, {"amount": 100}, True),
    ({"field": "amount", "op": "lt", "value": 5}, {}, False),  # a missing number never compares
    ({"field": "amount", "op": "eq", "value": 5}, {"amount": "5.00"}, True),  # numbers compare as numbers
    ({"field": "leave_type", "op": "in", "value": ["sick", "annual"]}, {"leave_type": "sick"}, True),
    ({"field": "tags", "op": "in", "value": ["vip"]}, {"tags": ["a", "vip"]}, True),
    ({"field": "leave_type", "op": "not_in", "value": ["sick"]}, {"leave_type": "sick"}, False),
    ({"field": "custom.region", "op": "eq", "value": "华东"}, {"custom": {"region": "华东"}}, True),
    ({"field": "applicant.department_id", "op": "eq", "value": "d1"}, {"applicant": {"department_id": "d1"}}, True),
    ({"field": "reason", "op": "contains", "value": "急"}, {"reason": "紧急采购"}, True),
    ({"field": "reason", "op": "exists"}, {"reason": ""}, False),
    ({"field": "amount", "op": "gt", "value": 1}, {"amount": True}, False),  # booleans are not numbers
])
def test_given_a_condition_when_evaluated_on_record_values_then_it_holds_as_a_user_expects(cond, data, expected):
    assert plan.holds(cond, data) is expected


def test_given_branches_when_several_match_then_the_lowest_priority_number_wins_and_the_default_comes_last():
    branches = [{"name": "默认", "priority": -5, "conditions": []},
                {"name": "中", "priority": 2, "conditions": [{"field": "x", "op": "gt", "value": 1}]},
                {"name": "大", "priority": 1, "conditions": [{"field": "x", "op": "gt", "value": 10}]}]
    assert plan.pick_branch(branches, {"x": 50})["name"] == "大"
    assert plan.pick_branch(branches, {"x": 5})["name"] == "中"
    assert plan.pick_branch(branches, {"x": 0})["name"] == "默认"
    assert plan.pick_branch(branches[1:], {"x": 0}) is None


def _org() -> plan.Org:
    users = {
        "ceo": OrgUser("ceo", "root"),
        "dir": OrgUser("dir", "root", supervisor_id="ceo"),
        "gone": OrgUser("gone", "sales", supervisor_id="dir", active=False),
        "rep": OrgUser("rep", "sales", supervisor_id="gone"),
    }
    snap = OrgSnapshot("t", {"root": None, "sales": "root"}, users, {})
    return plan.Org(snap, {"sales": None, "root": "ceo"}, ["ceo"])


def test_given_a_disabled_supervisor_when_resolving_levels_then_they_are_passed_over():
    org = _org()
    assert plan.approvers({"type": "supervisor", "level": 1}, org, "rep")[0] == ["dir"]
    assert plan.approvers({"type": "supervisor_chain", "level": 5}, org, "rep") == (["dir", "ceo"], "sequential")
    assert plan.approvers({"type": "supervisor", "level": 3, "fallback": "skip"}, org, "rep")[0] == []
    assert plan.approvers({"type": "department_head"}, org, "rep")[0] == ["ceo"]  # sales has none: the parent's head


def test_given_a_plan_when_a_node_has_nobody_then_the_policy_decides():
    spec = {"model": "fixed", "nodes": [{"id": "a", "name": "a", "kind": "approve", "approvers": {"type": "role", "role_id": "none"}},
                                        {"id": "n", "name": "n", "kind": "notify", "approvers": {"type": "users", "user_ids": []}}]}
    steps, _ = plan.resolve(spec, _org(), "rep", {}, {})
    assert steps[0]["state"] == "skipped" and steps[0]["auto"] == "no_approver"
    assert steps[1]["state"] == "skipped"
    steps, _ = plan.resolve({**spec, "no_approver": "admin"}, _org(), "rep", {}, {})
    assert steps[0]["assignees"] == ["ceo"] and steps[0]["state"] == "waiting" and steps[0]["auto"] == "admin"


def test_given_a_node_only_the_applicant_could_approve_when_resolved_then_their_supervisor_stands_in_never_an_auto_pass():
    mine = {"model": "fixed", "nodes": [{"id": "a", "name": "a", "approvers": {"type": "users", "user_ids": ["rep", "gone"]}}]}
    steps, _ = plan.resolve(mine, _org(), "rep", {}, {})
    assert steps[0]["assignees"] == ["dir"] and steps[0]["auto"] == "stand_in"  # "gone" is disabled: the next one up
    steps, _ = plan.resolve({**mine, "nodes": [{**mine["nodes"][0], "approvers": {"type": "users", "user_ids": ["dir"]}}]},
                            _org(), "dir", {}, {})
    assert steps[0]["assignees"] == ["ceo"]
    # the top of the organisation, sole administrator: no one else can approve — refused, not passed
    top = {**mine, "nodes": [{**mine["nodes"][0], "approvers": {"type": "users", "user_ids": ["ceo"]}}], "no_approver": "admin"}
    with pytest.raises(plan.PlanError) as e:
        plan.resolve(top, _org(), "ceo", {}, {})
    assert e.value.details[0]["type"] == "no_approver"
    with pytest.raises(plan.PlanError) as e:  # the admin fallback never hands the applicant their own request
        plan.resolve({**top, "nodes": [{**mine["nodes"][0], "approvers": {"type": "role", "role_id": "none"}}]}, _org(), "ceo", {}, {})
    assert e.value.details[0]["type"] == "no_approver"


def test_given_the_applicant_names_themselves_when_choosing_approvers_or_adding_nodes_then_it_is_refused():
    spec = {"model": "free", "nodes": [{"id": "a", "name": "a", "approvers": {"type": "applicant_choice"}}]}
    with pytest.raises(plan.PlanError) as e:
        plan.resolve(spec, _org(), "rep", {}, {"approvers": {"a": ["rep"]}})
    assert [(d["field"], d["type"]) for d in e.value.details] == [("approvers.a", "self")]
    with pytest.raises(plan.PlanError) as e:
        plan.resolve(spec, _org(), "rep", {}, {"approvers": {"a": ["dir"]}, "extra_nodes": [{"after": "a", "name": "x", "user_ids": ["rep"]}]})
    assert [(d["field"], d["type"]) for d in e.value.details] == [("extra_nodes.0.user_ids", "self")]


def test_given_an_overdue_step_when_escalated_then_it_climbs_past_the_applicant_disabled_users_and_those_already_on_it():
    org = _org()
    assert plan.escalation(org, ["rep"], "x", []) == ["dir"]  # rep's supervisor "gone" is disabled
    assert plan.escalation(org, ["rep"], "dir", []) == ["ceo"]  # "dir" applied: never their own approver
    assert plan.escalation(org, ["rep"], "x", ["dir"]) == ["ceo"]
    assert plan.escalation(org, ["ceo"], "x", []) == []


def _steps(*names_people: tuple[str, list[str]], state: str = "waiting") -> list[dict]:
    return [{"index": i, "node_id": n, "name": n, "kind": "approve", "mode": "any", "assignees": people, "votes": {}, "state": state}
            for i, (n, people) in enumerate(names_people)]


@pytest.mark.parametrize("old,rejected,new,resume,carried", [
    # an amount raised across a threshold adds 总经理 before the rejecting 财务: restart there
    ([("经理", ["m"]), ("财务", ["f"])], 1, [("经理", ["m"]), ("总经理", ["g"]), ("财务", ["f"])], 1, ["经理"]),
    # a node added after the rejecting one: resume at the rejecting node
    ([("经理", ["m"]), ("总监", ["d"])], 1, [("经理", ["m"]), ("总监", ["d"]), ("总经理", ["g"])], 1, ["经理"]),
    # lowered: 总经理 (which rejected) is no longer needed; 经理's approval stands, 财务 decides
    ([("经理", ["m"]), ("总经理", ["g"]), ("财务", ["f"])], 1, [("经理", ["m"]), ("财务", ["f"])], 1, ["经理"]),
    # 经理's people changed (another department's manager now): restart from 经理
    ([("经理", ["m"]), ("总监", ["d"])], 1, [("经理", ["m2"]), ("总监", ["d"])], 0, []),
    # the rejecting node is gone and everything else stands: the last one is asked again
    ([("经理", ["m"]), ("总经理", ["g"])], 1, [("经理", ["m"])], 0, []),
])
def test_given_a_resubmission_from_the_rejecting_node_when_the_plan_changed_then_it_resumes_where_the_rule_says(old, rejected, new, resume,
                                                                                                                 carried):
    before = _steps(*old)
    for s in before[:rejected]:
        s.update(state="passed", votes={s["assignees"][0]: "approve"})
    before[rejected].update(state="rejected")
    after = _steps(*new)
    assert plan.resume_at(before, after, rejected) == resume
    assert [s["name"] for s in after if s["state"] == "passed"] == carried
    assert all(s["votes"] for s in after if s["state"] == "passed") and not any(s["votes"] for s in after if s["state"] != "passed")


def test_given_a_free_flow_when_nodes_are_added_then_their_ids_cannot_clash_with_defined_ones():
    spec = {"model": "free", "nodes": [{"id": "x1", "name": "a", "approvers": {"type": "users", "user_ids": ["dir"]}}]}
    steps, _ = plan.resolve(spec, _org(), "rep", {}, {"extra_nodes": [{"after": None, "name": "先", "user_ids": ["ceo"]},
                                                                      {"after": "x1", "name": "后", "user_ids": ["ceo"]}]})
    assert [s["name"] for s in steps] == ["先", "a", "后"]
    assert len({s["node_id"] for s in steps}) == 3
