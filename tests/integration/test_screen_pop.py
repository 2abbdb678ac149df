"""来电弹屏 (SVC-6) through the API: a caller's number in any spelling finds the contacts, customers
and leads the agent may read — within their data scope and field rules — and the call is logged as
a follow-up of one of them in one request (permissions, operation log, timeline, the record's
last_followup_at and the next-contact reminder as for any follow-up)."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.core import clock
from devstack.drivers import ScheduleDriver

MOBILE = "13800138000"
MOBILE_SPELLINGS = ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "(+86) 138-0013-8000", "８６１３８００１３８０００",
                    "１３８ ００１３ ８０００", "+86-13800138000", "138 0013 8000"]
LANDLINE_SPELLINGS = ["0755-88886666", "(0755) 8888 6666", "+86 755 8888 6666", "0086 755 8888-6666", "0755 8888 6666 转 123",
                      "（０７５５）８８８８－６６６６"]


def _pop(api, token: str, phone: str, status: int = 200, **kw):
    r = api.call("GET", f"/v1/screen-pop?phone={quote(phone)}", token, **kw)
    assert r.status_code == status, (phone, r.data)
    return r.data


def _made(r):
    assert r.status_code == 201, r.data
    return r.data


@pytest.fixture()
def caller(api, sales_team):
    """李娜's customer 深圳华强电子 (mobile and landline), its contact 王芳 with the same mobile, and her lead
    张总 with the mobile written another way; an unrelated customer with another number."""
    rep = sales_team["tokens"]["rep1"]
    customer = _made(api.call("POST", "/v1/customers", rep, {"name": "深圳华强电子有限公司", "mobile": MOBILE,
                                                              "phone": "0755-88886666"}))
    contact = _made(api.call("POST", "/v1/contacts", rep, {"name": "王芳", "customer": customer["id"], "mobile": "+86 138 0013 8000"}))
    lead = _made(api.call("POST", "/v1/leads", rep, {"name": "张总", "company": "华强北电子", "mobile": "138-0013-8000"}))
    _made(api.call("POST", "/v1/customers", rep, {"name": "无关客户", "mobile": "13900139000"}))
    return {"customer": customer, "contact": contact, "lead": lead}


def test_given_one_number_in_any_spelling_then_the_same_contact_customer_and_lead_pop_up(api, sales_team, caller):
    rep = sales_team["tokens"]["rep1"]
    expected = {("contact", caller["contact"]["id"]), ("customer", caller["customer"]["id"]), ("lead", caller["lead"]["id"])}
    for spelling in MOBILE_SPELLINGS:
        got = _pop(api, rep, spelling)
        assert (got["number"], got["total"]) == (MOBILE, 3), spelling
        assert {(i["type"], i["id"]) for i in got["items"]} == expected, spelling
    by_type = {i["type"]: i for i in _pop(api, rep, MOBILE)["items"]}
    assert by_type["contact"] == {
        "type": "contact", "id": caller["contact"]["id"], "title": "王芳", "owner": {"id": sales_team["rep1"], "name": "李娜"},
        "matched": ["mobile"], "numbers": {"mobile": caller["contact"]["mobile"], "phone": None},
        "customer": {"id": caller["customer"]["id"], "name": "深圳华强电子有限公司"}}
    assert (by_type["customer"]["title"], by_type["customer"]["matched"], by_type["customer"]["customer"]) == (
        "深圳华强电子有限公司", ["mobile"], None)
    assert by_type["lead"]["title"] == "张总" and by_type["lead"]["numbers"]["mobile"] == caller["lead"]["mobile"]
    # a landline with its area code, however written, finds the customer that has it
    for spelling in LANDLINE_SPELLINGS:
        got = _pop(api, rep, spelling)
        assert got["number"] == "075588886666" and [(i["type"], i["matched"]) for i in got["items"]] == [("customer", ["phone"])], \
            spelling
    assert _pop(api, rep, "13700000000") == {"number": "13700000000", "items": [], "total": 0}


def test_given_a_rep_with_scope_self_then_a_colleagues_records_neither_pop_up_nor_count_and_the_manager_sees_them(
        api, sales_team, caller):
    t = sales_team["tokens"]
    theirs = _made(api.call("POST", "/v1/leads", t["rep2"], {"name": "张伟的线索", "mobile": "+86 13800138000"}))
    other = _pop(api, t["rep2"], "0086 138 0013 8000")
    assert other["total"] == 1 and [i["id"] for i in other["items"]] == [theirs["id"]]
    assert caller["customer"]["id"] not in json.dumps(other) and "深圳华强" not in json.dumps(other, ensure_ascii=False)
    assert _pop(api, t["rep2"], "0755-88886666") == {"number": "075588886666", "items": [], "total": 0}
    mine = _pop(api, t["rep1"], MOBILE)
    assert mine["total"] == 3 and theirs["id"] not in {i["id"] for i in mine["items"]}
    boss = _pop(api, t["manager"], "+86 138-0013-8000")
    assert boss["total"] == 4
    assert {i["id"] for i in boss["items"]} == {caller["customer"]["id"], caller["contact"]["id"], caller["lead"]["id"], theirs["id"]}
    assert {i["owner"]["name"] for i in boss["items"]} == {"李娜", "张伟"}


def test_given_a_service_agent_with_masked_mobiles_then_the_caller_pops_up_with_the_number_masked(api, sales_team, caller):
    agent = sales_team["tokens"]["agent"]  # customers and contacts of the department, mobiles masked; leads: own only
    got = api.call("GET", f"/v1/screen-pop?phone={quote('+86 138 0013 8000')}", agent)
    assert got.status_code == 200, got.data
    assert got.data["number"] == MOBILE  # what the agent typed, as compared
    assert MOBILE not in json.dumps(got.data["items"])  # the records' numbers never in clear
    assert {(i["type"], i["id"]) for i in got.data["items"]} == {("customer", caller["customer"]["id"]),
                                                                 ("contact", caller["contact"]["id"])}
    assert got.data["total"] == 2  # the lead is not the agent's to read: not counted either
    for item in got.data["items"]:
        assert item["numbers"]["mobile"] == "138****8000" and item["matched"] == ["mobile"]
    contact = next(i for i in got.data["items"] if i["type"] == "contact")
    assert contact["customer"] == {"id": caller["customer"]["id"], "name": "深圳华强电子有限公司"}
    landline = _pop(api, agent, "(0755) 8888-6666")
    assert landline["items"][0]["numbers"] == {"mobile": "138****8000", "phone": "0755-88886666"}


def test_given_a_phone_field_hidden_from_the_caller_then_that_record_type_is_not_looked_in(api, sales_team, caller):
    role = api.call("POST", "/v1/org/roles", sales_team["admin"], {
        "name": "前台", "actions": {"customers": ["list", "read"], "contacts": ["list", "read"]},
        "scopes": {"customers": "all", "contacts": "all"}, "fields": {"customers": {"mobile": "hidden"}}})
    assert role.status_code == 201, role.data
    r = api.call("POST", "/v1/org/users", sales_team["admin"], {"name": "前台", "mobile": "13900000020", "department_id": sales_team["sales"],
                                                                "role_ids": [role.data["id"]], "password": "Passw0rd!2026"})
    assert r.status_code == 201, r.data
    desk = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000020", "password": "Passw0rd!2026"}
                    ).data["id_token"]
    got = _pop(api, desk, MOBILE)
    assert [(i["type"], i["numbers"]["mobile"]) for i in got["items"]] == [("contact", MOBILE)] and got["total"] == 1
    assert _pop(api, desk, "0755-88886666")["items"] == []  # the landline is visible, but a hidden mobile shares its key


@pytest.mark.parametrize("phone", ["", "   ", "abc", "123", "+86"])
def test_given_no_phone_number_then_422_names_the_phone_field(api, sales_team, phone):
    got = _pop(api, sales_team["tokens"]["rep1"], phone, status=422, headers={"Accept-Language": "en"})
    assert got["code"] == "VALIDATION_FAILED"
    assert got["details"] == [{"field": "phone", "type": "invalid",
                               "message": "Enter a valid phone number (a mobile, or a landline with its area code)"}]
    missing = api.call("GET", "/v1/screen-pop", sales_team["tokens"]["rep1"])
    assert missing.status_code == 422 and missing.data["details"][0]["field"] == "phone"


def _iso(minutes: int) -> str:
    return clock.iso(clock.now() + timedelta(minutes=minutes))


def test_given_a_call_when_logged_then_it_is_a_follow_up_in_the_timeline_stamping_the_record_and_reminding(api, sales_team, caller):
    rep = sales_team["tokens"]["rep1"]
    cid = caller["customer"]["id"]
    assert api.call("GET", f"/v1/customers/{cid}", rep).data.get("last_followup_at") is None
    nxt = _iso(90)
    r = api.call("POST", "/v1/screen-pop/calls", rep, {"phone": "+86 138 0013 8000", "about": {"entity": "customer", "id": cid},
                                                        "content": "客户来电询问报价", "next_contact_at": nxt})
    first = _made(r)
    assert (first["about"], first["type"], first["content"], first["owner_id"]) == (
        {"entity": "customer", "id": cid}, "call", "客户来电询问报价", sales_team["rep1"])
    stamped = api.call("GET", f"/v1/customers/{cid}", rep).data
    assert stamped["last_followup_at"] and stamped["next_contact_at"] == nxt
    line = api.call("GET", f"/v1/customers/{cid}/timeline", rep).data["items"]
    assert any(i["kind"] == "record" and i["type"] == "followup" and i["id"] == first["id"] for i in line)
    assert [e["action"] for e in api.call("GET", f"/v1/records/followup/{first['id']}/logs", rep).data["items"]] == ["create"]
    assert [e["action"] for e in api.call("GET", f"/v1/records/customer/{cid}/logs", rep).data["items"]][0] == "followup"
    # a later call moves last_followup_at; another follow-up type may be named
    clock.travel(60 * 60)
    second = _made(api.call("POST", "/v1/screen-pop/calls", rep, {"phone": "0755 8888 6666", "about": {"entity": "customer", "id": cid},
                                                                   "content": "回拨确认", "followup_type": "wechat"}))
    assert second["type"] == "wechat"
    moved = api.call("GET", f"/v1/customers/{cid}", rep).data
    assert moved["last_followup_at"] > stamped["last_followup_at"] and moved["next_contact_at"] == nxt
    # the next contact time reminds the rep once, like any follow-up's
    clock.travel(31 * 60)
    assert ScheduleDriver().run_once() == 1
    inbox = api.call("GET", "/v1/notifications", rep).data["items"]
    assert [(n["kind"], n["link"]) for n in inbox] == [("record_due", {"entity": "followup", "id": first["id"]})]
    # a contact and a lead are followed up the same way (a new lead becomes 跟进中)
    _made(api.call("POST", "/v1/screen-pop/calls", rep, {"phone": MOBILE, "about": {"entity": "lead", "id": caller["lead"]["id"]},
                                                         "content": "线索来电"}))
    assert api.call("GET", f"/v1/leads/{caller['lead']['id']}", rep).data["status"] == "following"


def test_given_a_service_agent_when_logging_a_call_then_masked_numbers_still_match_and_the_follow_up_is_theirs(api, sales_team, caller):
    agent = sales_team["tokens"]["agent"]
    r = api.call("POST", "/v1/screen-pop/calls", agent, {"phone": "１３８００１３８０００", "content": "客服来电记录",
                                                          "about": {"entity": "contact", "id": caller["contact"]["id"]}})
    done = _made(r)
    assert done["owner_id"] == sales_team["agent"]
    assert api.call("GET", f"/v1/contacts/{caller['contact']['id']}", sales_team["tokens"]["rep1"]).data["last_followup_at"]
    related = api.call("GET", f"/v1/contacts/{caller['contact']['id']}/related", agent).data["related"]
    assert [f["content"] for f in related["followup"]] == ["客服来电记录"]
    # the rep who owns the contact does not see the agent's follow-up (scope self), the admin does
    assert api.call("GET", f"/v1/contacts/{caller['contact']['id']}/related", sales_team["tokens"]["rep1"]).data["related"][
        "followup"] == []
    assert [f["id"] for f in api.call("GET", "/v1/followups", sales_team["admin"]).data["items"]] == [done["id"]]


def test_given_a_call_about_a_record_the_caller_may_not_read_or_without_the_number_then_refused_and_nothing_written(
        api, sales_team, caller):
    t = sales_team["tokens"]
    cid = caller["customer"]["id"]
    body = {"phone": MOBILE, "about": {"entity": "customer", "id": cid}, "content": "来电"}
    theirs = api.call("POST", "/v1/screen-pop/calls", t["rep2"], body)
    missing = api.call("POST", "/v1/screen-pop/calls", t["rep2"], {**body, "about": {"entity": "customer", "id": "nope"}})
    assert (theirs.status_code, theirs.data) == (404, missing.data) and missing.status_code == 404  # as a missing record
    other = api.call("POST", "/v1/screen-pop/calls", t["rep1"], {**body, "phone": "13900139000"})
    assert other.status_code == 422 and [d["field"] for d in other.data["details"]] == ["about"]
    empty = api.call("POST", "/v1/screen-pop/calls", t["rep1"], {**body, "phone": " "})
    assert empty.status_code == 422 and [d["field"] for d in empty.data["details"]] == ["phone"]
    kind = api.call("POST", "/v1/screen-pop/calls", t["rep1"], {**body, "about": {"entity": "competitor", "id": cid}},
                    headers={"Accept-Language": "zh-CN"})
    assert kind.status_code == 422 and kind.data["details"][0]["field"] == "about.entity"
    assert "线索" in kind.data["details"][0]["message"] and "lead" not in kind.data["details"][0]["message"]
    fax = api.call("POST", "/v1/screen-pop/calls", t["rep1"], {**body, "followup_type": "fax"})
    assert fax.status_code == 422 and [d["field"] for d in fax.data["details"]] == ["followup_type"]
    assert api.call("POST", "/v1/screen-pop/calls", t["rep1"], {**body, "extra": 1}).status_code == 422
    assert api.call("GET", "/v1/followups", t["manager"]).data["items"] == []
    assert api.call("GET", f"/v1/customers/{cid}", t["rep1"]).data.get("last_followup_at") is None


def test_given_a_retried_call_with_its_idempotency_key_then_one_follow_up(api, sales_team, caller):
    rep = sales_team["tokens"]["rep1"]
    body = {"phone": MOBILE, "about": {"entity": "customer", "id": caller["customer"]["id"]}, "content": "来电"}
    first = _made(api.call("POST", "/v1/screen-pop/calls", rep, body, headers={"Idempotency-Key": "call-1"}))
    again = _made(api.call("POST", "/v1/screen-pop/calls", rep, body, headers={"Idempotency-Key": "call-1"}))
    assert again["id"] == first["id"]
    assert len(api.call("GET", "/v1/followups", rep).data["items"]) == 1
