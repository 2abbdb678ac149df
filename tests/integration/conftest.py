"""Fixtures of the integration tests that several files share."""
from __future__ import annotations

import pytest


@pytest.fixture()
def oa(api, make_tenant):
    """总监 director ← 经理 manager ← reps 李娜/张伟; four finance clerks (role 财务); a
    sales department whose head is the manager."""
    t = make_tenant()
    admin = t["admin"]
    r = api.call("POST", "/v1/org/roles", admin, {"name": "财务", "actions": {"forms": ["create"]}})
    assert r.status_code == 201, r.data
    finance_role = r.data["id"]
    r = api.call("POST", "/v1/org/departments", admin, {"name": "销售部", "parent_id": t["root"]})
    sales = r.data["id"]
    people: dict[str, str] = {}
    tokens: dict[str, str] = {}

    def user(key: str, name: str, mobile: str, roles: list[str], supervisor: str | None, dept: str) -> None:
        r = api.call("POST", "/v1/org/users", admin, {"name": name, "mobile": mobile, "department_id": dept, "role_ids": roles,
                                                      "supervisor_id": supervisor, "password": "Passw0rd!2026"})
        assert r.status_code == 201, r.data
        people[key] = r.data["id"]
        login = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": mobile, "password": "Passw0rd!2026"})
        tokens[key] = login.data["id_token"]

    user("director", "刘总监", "13700000001", ["sales_manager"], None, t["root"])
    user("manager", "王经理", "13700000002", ["sales_manager"], people["director"], sales)
    user("rep", "李娜", "13700000003", ["sales_rep"], people["manager"], sales)
    user("rep2", "张伟", "13700000004", ["sales_rep"], people["manager"], sales)
    for i in range(1, 5):
        user(f"f{i}", f"财务{i}", f"1370000001{i}", [finance_role], None, t["root"])
    dep = api.call("GET", "/v1/org/departments", admin).data["items"]
    version = next(d["version"] for d in dep if d["id"] == sales)
    r = api.call("PATCH", f"/v1/org/departments/{sales}", admin, {"head_user_id": people["manager"]}, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.data
    return {**t, "ids": people, "tokens": tokens, "finance_role": finance_role, "sales": sales}
