"""Flow definitions (admin), custom forms and OA applications, graph export, reminders and
tenant isolation of approvals — through the API."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .approval_kit import act, apply, instance, make_form, pending_ids, users


def _flow(api, oa, nodes, **kw) -> dict:
    r = api.call("POST", "/v1/approval-flows", oa["admin"], {"name": "合同审批", "business_type": "contract", "nodes": nodes, **kw})
    assert r.status_code == 201, r.data
    return r.data


def test_given_a_rep_when_they_define_a_flow_then_403(api, oa):
    r = api.call("POST", "/v1/approval-flows", oa["tokens"]["rep"], {"name": "x", "business_type": "contract",
                                                                   "nodes": [{"id": "a", "name": "a", "approvers": users(oa, "manager")}]})
    assert r.status_code == 403
    assert api.call("GET", "/v1/approval-flows", oa["tokens"]["rep"]).status_code == 403


def test_given_bad_definitions_when_saved_then_422_names_the_field(api, oa):
    bad = [
        ({"nodes": []}, "nodes"),
        ({"nodes": [{"id": "a", "name": "a"}]}, "nodes.0"),  # approvers missing
        ({"nodes": [{"id": "a", "name": "a", "approvers": {"type": "users", "user_ids": ["nobody"]}}]}, "nodes.0.approvers.user_ids"),
        ({"nodes": [{"id": "a", "name": "a", "approvers": {"type": "role", "role_id": "nope"}}]}, "nodes.0.approvers.role_id"),
        ({"nodes": [{"id": "a", "name": "a", "approvers": users(oa, "manager")},
                    {"id": "a", "name": "b", "approvers": users(oa, "manager")}]}, "nodes"),  # duplicate ids
    ]
    for body, field in bad:
        r = api.call("POST", "/v1/approval-flows", oa["admin"], {"name": "x", "business_type": "contract", **body})
        assert r.status_code == 422, (body, r.data)
        assert any(d["field"].startswith(field) for d in r.data["details"]), (field, r.data)
        assert r.data["message"]  # localized


def test_given_a_running_instance_when_the_flow_gets_a_new_version_then_it_keeps_its_plan_and_new_ones_use_the_new(api, oa):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    old = apply(api, oa, form)["instance_id"]
    flow = api.call("GET", f"/v1/forms/{form}", oa["admin"]).data["flow_id"]
    current = api.call("GET", f"/v1/approval-flows/{flow}", oa["admin"]).data
    spec = {k: current["spec"][k] for k in ("name", "business_type", "model", "nodes")}
    spec["nodes"] = [{"id": "a", "name": "总监", "approvers": users(oa, "director")}]
    r = api.call("PATCH", f"/v1/approval-flows/{flow}", oa["admin"], {"spec": spec}, headers={"If-Match": f'"{current["version"]}"'})
    assert r.status_code == 200 and r.data["current_version"] == 2
    stale = api.call("PATCH", f"/v1/approval-flows/{flow}", oa["admin"], {"enabled": False}, headers={"If-Match": f'"{current["version"]}"'})
    assert stale.status_code == 409
    new = apply(api, oa, form)["instance_id"]
    assert instance(api, oa, old)["steps"][0]["assignees"] == [oa["ids"]["manager"]]
    assert instance(api, oa, new)["flow_version"] == 2 and instance(api, oa, new)["steps"][0]["assignees"] == [oa["ids"]["director"]]
    assert act(api, oa, "manager", old, "approve")["status"] == "approved"
    versions = api.call("GET", f"/v1/approval-flows/{flow}/versions", oa["admin"]).data["items"]
    assert [v["number"] for v in versions] == [1, 2]
    graph_v1 = api.call("GET", f"/v1/approval-flows/{flow}/graph?format=table&version=1", oa["admin"]).data["items"]
    assert [row["name"] for row in graph_v1] == ["经理"]


def test_given_two_flows_of_a_type_when_one_is_enabled_then_the_other_is_disabled_and_disabled_types_cannot_submit(api, oa):
    first = _flow(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}], enabled=True)
    copy = api.call("POST", f"/v1/approval-flows/{first['id']}/copy", oa["admin"], {"name": "合同审批(副本)"})
    assert copy.status_code == 201 and copy.data["enabled"] is False and copy.data["spec"]["nodes"] == first["spec"]["nodes"]
    r = api.call("PATCH", f"/v1/approval-flows/{copy.data['id']}", oa["admin"], {"enabled": True},
                 headers={"If-Match": f'"{copy.data["version"]}"'})
    assert r.status_code == 200 and r.data["enabled"]
    flows = {f["id"]: f["enabled"] for f in api.call("GET", "/v1/approval-flows?business_type=contract", oa["admin"]).data["items"]}
    assert flows == {first["id"]: False, copy.data["id"]: True}


def test_given_flow_templates_when_listed_and_used_then_a_disabled_flow_of_that_template_exists(api, oa):
    items = api.call("GET", "/v1/approval-flows/templates", oa["admin"]).data["items"]
    codes = {t["code"] for t in items}
    assert {"contract", "leave", "expense", "document_outgoing"} <= codes
    r = api.call("POST", "/v1/approval-flows/templates/contract", oa["admin"], {})
    assert r.status_code == 201 and r.data["business_type"] == "contract" and r.data["enabled"] is False
    assert api.call("POST", "/v1/approval-flows/templates/nope", oa["admin"], {}).status_code == 404


def test_given_a_flow_with_branches_when_exported_then_json_mermaid_svg_and_table_show_every_node(api, oa):
    flow = _flow(api, oa, [
        {"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor"}},
        {"id": "gate", "name": "金额", "kind": "branch", "branches": [
            {"name": "大额", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 100000}],
             "nodes": [{"id": "cs", "name": "财务会签", "approvers": users(oa, "f1", "f2"), "mode": "all"}]},
            {"name": "其他", "conditions": [], "nodes": []}]},
        {"id": "cc", "name": "知会", "kind": "notify", "approvers": users(oa, "f4")}])
    base = f"/v1/approval-flows/{flow['id']}/graph"
    g = api.call("GET", base, oa["admin"]).data
    names = {n.get("label") or n.get("name") for n in g["nodes"]}
    assert {"直属上级", "财务会签", "知会"} <= names and len(g["edges"]) >= 5
    mermaid = api.call("GET", base + "?format=mermaid", oa["admin"])
    assert mermaid.body.decode().startswith("flowchart") and "财务会签" in mermaid.body.decode()
    svg = api.call("GET", base + "?format=svg", oa["admin"])
    assert mermaid.headers["Content-Type"].startswith("text/plain") and svg.headers["Content-Type"].startswith("image/svg+xml")
    texts = "".join(ET.fromstring(svg.body).itertext())
    assert "直属上级" in texts and "财务会签" in texts
    table = api.call("GET", base + "?format=table", oa["admin"]).data["items"]
    assert [row["name"] for row in table] == ["直属上级", "金额", "财务会签", "知会"]  # the gateway is a row too


# ---- forms and applications -------------------------------------------------------------------

def test_given_a_form_with_a_detail_table_and_references_when_filled_wrong_then_every_error_is_named(api, oa):
    r = api.call("POST", "/v1/forms", oa["admin"], {"name": "报销", "fields": [
        {"key": "total", "label": "合计", "field_type": "money", "required": True},
        {"key": "customer", "label": "客户", "field_type": "reference", "entity": "customer"},
        {"key": "approver", "label": "经办人", "field_type": "user"},
        {"key": "items", "label": "明细", "field_type": "table", "columns": [
            {"key": "kind", "label": "类别", "field_type": "select", "options": [{"code": "taxi", "label": "打车"}]},
            {"key": "amount", "label": "金额", "field_type": "money", "required": True}]}]})
    assert r.status_code == 201, r.data
    form = r.data["id"]
    bad = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form, "submit": False, "data": {
        "customer": "01NOPE", "approver": "ghost", "items": [{"kind": "plane"}], "extra": 1}})
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.data["details"]}
    assert {"total", "customer", "approver", "items.0.kind", "items.0.amount", "extra"} <= fields
    c = api.call("POST", "/v1/customers", oa["tokens"]["rep"], {"name": "华为"}).data
    ok = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form, "submit": False, "data": {
        "total": "12.345", "customer": c["id"], "items": [{"kind": "taxi", "amount": 12.3}]}})
    assert ok.status_code == 201, ok.data
    assert ok.data["status"] == "draft" and ok.data["data"]["total"] == 12.35
    assert ok.data["data"]["customer"] == {"entity": "customer", "id": c["id"]}
    r = api.call("POST", "/v1/forms", oa["admin"], {"name": "x", "fields": [{"key": "t", "label": "t", "field_type": "table", "columns": [
        {"key": "inner", "label": "i", "field_type": "table", "columns": [{"key": "a", "label": "a", "field_type": "text"}]}]}]})
    assert r.status_code == 422  # no table inside a table


def test_given_leave_template_when_a_rep_applies_then_supervisor_approves_from_the_inbox(api, oa):
    r = api.call("POST", "/v1/forms/templates/leave", oa["admin"])
    assert r.status_code == 201, r.data
    form = r.data
    assert form["flow_id"] and form["business_type"] == f"form:{form['id']}"
    listed = api.call("GET", "/v1/forms", oa["tokens"]["rep"]).data["items"]
    assert form["id"] in {f["id"] for f in listed}
    keys = {f["key"] for f in form["spec"]["fields"]}
    data = {"leave_type": next(f for f in form["spec"]["fields"] if f["key"] == "leave_type")["options"][0]["code"],
            "start": "2026-12-01T09:00:00+08:00", "end": "2026-12-02T18:00:00+08:00", "days": 2, "reason": "家中有事"}
    data = {k: v for k, v in data.items() if k in keys}
    r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": data})
    assert r.status_code == 201, r.data
    iid = r.data["instance_id"]
    assert iid in pending_ids(api, oa, "manager")
    done = act(api, oa, "manager", iid, "approve", {"comment": "准假"})
    while done["status"] == "running":  # later steps of the template (if any) are someone else's
        step = done["steps"][done["current_step"]]
        who = next(k for k, v in oa["ids"].items() if v in step["current_assignees"]) if any(
            v in step["current_assignees"] for v in oa["ids"].values()) else None
        if who is None:
            break
        done = act(api, oa, who, iid, "approve")
    mine = api.call("GET", "/v1/applications", oa["tokens"]["rep"]).data["items"]
    assert [a["id"] for a in mine] == [r.data["id"]]


def test_given_a_rejected_application_when_edited_and_resubmitted_then_conditions_see_the_new_data(api, oa):
    form = make_form(api, oa, [
        {"id": "sup", "name": "经理", "approvers": users(oa, "manager")},
        {"id": "g", "name": "金额", "kind": "branch", "branches": [
            {"name": "大额", "conditions": [{"field": "amount", "op": "gte", "value": 10000}],
             "nodes": [{"id": "big", "name": "总监", "approvers": users(oa, "director")}]}]}])
    app = apply(api, oa, form, amount=500)
    iid = app["instance_id"]
    assert len(instance(api, oa, iid)["steps"]) == 1
    act(api, oa, "manager", iid, "reject", {"comment": "金额写错"})
    current = api.call("GET", f"/v1/applications/{app['id']}", oa["tokens"]["rep"]).data
    r = api.call("PATCH", f"/v1/applications/{app['id']}", oa["tokens"]["rep"], {"data": {"amount": 20000, "reason": "改"}},
                 headers={"If-Match": f'"{current["version"]}"'})
    assert r.status_code == 200, r.data
    r = api.call("POST", f"/v1/applications/{app['id']}/submit", oa["tokens"]["rep"], {})
    assert r.status_code == 200 and r.data["status"] == "pending" and r.data["instance_id"] == iid
    assert [s["name"] for s in instance(api, oa, iid)["steps"]] == ["经理", "总监"]
    locked = api.call("PATCH", f"/v1/applications/{app['id']}", oa["tokens"]["rep"], {"data": {"amount": 1}},
                      headers={"If-Match": f'"{r.data["version"]}"'})
    assert locked.status_code == 422  # not while in review


def test_given_an_official_document_when_approved_then_it_can_be_archived_then_destroyed(api, oa):
    r = api.call("POST", "/v1/forms", oa["admin"], {"name": "发文", "document": True, "fields": [
        {"key": "doc_title", "label": "标题", "field_type": "text", "required": True},
        {"key": "body", "label": "正文", "field_type": "textarea"}], "title_field": "doc_title"})
    form = r.data
    flow = api.call("POST", "/v1/approval-flows", oa["admin"], {"name": "发文流程", "business_type": f"form:{form['id']}", "enabled": True,
                                                               "nodes": [{"id": "a", "name": "核稿", "approvers": users(oa, "manager")}]}).data
    api.call("PATCH", f"/v1/forms/{form['id']}", oa["admin"], {"flow_id": flow["id"]}, headers={"If-Match": f'"{form["version"]}"'})
    app = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {"doc_title": "关于年会的通知",
                                                                                                     "body": "正文"}}).data
    assert app["title"] == "发文：关于年会的通知"
    assert api.call("POST", f"/v1/applications/{app['id']}/archive", oa["tokens"]["rep"], {}).status_code == 422  # not approved yet
    act(api, oa, "manager", app["instance_id"], "approve")
    archived = api.call("POST", f"/v1/applications/{app['id']}/archive", oa["tokens"]["rep"], {"reason": "归档"})
    assert archived.status_code == 200 and archived.data["status"] == "archived"
    destroyed = api.call("POST", f"/v1/applications/{app['id']}/destroy", oa["tokens"]["rep"], {"reason": "到期销毁"})
    assert destroyed.data["status"] == "destroyed" and destroyed.data["data"] == {}
    logs = api.call("GET", f"/v1/records/application/{app['id']}/logs", oa["tokens"]["rep"]).data["items"]
    assert {"archive", "destroy", "approval.approve"} <= {e["action"] for e in logs}


def test_given_a_flow_with_remind_before_when_the_schedule_fires_then_the_approver_is_reminded_once(api, oa):
    from chalicelib.approvals import service
    from chalicelib.approvals.models import ApprovalInstance
    from chalicelib.ports import scheduler
    from functions.reminders import handler

    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager"), "time_limit_hours": 48,
                                "remind_before_hours": 4}])
    iid = apply(api, oa, form)["instance_id"]
    item = ApprovalInstance.get(*ApprovalInstance.key(oa["id"], iid))
    schedule = scheduler.get(service._schedule_name(item))
    assert schedule is not None and schedule["ScheduleExpression"].startswith("at(")
    import json

    payload = json.loads(schedule["Target"]["Input"])
    assert handler(payload) == {"delivered": True}
    handler(payload)  # Scheduler retries: still one notification
    titles = [n["title"] for n in api.call("GET", "/v1/notifications", oa["tokens"]["manager"]).data["items"]]
    assert sum("即将超时" in t for t in titles) == 1
    act(api, oa, "manager", iid, "approve")
    assert handler(payload) == {"delivered": False}  # the step moved on: a late schedule does nothing


def test_given_two_tenants_when_one_acts_on_the_others_approval_then_it_does_not_exist(api, oa, make_tenant):
    form = make_form(api, oa, [{"id": "a", "name": "经理", "approvers": users(oa, "manager")}])
    iid = apply(api, oa, form)["instance_id"]
    other = make_tenant(mobile="13811112222")
    assert api.call("GET", f"/v1/approvals/{iid}", other["admin"]).status_code == 404
    assert api.call("POST", f"/v1/approvals/{iid}/approve", other["admin"], {}).status_code == 404
    assert api.call("GET", f"/v1/forms/{form}", other["admin"]).status_code == 404
    assert api.call("GET", "/v1/approvals?box=pending", other["admin"]).data["items"] == []


def test_given_a_repeated_query_parameter_when_listing_then_422_instead_of_silently_taking_one(api, oa):
    r = api.call("GET", "/v1/applications?form_id=a&form_id=b", oa["tokens"]["rep"])
    assert r.status_code == 422 and r.data["details"][0] == {"field": "form_id", "type": "repeated", "message": "参数只能出现一次"}
    r = api.call("GET", "/v1/applications?form_id=a&form_id=b", oa["tokens"]["rep"], headers={"Accept-Language": "en"})
    assert r.data["details"][0]["message"] == "Give this parameter once"


# ---- cross-field rules of forms -------------------------------------------------------------------

def _from_template(api, oa, code: str) -> dict:
    r = api.call("POST", f"/v1/forms/templates/{code}", oa["admin"])
    assert r.status_code == 201, r.data
    return r.data


def test_given_a_leave_request_ending_before_it_starts_with_negative_days_then_422_and_no_approval_starts(api, oa):
    form = _from_template(api, oa, "leave")
    base = {"leave_type": "annual", "reason": "家中有事"}
    bad = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        **base, "start": "2026-12-03T09:00:00+08:00", "end": "2026-12-01T18:00:00+08:00", "days": -3}})
    assert bad.status_code == 422
    assert {d["field"]: d["type"] for d in bad.data["details"]} == {"end": "range", "days": "range"}
    assert next(d for d in bad.data["details"] if d["field"] == "end")["message"] == "「结束时间」应晚于「开始时间」"
    period = {"start": "2026-12-01T09:00:00+08:00", "end": "2026-12-02T18:00:00+08:00"}
    for days, message in ((0, "Days must be greater than 0"), (5, "Days cannot exceed the 2 days from Start to End")):
        r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {**base, **period, "days": days}},
                     headers={"Accept-Language": "en"})
        assert r.status_code == 422 and r.data["details"] == [{"field": "days", "type": "range", "message": message}]
    assert pending_ids(api, oa, "manager") == []  # nothing reached an approver
    assert api.call("GET", "/v1/applications", oa["tokens"]["rep"]).data["items"] == []
    ok = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {**base, **period, "days": 1.5}})
    assert ok.status_code == 201 and ok.data["status"] == "pending"


def test_given_an_expense_claim_whose_total_is_not_the_sum_of_its_rows_then_422_and_a_draft_cannot_be_submitted(api, oa):
    form = _from_template(api, oa, "expense")
    rows = [{"date": "2026-11-02", "category": "transport", "amount": "35.10"}, {"date": "2026-11-03", "category": "meals", "amount": 64.2}]
    bad = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "title": "上海出差", "items": rows, "total_amount": 100}})
    assert bad.status_code == 422
    assert bad.data["details"] == [{"field": "total_amount", "type": "sum", "message": "「报销总额」应等于「费用明细」中「金额」的合计 99.30"}]
    negative = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "title": "冲账", "items": [{"date": "2026-11-02", "category": "other", "amount": -20}], "total_amount": -20}})
    assert negative.status_code == 422 and {d["field"] for d in negative.data["details"]} == {"items.0.amount", "total_amount"}
    draft = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "submit": False, "data": {
        "title": "上海出差", "items": rows, "total_amount": "99.3"}})
    assert draft.status_code == 201, draft.data
    # the admin tightens the form afterwards: the draft is checked again when it is submitted
    spec = {k: v for k, v in form["spec"].items()}
    spec["rules"] = [*spec["rules"], {"kind": "compare", "field": "total_amount", "op": "lte", "value": 50}]
    r = api.call("PATCH", f"/v1/forms/{form['id']}", oa["admin"], {"spec": spec}, headers={"If-Match": f'"{form["version"]}"'})
    assert r.status_code == 200, r.data
    refused = api.call("POST", f"/v1/applications/{draft.data['id']}/submit", oa["tokens"]["rep"], {})
    assert refused.status_code == 422 and refused.data["details"][0]["field"] == "total_amount"
    assert api.call("GET", f"/v1/applications/{draft.data['id']}", oa["tokens"]["rep"]).data["status"] == "draft"


def test_given_a_loan_request_without_repayment_date_then_422_names_it(api, oa):
    form = _from_template(api, oa, "loan")
    r = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": form["id"], "data": {
        "loan_type": "loan", "amount": 3000, "purpose": "备用金"}}, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.data["details"] == [{"field": "repay_date", "type": "missing", "message": "Repayment date is required when Request type is Loan"}]


def test_given_a_custom_form_with_rules_when_saved_then_bad_rules_are_named_and_good_ones_are_enforced(api, oa):
    fields = [{"key": "from_date", "label": "起始日", "field_type": "date", "required": True},
              {"key": "to_date", "label": "截止日", "field_type": "date", "required": True},
              {"key": "note", "label": "说明", "field_type": "text"}]
    bad = api.call("POST", "/v1/forms", oa["admin"], {"name": "外出", "fields": fields, "rules": [
        {"kind": "range", "start": "from_date", "end": "till"}, {"kind": "compare", "field": "note", "op": "gt", "value": 1},
        {"kind": "span", "start": "from_date", "end": "to_date"}]})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.data["details"]} == {"rules.0.end", "rules.1.field", "rules.2.field"}
    r = api.call("POST", "/v1/forms", oa["admin"], {"name": "外出", "fields": fields,
                                                   "rules": [{"kind": "range", "start": "from_date", "end": "to_date"}]})
    assert r.status_code == 201, r.data
    refused = api.call("POST", "/v1/applications", oa["tokens"]["rep"], {"form_id": r.data["id"], "submit": False, "data": {
        "from_date": "2026-05-02", "to_date": "2026-05-01"}})
    assert refused.status_code == 422 and refused.data["details"][0]["message"] == "「截止日」不能早于「起始日」"
    patched = api.call("PATCH", f"/v1/forms/{r.data['id']}", oa["admin"], {"spec": {
        "name": "外出", "fields": fields, "rules": [{"kind": "range", "start": "from_date"}]}}, headers={"If-Match": '"1"'})
    assert patched.status_code == 422 and patched.data["details"][0]["field"] == "spec.rules.0.end"
