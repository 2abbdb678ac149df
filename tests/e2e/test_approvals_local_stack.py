"""Approvals (审批) tried as a new user would: over HTTP against the local stack (`make dev`),
with the demo company and real Step Functions executions on the moto server.

An admin defines a contract flow and reads its picture; a rep applies for leave and for an
expense reimbursement; their supervisor approves both, finance (the template's 系统管理员
step) rejects the expense; the rep reads the outcome and the history; the executions have
really moved. Also a node's time limit: the state machine's own timeout puts the overdue
event on the bus, the local bus driver runs the approval timer and the step passes by itself.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import boto3
import pytest

from tests.e2e.conftest import Stack

ADMIN, REP, SUPERVISOR, DIRECTOR, FINANCE = "13800000001", "13800000004", "13800000003", "13800000002", "13800000009"
# names of the demo users above, as history shows them
NAMES = {ADMIN: "刘洋", REP: "李娜", SUPERVISOR: "孙丽", DIRECTOR: "王强", FINANCE: "吴静"}


# ---- helpers -------------------------------------------------------------------------------

def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


def _user_id(stack, token: str, mobile: str) -> str:
    items = _ok(stack.call("GET", f"/v1/org/users?q={mobile}", token))["items"]
    found = [u["id"] for u in items if u["mobile"] == mobile]
    assert len(found) == 1, items
    return found[0]


def _form(stack, admin: str, rep: str, code: str) -> str:
    """The demo's form of template `code` (as the rep sees it), else one created from the template."""
    forms = [f for f in _ok(stack.call("GET", "/v1/forms", rep))["items"] if f["code"] == code and f["enabled"]]
    if not forms:
        forms = [_ok(stack.call("POST", f"/v1/forms/templates/{code}", admin), 201)]
    assert forms[0]["flow_id"], forms[0]
    return forms[0]["id"]


def _pending(stack, token: str) -> dict[str, dict]:
    return {i["instance_id"]: i for i in _ok(stack.call("GET", "/v1/approvals?box=pending&limit=100", token))["items"]}


def _act(stack, token: str, instance_id: str, action: str, body: dict | None = None) -> dict:
    return _ok(stack.call("POST", f"/v1/approvals/{instance_id}/{action}", token, body or {}))


def _history(stack, token: str, instance_id: str) -> list[tuple[str, str]]:
    items = _ok(stack.call("GET", f"/v1/approvals/{instance_id}/history", token))["items"]
    return [(h["action"], h["actor_name"]) for h in items]


class Machine:
    """The approval state machine's executions on the stack's moto server."""

    def __init__(self, stack) -> None:
        self.sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{stack.env['CRM_MOTO_PORT']}",
                                region_name="ap-southeast-1", aws_access_key_id="local", aws_secret_access_key="local")
        machines = self.sfn.list_state_machines()["stateMachines"]
        self.arn = next(m["stateMachineArn"] for m in machines if m["name"] == "crm-approval")

    def execution(self, instance_id: str) -> str:
        found = [e["executionArn"] for e in self.sfn.list_executions(stateMachineArn=self.arn, maxResults=1000)["executions"]
                 if instance_id in e["name"]]
        assert len(found) == 1, found
        return found[0]

    def states(self, arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def wait(self, instance_id: str, status: str, state: str, timeout: float = 5.0) -> tuple[str, list[str]]:
        """The execution's status and entered states once it has `status` and has entered `state`."""
        arn = self.execution(instance_id)
        last: list[tuple[str, list[str]]] = []

        def arrived() -> bool:
            last[:] = [(self.sfn.describe_execution(executionArn=arn)["status"], self.states(arn))]
            return last[0][0] == status and state in last[0][1]

        Stack.eventually(arrived, timeout, every=0.1)
        return last[0]


@pytest.fixture(scope="module")
def people(stack):
    tokens = {m: stack.login(m) for m in NAMES}
    ids = {m: _user_id(stack, tokens[ADMIN], m) for m in NAMES}
    return {"token": tokens, "id": ids}


# ---- an admin defines a flow ---------------------------------------------------------------------

def test_given_admin_when_defining_a_two_level_contract_flow_then_its_graph_reads_as_mermaid_svg_and_table(stack, people):
    admin, ids = people["token"][ADMIN], people["id"]
    spec = {
        "name": "大额合同审批（端到端）", "business_type": "contract", "model": "fixed", "enabled": False,
        "nodes": [
            {"id": "supervisor", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}},
            {"id": "amount_check", "name": "合同金额判断", "kind": "branch", "branches": [
                {"name": "大额合同", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 100000}],
                 "nodes": [{"id": "countersign", "name": "总监财务会签", "mode": "all",
                            "approvers": {"type": "users", "user_ids": [ids[DIRECTOR], ids[FINANCE]]}}]},
                {"name": "常规合同", "priority": 99, "conditions": [], "nodes": []},
            ]},
        ],
    }
    flow = _ok(stack.call("POST", "/v1/approval-flows", admin, spec), 201)
    assert (flow["business_type"], flow["enabled"], flow["current_version"]) == ("contract", False, 1)
    contract_flows = _ok(stack.call("GET", "/v1/approval-flows?business_type=contract", admin))["items"]
    assert {f["id"]: f["enabled"] for f in contract_flows}[flow["id"]] is False
    assert any(f["enabled"] and f["name"] == "合同审批" for f in contract_flows)  # the demo's flow stays the enabled one

    mermaid = stack.call("GET", f"/v1/approval-flows/{flow['id']}/graph?format=mermaid", admin)
    assert mermaid.status_code == 200 and mermaid.headers["Content-Type"].startswith("text/plain")
    text = mermaid.text
    assert text.startswith("flowchart TD\n")
    assert "直属上级(1级)" in text
    assert "大额合同: amount #62; 100000" in text  # the condition on the gateway's edge (">" escaped for Mermaid)
    countersign = next(line for line in text.splitlines() if "总监财务会签" in line)
    assert f"指定成员:{ids[DIRECTOR]},{ids[FINANCE]} · 会签" in countersign
    assert "常规合同 (默认)" in text

    svg = stack.call("GET", f"/v1/approval-flows/{flow['id']}/graph?format=svg", admin)
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.find(f"{ns}title").text == spec["name"]
    drawn = {g.get("data-id"): g.get("class") for g in root.iter(f"{ns}g")}
    assert drawn["supervisor"] == "node approve" and drawn["countersign"] == "node approve"
    assert drawn["amount_check"] == "node gateway"
    assert "大额合同: amount > 100000" in "".join(root.itertext())

    rows = _ok(stack.call("GET", f"/v1/approval-flows/{flow['id']}/graph?format=table", admin))["items"]
    assert [r["node_id"] for r in rows] == ["supervisor", "amount_check", "countersign"]
    assert (rows[2]["mode"], rows[2]["branch"], rows[2]["condition"]) == ("会签", "大额合同", "amount > 100000")


# ---- a rep applies, the supervisor and finance decide ------------------------------------------

def test_given_demo_forms_when_rep_applies_and_supervisor_and_finance_decide_then_everyone_sees_the_outcome(stack, people):
    token = people["token"]
    rep, supervisor, finance_step = token[REP], token[SUPERVISOR], token[ADMIN]  # 费用报销's 财务审核 is the 系统管理员 role
    leave_form, expense_form = _form(stack, token[ADMIN], rep, "leave"), _form(stack, token[ADMIN], rep, "expense")
    waiting_before = _ok(stack.call("GET", "/v1/approvals/counts", supervisor))["pending"]

    leave = _ok(stack.call("POST", "/v1/applications", rep, {"form_id": leave_form, "comment": "回老家", "data": {
        "leave_type": "annual", "start": "2026-04-01T09:00:00+08:00", "end": "2026-04-01T18:00:00+08:00", "days": 1,
        "reason": "回老家办事"}}), 201)
    expense = _ok(stack.call("POST", "/v1/applications", rep, {"form_id": expense_form, "data": {
        "title": "拜访华为差旅费", "total_amount": 860,
        "items": [{"date": "2026-03-10", "category": "travel", "amount": 860, "note": "高铁往返"}]}}), 201)
    assert (leave["status"], expense["status"]) == ("pending", "pending")
    leave_id, expense_id = leave["instance_id"], expense["instance_id"]

    # the supervisor's inbox
    waiting = _pending(stack, supervisor)
    assert {leave_id, expense_id} <= set(waiting)
    assert waiting[expense_id]["title"] == "费用报销：拜访华为差旅费" and waiting[expense_id]["step_name"] == "直属上级审批"
    assert _ok(stack.call("GET", "/v1/approvals/counts", supervisor))["pending"] == waiting_before + 2
    assert leave_id not in _pending(stack, finance_step)  # not their turn

    approved = _act(stack, supervisor, leave_id, "approve", {"comment": "同意，注意交接"})
    assert approved["status"] == "approved"
    moved = _act(stack, supervisor, expense_id, "approve", {"comment": "情况属实"})
    assert moved["status"] == "running"
    assert moved["steps"][moved["current_step"]]["name"] == "财务审核"
    assert set(_pending(stack, supervisor)).isdisjoint({leave_id, expense_id})
    assert _ok(stack.call("GET", "/v1/approvals/counts", supervisor))["pending"] == waiting_before

    # finance rejects the expense with a comment
    assert expense_id in _pending(stack, finance_step)
    rejected = _act(stack, finance_step, expense_id, "reject", {"comment": "缺少高铁票据，请补充后重新提交"})
    assert rejected["status"] == "rejected" and "resubmit" not in rejected["my_actions"]
    assert expense_id not in _pending(stack, finance_step)

    # the rep sees the outcome
    apps = {a["id"]: a for a in _ok(stack.call("GET", "/v1/applications?limit=100", rep))["items"]}
    assert (apps[leave["id"]]["status"], apps[expense["id"]]["status"]) == ("approved", "rejected")
    mine = {i["instance_id"]: i["status"] for i in _ok(stack.call("GET", "/v1/approvals?box=mine&limit=100", rep))["items"]}
    assert (mine[leave_id], mine[expense_id]) == ("approved", "rejected")
    assert "resubmit" in _ok(stack.call("GET", f"/v1/approvals/{expense_id}", rep))["my_actions"]

    assert _history(stack, rep, expense_id) == [("submit", NAMES[REP]), ("approve", NAMES[SUPERVISOR]), ("reject", NAMES[ADMIN])]
    expense_history = _ok(stack.call("GET", f"/v1/approvals/{expense_id}/history", rep))["items"]
    assert expense_history[2]["comment"] == "缺少高铁票据，请补充后重新提交" and expense_history[2]["step_name"] == "财务审核"
    # the decision's own entries keep their order: the approval, then the 人事备案 copy it triggered
    assert _history(stack, rep, leave_id) == [("submit", NAMES[REP]), ("approve", NAMES[SUPERVISOR]), ("notify", "system")]

    # the executions really moved: to their end states on the moto server
    machine = Machine(stack)
    status, states = machine.wait(leave_id, "SUCCEEDED", "Approved")
    assert status == "SUCCEEDED" and states[-1] == "Approved"
    status, states = machine.wait(expense_id, "SUCCEEDED", "Rejected")
    assert status == "SUCCEEDED" and states[-1] == "Rejected" and "NextStep" in states  # 直属上级 → 财务审核 → rejected


def test_given_the_demo_when_the_supervisor_signs_in_then_a_leave_request_waits_for_them(stack, people):
    """What the banner promises: 孙丽 finds 张伟's leave request in her inbox and can act on it."""
    waiting = [i for i in _pending(stack, people["token"][SUPERVISOR]).values() if i["title"] == "张伟的请假"]
    assert len(waiting) == 1
    inst = _ok(stack.call("GET", f"/v1/approvals/{waiting[0]['instance_id']}", people["token"][SUPERVISOR]))
    assert inst["status"] == "running" and "approve" in inst["my_actions"]
    status, _ = Machine(stack).wait(inst["id"], "RUNNING", "AwaitDecision")
    assert status == "RUNNING"


# ---- time limits on the local stack ---------------------------------------------------------

def test_given_time_limits_when_nobody_acts_then_the_first_step_passes_by_itself_and_the_second_reminds(stack, people):
    """Step 1 (1 s, auto-pass): the execution's own timeout → events:putEvents → the bus rule's queue
    → BusDriver → approval_timer → the step passes. Step 2 (3 s, remind 2 s before): the reminder
    schedule (ScheduleDriver → reminders target) says it is due soon, then the timeout says overdue."""
    token, ids = people["token"], people["id"]
    admin = token[ADMIN]
    form = _ok(stack.call("POST", "/v1/forms", admin, {"name": "限时审批（端到端）", "title_field": "reason", "fields": [
        {"key": "amount", "label": "金额", "field_type": "money", "required": True},
        {"key": "reason", "label": "事由", "field_type": "text"}]}), 201)
    flow = _ok(stack.call("POST", "/v1/approval-flows", admin, {
        "name": "限时审批流程", "business_type": f"form:{form['id']}", "enabled": True, "nodes": [
            {"id": "quick", "name": "限时审批", "approvers": {"type": "users", "user_ids": [ids[SUPERVISOR]]},
             "time_limit_hours": 1 / 3600, "on_timeout": "auto_pass"},
            {"id": "director", "name": "总监审批", "approvers": {"type": "users", "user_ids": [ids[DIRECTOR]]},
             "time_limit_hours": 3 / 3600, "remind_before_hours": 2 / 3600, "on_timeout": "remind"}]}), 201)
    _ok(stack.call("PATCH", f"/v1/forms/{form['id']}", admin, {"flow_id": flow["id"]}, headers={"If-Match": f'"{form["version"]}"'}))

    app = _ok(stack.call("POST", "/v1/applications", token[REP], {"form_id": form["id"], "data": {"amount": 100, "reason": "超时测试"}}), 201)
    iid = app["instance_id"]
    assert iid in _pending(stack, token[SUPERVISOR])

    # step 1 passes by itself
    deadline = time.monotonic() + 10
    inst = None
    while time.monotonic() < deadline:
        inst = _ok(stack.call("GET", f"/v1/approvals/{iid}", token[REP]))
        if inst["current_step"] == 1:
            break
        time.sleep(0.2)
    assert inst is not None and inst["current_step"] == 1, inst
    assert inst["steps"][0]["state"] == "passed" and inst["steps"][0]["votes"] == []  # nobody voted: the timer passed it
    assert iid not in _pending(stack, token[SUPERVISOR]) and iid in _pending(stack, token[DIRECTOR])
    assert _history(stack, token[REP], iid) == [("submit", NAMES[REP]), ("overdue", "system")]

    # step 2: due soon (reminder schedule), then overdue (policy remind: it stays with the director)
    due_soon, overdue = "审批即将超时：限时审批（端到端）：超时测试（总监审批）", "审批已超时：限时审批（端到端）：超时测试（总监审批）"
    deadline = time.monotonic() + 10
    titles: list[str] = []
    while time.monotonic() < deadline and overdue not in titles:
        titles = [n["title"] for n in _ok(stack.call("GET", "/v1/notifications?limit=100", token[DIRECTOR]))["items"]]
        time.sleep(0.2)
    assert overdue in titles and due_soon in titles
    assert titles.index(overdue) < titles.index(due_soon)  # newest first: the reminder came before the limit
    inst = _ok(stack.call("GET", f"/v1/approvals/{iid}", token[REP]))
    assert (inst["status"], inst["current_step"]) == ("running", 1)

    machine = Machine(stack)
    status, states = machine.wait(iid, "RUNNING", "NextStep")
    assert status == "RUNNING" and states.count("StepOverdue") == 2 and "NextStep" in states and states[-1] == "AwaitDecision"

    assert _act(stack, token[DIRECTOR], iid, "approve")["status"] == "approved"
    status, states = machine.wait(iid, "SUCCEEDED", "Approved")
    assert status == "SUCCEEDED" and states[-1] == "Approved"
