"""The tenant data role's S3 grants on the template are exactly what tests/tenant_iam.py evaluates
every S3 call of the API's requests against (tests/integration/test_tenant_iam.py): the stand-in for
IAM in the tests cannot drift from the policy that is deployed."""
from __future__ import annotations

import json
from typing import Any

from tests.tenant_iam import S3_GRANTS

TAG = "${aws:PrincipalTag/tenant}"


def _tenant_role_statements(template_json: dict[str, Any]) -> list[dict[str, Any]]:
    (role,) = [r["Properties"] for r in template_json["Resources"].values()
               if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == "crm-dev-tenant-data"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def _bucket(ref: Any) -> str:
    text = json.dumps(ref)
    found = [name for name, logical in (("files", "FilesBucket"), ("archive", "ArchiveBucket")) if logical in text]
    assert len(found) == 1, text
    return found[0]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_tenant_data_role_s_s3_grants_are_the_ones_the_api_s_s3_calls_are_checked_against(template_json):
    deployed = set()
    for s in _tenant_role_statements(template_json):
        if not any(a.startswith("s3:") for a in _as_list(s["Action"])):
            continue
        assert s["Effect"] == "Allow" and "Condition" not in s
        for r in _as_list(s["Resource"]):
            head, tail = r["Fn::Join"][1]
            assert tail.startswith("/"), tail
            for action in _as_list(s["Action"]):
                deployed.add((_bucket(head), action, tail[1:].replace(TAG, "{tenant}")))

    checked = {(bucket, action, pattern) for bucket, actions, patterns in S3_GRANTS for action in actions for pattern in patterns}
    assert deployed == checked
