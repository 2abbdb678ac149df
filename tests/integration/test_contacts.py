"""Contacts (联系人): many per customer, exactly one primary, the extended profile, field rules,
scope, the customer's related list and cascading transfer / delete."""
from __future__ import annotations

from tests.integration.test_round_trips import LIMIT, dynamodb_calls


def _contact(api, token: str, customer_id: str, name: str, **fields) -> dict:
    r = api.call("POST", "/v1/contacts", token, {"name": name, "customer": customer_id, **fields})
    assert r.status_code == 201, r.data
    return r.data


def _get(api, token: str, contact_id: str) -> dict:
    return api.call("GET", f"/v1/contacts/{contact_id}", token).data


def test_given_a_customer_when_contacts_are_added_changed_and_deleted_then_exactly_one_is_primary(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司"}).data
    first = _contact(api, rep, c["id"], "任正非", title="总裁", decision_maker=True)
    second = _contact(api, rep, c["id"], "孟晚舟", title="财务总监")
    assert first["is_primary"] is True and second["is_primary"] is False  # the customer's first contact is its primary
    # making another one primary clears the previous one in the same change
    made = api.call("PATCH", f"/v1/contacts/{second['id']}", rep, {"is_primary": True, "version": second["version"]})
    assert made.status_code == 200 and made.data["is_primary"] is True
    assert _get(api, rep, first["id"])["is_primary"] is False
    # the primary cannot simply be un-flagged
    refused = api.call("PATCH", f"/v1/contacts/{second['id']}", rep, {"is_primary": False, "version": made.data["version"]},
                       headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.data["details"][0]["field"] == "is_primary"
    assert "primary" in refused.data["details"][0]["message"]
    # the primary leaves: the oldest remaining contact becomes primary
    third = _contact(api, rep, c["id"], "徐直军")
    assert api.call("DELETE", f"/v1/contacts/{second['id']}", sales_team["tokens"]["manager"],
                    headers={"If-Match": f'"{made.data["version"]}"'}).status_code == 204
    assert _get(api, rep, first["id"])["is_primary"] is True and _get(api, rep, third["id"])["is_primary"] is False


def test_given_contacts_when_reading_the_customer_360_then_they_come_with_it_in_two_round_trips(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "中兴通讯"}).data
    for i in range(3):
        _contact(api, rep, c["id"], f"联系人{i}")
    api.call("GET", f"/v1/customers/{c['id']}/related", rep)  # warm caches
    with dynamodb_calls() as calls:
        r = api.call("GET", f"/v1/customers/{c['id']}/related", rep)
    assert r.status_code == 200 and [x for x in calls if x != LIMIT] == ["GetItem", "Query"]
    assert sorted(x["name"] for x in r.data["related"]["contact"]) == ["联系人0", "联系人1", "联系人2"]


def test_given_a_customer_transfer_then_its_contacts_follow_unless_the_transfer_leaves_them(api, sales_team):
    t = sales_team["tokens"]
    a = api.call("POST", "/v1/customers", t["rep1"], {"name": "比亚迪"}).data
    ca = _contact(api, t["rep1"], a["id"], "王传福")
    moved = api.call("POST", f"/v1/customers/{a['id']}/transfer", t["rep1"], {"to_user_id": sales_team["rep2"], "version": a["version"]})
    assert moved.status_code == 200, moved.data
    assert _get(api, t["rep2"], ca["id"])["owner_id"] == sales_team["rep2"]
    b = api.call("POST", "/v1/customers", t["rep1"], {"name": "宁德时代"}).data
    cb = _contact(api, t["rep1"], b["id"], "曾毓群")
    kept = api.call("POST", f"/v1/customers/{b['id']}/transfer", t["rep1"],
                    {"to_user_id": sales_team["rep2"], "cascade": [], "version": b["version"]})
    assert kept.status_code == 200, kept.data
    assert _get(api, t["rep1"], cb["id"])["owner_id"] == sales_team["rep1"]


def test_given_a_service_agent_then_contact_mobiles_are_masked_private_details_hidden_and_lists_stay_in_scope(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "美的集团"}).data
    _contact(api, t["rep1"], c["id"], "方洪波", mobile="13912345678", private_phone="13812345678", home_address="佛山顺德",
             birthday="1967-01-01", hobbies="高尔夫", education="master", family="three")
    seen = api.call("GET", "/v1/contacts", t["agent"]).data["items"]
    assert len(seen) == 1 and seen[0]["mobile"] == "139****5678"
    assert "private_phone" not in seen[0] and "home_address" not in seen[0] and seen[0]["hobbies"] == "高尔夫"
    assert api.call("GET", "/v1/contacts", t["rep2"]).data["items"] == []  # another rep's contacts are out of scope
    bad = api.call("POST", "/v1/contacts", t["rep1"], {"name": "x", "customer": c["id"], "education": "kindergarten"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "education"
    theirs = api.call("POST", "/v1/customers", t["rep2"], {"name": "格力"}).data
    outside = api.call("POST", "/v1/contacts", t["rep1"], {"name": "董明珠", "customer": theirs["id"]})
    assert outside.status_code == 422 and outside.data["details"][0]["field"] == "customer"  # not a customer they may read


def test_given_a_business_card_image_then_it_is_kept_on_the_contact(api, sales_team, upload):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "海尔"}).data
    card = upload(rep, b"\x89PNG card", name="名片.png", content_type="image/png")
    contact = _contact(api, rep, c["id"], "周云杰", business_card=[{"id": card["id"]}])
    assert [f["name"] for f in contact["business_card"]] == ["名片.png"]
