"""Fuzzing (ARCHITECTURE.md §9): schemathesis against the served OpenAPI document."""
from __future__ import annotations

import pytest
import schemathesis

FUZZ_TENANT = "fuzz"
PASSWORD = "Fuzz@2026!"
ADMIN, REP = "13900000001", "13900000002"

CONFIG = {
    "seed": 20260214,
    "generation": {"max-examples": 10, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    "request-timeout": 10,
}


@pytest.fixture(scope="session")
def fuzz_tenant(stack):
    r = stack.call("POST", "/v1/platform/tenants", stack.platform_token(), {
        "id": FUZZ_TENANT, "name": "Fuzz Co", "admin_name": "Fuzz Admin", "admin_mobile": ADMIN, "admin_password": PASSWORD})
    assert r.status_code == 201, r.text
    admin = stack.login(ADMIN, tenant=FUZZ_TENANT, password=PASSWORD)
    r = stack.call("POST", "/v1/org/users", admin, {"mobile": REP, "name": "Fuzz Rep", "department_id": r.json()["top_department_id"],
                                                     "role_ids": ["sales_rep"], "password": PASSWORD})
    assert r.status_code == 201, r.text
    return {"admin": admin, "rep": stack.login(REP, tenant=FUZZ_TENANT, password=PASSWORD)}


@pytest.fixture(scope="session")
def api_schema(stack):
    return schemathesis.openapi.from_url(stack.url + "/openapi.json", config=schemathesis.Config.from_dict(CONFIG))


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _nodeid_for_schemathesis(request):
    # schemathesis 4.32.5's lazy loader reads/writes `node._nodeid`, which pytest 9.2 no longer has
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
def test_fuzz_as_admin(case, fuzz_tenant):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_tenant['admin']}"})
