"""The demo company seeds as `make dev` seeds it: a living pipeline a new user can look at."""
from __future__ import annotations


def test_given_the_demo_seed_then_leads_contacts_and_follow_ups_are_there_in_several_states(api):
    from devstack import demo

    seeded = demo.seed()
    assert seeded["created"] is True
    rep = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000004",
                                                   "password": demo.PASSWORD}).data["id_token"]
    leads = {x["company"]: x["status"] for x in api.call("GET", "/v1/leads", rep).data["items"]}
    assert leads == {"深圳鹏程新能源车队有限公司": "following", "厦门鹭岛物流有限公司": "converted"}
    names = {c["name"] for c in api.call("GET", "/v1/contacts", rep).data["items"]}
    assert names == {"王建华", "李晓梅", "陈经理"}  # 陈经理 came from the converted lead
    assert len(api.call("GET", "/v1/followups", rep).data["items"]) == 2
    assert demo.seed() == {"created": False}  # idempotent
