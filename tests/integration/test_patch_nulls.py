"""PATCH bodies and explicit nulls: a field left out keeps its value, null clears a field that
may be empty, and null for a field that must keep a value is a 422 naming the field — never a
500. Every PATCH route of the API, every field of its body, against a real record."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core import i18n
from chalicelib.core.api import ROUTES, resolve
from chalicelib.core.patch import Patch
from chalicelib.core.settings import environment
from tests.conftest import platform_token
from tests.integration import records_kit


def _one_record_per_patch_route(api, t) -> tuple[dict[str, str], dict[str, int], dict[str, list[str]]]:
    """PATCH route -> the path of a record it changes, that record's version, and fields its
    body takes besides the declared ones (a custom object's record takes the object's fields)."""
    admin = t["admin"]

    def made(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.call(method, path, admin, body)
        assert r.status_code in (200, 201), (path, r.data)
        return r.data

    dept = made("POST", "/v1/org/departments", {"name": "销售部", "parent_id": t["root"]})
    user = made("POST", "/v1/org/users", {"name": "李娜", "mobile": "13900000011", "department_id": dept["id"], "email": "li@example.com",
                                          "position": "gm", "supervisor_id": t["admin_id"], "password": "Passw0rd!2026"})
    role = made("POST", "/v1/org/roles", {"name": "只读", "description": "只看客户", "actions": {"customers": ["list"]}})
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    reminder = made("POST", "/v1/reminders", {"title": "回访", "remind_at": soon, "note": "带上报价"})
    field = made("POST", "/v1/fields/customer", {"key": "budget", "label": "预算", "field_type": "number"})
    view = made("POST", "/v1/views/customer", {"name": "大客户", "q": "华为", "sort": "-created_at", "facets": ["level"], "scope": "mine",
                                               "filters": [{"field": "level", "op": "eq", "value": "A"}]})
    item = made("POST", "/v1/dictionaries/industry", {"code": "logistics", "label": "物流", "label_en": "Logistics"})
    form = made("POST", "/v1/forms", {"name": "请假单", "fields": [{"key": "days", "label": "天数", "field_type": "number"}]})
    flow = made("POST", "/v1/approval-flows", {"name": "请假流程", "business_type": f"form:{form['id']}", "enabled": True,
                                               "nodes": [{"id": "a", "name": "审批", "approvers": {"type": "users", "user_ids": [t["admin_id"]]}}]})
    form = api.call("PATCH", f"/v1/forms/{form['id']}", admin, {"flow_id": flow["id"]}, headers={"If-Match": f'"{form["version"]}"'}).data
    application = made("POST", "/v1/applications", {"form_id": form["id"], "data": {"days": 2}, "submit": False})
    obj = made("POST", "/v1/objects", {"key": "orders", "label": "订单", "label_en": "Orders", "title_field": "title",
                                       "fields": [{"key": "title", "label": "标题", "type": "text", "required": True},
                                                  {"key": "amount", "label": "金额", "type": "number"}]})
    order = made("POST", "/v1/objects/orders/records", {"title": "春季订单", "amount": 100})
    pool = made("POST", "/v1/pools", {"name": "公海", "admin_ids": [user["id"]], "daily_claim_cap": 5})
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true"):  # registered only: nothing is sent here
        hook = made("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["webhooks.*"], "description": "ERP"})
    channel = made("POST", "/v1/integrations/inbound", {"name": "官网订单", "kind": "web_order", "description": "官网"})
    weekly = made("POST", "/v1/events?force=true", {"title": "周会", "start_at": "2030-01-07T09:00:00+08:00", "rrule": "FREQ=WEEKLY;COUNT=4"})
    column = made("POST", "/v1/announcement-columns", {"id": "bulletin", "name": "通报", "publisher_roles": ["admin"]})
    records = {
        "/v1/pools/{pool_id}": pool, "/v1/webhooks/{webhook_id}": hook, "/v1/integrations/inbound/{channel_id}": channel,
        "/v1/org/departments/{dept_id}": dept, "/v1/org/users/{user_id}": user, "/v1/org/roles/{role_id}": role,
        "/v1/reminders/{reminder_id}": reminder, "/v1/fields/{entity}/{key}": field, "/v1/views/{entity}/{view_id}": view,
        "/v1/dictionaries/{dict_type}/{code}": item, "/v1/forms/{form_id}": form, "/v1/approval-flows/{flow_id}": flow,
        "/v1/applications/{app_id}": application, "/v1/objects/{object}": obj, "/v1/objects/{object}/records/{record_id}": order,
        "/v1/announcement-columns/{column_id}": column,
    }
    values = {"pool_id": pool["id"], "webhook_id": hook["id"], "channel_id": channel["id"], "dept_id": dept["id"], "user_id": user["id"], "role_id": role["id"], "reminder_id": reminder["id"], "entity": "customer",
              "key": "budget", "view_id": view["id"], "dict_type": "industry", "code": "logistics", "form_id": form["id"],
              "flow_id": flow["id"], "app_id": application["id"], "object": "orders", "record_id": order["id"],
              "column_id": column["id"]}
    from chalicelib import manifest

    paths_of = {d.name: d.path for d in manifest.entities()}
    for name, one in records_kit.one_of_each(api, admin, {}).items():  # every standard record type (customers, leads, …)
        records[f"/v1{paths_of[name]}/{{{name}_id}}"] = one["record"]
        values[f"{name}_id"] = one["record"]["id"]
    tenants = api.call("GET", "/v1/platform/tenants?limit=100", platform_token()).data["items"]
    records["/v1/platform/tenants/{tenant_id}"] = next(x for x in tenants if x["id"] == t["id"])  # platform operators'
    values["tenant_id"] = t["id"]
    records["/v1/mail/mailboxes/{mailbox_id}"] = made("POST", "/v1/mail/mailboxes", {"name": "销售支持", "local_part": "support"})
    values["mailbox_id"] = records["/v1/mail/mailboxes/{mailbox_id}"]["id"]
    occurrence = "/v1/events/{event_id}/occurrences/{date}"  # a recurring event's (the record kit's event does not recur)
    records[occurrence] = weekly
    paths = {template: re.sub(r"{(\w+)}", lambda m: values[m.group(1)], template) for template in records if template != occurrence}
    paths[occurrence] = f"/v1/events/{weekly['id']}/occurrences/2030-01-14"
    versions = {template: rec["version"] for template, rec in records.items()}
    return paths, versions, {"/v1/objects/{object}/records/{record_id}": ["title", "amount"]}


def test_given_every_patch_route_when_each_field_is_sent_as_null_then_422_naming_it_or_a_change_never_a_500(api, make_tenant):
    t = make_tenant()
    paths, versions, extra = _one_record_per_patch_route(api, t)
    patch_routes = {path: spec for (path, method), spec in ROUTES.items() if method == "PATCH"}
    assert set(patch_routes) == set(paths), "a PATCH route without a record in this test"

    for template, spec in sorted(patch_routes.items()):
        model = resolve(spec.body)
        names = [*model.model_fields, *extra.get(template, [])]
        refused = model._fields_without_null() if issubclass(model, Patch) else frozenset()
        for name in [*names, None]:  # each field alone, then all of them at once
            body = {n: None for n in names} if name is None else {name: None}
            token = platform_token() if spec.tag == "platform" else t["admin"]
            r = api.call("PATCH", paths[template], token, body,
                         headers={"If-Match": f'"{versions[template]}"', "Accept-Language": "en"})
            where = (template, name, r.status_code, r.data)
            assert r.status_code in (200, 422), where
            assert "version" in r.data if r.status_code == 200 else set(r.data) == {"code", "message", "details"}, where
            if r.status_code == 200:
                versions[template] = r.data["version"]
                if (template, "GET") in ROUTES:  # what was stored still reads
                    assert api.call("GET", paths[template], token).status_code == 200, where
            else:
                fields = {e["field"]: e for e in r.data["details"]}
                assert r.data["code"] == "VALIDATION_FAILED", where
                # the null is named, unless the body lacks a field it needs (ApplicationPatch.data)
                assert name is None or name in fields or {e["type"] for e in fields.values()} == {"missing"}, where
            if name in refused:
                assert r.status_code == 422 and fields[name]["type"] == "not_null", where
                assert fields[name]["message"] == i18n.text("field.not_null", "en"), where


def test_given_form_when_spec_is_patched_to_null_then_422_in_the_callers_language_and_the_form_is_unchanged(api, make_tenant):
    t = make_tenant()
    form = api.call("POST", "/v1/forms", t["admin"], {"name": "请假单", "fields": [{"key": "days", "label": "天数", "field_type": "number"}]}).data
    r = api.call("PATCH", f"/v1/forms/{form['id']}", t["admin"], {"spec": None}, headers={"If-Match": f'"{form["version"]}"'})

    assert r.status_code == 422, r.data
    assert r.data["details"] == [{"field": "spec", "type": "not_null", "message": i18n.text("field.not_null", "zh-CN")}]
    assert api.call("GET", f"/v1/forms/{form['id']}", t["admin"]).data["spec"]["name"] == "请假单"


def test_given_nullable_field_when_patched_to_null_then_it_is_cleared(api, make_tenant):
    t = make_tenant()
    item = api.call("POST", "/v1/dictionaries/industry", t["admin"], {"code": "logistics", "label": "物流", "label_en": "Logistics"}).data
    r = api.call("PATCH", "/v1/dictionaries/industry/logistics", t["admin"], {"label_en": None},
                 headers={"If-Match": f'"{item["version"]}"'})

    assert r.status_code == 200, r.data
    assert r.data["label_en"] is None and r.data["label"] == "物流"
