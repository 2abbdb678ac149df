"""Inbound integrations (集成) through the API: channels made by administrators with a secret shown
once; deliveries signed like webhooks (a wrong signature, a stale timestamp, an unknown or disabled
channel and another tenant's channel all answer the same 401); each preset end to end — a web order
creates a lead, a call-center event a follow-up on the customer found by mobile, a finance
confirmation a payment against the contract found by its number —; a resend with the same key
writes once; duplicates skip / overwrite; the channel's user's rights hold per item; the delivery log."""
from __future__ import annotations

import json

from chalicelib.core import clock
from chalicelib.webhooks import signing


def send(api, channel: dict, secret: str, body, *, key: str | None = None, ts: int | None = None, lang: str | None = None,
         tenant: str | None = None, channel_id: str | None = None, signature: str | None = None):
    api.pump()  # the search index follows the table (lookups and duplicate checks read it)
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = int(clock.now().timestamp()) if ts is None else ts
    headers = {"Content-Type": "application/json", "X-CRM-Timestamp": str(ts),
               "X-CRM-Signature": signature if signature is not None else signing.signature(secret, ts, raw, key)}
    if key:
        headers["Idempotency-Key"] = key
    if lang:
        headers["Accept-Language"] = lang
    tenant = tenant or channel["url"].split("/")[3]
    resp = api.http.post(f"/v1/inbound/{tenant}/{channel_id or channel['id']}", headers=headers, body=raw)
    api._written = True
    resp.data = json.loads(resp.body) if resp.body else None
    return resp


def make(api, token: str, status: int = 201, **body) -> dict:
    r = api.call("POST", "/v1/integrations/inbound", token, {"name": "渠道", **body})
    assert r.status_code == status, r.data
    return r.data


def test_given_a_web_order_channel_when_an_order_is_posted_then_a_lead_holds_the_mapped_fields(api, make_tenant):
    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    assert ch["type"] == "lead" and ch["mapping"]["contact.mobile"] == "mobile" and len(ch["secret"]) >= 40
    assert ch["url"] == f"/v1/inbound/{t['id']}/{ch['id']}"
    listed = api.call("GET", "/v1/integrations/inbound", t["admin"]).data["items"]
    assert [c["id"] for c in listed] == [ch["id"]] and "secret" not in listed[0]
    assert "secret" not in api.call("GET", f"/v1/integrations/inbound/{ch['id']}", t["admin"]).data

    order = {"order_no": "WO-1001", "contact": {"name": "王小明", "mobile": "13912340001", "email": "wxm@example.com"},
             "company": "小明商贸", "note": "官网下单：年度套餐"}
    r = send(api, ch, ch["secret"], order)
    assert r.status_code == 200, r.data
    [res] = r.data["results"]
    assert res["status"] == "created" and res["index"] == 0, res
    lead = api.call("GET", f"/v1/leads/{res['id']}", t["admin"]).data
    assert (lead["name"], lead["mobile"], lead["email"], lead["company"], lead["remark"]) == \
        ("王小明", "13912340001", "wxm@example.com", "小明商贸", "官网下单：年度套餐")
    assert lead["owner_id"] == t["admin_id"]  # the channel's user (default: its maker)
    # the record is in its operation log like any other
    log = api.call("GET", f"/v1/leads/{res['id']}/timeline", t["admin"])
    assert log.status_code == 200 and log.data["items"], log.data

    # a batch: each item's fate, errors in the caller's language, on the payload key
    batch = {"items": [{"contact": {"name": "李四", "email": "not-an-email"}}, {"contact": {"name": "赵五"}}]}
    r = send(api, ch, ch["secret"], batch, lang="en")
    assert [x["status"] for x in r.data["results"]] == ["rejected", "created"], r.data
    assert r.data["results"][0]["errors"][0]["column"] == "contact.email"
    assert not any("\u4e00" <= ch_ <= "\u9fff" for ch_ in r.data["results"][0]["errors"][0]["message"])

    log = api.call("GET", f"/v1/integrations/inbound/{ch['id']}/deliveries", t["admin"]).data["items"]
    assert [d["status"] for d in log] == ["partial", "succeeded"]  # newest first
    assert log[0]["counts"] == {"total": 2, "created": 1, "updated": 0, "skipped": 0, "rejected": 1}
    assert log[0]["errors"][0]["index"] == 0
    assert "not-an-email" not in json.dumps(log[1]) and "王小明" not in json.dumps(log)


def test_given_a_call_center_channel_when_a_call_comes_then_a_follow_up_lands_on_the_customer_found_by_mobile(api, make_tenant):
    t = make_tenant()
    cust = api.call("POST", "/v1/customers", t["admin"], {"name": "来电客户", "mobile": "13800138000"}).data
    ch = make(api, t["admin"], kind="call_center")
    assert ch["type"] == "followup" and ch["lookups"]["caller"] == {"type": "customer", "field": "mobile"}
    event = {"caller": "+86 138-0013-8000", "summary": "咨询续费", "started_at": "2026-11-30 10:00"}
    r = send(api, ch, ch["secret"], event)
    [res] = r.data["results"]
    assert res["status"] == "created", res
    f = api.call("GET", f"/v1/followups/{res['id']}", t["admin"]).data
    assert f["about"]["id"] == cust["id"] and f["about"]["entity"] == "customer"
    assert f["type"] == "call" and f["content"] == "咨询续费"
    assert api.call("GET", f"/v1/customers/{cust['id']}", t["admin"]).data["last_followup_at"]

    unknown = send(api, ch, ch["secret"], {"caller": "13700000000", "summary": "陌生来电"}).data["results"][0]
    assert unknown["status"] == "rejected" and unknown["errors"][0]["column"] == "caller", unknown
    assert "13700000000" in unknown["errors"][0]["message"]


def test_given_a_finance_channel_when_a_payment_is_confirmed_then_it_is_recorded_against_the_contract_by_number(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    flow = api.call("POST", "/v1/approval-flows", admin, {
        "name": "合同审批", "business_type": "contract", "enabled": True,
        "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
    assert flow.status_code == 201, flow.data
    customer = api.call("POST", "/v1/customers", t["rep1"], {"name": "回款客户"}).data
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": "年度合同", "customer": customer["id"], "amount": 10000}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    ch = make(api, admin, kind="finance")
    assert ch["type"] == "payment"
    confirmation = {"contract_no": c["number"], "amount": 2500.5, "paid_on": "2026-11-30", "method": "bank", "note": "银行回单"}
    r = send(api, ch, ch["secret"], confirmation)
    [res] = r.data["results"]
    assert res["status"] == "created", res
    pay = api.call("GET", f"/v1/payments/{res['id']}", admin).data
    assert pay["contract"]["id"] == c["id"] and str(pay["amount"]) in ("2500.5", "2500.50") and pay["method"] == "bank"
    assert str(api.call("GET", f"/v1/contracts/{c['id']}", admin).data["reserved_amount"]) in ("2500.5", "2500.50")
    over = send(api, ch, ch["secret"], {**confirmation, "amount": 9000}).data["results"][0]
    assert over["status"] == "rejected", over  # past the contract amount, as any payment


def test_given_bad_signatures_stale_times_and_foreign_channels_then_the_same_401_and_nothing_written(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    ch = make(api, a["admin"], kind="web_order")
    other = make(api, b["admin"], kind="web_order")
    order = {"contact": {"name": "探测"}}
    answers = [
        send(api, ch, "wrong-secret", order),
        send(api, ch, ch["secret"], order, ts=int(clock.now().timestamp()) - 301),
        send(api, ch, ch["secret"], order, signature=""),
        send(api, ch, ch["secret"], order, tenant=b["id"]),  # A's channel under B's tenant
        send(api, ch, ch["secret"], order, channel_id=other["id"]),  # B's channel id under A, signed with A's secret
        send(api, ch, other["secret"], order, tenant=a["id"], channel_id=other["id"]),  # B's channel, B's secret, A's path
        send(api, ch, ch["secret"], order, channel_id="01NOSUCHCHANNEL000000000000"),
    ]
    assert [r.status_code for r in answers] == [401] * len(answers)
    assert len({json.dumps(r.data, sort_keys=True) for r in answers}) == 1
    assert answers[0].data["code"] == "INBOUND_UNAUTHORIZED"
    r = api.call("PATCH", f"/v1/integrations/inbound/{ch['id']}", a["admin"], {"enabled": False}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.data["enabled"] is False
    disabled = send(api, ch, ch["secret"], order)
    assert disabled.status_code == 401 and disabled.data == answers[0].data
    assert api.call("GET", "/v1/leads", a["admin"]).data["total"] == 0
    assert api.call("GET", f"/v1/integrations/inbound/{ch['id']}/deliveries", a["admin"]).data["items"] == []
    # and within the tolerance it is fine: the clock moved, the timestamp with it
    api.call("PATCH", f"/v1/integrations/inbound/{ch['id']}", a["admin"], {"enabled": True}, headers={"If-Match": '"2"'})
    clock.travel(3600)
    assert send(api, ch, ch["secret"], order).status_code == 200


def test_given_a_rotated_secret_then_the_old_one_stops_verifying(api, make_tenant):
    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    rotated = api.call("POST", f"/v1/integrations/inbound/{ch['id']}/rotate-secret", t["admin"])
    assert rotated.status_code == 200 and rotated.data["secret"] != ch["secret"] and rotated.data["secret_rotated_at"]
    assert send(api, ch, ch["secret"], {"contact": {"name": "甲"}}).status_code == 401
    assert send(api, ch, rotated.data["secret"], {"contact": {"name": "甲"}}).status_code == 200
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 1


def test_given_a_resend_with_the_same_key_then_the_first_answer_comes_back_and_nothing_more_is_written(api, make_tenant):
    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    order = {"items": [{"contact": {"name": "重发一"}}, {"contact": {"name": "重发二"}}]}
    first = send(api, ch, ch["secret"], order, key="order-42")
    again = send(api, ch, ch["secret"], order, key="order-42")
    assert first.status_code == again.status_code == 200
    assert again.data["results"] == first.data["results"] and again.data["replayed"] is True
    assert again.data["delivery_id"] == first.data["delivery_id"]
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 2
    other = send(api, ch, ch["secret"], {"contact": {"name": "另一单"}}, key="order-42")
    assert other.status_code == 422 and other.data["code"] == "IDEMPOTENCY_KEY_REUSED"
    log = api.call("GET", f"/v1/integrations/inbound/{ch['id']}/deliveries", t["admin"]).data["items"]
    assert len(log) == 1 and log[0]["replays"] == 1 and log[0]["idempotency_key"] == "order-42"


def test_given_duplicate_rules_when_items_repeat_then_skip_or_overwrite_as_the_channel_says(api, make_tenant):
    t = make_tenant()
    r = api.call("PUT", "/v1/duplicate-rules", t["admin"], {"rules": [{"kind": "phone", "entities": ["customer"], "action": "warn"}]})
    assert r.status_code == 200, r.data
    existing = api.call("POST", "/v1/customers", t["admin"], {"name": "老客户", "mobile": "13911110000", "remark": "旧"}).data
    skip = make(api, t["admin"], kind="custom", type="customer", mapping={"name": "name", "mobile": "mobile", "remark": "remark"})
    res = send(api, skip, skip["secret"], {"name": "老客户", "mobile": "13911110000", "remark": "新"}).data["results"][0]
    assert res == {"index": 0, "status": "skipped"}, res
    over = make(api, t["admin"], kind="custom", type="customer", duplicates="overwrite",
                mapping={"name": "name", "mobile": "mobile", "remark": "remark"})
    res = send(api, over, over["secret"], {"name": "老客户", "mobile": "13911110000", "remark": "新"}).data["results"][0]
    assert res == {"index": 0, "status": "updated", "id": existing["id"]}, res
    assert api.call("GET", f"/v1/customers/{existing['id']}", t["admin"]).data["remark"] == "新"
    assert api.call("GET", "/v1/customers", t["admin"]).data["total"] == 1


def test_given_a_channel_acting_as_a_rep_then_it_writes_only_what_the_rep_may(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "线索录入", "actions": {"leads": ["create", "list", "read"]}, "scopes": {"leads": "self"},
        "fields": {"leads": {"remark": "read"}}})
    assert role.status_code == 201, role.data
    user = api.call("POST", "/v1/org/users", admin, {"name": "接口账号", "mobile": "13900000077", "department_id": sales_team["sales"],
                                                      "role_ids": [role.data["id"]], "password": "Passw0rd!2026"}).data["id"]
    ch = make(api, admin, kind="web_order", run_as=user)
    assert ch["run_as"] == user
    r = send(api, ch, ch["secret"], {"items": [{"contact": {"name": "允许的"}}, {"contact": {"name": "越权的"}, "note": "备注"},
                                               {"contact": {"name": "转给别人"}, "owner": "李娜"}]})
    statuses = [x["status"] for x in r.data["results"]]
    assert statuses[:2] == ["created", "rejected"], r.data
    assert r.data["results"][1]["errors"][0]["column"] == "note"
    lead = api.call("GET", f"/v1/leads/{r.data['results'][0]['id']}", admin).data
    assert lead["owner_id"] == user
    # the owner outside the user's scope: refused as an import row is
    owner = make(api, admin, kind="web_order", run_as=user, mapping={"contact.name": "name", "owner": "owner_id"})
    res = send(api, owner, owner["secret"], {"contact": {"name": "转给别人"}, "owner": "李娜"}).data["results"][0]
    assert res["status"] == "rejected", res
    # an inactive user cannot be chosen, and a channel whose user left answers 401
    assert make(api, admin, 422, kind="web_order", run_as="01NOSUCHUSER00000000000000")["details"][0]["field"] == "run_as"
    assert api.call("POST", f"/v1/org/users/{user}/disable", admin).status_code == 200
    assert send(api, ch, ch["secret"], {"contact": {"name": "离职后"}}).status_code == 401


def test_given_channel_management_then_admins_only_and_bad_input_is_422(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    assert api.call("GET", "/v1/integrations/inbound", rep).status_code == 403
    assert api.call("POST", "/v1/integrations/inbound", rep, {"name": "x", "kind": "web_order"}).status_code == 403
    bad = make(api, admin, 422, kind="custom", type="customer", mapping={"a": "no_such_column", "b": "name", "c": "name"})
    fields = {d["field"] for d in bad["details"]}
    assert fields == {"mapping.a", "mapping.c"}, bad
    assert make(api, admin, 422, kind="custom")["details"][0]["field"] == "type"
    suggested = make(api, admin, kind="custom", type="customer", sample={"客户名称": "x", "手机": "1", "misc": {"note": 1}})
    assert suggested["mapping"] == {"客户名称": "name", "手机": "mobile", "misc.note": None}
    ch = make(api, admin, kind="web_order")
    r = api.call("DELETE", f"/v1/integrations/inbound/{ch['id']}", admin, headers={"If-Match": '"1"'})
    assert r.status_code == 204
    assert send(api, ch, ch["secret"], {"contact": {"name": "删除后"}}).status_code == 401
    bodies = [b"not json", b"[]", b"{}", json.dumps({"items": []}).encode(), json.dumps({"items": [1]}).encode(),
              json.dumps({"items": [{}] * 101}).encode()]
    live = make(api, admin, kind="web_order")
    for raw in bodies:
        r = send(api, live, live["secret"], raw, lang="en")
        assert r.status_code == 422, (raw, r.data)


def test_given_no_mapping_then_each_delivery_is_matched_by_its_keys_and_nothing_waits(api, make_tenant):
    t = make_tenant()
    ch = make(api, t["admin"], kind="custom", type="customer")
    assert ch["mapping"] is None
    r = send(api, ch, ch["secret"], {"客户名称": "自动匹配", "Mobile": "13922223333", "unknown": "x"})
    res = r.data["results"][0]
    assert res["status"] == "created", r.data
    c = api.call("GET", f"/v1/customers/{res['id']}", t["admin"]).data
    assert (c["name"], c["mobile"]) == ("自动匹配", "13922223333")


def test_given_a_tenant_over_its_rate_limit_then_signed_deliveries_get_429_and_unsigned_ones_spend_nothing(api, make_tenant):
    from tests.conftest import platform_token

    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    tenant = api.call("GET", "/v1/platform/tenants?limit=100", platform_token()).data["items"]
    version = next(x["version"] for x in tenant if x["id"] == t["id"])
    r = api.call("PATCH", f"/v1/platform/tenants/{t['id']}", platform_token(),
                 {"rate_limit": {"per_second": 1, "burst": 3}, "version": version})
    assert r.status_code == 200, r.data
    clock.freeze()
    for _ in range(5):  # refused before the bucket: no token taken
        assert send(api, ch, "wrong", {"contact": {"name": "探测"}}).status_code == 401
    answers = [send(api, ch, ch["secret"], {"contact": {"name": f"限流{i}"}}).status_code for i in range(4)]
    assert answers == [200, 200, 200, 429], answers


# ---- replays -------------------------------------------------------------------------------------
def _approved_contract(api, sales_team, amount: int = 10000) -> dict:
    admin, t = sales_team["admin"], sales_team["tokens"]
    flow = api.call("POST", "/v1/approval-flows", admin, {
        "name": "合同审批", "business_type": "contract", "enabled": True,
        "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
    assert flow.status_code == 201, flow.data
    customer = api.call("POST", "/v1/customers", t["rep1"], {"name": "重放客户"}).data
    c = api.call("POST", "/v1/contracts", t["rep1"], {"name": "重放合同", "customer": customer["id"], "amount": amount}).data
    iid = api.call("POST", f"/v1/contracts/{c['id']}/submit", t["rep1"], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    return c


def test_given_a_signed_payment_confirmation_when_replayed_byte_for_byte_then_one_payment_and_the_first_answer(api, sales_team):
    admin = sales_team["admin"]
    c = _approved_contract(api, sales_team)
    ch = make(api, admin, kind="finance")
    ts = int(clock.now().timestamp())
    confirmation = {"contract_no": c["number"], "amount": 1000, "paid_on": "2026-11-30", "method": "bank"}
    answers = [send(api, ch, ch["secret"], confirmation, ts=ts) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.data["replayed"] for a in answers] == [False, True, True, True]
    assert len({json.dumps(a.data["results"]) for a in answers}) == 1 and answers[0].data["results"][0]["status"] == "created"
    assert len({a.data["delivery_id"] for a in answers}) == 1
    assert api.call("GET", "/v1/payments", admin).data["total"] == 1
    assert str(api.call("GET", f"/v1/contracts/{c['id']}", admin).data["reserved_amount"]) in ("1000", "1000.00")
    log = api.call("GET", f"/v1/integrations/inbound/{ch['id']}/deliveries", admin).data["items"]
    assert len(log) == 1 and log[0]["replays"] == 3 and log[0]["idempotency_key"] is None
    # a new timestamp is a new delivery (a second, identical payment the sender means), signed anew
    clock.travel(2)
    assert send(api, ch, ch["secret"], confirmation).data["replayed"] is False
    assert api.call("GET", "/v1/payments", admin).data["total"] == 2
    # once the window is over the captured bytes are stale: 401, nothing written
    clock.travel(400)
    assert send(api, ch, ch["secret"], confirmation, ts=ts).status_code == 401
    assert api.call("GET", "/v1/payments", admin).data["total"] == 2


def test_given_a_captured_web_order_resent_under_new_keys_then_401_for_the_key_is_signed(api, make_tenant):
    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    ts = int(clock.now().timestamp())
    order = {"order_no": "WO-7", "contact": {"name": "只要一条"}}
    raw = json.dumps(order, ensure_ascii=False).encode()
    first = send(api, ch, ch["secret"], raw, ts=ts)
    assert first.status_code == 200 and first.data["replayed"] is False
    # the attacker adds a fresh Idempotency-Key to the captured request: the signature does not cover it
    for i in range(3):
        swapped = send(api, ch, ch["secret"], raw, ts=ts, key=f"new-{i}", signature=signing.signature(ch["secret"], ts, raw))
        assert swapped.status_code == 401 and swapped.data["code"] == "INBOUND_UNAUTHORIZED"
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 1
    # a sender's keyed delivery: the key is signed, and cannot be moved to another value
    raw = json.dumps({"order_no": "WO-8", "contact": {"name": "有键订单"}}, ensure_ascii=False).encode()
    keyed = send(api, ch, ch["secret"], raw, ts=ts, key="WO-8")
    assert keyed.status_code == 200 and keyed.data["results"][0]["status"] == "created", keyed.data
    for other in ("WO-9", "WO-8 "):
        moved = send(api, ch, ch["secret"], raw, ts=ts, key=other, signature=signing.signature(ch["secret"], ts, raw, "WO-8"))
        assert moved.status_code == 401 or moved.data["replayed"] is True, moved.data
    # a sender that retries with a new timestamp and the same (signed) key gets the first answer
    clock.travel(30)
    again = send(api, ch, ch["secret"], raw, key="WO-8")
    assert again.data["replayed"] is True and again.data["results"] == keyed.data["results"]
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 2
    bad = send(api, ch, ch["secret"], raw, key="{x", lang="en")
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "Idempotency-Key"
    assert "must not begin with {" in bad.data["details"][0]["message"]


def test_given_a_double_send_while_the_first_is_being_written_then_409_then_the_first_answer_and_one_lead(api, make_tenant,
                                                                                                         monkeypatch):
    import threading

    from chalicelib.integrations import service

    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    ts = int(clock.now().timestamp())
    order = {"contact": {"name": "并发一次"}}
    inside, release = threading.Event(), threading.Event()
    real = service.deliver

    def slow(*args, **kwargs):
        inside.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "deliver", slow)
    answers: list = []
    first = threading.Thread(target=lambda: answers.append(send(api, ch, ch["secret"], order, ts=ts)))
    first.start()
    assert inside.wait(30)
    monkeypatch.setattr(service, "deliver", real)
    zh = send(api, ch, ch["secret"], order, ts=ts, lang="zh-CN")
    en = send(api, ch, ch["secret"], order, ts=ts, lang="en")
    release.set()
    first.join(30)
    assert zh.status_code == en.status_code == 409 and zh.data["code"] == en.data["code"] == "INBOUND_IN_PROGRESS"
    assert zh.headers.get("Retry-After") == "2"
    assert "处理中" in zh.data["message"] and "still being written" in en.data["message"]
    [done] = answers
    assert done.status_code == 200 and done.data["replayed"] is False
    retry = send(api, ch, ch["secret"], order, ts=ts)
    assert retry.data["replayed"] is True and retry.data["results"] == done.data["results"]
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 1


def test_given_four_concurrent_identical_sends_then_one_lead(api, make_tenant):
    from concurrent.futures import ThreadPoolExecutor

    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    ts = int(clock.now().timestamp())
    order = {"contact": {"name": "同时四次"}}
    api.pump()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: send(api, ch, ch["secret"], order, ts=ts), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {200, 409}, [a.data for a in answers]
    assert [a.data["replayed"] for a in answers if a.status_code == 200].count(False) == 1
    assert all(a.data["code"] == "INBOUND_IN_PROGRESS" for a in answers if a.status_code == 409)
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 1


def test_given_a_delivery_that_died_before_answering_then_a_resend_resumes_it_without_writing_twice(api, make_tenant,
                                                                                                   monkeypatch):
    from chalicelib.integrations import service

    t = make_tenant()
    ch = make(api, t["admin"], kind="web_order")
    ts = int(clock.now().timestamp())
    order = {"items": [{"contact": {"name": "断点一"}}, {"contact": {"name": "断点二"}}]}

    def crash(*args, **kwargs):
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(service, "_log", crash)
    assert send(api, ch, ch["secret"], order, ts=ts).status_code == 500
    monkeypatch.undo()
    assert send(api, ch, ch["secret"], order, ts=ts).status_code == 409  # as far as we know, still running
    clock.travel(service.IN_FLIGHT_SECONDS + 1)
    resumed = send(api, ch, ch["secret"], order, ts=ts)
    assert resumed.status_code == 200 and [r["status"] for r in resumed.data["results"]] == ["created", "created"]
    assert api.call("GET", "/v1/leads", t["admin"]).data["total"] == 2
    assert send(api, ch, ch["secret"], order, ts=ts).data["replayed"] is True
