"""查重 through the API: rules per tenant (admins), the check a form calls as the user types, and
the rules applied on create and edit of customers (block -> 409 DUPLICATE naming the field,
warn -> the write goes through and reports what the caller may read)."""
from __future__ import annotations

import pytest


def _user(api, team, name: str, mobile: str, roles: list[str]) -> str:
    r = api.call("POST", "/v1/org/users", team["admin"], {"name": name, "mobile": mobile, "department_id": team["sales"],
                                                          "role_ids": roles, "password": "Passw0rd!2026"})
    assert r.status_code == 201, r.data
    login = api.call("POST", "/v1/auth/login", body={"tenant_id": team["id"], "mobile": mobile, "password": "Passw0rd!2026"})
    return login.data["id_token"]


def _create(api, token, body, status=201, **kw):
    r = api.call("POST", "/v1/customers", token, body, **kw)
    assert r.status_code == status, r.data
    return r.data


def _check(api, token, values, entity="customer", headers=None, **kw):
    r = api.call("POST", "/v1/duplicates/check", token, {"entity": entity, "values": values, **kw}, headers=headers)
    assert r.status_code == 200, r.data
    return r.data


def test_given_rules_then_only_admins_read_and_replace_them_and_bad_rules_are_named(api, sales_team):
    t = sales_team["tokens"]
    assert api.call("GET", "/v1/duplicate-rules", t["rep1"]).status_code == 403
    assert api.call("PUT", "/v1/duplicate-rules", t["manager"], {"rules": []}).status_code == 403
    admin = _user(api, sales_team, "系统管理员", "13900000009", ["admin"])  # the built-in admin role, from the manifest
    got = api.call("GET", "/v1/duplicate-rules", admin).data
    assert got["defaults"] is True and got["version"] == 0
    assert {"kind": "company", "entities": ["customer"], "action": "block", "active_entities": ["customer"]} in got["rules"]
    warn_phone = next(r for r in got["rules"] if r["kind"] == "phone" and r["action"] == "warn")
    assert warn_phone["entities"] == ["lead", "customer", "contact"] == warn_phone["active_entities"]
    assert {t["type"] for t in got["types"]} == {"lead", "customer", "contact"}
    assert [t for t in got["types"] if t["type"] == "customer"] == [{"type": "customer", "kinds": ["company", "email", "phone"],
                             "fields": [{"field": "name", "kind": "company"}, {"field": "mobile", "kind": "phone"},
                                        {"field": "phone", "kind": "phone"}, {"field": "email", "kind": "email"}]}]

    bad = api.call("PUT", "/v1/duplicate-rules", admin, {"rules": [
        {"kind": "company", "entities": ["customer", "widget"], "action": "block"},
        {"kind": "phone", "entities": ["customer"], "action": "warn"},
        {"kind": "phone", "entities": ["customer"], "action": "block"}]}, headers={"Accept-Language": "en"})
    assert bad.status_code == 422
    assert {d["field"]: d["message"] for d in bad.data["details"]} == {
        "rules.0.entities.1": "Record type 'widget' takes no part in duplicate checks",
        "rules.2": "Same kind and record types as rule 2"}
    assert api.call("PUT", "/v1/duplicate-rules", admin, {"rules": [{"kind": "fax", "entities": ["customer"], "action": "warn"}]}
                    ).data["details"][0]["field"] == "rules.0.kind"

    mine = [{"kind": "phone", "entities": ["customer"], "action": "warn"}, {"kind": "company", "entities": ["lead", "customer"],
                                                                          "action": "block"}]
    saved = api.call("PUT", "/v1/duplicate-rules", admin, {"rules": mine})
    assert saved.status_code == 200 and saved.data["version"] == 1 and saved.data["defaults"] is False
    assert api.call("PUT", "/v1/duplicate-rules", admin, {"rules": mine}).status_code == 428  # a change needs the version read
    assert api.call("PUT", "/v1/duplicate-rules", admin, {"rules": [], "version": 0}).status_code == 409
    assert [r["kind"] for r in api.call("GET", "/v1/duplicate-rules", sales_team["admin"]).data["rules"]] == ["phone", "company"]
    log = api.call("GET", "/v1/records/duplicate_rules/rules/logs", sales_team["admin"]).data["items"]
    assert [e["action"] for e in log] == ["create"]

    # the saved rules apply at once: phone numbers only warn now, e-mails are not checked at all
    rep = t["rep1"]
    first = _create(api, rep, {"name": "远景科技", "mobile": "13800138000", "email": "a@yj.cn"})
    api.pump()
    second = _create(api, rep, {"name": "远景能源", "mobile": "+86 138 0013 8000", "email": "A@YJ.CN"})
    assert [(m["id"], m["matched"]) for m in second["duplicates"]] == [
        (first["id"], [{"field": "mobile", "kind": "phone", "on": ["mobile"], "action": "warn"}])]
    api.call("PUT", "/v1/duplicate-rules", admin, {"rules": [], "version": 1})
    api.pump()
    assert _create(api, rep, {"name": "远景科技", "mobile": "13800138000"})["duplicates"] == []  # nothing is checked


def test_given_a_managers_customer_when_a_rep_checks_then_blocked_without_seeing_it_and_the_manager_sees_it(api, sales_team):
    t = sales_team["tokens"]
    mine = _create(api, t["manager"], {"name": "华为技术有限公司", "mobile": "13800138000", "email": "hw@huawei.com"})
    api.pump()
    rep = _check(api, t["rep1"], {"name": "华为 技术", "phone": "+86 138-0013-8000", "email": "HW@huawei.com"})
    assert rep["blocked"] is True and rep["matches"] == [] and rep["total"] == 0  # not even a count of what a rep may not see
    assert rep["blocking"] == [{"field": "name", "kind": "company", "label": "客户名称"},
                               {"field": "phone", "kind": "phone", "label": "电话"}]
    boss = _check(api, t["manager"], {"name": "华为 技术", "phone": "+86 138-0013-8000", "email": "HW@huawei.com"},
                  headers={"Accept-Language": "en"})
    assert boss["blocked"] is True and boss["total"] == 1
    [m] = boss["matches"]
    assert (m["type"], m["id"], m["title"], m["owner_id"], m["action"]) == (
        "customer", mine["id"], "华为技术有限公司", sales_team["manager"], "block")
    assert m["matched"] == [{"field": "name", "kind": "company", "on": ["name"], "action": "block"},
                            {"field": "mobile", "kind": "phone", "on": ["phone"], "action": "block"},
                            {"field": "email", "kind": "email", "on": ["email"], "action": "warn"}]
    assert boss["blocking"][0]["label"] == "Name"
    # e-mail alone only warns; something else matches nothing
    assert _check(api, t["manager"], {"email": "hw@HUAWEI.com"})["blocked"] is False
    assert _check(api, t["rep1"], {"name": "腾讯科技"}) == {"blocked": False, "blocking": [], "matches": [], "total": 0}
    # the record being edited is not its own duplicate; a record the caller may not edit cannot be named
    assert _check(api, t["manager"], {"name": "华为技术"}, exclude_id=mine["id"])["blocked"] is False
    assert api.call("POST", "/v1/duplicates/check", t["rep1"], {"entity": "customer", "values": {}, "exclude_id": mine["id"]}
                    ).status_code == 404
    assert api.call("POST", "/v1/duplicates/check", t["rep1"], {"entity": "competitor", "values": {"name": "x"}}).status_code == 404
    assert api.call("POST", "/v1/duplicates/check", t["agent"], {"entity": "customer", "values": {"name": "x"}}).status_code == 403


def test_given_a_mobile_masked_for_the_caller_then_phone_matches_are_never_shown_but_still_block(api, sales_team):
    role = api.call("POST", "/v1/org/roles", sales_team["admin"], {
        "name": "录入员", "actions": {"customers": ["create", "list", "read"]}, "scopes": {"customers": "all"},
        "fields": {"customers": {"mobile": "masked"}}})
    assert role.status_code == 201, role.data
    clerk = _user(api, sales_team, "录入员", "13900000010", [role.data["id"]])
    c = _create(api, sales_team["tokens"]["manager"], {"name": "深圳华强电子", "mobile": "13912340000", "phone": "0755-88886666"})
    api.pump()
    by_phone = _check(api, clerk, {"phone": "075588886666"})  # mobile and phone are one kind: all of it must be readable
    assert by_phone["blocked"] is True and by_phone["matches"] == []
    by_name = _check(api, clerk, {"name": "深圳华强电子有限公司", "mobile": "13912340000"})
    assert [m["id"] for m in by_name["matches"]] == [c["id"]]
    assert by_name["matches"][0]["matched"] == [{"field": "name", "kind": "company", "on": ["name"], "action": "block"}]


def test_given_rules_when_creating_and_editing_then_blocks_refuse_and_warnings_come_back(api, sales_team):
    t = sales_team["tokens"]
    first = _create(api, t["rep1"], {"name": "上海ACME贸易有限公司", "mobile": "13600000001", "email": "info@acme.cn"})
    assert first["duplicates"] == []
    api.pump()
    refused = api.call("POST", "/v1/customers", t["rep2"], {"name": "上海 ＡＣＭＥ 贸易"})
    assert refused.status_code == 409 and refused.data["code"] == "DUPLICATE"
    assert refused.data["message"] == "客户名称「上海 ＡＣＭＥ 贸易」已存在"
    assert refused.data["details"] == [{"field": "name", "type": "duplicate", "message": "已有相同客户名称的记录，不能重复录入"}]
    assert first["id"] not in str(refused.data)
    en = api.call("POST", "/v1/customers", t["rep2"], {"name": "乙", "mobile": "+86 136 0000 0001"}, headers={"Accept-Language": "en"})
    assert en.status_code == 409 and en.data["message"] == "Mobile '13600000001' already exists"
    # warn: the write goes through; the caller sees what they may read
    own = _create(api, t["rep1"], {"name": "ACME华东", "email": "INFO@acme.cn"})
    assert [(m["id"], m["action"]) for m in own["duplicates"]] == [(first["id"], "warn")]
    other = _create(api, t["rep2"], {"name": "ACME华南", "email": "info@acme.cn "})
    assert other["duplicates"] == []
    api.pump()
    # edit: a changed field is checked, the record itself is not a duplicate, untouched duplicates do not block
    again = api.call("PATCH", f"/v1/customers/{own['id']}", t["rep1"], {"name": "上海acme贸易公司", "version": 1})
    assert again.status_code == 409 and again.data["details"][0]["field"] == "name"
    same = api.call("PATCH", f"/v1/customers/{first['id']}", t["rep1"], {"name": "上海ACME贸易（有限公司）", "version": 1})
    assert same.status_code == 200 and same.data["duplicates"] == []
    remark = api.call("PATCH", f"/v1/customers/{own['id']}", t["rep1"], {"remark": "同一邮箱", "version": 1})
    assert remark.status_code == 200 and remark.data["duplicates"] == []
    warned = api.call("PATCH", f"/v1/customers/{own['id']}", t["rep1"], {"email": "info@ACME.cn", "version": 2})
    assert [m["id"] for m in warned.data["duplicates"]] == [first["id"]]  # (a no-op change of case still compares)
    assert api.call("GET", f"/v1/customers/{own['id']}", t["rep1"]).data.get("duplicates") is None


def test_given_two_writers_within_the_index_lag_then_the_block_rule_still_holds(api, sales_team):
    t = sales_team["tokens"]
    _create(api, t["rep1"], {"name": "腾讯科技有限公司", "mobile": "13700000001"})
    # no pump: the index has not seen the first customer yet; the lease taken in its transaction refuses
    second = api.call("POST", "/v1/customers", t["rep2"], {"name": "腾讯科技"})
    assert second.status_code == 409 and second.data["details"][0]["field"] == "name"
    third = api.call("POST", "/v1/customers", t["rep2"], {"name": "深圳腾讯", "phone": "137-0000-0001"})
    assert third.status_code == 409 and third.data["details"][0]["field"] == "phone"
    # the first record changing its number releases the old one
    api.call("PATCH", f"/v1/customers/{_names(api, t['rep1'])[0]}", t["rep1"], {"mobile": "13700000002", "version": 1})
    api.pump()
    assert api.call("POST", "/v1/customers", t["rep2"], {"name": "深圳腾讯", "phone": "137-0000-0001"}).status_code == 201


def _names(api, token):
    return [c["id"] for c in api.call("GET", "/v1/customers", token).data["items"]]


def test_given_a_create_retried_with_its_key_then_it_replays_instead_of_matching_itself(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    body = {"name": "幂等查重", "mobile": "13500000001"}
    first = _create(api, rep, body, headers={"Idempotency-Key": "dup-1"})
    api.pump()
    again = _create(api, rep, body, headers={"Idempotency-Key": "dup-1"})
    assert again["id"] == first["id"] and again["duplicates"] == []
    assert api.call("POST", "/v1/customers", rep, {**body, "level": "A"}, headers={"Idempotency-Key": "dup-1"}).data["code"] == \
        "IDEMPOTENCY_KEY_REUSED"
    assert api.call("POST", "/v1/customers", rep, body, headers={"Idempotency-Key": "dup-2"}).status_code == 409


def test_given_one_number_the_caller_sees_and_another_they_do_not_then_both_fields_are_named(api, sales_team):
    t = sales_team["tokens"]
    _create(api, t["rep1"], {"name": "甲方", "mobile": "13100000001"})
    _create(api, t["manager"], {"name": "乙方", "phone": "021-66880000"})
    api.pump()
    r = _check(api, t["rep1"], {"name": "丙方", "mobile": "131 0000 0001", "phone": "(021) 6688-0000"})
    assert [m["title"] for m in r["matches"]] == ["甲方"]  # only her own; the manager's record is not shown
    assert [b["field"] for b in r["blocking"]] == ["mobile", "phone"]


@pytest.mark.parametrize("language,label", [("zh-CN", "手机"), ("en", "Mobile")])
def test_given_a_blocked_check_then_the_label_is_in_the_callers_language(api, sales_team, language, label):
    _create(api, sales_team["tokens"]["rep1"], {"name": "王芳的店", "mobile": "13300000001"})
    api.pump()
    r = _check(api, sales_team["tokens"]["rep2"], {"mobile": "133 0000 0001"}, headers={"Accept-Language": language})
    assert r["blocking"] == [{"field": "mobile", "kind": "phone", "label": label}]


def test_given_a_lease_older_than_its_time_then_it_no_longer_refuses_and_the_index_has_taken_over(api, sales_team):
    from chalicelib.core import clock
    from chalicelib.duplicates import service

    t = sales_team["tokens"]
    _create(api, t["rep1"], {"name": "字节跳动科技有限公司"})
    clock.travel(service.LEASE.total_seconds() + 1)
    # an index lagging longer than a lease is the one gap left: the expired lease no longer refuses
    assert api.call("POST", "/v1/customers", t["rep2"], {"name": "字节跳动科技"}).status_code == 201
    api.pump()
    assert api.call("POST", "/v1/customers", t["rep2"], {"name": "字节跳动科技（有限公司）"}).status_code == 409


# ---- merge (合并) -----------------------------------------------------------------------------
ORDER = {
    "key": "ad_order", "label": "广告订单", "title_field": "title",
    "fields": [{"key": "title", "label": "订单主题", "type": "text", "required": True, "searchable": True},
               {"key": "customer", "label": "广告客户", "type": "reference", "entity": "customer", "required": True}],
    "parent": {"field": "customer", "cascade": ["transfer", "delete"]},
    "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"},
               "sales_manager": {"actions": ["create", "update", "list", "read", "delete"], "scope": "self_and_subordinates"}},
}


@pytest.fixture()
def pair(api, sales_team, upload):
    """rep1's 华为技术有限公司 (kept) and rep2's 华为科技 with the same e-mail (a warning), two orders under
    it, an attachment and a team grant for the service agent."""
    t = sales_team["tokens"]
    assert api.call("POST", "/v1/objects", sales_team["admin"], ORDER).status_code == 201
    keep = _create(api, t["rep1"], {"name": "华为技术有限公司", "email": "hw@huawei.com", "remark": "保留的"})
    api.pump()
    gone = _create(api, t["rep2"], {"name": "华为科技", "email": "HW@huawei.com", "remark": "被合并的备注", "level": "A"})
    assert [m["id"] for m in _create(api, t["manager"], {"name": "华为终端", "email": "hw@huawei.com"})["duplicates"]] == [keep["id"]]
    orders = [api.call("POST", "/v1/objects/ad_order/records", t["rep2"], {"title": f"订单{i}", "customer": gone["id"]}).data
              for i in range(2)]
    f = upload(t["rep2"], name="营业执照.pdf")
    assert api.call("POST", f"/v1/customers/{gone['id']}/attachments", t["rep2"], {"file_id": f["id"]}).status_code == 201
    team = api.call("PUT", f"/v1/customers/{gone['id']}/team", t["rep2"],
                    {"members": [{"user_id": sales_team["agent"], "access": "read"}], "version": 1})
    assert team.status_code == 200, team.data
    return {"keep": keep, "gone": {**gone, "version": team.data["version"]}, "orders": orders, "file": f}


def _related(api, token, cid):
    r = api.call("GET", f"/v1/customers/{cid}/related", token)
    assert r.status_code == 200, r.data
    return sorted(o["title"] for o in r.data["related"]["obj_ad_order"])


def test_given_two_customers_when_merged_then_children_files_and_team_move_and_restoring_moves_them_back(api, sales_team, pair):
    t, admin = sales_team["tokens"], sales_team["admin"]
    keep, gone = pair["keep"], pair["gone"]
    assert api.call("POST", f"/v1/customers/{keep['id']}/merge", t["rep1"], {"from_id": gone["id"], "version": 1, "from_version": 2}
                    ).status_code == 403  # reps may not delete customers
    r = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"],
                 {"from_id": gone["id"], "version": 1, "from_version": gone["version"], "take": ["remark", "level"]})
    assert r.status_code == 200, r.data
    assert r.data["moved"] == {"children": 2, "attachments": 1, "team": 1}
    assert (r.data["remark"], r.data["level"], r.data["name"], r.data["version"]) == ("被合并的备注", "A", "华为技术有限公司", 2)
    assert {m["user_id"]: m["access"] for m in r.data["team"]} == {sales_team["agent"]: "read"}
    assert api.call("GET", f"/v1/customers/{gone['id']}", t["manager"]).status_code == 404
    assert _related(api, t["manager"], keep["id"]) == ["订单0", "订单1"]
    assert api.call("GET", f"/v1/objects/ad_order/records/{pair['orders'][0]['id']}", t["rep2"]).data["customer"]["id"] == keep["id"]
    files = api.call("GET", f"/v1/customers/{keep['id']}/attachments", t["rep1"]).data["items"]
    assert [(a["file_id"], a["attached_by"]) for a in files] == [(pair["file"]["id"], sales_team["rep2"])]
    assert api.call("GET", f"/v1/files/{pair['file']['id']}/download", t["rep1"]).status_code == 200  # readers of the survivor
    assert api.call("GET", f"/v1/customers/{gone['id']}/attachments", t["manager"]).status_code == 404
    # the bin marks the record as merged; both logs say so; the survivor's timeline links the other's history
    [binned] = api.call("GET", "/v1/recycle-bin", admin).data["items"]
    assert (binned["id"], binned["merged_into"]) == (gone["id"], keep["id"])
    keep_log = api.call("GET", f"/v1/records/customer/{keep['id']}/logs", t["rep1"]).data["items"]
    merged_from = next(c for c in keep_log[0]["changes"] if c["field"] == "merged_from")["after"]
    assert keep_log[0]["action"] == "merge" and merged_from == {"id": gone["id"], "title": "华为科技", "children": 2, "attachments": 1}
    gone_log = api.call("GET", f"/v1/records/customer/{gone['id']}/logs", admin).data["items"]
    assert gone_log[0]["action"] == "merged"
    assert {"field": "merged_into", "before": None, "after": {"id": keep["id"], "title": "华为技术有限公司"}} in gone_log[0]["changes"]
    timeline = api.call("GET", f"/v1/customers/{keep['id']}/timeline", t["rep1"]).data["items"]
    assert {"kind": "merge", "id": gone["id"]} == {k: v for k, v in next(i for i in timeline if i["kind"] == "merge").items()
                                                   if k in ("kind", "id")}
    from_gone = [i["action"] for i in timeline if i.get("merged_from") == gone["id"]]
    assert from_gone[-1] == "create" and "attach" in from_gone and "team" in from_gone
    order_log = api.call("GET", f"/v1/records/obj_ad_order/{pair['orders'][0]['id']}/logs", t["rep2"]).data["items"]
    assert order_log[0]["action"] == "merge"

    # undo: restoring the merged record moves back exactly what moved
    back = api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", admin)
    assert back.status_code == 200, back.data
    assert api.call("GET", "/v1/recycle-bin", admin).data["items"] == []
    assert _related(api, t["manager"], gone["id"]) == ["订单0", "订单1"] and _related(api, t["manager"], keep["id"]) == []
    assert [a["file_id"] for a in api.call("GET", f"/v1/customers/{gone['id']}/attachments", t["rep2"]).data["items"]] == [
        pair["file"]["id"]]
    assert api.call("GET", f"/v1/customers/{keep['id']}/attachments", t["rep1"]).data["items"] == []
    kept = api.call("GET", f"/v1/customers/{keep['id']}", t["rep1"]).data
    assert kept["team"] == [] and kept["remark"] == "被合并的备注"  # taken values stay; the log has them
    assert api.call("GET", f"/v1/customers/{keep['id']}/timeline", t["rep1"]).data["items"][0]["action"] == "unmerge"
    assert not any(i["kind"] == "merge" for i in api.call("GET", f"/v1/customers/{keep['id']}/timeline", t["rep1"]).data["items"])
    restored = api.call("GET", f"/v1/customers/{gone['id']}", t["rep2"]).data
    assert {m["user_id"] for m in restored["team"]} == {sales_team["agent"]}


def test_given_a_child_the_caller_may_not_change_or_stale_versions_then_the_merge_writes_nothing(api, sales_team, pair):
    t, admin = sales_team["tokens"], sales_team["admin"]
    keep, gone = pair["keep"], pair["gone"]
    body = {"from_id": gone["id"], "version": 1, "from_version": gone["version"]}
    assert api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {**body, "version": 9}).status_code == 409
    assert api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {**body, "from_version": 1}).status_code == 409
    assert api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {**body, "from_id": keep["id"]}).status_code == 422
    bad = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {**body, "take": ["locked", "nope"]})
    assert bad.status_code == 422 and [d["field"] for d in bad.data["details"]] == ["take.0", "take.1"]
    # the super admin's order under the other customer is outside the manager's scope
    assert api.call("POST", "/v1/objects/ad_order/records", admin, {"title": "总部订单", "customer": gone["id"]}).status_code == 201
    refused = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], body)
    assert refused.status_code == 403 and refused.data["code"] == "RECORD_FORBIDDEN"
    assert api.call("GET", f"/v1/customers/{gone['id']}", t["manager"]).status_code == 200
    assert _related(api, admin, gone["id"]) == ["总部订单", "订单0", "订单1"]
    assert api.call("GET", f"/v1/customers/{keep['id']}", t["manager"]).data["version"] == 1
    # the super admin may: everything moves
    done = api.call("POST", f"/v1/customers/{keep['id']}/merge", admin, {**body, "keep_owner_as": "write"})
    assert done.status_code == 200 and done.data["moved"]["children"] == 3
    assert {m["user_id"]: m["access"] for m in done.data["team"]} == {sales_team["agent"]: "read", sales_team["rep2"]: "write"}
    # the survivor cannot go away while its merge is undone: restore the survivor first
    assert api.call("DELETE", f"/v1/customers/{keep['id']}", admin, headers={"If-Match": '"2"'}).status_code == 204
    blocked = api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", admin)
    assert blocked.status_code == 422 and blocked.data["code"] == "INVALID_STATE"


def test_given_contacts_and_follow_ups_when_customers_merge_then_they_move_under_their_own_rules_and_back(api, sales_team):
    t = sales_team["tokens"]
    keep = _create(api, t["rep1"], {"name": "远望科技有限公司"})
    gone = _create(api, t["rep2"], {"name": "远望电子"})

    def contact(token, name, cid):
        r = api.call("POST", "/v1/contacts", token, {"name": name, "customer": cid})
        assert r.status_code == 201, r.data
        return r.data

    kept_primary = contact(t["rep1"], "王总", keep["id"])
    moved_primary, other = contact(t["rep2"], "李总", gone["id"]), contact(t["rep2"], "赵经理", gone["id"])
    note = api.call("POST", "/v1/followups", t["rep2"], {"about": {"entity": "customer", "id": gone["id"]}, "type": "call",
                                                         "content": "电话沟通需求"})
    assert note.status_code == 201, note.data

    def people(cid):
        related = api.call("GET", f"/v1/customers/{cid}/related", t["manager"]).data["related"]
        return ({c["name"]: c["is_primary"] for c in related["contact"]}, [f["content"] for f in related["followup"]])

    version = api.call("GET", f"/v1/customers/{gone['id']}", t["rep2"]).data["version"]  # the follow-up stamped it
    merged = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {"from_id": gone["id"], "version": 1,
                                                                                 "from_version": version})
    assert merged.status_code == 200, merged.data
    assert merged.data["moved"]["children"] == 3
    # one primary contact per customer, by the contacts' own rule for a primary that moves in
    assert people(keep["id"]) == ({"王总": False, "李总": True, "赵经理": False}, ["电话沟通需求"])
    assert api.call("GET", f"/v1/followups/{note.data['id']}", t["rep2"]).data["about"] == {"entity": "customer", "id": keep["id"]}
    assert api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", sales_team["admin"]).status_code == 200
    assert people(gone["id"]) == ({"李总": True, "赵经理": False}, ["电话沟通需求"])
    assert people(keep["id"]) == ({"王总": True}, [])  # the survivor's remaining contact is its primary again
    assert api.call("GET", f"/v1/contacts/{kept_primary['id']}", t["rep1"]).data["customer"]["id"] == keep["id"]
    assert {api.call("GET", f"/v1/contacts/{c['id']}", t["rep2"]).data["customer"]["id"] for c in (moved_primary, other)} == {gone["id"]}


def test_given_ownership_limits_when_merging_and_undoing_then_the_counts_follow(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    assert api.call("PUT", "/v1/customer-limits", admin, {"rules": [{"user_id": sales_team["rep1"], "owned": 2}]}).status_code == 200

    def owned():
        return api.call("GET", "/v1/customer-limits/holdings", t["rep1"]).data["owned"]

    keep = _create(api, t["rep1"], {"name": "星河贸易"})
    gone = _create(api, t["rep1"], {"name": "星河商贸", "deal_status": "closed"})
    assert owned() == 2
    counted = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"],
                       {"from_id": gone["id"], "version": 1, "from_version": 1, "take": ["deal_status"]})
    assert counted.status_code == 422 and counted.data["code"] == "MERGE_TAKE_COUNTED"
    assert counted.data["details"][0]["field"] == "take.0"
    merged = api.call("POST", f"/v1/customers/{keep['id']}/merge", t["manager"], {"from_id": gone["id"], "version": 1, "from_version": 1})
    assert merged.status_code == 200 and owned() == 1
    third = _create(api, t["rep1"], {"name": "银河物流"})
    over = api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", admin)  # the undo would go over the limit
    assert over.status_code == 422 and over.data["code"] == "CUSTOMER_LIMIT"
    assert [i["merged_into"] for i in api.call("GET", "/v1/recycle-bin", admin).data["items"]] == [keep["id"]]
    assert api.call("DELETE", f"/v1/customers/{third['id']}", t["manager"], headers={"If-Match": '"1"'}).status_code == 204
    assert api.call("POST", f"/v1/recycle-bin/customer/{gone['id']}/restore", admin).status_code == 200
    assert owned() == 2
