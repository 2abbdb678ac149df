"""Segregation of duties, as a property (FLOW-2): over random organisations (supervisor links
with cycles and gaps, departments with heads, roles, disabled users, super administrators) and
random flows (every approver rule, applicant choices, added nodes, both no-approver policies,
flow administrators), resolving a plan either refuses the submit or yields steps whose people
are never the applicant and never a disabled user; escalation never picks them either.
"""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.approvals import plan
from chalicelib.core.permissions import OrgSnapshot, OrgUser

USERS = [f"u{i}" for i in range(7)]
DEPARTMENTS = {"d0": None, "d1": "d0", "d2": "d1"}
ROLES = ["r0", "r1"]


@st.composite
def organisations(draw: Any) -> tuple[plan.Org, list[str]]:
    users: dict[str, OrgUser] = {}
    supers: list[str] = []
    for u in USERS:
        users[u] = OrgUser(u, draw(st.sampled_from(sorted(DEPARTMENTS))), supervisor_id=draw(st.sampled_from([None, *USERS])),
                           role_ids=tuple(draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=2))),
                           active=draw(st.integers(0, 3)) > 0)  # one in four disabled
        if draw(st.integers(0, 3)) == 0:
            supers.append(u)
    heads = {d: draw(st.sampled_from([None, *USERS])) for d in DEPARTMENTS}
    snap = OrgSnapshot("t", dict(DEPARTMENTS), users, {})
    return plan.Org(snap, heads, [u for u in supers if users[u].active]), supers


PEOPLE = st.lists(st.sampled_from(USERS), max_size=4)
RULES = st.one_of(
    st.builds(lambda ids: {"type": "users", "user_ids": ids}, PEOPLE),
    st.builds(lambda n, f: {"type": "supervisor", "level": n, "fallback": f}, st.integers(1, 4), st.sampled_from(["nearest", "skip"])),
    st.builds(lambda n: {"type": "supervisor_chain", "level": n}, st.integers(1, 4)),
    st.builds(lambda r: {"type": "role", "role_id": r}, st.sampled_from(ROLES)),
    st.builds(lambda d: {"type": "department_head", "department_id": d}, st.sampled_from([None, *DEPARTMENTS])),
    st.just({"type": "applicant_choice"}),
)


@st.composite
def flows(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    nodes = [{"id": f"n{i}", "name": f"n{i}", "kind": draw(st.sampled_from(["approve", "approve", "notify"])), "mode": "any",
              "approvers": draw(RULES)} for i in range(draw(st.integers(1, 4)))]
    spec = {"model": draw(st.sampled_from(["fixed", "predefined", "free"])), "nodes": nodes,
            "no_approver": draw(st.sampled_from(["auto_pass", "admin"])), "admin_user_ids": draw(PEOPLE)}
    chosen = {n["id"]: draw(PEOPLE.filter(bool)) for n in nodes if n["approvers"]["type"] == "applicant_choice" or draw(st.booleans())}
    extra = [{"after": draw(st.sampled_from([None, *(n["id"] for n in nodes)])), "name": "x", "user_ids": draw(PEOPLE.filter(bool))}
             for _ in range(draw(st.integers(0, 2)))]
    return spec, {"approvers": chosen, "extra_nodes": extra}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations(), flows(), st.sampled_from(USERS))
def test_given_any_organisation_and_flow_when_a_plan_is_resolved_then_no_step_waits_on_the_applicant_or_a_disabled_user(org_supers, flow,
                                                                                                                     applicant):
    org, _ = org_supers
    spec, options = flow
    try:
        steps, _ = plan.resolve(spec, org, applicant, {}, options)
    except plan.PlanError as e:
        assert e.details  # refused with the reasons, nothing resolved
        return
    for s in steps:
        if s["kind"] == "approve":
            assert applicant not in s["assignees"], s
        assert all(org.active(u) for u in s["assignees"]), s
        assert s["assignees"] or s["state"] == "skipped", s  # a step waits only on someone


@settings(max_examples=300, deadline=None)
@given(organisations(), PEOPLE, st.sampled_from(USERS), PEOPLE)
def test_given_any_organisation_when_an_overdue_step_escalates_then_the_added_people_are_active_and_never_the_applicant(org_supers, people,
                                                                                                                      applicant, present):
    org, _ = org_supers
    added = plan.escalation(org, people, applicant, present)
    assert applicant not in added and all(org.active(u) for u in added)
    assert not set(added) & set(present) and len(added) == len(set(added))
