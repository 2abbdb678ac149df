"""Shared by the approval tests: helpers that act through the API as the people of the `oa`
organisation (tests/integration/conftest.py), and a look at where the execution is."""
from __future__ import annotations

import time

FIELDS = [{"key": "amount", "label": "金额", "field_type": "money", "required": True},
          {"key": "reason", "label": "事由", "field_type": "text"}]


def make_form(api, oa, nodes: list[dict], *, model: str = "fixed", **flow) -> str:
    """A form bound to an enabled flow with these nodes; returns the form id."""
    admin = oa["admin"]
    r = api.call("POST", "/v1/forms", admin, {"name": "测试申请", "fields": FIELDS, "title_field": "reason"})
    assert r.status_code == 201, r.data
    form = r.data
    r = api.call("POST", "/v1/approval-flows", admin, {"name": "测试流程", "business_type": f"form:{form['id']}", "model": model,
                                                       "nodes": nodes, "enabled": True, **flow})
    assert r.status_code == 201, r.data
    r = api.call("PATCH", f"/v1/forms/{form['id']}", admin, {"flow_id": r.data["id"]}, headers={"If-Match": f'"{form["version"]}"'})
    assert r.status_code == 200, r.data
    return form["id"]


def users(oa, *keys: str) -> dict:
    return {"type": "users", "user_ids": [oa["ids"][k] for k in keys]}


def apply(api, oa, form_id: str, who: str = "rep", amount: float = 100, **extra) -> dict:
    r = api.call("POST", "/v1/applications", oa["tokens"][who], {"form_id": form_id, "data": {"amount": amount, "reason": "测试"}, **extra})
    assert r.status_code == 201, r.data
    assert r.data["status"] in ("pending", "approved"), r.data
    return r.data


def act(api, oa, who: str, instance_id: str, action: str, body: dict | None = None, status: int = 200) -> dict:
    r = api.call("POST", f"/v1/approvals/{instance_id}/{action}", oa["tokens"][who], body or {})
    assert r.status_code == status, (who, action, r.data)
    return r.data


def instance(api, oa, instance_id: str, who: str = "rep") -> dict:
    r = api.call("GET", f"/v1/approvals/{instance_id}", oa["tokens"][who])
    assert r.status_code == 200, r.data
    return r.data


def app_status(api, oa, app_id: str) -> str:
    return api.call("GET", f"/v1/applications/{app_id}", oa["tokens"]["rep"]).data["status"]


def pending_ids(api, oa, who: str) -> list[str]:
    r = api.call("GET", "/v1/approvals?box=pending", oa["tokens"][who])
    assert r.status_code == 200, r.data
    return [i["instance_id"] for i in r.data["items"]]


def machine(inst: dict, tenant_id: str) -> dict:
    """Where the execution is: its status, the round of the stored token, the states it entered."""
    from chalicelib.approvals import service
    from chalicelib.approvals.models import ApprovalInstance, ApprovalToken
    from chalicelib.ports import workflow

    item = ApprovalInstance.get(*ApprovalInstance.key(tenant_id, inst["id"]))
    arn = service.execution_arn(item)
    deadline = time.monotonic() + 5
    while True:
        d = workflow.describe(arn)
        if d["status"] != "RUNNING" or inst["status"] == "running" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    try:
        tok = ApprovalToken.get(item.pk, "TOKEN")
        token_round = int(tok.round)
    except ApprovalToken.DoesNotExist:
        token_round = None
    states = [e["stateEnteredEventDetails"]["name"] for e in workflow.history(arn) if "stateEnteredEventDetails" in e]
    return {"status": d["status"], "token_round": token_round, "states": states}
