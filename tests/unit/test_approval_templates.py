"""Built-in flow templates (approvals/templates.py) and form templates (forms/templates.py).

Each flow template is resolved with plan.resolve() on a small organisation — the applicant
has a three-level supervisor chain, a department head and a 系统管理员 — once with no
values and once per condition branch, with values made up from that branch's conditions.
"""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.approvals import plan
from chalicelib.approvals import templates as flows
from chalicelib.approvals.schemas import FlowSpec
from chalicelib.core.errors import NotFound
from chalicelib.core.permissions import OrgSnapshot, OrgUser, Role
from chalicelib.forms import templates as forms
from chalicelib.forms.schemas import FormSpec
from chalicelib.tenants.service import BUILTIN_ROLES

FLOW_CODES = [t["code"] for t in flows.catalogue()]
FORM_CODES = [t["code"] for t in forms.catalogue()]
APPLICANT = "rep"


def _org() -> plan.Org:
    users = [
        OrgUser("ceo", "hq", role_ids=("super_admin",)),
        OrgUser("vp", "hq", supervisor_id="ceo"),
        OrgUser("manager", "sales", supervisor_id="vp", role_ids=("sales_manager",)),
        OrgUser("rep", "east", supervisor_id="manager", role_ids=("sales_rep",)),
        OrgUser("east_head", "east", supervisor_id="manager"),
        OrgUser("sysadmin", "hq", role_ids=("admin",)),
        OrgUser("colleague", "east", supervisor_id="manager"),
        OrgUser("legal", "hq", supervisor_id="ceo"),
    ]
    roles = {r["id"]: Role(r["id"], r["name"], is_super=bool(r.get("is_super"))) for r in BUILTIN_ROLES}
    snap = OrgSnapshot("t1", {"hq": None, "sales": "hq", "east": "sales"}, {u.id: u for u in users}, roles)
    return plan.Org(snap, {"hq": "ceo", "sales": "vp", "east": "east_head"}, ["ceo"])




def _branches(nodes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(n, b) for n in plan.all_nodes(nodes) for b in n.get("branches") or []]


def _satisfying(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """Values for which every condition holds."""
    make = {"gt": lambda v: v + 1, "gte": lambda v: v, "lt": lambda v: v - 1, "lte": lambda v: v, "eq": lambda v: v,
            "in": lambda v: v[0], "contains": lambda v: [v], "exists": lambda v: "x"}
    data: dict[str, Any] = {}
    for c in conditions:
        assert c["op"] in make, c
        data[c["field"]] = make[c["op"]](c["value"])
    return data


def _choices(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {n["id"]: ["colleague", "legal"] for n in plan.all_nodes(spec["nodes"]) if (n.get("approvers") or {}).get("type") == "applicant_choice"}


def _samples(spec: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """No values (every branch node takes its default), then values for each condition branch."""
    out: list[tuple[dict[str, Any], str | None]] = [({}, None)]
    for node, b in _branches(spec["nodes"]):
        if b["conditions"]:
            out.append((_satisfying(b["conditions"]), f"{node['id']}:{b['name']}"))
    return out


# ---- flow templates -----------------------------------------------------------------------------

def test_given_catalogue_when_listed_then_codes_are_unique_and_cover_business_types_and_forms():
    assert len(FLOW_CODES) == len(set(FLOW_CODES))
    types = {t["code"]: t["business_type"] for t in flows.catalogue()}
    for code in ("contract", "payment", "invoice", "quote"):
        assert types[code] == code
    for code in FORM_CODES:
        assert types[code] == f"form:{code}"
    assert all(t["name"] and t["description"] for t in flows.catalogue())


@pytest.mark.parametrize("code", FLOW_CODES)
def test_given_flow_template_when_built_then_it_is_a_valid_flow_spec_with_a_branch_or_a_choice(code):
    spec = flows.flow_spec(code)
    assert FlowSpec.model_validate(spec).model_dump(mode="json") == spec
    entry = next(t for t in flows.catalogue() if t["code"] == code)
    assert (spec["name"], spec["business_type"]) == (entry["name"], entry["business_type"])
    assert _branches(spec["nodes"]) or _choices(spec)


@pytest.mark.parametrize("code", FLOW_CODES)
def test_given_flow_template_when_checked_then_it_names_no_tenant_specific_ids(code):
    builtin = {r["id"] for r in BUILTIN_ROLES}
    for n in plan.all_nodes(flows.flow_spec(code)["nodes"]):
        rule = n.get("approvers")
        if rule is None:
            continue
        assert rule["type"] != "users" and not rule.get("user_ids") and not rule.get("department_id"), n["id"]
        if rule["type"] == "role":
            assert rule["role_id"] in builtin, n["id"]


@pytest.mark.parametrize("code", FLOW_CODES)
def test_given_flow_template_when_resolved_for_each_branch_then_every_step_has_assignees(code):
    spec = flows.flow_spec(code)
    org = _org()
    samples = _samples(spec)
    for data, expected_branch in samples:
        steps, taken = plan.resolve(spec, org, APPLICANT, data, {"approvers": _choices(spec)})
        assert steps, data
        assert any(s["kind"] == "approve" and s["assignees"] for s in steps)
        for s in steps:
            assert s["assignees"] and s["state"] == "waiting" and s["auto"] is None, (data, s)
            if s["kind"] == "approve":
                assert APPLICANT not in s["assignees"], s
        if expected_branch is not None:
            assert expected_branch in taken, (data, taken)


@pytest.mark.parametrize("code", FLOW_CODES)
def test_given_applicant_choice_nodes_when_nothing_chosen_then_resolution_asks_for_them(code):
    spec = flows.flow_spec(code)
    choices = _choices(spec)
    if not choices:
        plan.resolve(spec, _org(), APPLICANT, {}, {})
        return
    with pytest.raises(plan.PlanError) as err:
        plan.resolve(spec, _org(), APPLICANT, {}, {})
    missing = {d["field"] for d in err.value.details if d["type"] == "missing"}
    assert missing == {f"approvers.{node_id}" for node_id in choices}


def test_given_overrides_when_flow_spec_built_then_business_type_and_name_are_replaced():
    spec = flows.flow_spec("leave", business_type="form:01hxyz", name="年假审批")
    assert (spec["business_type"], spec["name"]) == ("form:01hxyz", "年假审批")
    assert spec["nodes"] == flows.flow_spec("leave")["nodes"]


def test_given_unknown_code_when_flow_spec_requested_then_not_found():
    with pytest.raises(NotFound):
        flows.flow_spec("no_such_template")


# ---- form templates -----------------------------------------------------------------------------

def test_given_form_catalogue_when_listed_then_codes_are_unique_and_categories_match_the_specs():
    assert len(FORM_CODES) == len(set(FORM_CODES))
    for t in forms.catalogue():
        spec = forms.form_spec(t["code"])
        assert (t["name"], t["category"]) == (spec["name"], spec["category"])


@pytest.mark.parametrize("code", FORM_CODES)
def test_given_form_template_when_built_then_it_is_a_valid_form_spec(code):
    spec = forms.form_spec(code)
    assert FormSpec.model_validate(spec).model_dump(mode="json") == spec
    assert any(f["required"] for f in spec["fields"])


@pytest.mark.parametrize("code", FORM_CODES)
def test_given_form_template_when_looked_up_then_a_flow_template_of_the_same_code_exists(code):
    assert code in FLOW_CODES
    assert flows.flow_spec(code)["business_type"] == f"form:{code}"


@pytest.mark.parametrize("code", FORM_CODES)
def test_given_form_and_its_flow_when_compared_then_every_condition_field_is_a_form_field_of_a_fitting_type(code):
    fields = {f["key"]: f for f in forms.form_spec(code)["fields"]}
    for _, b in _branches(flows.flow_spec(code)["nodes"]):
        for c in b["conditions"]:
            assert c["field"] in fields, (code, c)
            f = fields[c["field"]]
            if c["op"] in ("gt", "gte", "lt", "lte"):
                assert f["field_type"] in ("number", "money"), (code, c)
            if f["field_type"] == "select":
                values = c["value"] if isinstance(c["value"], list) else [c["value"]]
                assert set(values) <= {o["code"] for o in f["options"]}, (code, c)


def test_given_document_templates_when_built_then_they_are_documents_and_others_are_not():
    documents = {code for code in FORM_CODES if forms.form_spec(code)["document"]}
    assert documents == {"document_outgoing", "document_incoming"}
    assert all(forms.form_spec(code)["category"] == "document" for code in documents)


def test_given_unknown_code_when_form_spec_requested_then_not_found():
    with pytest.raises(NotFound):
        forms.form_spec("no_such_form")
