"""Leads (线索): the record, bulk transfer, conversion to a customer and a contact through the
tenant's mapping (custom fields included), links both ways, no second conversion, bulk convert."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def _lead(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/leads", token, {"name": "张总", **fields})
    assert r.status_code == 201, r.data
    return r.data


def test_given_a_lead_when_converted_then_customer_and_contact_are_created_and_linked_both_ways(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    lead = _lead(api, rep, company="深圳华强电子有限公司", mobile="13912340001", email="zhang@huaqiang.cn", source="web",
                 region="440305", industry="it", level="A", remark="官网留言")
    assert lead["status"] == "new" and lead["region"] == {"code": "440305", "name": "广东省/深圳市/南山区"}
    r = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {})
    assert r.status_code == 200, r.data
    customer = api.call("GET", f"/v1/customers/{r.data['customer_id']}", rep).data
    contact = api.call("GET", f"/v1/contacts/{r.data['contact_id']}", rep).data
    assert customer["name"] == "深圳华强电子有限公司" and customer["mobile"] == "13912340001" and customer["level"] == "A"
    assert customer["region"] == "广东省/深圳市/南山区" and customer["source"] == "web" and customer["owner_id"] == sales_team["rep1"]
    assert contact["name"] == "张总" and contact["is_primary"] is True and contact["customer"]["id"] == customer["id"]
    assert customer["lead"] == {"entity": "lead", "id": lead["id"]} == contact["lead"]
    done = api.call("GET", f"/v1/leads/{lead['id']}", rep).data
    assert done["status"] == "converted" and done["converted_at"]
    assert done["customer"]["id"] == customer["id"] and done["contact"]["id"] == contact["id"]
    # converting twice is refused, and a converted lead no longer changes
    again = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {})
    assert again.status_code == 422 and again.data["code"] == "LEAD_ALREADY_CONVERTED"
    edit = api.call("PATCH", f"/v1/leads/{lead['id']}", rep, {"remark": "改", "version": done["version"]})
    assert edit.status_code == 422 and edit.data["code"] == "INVALID_STATE"
    assert api.call("PATCH", f"/v1/leads/{_lead(api, rep)['id']}", rep, {"status": "converted", "version": 1}).status_code == 422
    actions = [e["action"] for e in api.call("GET", f"/v1/records/lead/{lead['id']}/logs", rep).data["items"]]
    assert actions[0] == "convert"


def test_given_two_simultaneous_conversions_of_one_lead_then_exactly_one_customer_is_created(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    lead = _lead(api, rep, company="并发科技")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {}), range(4)))
    assert sorted(a.status_code for a in answers).count(200) == 1
    assert all(a.status_code in (200, 409, 422) for a in answers)
    names = [c["name"] for c in api.call("GET", "/v1/customers?q=并发", rep).data["items"]]
    assert names == ["并发科技"]


def test_given_an_admin_mapping_with_custom_fields_then_conversion_follows_it(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    assert api.call("POST", "/v1/fields/lead", admin, {"key": "budget", "label": "预算", "field_type": "money"}).status_code == 201
    assert api.call("POST", "/v1/fields/customer", admin, {"key": "budget", "label": "预算", "field_type": "money"}).status_code == 201
    default = api.call("GET", "/v1/leads/conversion-mapping", rep).data
    assert default["version"] == 0 and default["customer"]["company"] == "name"
    bad = api.call("PUT", "/v1/leads/conversion-mapping", admin, {
        "customer": {"nothing": "name", "mobile": "credit_limit", "company": "nowhere"}, "contact": {"name": "name"}})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.data["details"]} == {"customer.nothing", "customer.mobile", "customer.company"}
    assert api.call("PUT", "/v1/leads/conversion-mapping", rep, {"customer": {}, "contact": {}}).status_code == 403
    mapping = {"customer": {"company": "name", "custom.budget": "custom.budget", "remark": "address"},
               "contact": {"name": "name", "mobile": "mobile", "remark": "intro"}}
    saved = api.call("PUT", "/v1/leads/conversion-mapping", admin, mapping)
    assert saved.status_code == 200 and saved.data["version"] == 1
    assert api.call("PUT", "/v1/leads/conversion-mapping", admin, mapping).status_code == 428  # then the version you read
    lead = _lead(api, rep, company="远景能源", mobile="13912340002", remark="江阴", custom={"budget": 500000})
    r = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {}).data
    customer = api.call("GET", f"/v1/customers/{r['customer_id']}", rep).data
    contact = api.call("GET", f"/v1/contacts/{r['contact_id']}", rep).data
    assert customer["custom"]["budget"] == 500000 and customer["address"] == "江阴" and customer.get("mobile") is None
    assert contact["mobile"] == "13912340002" and contact["intro"] == "江阴"


def test_given_an_existing_customer_when_converting_then_the_lead_becomes_its_contact(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    customer = api.call("POST", "/v1/customers", rep, {"name": "腾讯"}).data
    lead = _lead(api, rep, name="马化腾", company="腾讯")
    r = api.call("POST", f"/v1/leads/{lead['id']}/convert", rep, {"customer_id": customer["id"]}).data
    assert r["customer_id"] == customer["id"]
    contacts = api.call("GET", f"/v1/customers/{customer['id']}/related", rep).data["related"]["contact"]
    assert [c["name"] for c in contacts] == ["马化腾"]
    theirs = api.call("POST", "/v1/customers", sales_team["tokens"]["rep2"], {"name": "阿里"}).data
    other = _lead(api, rep, name="马云")
    assert api.call("POST", f"/v1/leads/{other['id']}/convert", rep, {"customer_id": theirs["id"]}).status_code == 404


def test_given_several_leads_then_bulk_transfer_and_bulk_convert_report_each_one(api, sales_team):
    t = sales_team["tokens"]
    mine = [_lead(api, t["rep1"], name=f"线索{i}", company=f"公司{i}") for i in range(3)]
    theirs = _lead(api, t["rep2"], name="别人的线索")
    moved = api.call("POST", "/v1/leads/transfer", t["rep1"], {"ids": [m["id"] for m in mine[:2]] + [theirs["id"]],
                                                                "to_user_id": sales_team["rep2"]})
    assert moved.status_code == 200, moved.data
    assert [i["status"] for i in moved.data["items"]] == [200, 200, 404] and moved.data["done"] == 2
    assert {x["name"] for x in api.call("GET", "/v1/leads", t["rep2"]).data["items"]} == {"线索0", "线索1", "别人的线索"}
    converted = api.call("POST", "/v1/leads/convert", t["rep2"], {"ids": [mine[0]["id"], mine[1]["id"], mine[2]["id"]]})
    assert converted.status_code == 200
    assert [i["status"] for i in converted.data["items"]] == [200, 200, 404] and converted.data["converted"] == 2
    assert sorted(c["name"] for c in api.call("GET", "/v1/customers", t["rep2"]).data["items"]) == ["公司0", "公司1"]
