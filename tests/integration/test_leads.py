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


# ---- 查重 of what a conversion creates ------------------------------------------------------------
WARN_ALL = [{"kind": "company", "entities": ["lead", "customer", "contact"], "action": "warn"},
            {"kind": "phone", "entities": ["lead", "customer", "contact"], "action": "warn"}]


def _rules(api, sales_team, rules):
    r = api.call("PUT", "/v1/duplicate-rules", sales_team["admin"], {"rules": rules})
    assert r.status_code == 200, r.data


def _past_the_leases():
    """Past the block rules' leases: from here on only the search index can find an older record."""
    from chalicelib.core import clock
    from chalicelib.duplicates import service

    clock.travel(service.LEASE.total_seconds() + 1)


def test_given_warn_rules_when_converting_then_the_answer_names_the_readable_matches_of_customer_and_contact(api, sales_team):
    t = sales_team["tokens"]
    _rules(api, sales_team, WARN_ALL)
    mine = api.call("POST", "/v1/customers", t["rep1"], {"name": "上海华为技术有限公司", "mobile": "13800138000"}).data
    theirs = api.call("POST", "/v1/customers", t["rep2"], {"name": "上海华为技术（集团）", "phone": "+86 138 0013 8000"}).data
    api.pump()
    lead = _lead(api, t["rep1"], name="张总", company="上海　华为 技术", mobile="+86 138-0013-8000")  # full-width space
    api.pump()
    r = api.call("POST", f"/v1/leads/{lead['id']}/convert", t["rep1"], {})
    assert r.status_code == 200, r.data
    dup = r.data["duplicates"]
    # only rep1's own customer: rep2's is not hers to see (not even counted); the lead itself is no duplicate
    assert [(m["type"], m["id"], m["title"], m["action"]) for m in dup["customer"]] == [
        ("customer", mine["id"], "上海华为技术有限公司", "warn")]
    assert dup["customer"][0]["matched"] == [{"field": "name", "kind": "company", "on": ["name"], "action": "warn"},
                                             {"field": "mobile", "kind": "phone", "on": ["mobile"], "action": "warn"}]
    assert [(m["id"], m["matched"]) for m in dup["contact"]] == [
        (mine["id"], [{"field": "mobile", "kind": "phone", "on": ["mobile"], "action": "warn"}])]
    assert theirs["id"] not in str(r.data) and lead["id"] not in str(r.data["duplicates"])
    assert api.call("GET", f"/v1/customers/{r.data['customer_id']}", t["rep1"]).data["name"] == "上海　华为 技术"
    # the manager sees rep2's records too; converting into an existing customer does not match that customer, nor
    # the lead converted, but the first lead (same mobile) and what it became
    other = _lead(api, t["rep1"], name="李总", company="上海华为技术", mobile="13800138000")
    api.pump()
    boss = api.call("POST", f"/v1/leads/{other['id']}/convert", t["manager"], {"customer_id": mine["id"]})
    assert boss.status_code == 200, boss.data
    assert boss.data["duplicates"]["customer"] == []
    assert {(m["type"], m["id"]) for m in boss.data["duplicates"]["contact"]} == {
        ("customer", theirs["id"]), ("customer", r.data["customer_id"]), ("contact", r.data["contact_id"]), ("lead", lead["id"])}
    assert mine["id"] not in str(boss.data["duplicates"]) and other["id"] not in str(boss.data["duplicates"])


def test_given_a_block_rule_when_converting_then_409_and_the_lead_customer_and_contact_stay_as_they_were(api, sales_team):
    t = sales_team["tokens"]  # the product's defaults: company names and phone numbers block within customers
    api.call("POST", "/v1/customers", t["rep2"], {"name": "上海华为技术有限公司"})  # not rep1's to see
    _past_the_leases()
    api.pump()
    lead = _lead(api, t["rep1"], company="上海华为技术", mobile="13912340009")
    refused = api.call("POST", f"/v1/leads/{lead['id']}/convert", t["rep1"], {}, headers={"Accept-Language": "en"})
    assert refused.status_code == 409 and refused.data["code"] == "DUPLICATE", refused.data
    assert refused.data["details"] == [{"field": "customer.name", "type": "duplicate",
                                        "message": "A record with the same Name already exists"}]
    after = api.call("GET", f"/v1/leads/{lead['id']}", t["rep1"]).data
    assert (after["status"], after["version"], after.get("customer"), after.get("contact")) == ("new", lead["version"], None, None)
    assert [c["name"] for c in api.call("GET", "/v1/customers", sales_team["admin"]).data["items"]] == ["上海华为技术有限公司"]
    assert api.call("GET", "/v1/contacts", sales_team["admin"]).data["items"] == []
    assert "convert" not in [e["action"] for e in api.call("GET", f"/v1/records/lead/{lead['id']}/logs", t["rep1"]).data["items"]]
    # bulk: each lead answers for itself — the blocked one with 409, the other converted with its own warnings
    # (its mobile is the blocked lead's: phone numbers warn across leads, customers and contacts)
    fine = _lead(api, t["rep1"], name="王总", company="深圳华强", mobile="139 1234 0009")
    api.pump()
    bulk = api.call("POST", "/v1/leads/convert", t["rep1"], {"ids": [lead["id"], fine["id"]]})
    assert bulk.status_code == 200, bulk.data
    blocked, done = bulk.data["items"]
    assert (blocked["status"], blocked["code"], blocked.get("duplicates")) == (409, "DUPLICATE", None)
    assert blocked["details"][0]["field"] == "customer.name"
    assert done["status"] == 200 and bulk.data["converted"] == 1
    assert {k: [(m["type"], m["id"]) for m in v] for k, v in done["duplicates"].items()} == {
        "customer": [("lead", lead["id"])], "contact": [("lead", lead["id"])]}


def test_given_bulk_conversion_with_warn_rules_then_each_lead_reports_its_own_matches(api, sales_team):
    t = sales_team["tokens"]
    _rules(api, sales_team, WARN_ALL)
    a = api.call("POST", "/v1/customers", t["rep1"], {"name": "远景能源有限公司"}).data
    b = api.call("POST", "/v1/customers", t["rep1"], {"name": "Envision Co., Ltd."}).data
    api.pump()
    leads = [_lead(api, t["rep1"], name="甲", company="远景能源"), _lead(api, t["rep1"], name="乙", company="ENVISION"),
             _lead(api, t["rep1"], name="丙", company="无关公司")]
    api.pump()
    r = api.call("POST", "/v1/leads/convert", t["rep1"], {"ids": [x["id"] for x in leads], "contact": False})
    assert r.status_code == 200 and r.data["converted"] == 3, r.data
    assert [[m["id"] for m in i["duplicates"]["customer"]] for i in r.data["items"]] == [[a["id"]], [b["id"]], []]
    assert all(i["duplicates"]["contact"] == [] and i["contact_id"] is None for i in r.data["items"])


def test_given_block_rules_covering_leads_and_contacts_then_a_fresh_lead_converts_without_blocking_itself(api, sales_team):
    t = sales_team["tokens"]
    _rules(api, sales_team, [{"kind": "company", "entities": ["lead", "customer"], "action": "block"},
                             {"kind": "phone", "entities": ["customer", "contact"], "action": "block"}])
    lead = _lead(api, t["rep1"], name="周总", company="新界科技有限公司", mobile="13812345678")
    # customers and contacts may not share a number: the contact would share its new customer's -> 409, nothing written
    shared = api.call("POST", f"/v1/leads/{lead['id']}/convert", t["rep1"], {})
    assert shared.status_code == 409 and [d["field"] for d in shared.data["details"]] == ["contact.mobile"], shared.data
    assert api.call("GET", f"/v1/leads/{lead['id']}", t["rep1"]).data["status"] == "new"
    assert api.call("GET", "/v1/customers", sales_team["admin"]).data["items"] == []
    # without the contact: the lead's own company (its block lease, seconds old) does not block what it becomes
    done = api.call("POST", f"/v1/leads/{lead['id']}/convert", t["rep1"], {"contact": False})
    assert done.status_code == 200, done.data
    assert done.data["duplicates"] == {"customer": [], "contact": []}
    # and the new customer holds the company from now on, within the index's lag as after it
    again = api.call("POST", "/v1/customers", t["rep2"], {"name": "新界科技"})
    assert again.status_code == 409 and again.data["details"][0]["field"] == "name"
    api.pump()
    assert api.call("POST", "/v1/leads", t["rep2"], {"name": "钱总", "company": "新界 科技"}).status_code == 409
