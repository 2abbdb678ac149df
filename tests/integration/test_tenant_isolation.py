"""Tenant isolation: nothing of tenant A is reachable from tenant B through any route."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from chalicelib.core.api import ROUTES
from chalicelib.core.settings import environment
from tests.integration import records_kit


def test_given_two_tenants_when_b_calls_every_route_with_a_ids_then_nothing_of_a_is_read_or_changed(api, make_tenant, upload):
    a = make_tenant(mobile="13800000001")
    b = make_tenant(mobile="13800000001")  # the same mobile may exist in two tenants
    # Given tenant A has a record of every kind
    cust = api.call("POST", "/v1/customers", a["admin"], {"name": "华为技术有限公司", "mobile": "13912345678"}).data
    dept = api.call("POST", "/v1/org/departments", a["admin"], {"name": "销售部", "parent_id": a["root"]}).data
    role = api.call("POST", "/v1/org/roles", a["admin"], {"name": "只读", "actions": {"customers": ["list"]}}).data
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rem = api.call("POST", "/v1/reminders", a["admin"], {"title": "回访", "remind_at": soon}).data
    deleted = api.call("POST", "/v1/customers", a["admin"], {"name": "已删除客户"}).data
    api.call("DELETE", f"/v1/customers/{deleted['id']}", a["admin"], headers={"If-Match": '"1"'})
    field = api.call("POST", "/v1/fields/customer", a["admin"], {"key": "budget", "label": "甲方预算", "field_type": "number"}).data
    view = api.call("POST", "/v1/views/customer", a["admin"], {"name": "甲方场景", "shared": True}).data
    form = api.call("POST", "/v1/forms", a["admin"], {"name": "甲方请假单", "fields": [{"key": "days", "label": "天数", "field_type": "number"}]}).data
    approver = api.call("POST", "/v1/org/users", a["admin"], {"name": "甲方审批人", "mobile": "13800000009", "department_id": a["root"],
                                                            "password": "Passw0rd!2026"}).data
    flow = api.call("POST", "/v1/approval-flows", a["admin"], {"name": "甲方流程", "business_type": f"form:{form['id']}", "enabled": True,
                                                              "nodes": [{"id": "a", "name": "审批", "approvers": {"type": "users",
                                                                                                                  "user_ids": [approver["id"]]}}]}).data
    api.call("PATCH", f"/v1/forms/{form['id']}", a["admin"], {"flow_id": flow["id"]}, headers={"If-Match": f'"{form["version"]}"'})
    app = api.call("POST", "/v1/applications", a["admin"], {"form_id": form["id"], "data": {"days": 3}}).data
    assert app["instance_id"], app
    file = upload(a["admin"], b"%PDF-1.7 secret", name="甲方合同.pdf")
    assert api.call("POST", f"/v1/customers/{cust['id']}/attachments", a["admin"], {"file_id": file["id"]}).status_code == 201
    obj = api.call("POST", "/v1/objects", a["admin"], {"key": "a_orders", "label": "甲方对象", "title_field": "title",
                                                     "fields": [{"key": "title", "label": "标题", "type": "text"},
                                                                {"key": "scan", "label": "扫描件", "type": "file"}]}).data
    obj_rec = api.call("POST", "/v1/objects/a_orders/records", a["admin"], {"title": "甲方对象记录", "scan": [file["id"]]}).data
    assert obj_rec["scan"][0]["id"] == file["id"], obj_rec
    secrets = {cust["id"], dept["id"], role["id"], rem["id"], deleted["id"], a["admin_id"], "华为技术有限公司", "13912345678",
               field["label"], view["id"], view["name"], form["id"], flow["id"], app["id"], app["instance_id"], "甲方请假单", "甲方流程",
               file["id"], file["name"], file["sha256"], obj["label"], obj_rec["id"], "甲方对象记录"}
    pool = api.call("POST", "/v1/pools", a["admin"], {"name": "甲方公海", "admin_ids": [a["admin_id"]]}).data
    secrets |= {pool["id"], pool["name"]}
    values = {"pool_id": pool["id"], "customer_id": cust["id"], "dept_id": dept["id"], "role_id": role["id"], "reminder_id": rem["id"],
              "user_id": a["admin_id"], "record_id": cust["id"], "entity": "customer", "dict_type": "industry", "code": "it",
              "rule_key": "contract", "notification_id": "x", "key": "budget", "view_id": view["id"], "form_id": form["id"],
              "flow_id": flow["id"], "app_id": app["id"], "instance_id": app["instance_id"], "file_id": file["id"],
              "object": obj["key"], "type": obj["type"], "period": "2026-11"}
    # and one record of every other record type the manifest declares (their routes take <type>_id)
    for name, made in records_kit.one_of_each(api, a["admin"], {"customer": cust["id"]}, tag="甲方").items():
        values[f"{name}_id"] = made["record"]["id"]
        secrets |= {made["record"]["id"], *(v for v in made["body"].values() if isinstance(v, str) and v.startswith("甲方"))}
    cust = api.call("GET", f"/v1/customers/{cust['id']}", a["admin"]).data  # as stored now (a revisit stamps its customer)
    obj = api.call("POST", "/v1/objects", a["admin"], {"key": "secret_orders", "label": "甲方秘单", "title_field": "title",
                                                         "fields": [{"key": "title", "label": "主题", "type": "text"}]})
    assert obj.status_code == 201, obj.data
    orec = api.call("POST", "/v1/objects/secret_orders/records", a["admin"], {"title": "甲方机密订单"}).data
    values.update({"object": "secret_orders", "type": "obj_secret_orders"})
    secrets |= {"甲方秘单", "甲方机密订单", orec["id"]}
    from chalicelib.core import context
    from chalicelib.jobs import service as jobs
    from chalicelib.org import service as org

    jobs.install({"isolation_probe": lambda ctx: True})
    with context.acting_as(context.RequestContext(tenant_id=a["id"], user_id=a["admin_id"])):
        job = jobs.create(org.principal(), "isolation_probe", {"file": "甲方客户.xlsx"}, queue=False)
    values["job_id"] = job["id"]
    secrets.add(job["id"])
    backup = api.call("POST", "/v1/backups", a["admin"]).data  # A's backup (queued): B gets no handle on it
    values["backup_id"] = backup["id"]
    secrets.add(backup["id"])
    imported = api.call("POST", "/v1/imports", a["admin"], {"type": "customer", "file_name": "甲方导入.csv", "size": 1,
                                                            "sha256": "0" * 64, "format": "csv"})
    assert imported.status_code == 201, imported.data
    values["import_id"] = imported.data["id"]
    secrets |= {imported.data["id"], "甲方导入.csv"}
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true"):  # A's webhook (loopback: nothing leaves the machine)
        hook = api.call("POST", "/v1/webhooks", a["admin"], {"url": "http://127.0.0.1:9/jiafang", "events": ["*"],
                                                             "description": "甲方推送"}).data
    values.update({"webhook_id": hook["id"], "delivery_id": "x"})
    values["date"] = "2030-01-14"  # an occurrence of A's event (the route answers 404 to B)
    values.update({"view": "today", "comment_id": "x"})  # task views; a comment of A's task (its task is A's)
    secrets |= {hook["id"], hook["secret"], "甲方推送", "jiafang"}
    channel = api.call("POST", "/v1/integrations/inbound", a["admin"], {"name": "甲方官网", "kind": "web_order",
                                                                       "description": "甲方集成"}).data
    values["channel_id"] = channel["id"]
    secrets |= {channel["id"], channel["secret"], "甲方官网", "甲方集成"}
    group = api.call("POST", "/v1/messages/conversations", a["admin"], {"name": "甲方群聊", "member_ids": [approver["id"]]}).data
    api.call("POST", f"/v1/messages/conversations/{group['id']}/messages", a["admin"], {"text": "甲方私信"})
    column = api.call("POST", "/v1/announcement-columns", a["admin"], {"id": "jiafang", "name": "甲方栏目"}).data
    values.update({"conversation_id": group["id"], "column_id": column["id"]})
    secrets |= {group["id"], "甲方群聊", "甲方私信", "甲方栏目"}
    mailbox = api.call("POST", "/v1/mail/mailboxes", a["admin"], {"name": "甲方邮箱", "local_part": "jiafang"}).data
    campaign = api.call("POST", "/v1/mail/campaigns", a["admin"], {"type": "customer", "subject": "甲方群发", "body_text": "x"}).data
    values.update({"mailbox_id": mailbox["id"], "campaign_id": campaign["id"]})
    secrets |= {mailbox["id"], "甲方邮箱", campaign["id"], "甲方群发"}
    bodies = {"POST": {}, "PUT": {"members": [], "name": "x"}, "PATCH": {"name": "篡改", "version": 1}}

    # When B's super administrator calls every route with A's identifiers
    for spec in ROUTES.values():
        if spec.public or spec.tag == "platform":
            continue
        path = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], spec.path)
        if spec.path == "/v1/recycle-bin/{entity}/{record_id}" or spec.path.endswith("/restore"):
            path = path.replace(cust["id"], deleted["id"])
        if spec.path.startswith("/v1/objects/{object}/records/{record_id}"):
            path = path.replace(cust["id"], obj_rec["id"])
        r = api.call(spec.method, path, b["admin"], body=bodies.get(spec.method), headers={"If-Match": '"1"'})
        text = json.dumps(r.data, ensure_ascii=False) if r.data is not None else ""
        # Then nothing of A comes back, whatever the status
        leaked = [s for s in secrets if s in text]
        assert not leaked, (spec.method, spec.path, r.status_code, leaked)
        if spec.path_params and spec.method != "GET" and spec.tag not in ("numbering", "dictionaries", "commission"):  # keys and months, not ids
            assert r.status_code >= 400, (spec.method, spec.path, r.status_code)

    # The public inbound endpoint: B's administrator, signing with A's secret under B's tenant, gets the one 401
    from chalicelib.core import clock
    from chalicelib.webhooks import signing

    ts = int(clock.now().timestamp())
    raw = json.dumps({"contact": {"name": "乙方写入"}}).encode()
    for tenant, key in ((b["id"], channel["secret"]), (a["id"], "guessed")):
        r = api.http.post(f"/v1/inbound/{tenant}/{channel['id']}", body=raw, headers={
            "Content-Type": "application/json", "X-CRM-Timestamp": str(ts), "X-CRM-Signature": signing.signature(key, ts, raw)})
        assert r.status_code == 401 and b"INBOUND_UNAUTHORIZED" in r.body, r.body
    # And A's records are untouched
    again = api.call("GET", f"/v1/customers/{cust['id']}", a["admin"]).data
    assert again["name"] == "华为技术有限公司" and again["version"] == cust["version"]
    assert api.call("GET", f"/v1/reminders/{rem['id']}", a["admin"]).data["status"] == "scheduled"
    bin_a = api.call("GET", "/v1/recycle-bin", a["admin"]).data["items"]
    assert [i["id"] for i in bin_a] == [deleted["id"]]
    names = {d["name"] for d in api.call("GET", "/v1/org/departments", a["admin"]).data["items"]}
    assert "销售部" in names
    assert [f["label"] for f in api.call("GET", "/v1/fields/customer", a["admin"]).data["items"]] == ["甲方预算"]
    assert [v["name"] for v in api.call("GET", "/v1/views/customer", a["admin"]).data["items"]] == ["甲方场景"]
    assert [x["file_id"] for x in api.call("GET", f"/v1/customers/{cust['id']}/attachments", a["admin"]).data["items"]] == [file["id"]]
    assert api.call("GET", f"/v1/files/{file['id']}", a["admin"]).data["status"] == "uploaded"
    assert api.call("GET", f"/v1/objects/a_orders/records/{obj_rec['id']}", a["admin"]).data["version"] == obj_rec["version"]
    mine = api.call("GET", f"/v1/approvals/{app['instance_id']}", a["admin"]).data
    assert mine["status"] == "running" and mine["version"] == 1
    assert api.call("GET", f"/v1/approval-flows/{flow['id']}", a["admin"]).data["enabled"] is True
    assert api.call("GET", f"/v1/jobs/{job['id']}", a["admin"]).data["status"] == "queued"  # B's cancel did not reach it
    assert api.call("GET", f"/v1/integrations/inbound/{channel['id']}", a["admin"]).data["version"] == channel["version"]
    # B's lists, search and facets over the same index hold nothing of A (B signed out everywhere above: sign in again)
    b_token = api.call("POST", "/v1/auth/login", body={"tenant_id": b["id"], "mobile": "13800000001", "password": "Passw0rd!2026"}).data["id_token"]
    b_list = api.call("GET", "/v1/customers?facets=level", b_token)
    assert b_list.status_code == 200 and b_list.data["total"] == 0, b_list.data
    assert api.call("GET", "/v1/search?q=%E5%8D%8E%E4%B8%BA", b_token).data["total"] == 0


def test_given_token_for_tenant_a_user_when_claiming_tenant_b_then_401(api, make_tenant):
    from chalicelib.core.auth import issue_local_token

    a = make_tenant()
    b = make_tenant()
    forged = issue_local_token(b["id"], a["admin_id"])  # A's user id, B's tenant claim
    r = api.call("GET", "/v1/customers", forged)
    assert r.status_code == 401
