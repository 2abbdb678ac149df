"""Tenant isolation in IAM (infra/components/tenant_access.py) and least privilege per function, on the template."""
from __future__ import annotations

import json
from typing import Any

from functions.registry import FUNCTIONS
from infra.components.table import TABLE_ITEM_ACTIONS, TABLE_READ_ACTIONS


def _resources(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def _tenant_role(template_json: dict[str, Any]) -> dict[str, Any]:
    roles = [r for r in _resources(template_json, "AWS::IAM::Role").values()
             if r["Properties"].get("RoleName") == "crm-dev-tenant-data"]
    assert len(roles) == 1
    return roles[0]["Properties"]


def _logical_id(template_json: dict[str, Any], props: dict[str, Any]) -> str:
    return next(k for k, v in template_json["Resources"].items() if v.get("Properties") is props)


def test_the_tenant_data_role_reaches_only_items_whose_every_leading_key_is_the_session_tenant_s(template_json):
    role = _tenant_role(template_json)
    (doc,) = [p["PolicyDocument"] for p in role["Policies"]]
    items = next(s for s in doc["Statement"] if s.get("Sid") == "TenantItems")

    assert items["Effect"] == "Allow"
    assert sorted(items["Action"]) == sorted(TABLE_ITEM_ACTIONS)
    assert "dynamodb:Scan" not in json.dumps(doc)  # a Scan has no leading key: ForAllValues would pass it
    assert items["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["T#${aws:PrincipalTag/tenant}#*"]}}
    # the table and each index by name (a Query on an index is authorised on the index's ARN)
    resources = json.dumps(items["Resource"])
    for index in ("gsi1", "gsi2", "gsi3", "gsi4", "gsi5"):
        assert f"/index/{index}" in resources
    assert "index/*" not in resources


def test_the_tenant_data_role_reaches_only_the_tenant_s_own_file_prefixes(template_json):
    doc = _tenant_role(template_json)["Policies"][0]["PolicyDocument"]
    files = [s for s in doc["Statement"] if s.get("Sid", "").startswith("TenantFiles")]
    text = json.dumps(files)

    assert files and "tenants/${aws:PrincipalTag/tenant}/" in text
    assert "tenants/*" not in text
    assert not any(a in text for a in ("s3:DeleteObject", "s3:ListBucket", "s3:*"))
    for s in files:  # each a folder of the tenant's (pending/tenants/<t>/*, tenants/<t>/files/*, …)
        for r in s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]:
            parts = r["Fn::Join"][1]
            assert parts[-1].endswith("/*") and "tenants/${aws:PrincipalTag/tenant}/" in parts[-1], parts


def test_only_the_api_role_may_assume_the_tenant_data_role_and_only_with_a_tenant_session_tag(template_json):
    role = _tenant_role(template_json)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    api_role = next(k for k, v in _resources(template_json, "AWS::IAM::Role").items()
                    if k.startswith("ApiRole"))

    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Principal"] == {"AWS": {"Fn::GetAtt": [api_role, "Arn"]}}
    assert trust["Condition"] == {"StringLike": {"aws:RequestTag/tenant": "?*"},
                                  "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant"]}}
    assert role["MaxSessionDuration"] == 3600


def test_the_api_may_assume_the_tenant_data_role_and_is_told_its_arn(template_json):
    role_id = _logical_id(template_json, _tenant_role(template_json))
    policies = [p["Properties"] for p in _resources(template_json, "AWS::IAM::Policy").values()
                if any(r.get("Ref", "").startswith("ApiRole") for r in p["Properties"].get("Roles", []))]
    statements = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    assume = next(s for s in statements if s.get("Sid") == "AssumeTenantDataRole")
    assert sorted(assume["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert assume["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}

    handler = _resources(template_json, "AWS::Serverless::Function")
    envs = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in handler.values()]
    arns = [e["CRM_TENANT_ROLE_ARN"] for e in envs if "CRM_TENANT_ROLE_ARN" in e]
    assert len(arns) == 1 and "crm-dev-tenant-data" in json.dumps(arns[0])


def test_only_the_api_runs_on_tenant_credentials(template_json):
    for fn in _resources(template_json, "AWS::Lambda::Function").values():
        assert "CRM_TENANT_ROLE_ARN" not in json.dumps(fn["Properties"].get("Environment", {}))


def _function_table_actions(template_json: dict[str, Any], name: str) -> set[str]:
    """The DynamoDB item actions on the table a registry function's role is granted."""
    fns = _resources(template_json, "AWS::Lambda::Function")
    (fn,) = [f for f in fns.values() if f["Properties"].get("FunctionName") == f"crm-dev-{name.replace('_', '-')}"]
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in _resources(template_json, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"].get("Roles", []):
            continue
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            if "Table" in json.dumps(s["Resource"]) and "stream" not in json.dumps(s["Resource"]).lower():
                actions |= {a for a in acts if a.startswith("dynamodb:") and a != "dynamodb:ListStreams"}
    return actions


def test_functions_that_only_read_the_table_cannot_write_it(template_json):
    readers = {f.name for f in FUNCTIONS if f.table == "read"}
    assert {"indexer", "reindex"} <= readers
    for name in readers:
        assert _function_table_actions(template_json, name) == set(TABLE_READ_ACTIONS), name


def test_the_audit_archiver_gets_no_table_item_access(template_json):
    assert next(f for f in FUNCTIONS if f.name == "audit_archiver").table == "none"
    assert _function_table_actions(template_json, "audit_archiver") == set()


def test_functions_that_write_keep_the_item_actions_and_nobody_scans(template_json):
    for f in FUNCTIONS:
        if f.table == "write":
            assert _function_table_actions(template_json, f.name) == set(TABLE_ITEM_ACTIONS), f.name
    assert "dynamodb:Scan" not in json.dumps(template_json)
