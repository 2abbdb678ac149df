"""Every list that takes a cursor accepts only cursors it issued: a made-up, modified or foreign one
(another listing, user or tenant) is 400 INVALID_CURSOR, never a 5xx — and a cursor signed with the
right secret but carrying values of the wrong shape is refused too (core/pagination.py)."""
from __future__ import annotations

import base64

import pytest

from chalicelib.core import pagination
from chalicelib.core.api import ROUTES
from chalicelib.core.settings import environment
from tests.conftest import platform_token
from tests.integration import records_kit

MEMO = {"key": "memo", "label": "备忘", "label_en": "Memo", "title_field": "title",
        "fields": [{"key": "title", "label": "标题", "type": "text", "required": True}]}


def cursor_routes() -> list[str]:
    import app  # noqa: F401 - registers every route

    return sorted(path for (path, method), spec in ROUTES.items()
                  if method == "GET" and spec.query is not None and "cursor" in spec.query.model_fields)


def flipped(cursor: str, at: int = 20) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[at] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture()
def world(api, sales_team):
    """One record of every kind a cursor route hangs off, and two real cursors of two listings."""
    t, admin = sales_team, sales_team["admin"]
    customers = [api.call("POST", "/v1/customers", t["tokens"]["rep1"], {"name": n}).data for n in ("华为技术有限公司", "小米科技")]
    competitor = api.call("POST", "/v1/competitors", admin, {"name": "金蝶软件"})
    assert competitor.status_code == 201, competitor.data
    assert api.call("POST", "/v1/objects", admin, MEMO).status_code == 201
    memo = api.call("POST", "/v1/objects/memo/records", admin, {"title": "周会纪要"})
    assert memo.status_code == 201, memo.data
    users = api.call("GET", "/v1/org/users?limit=1", admin).data["next_cursor"]
    listed = api.call("GET", "/v1/customers?limit=1", admin).data["next_cursor"]
    assert users and listed
    pool = api.call("POST", "/v1/pools", admin, {"name": "公海", "admin_ids": [t["admin_id"]]})
    assert pool.status_code == 201, pool.data
    values = {"pool_id": pool.data["id"], "customer_id": customers[0]["id"], "competitor_id": competitor.data["id"], "object": "memo",
              "record_id": memo.data["id"], "entity": "memo"}
    imported = api.call("POST", "/v1/imports", admin, {"type": "customer", "file_name": "a.csv", "size": 1, "sha256": "0" * 64,
                                                       "format": "csv"})
    assert imported.status_code == 201, imported.data
    values["import_id"] = imported.data["id"]
    refs = {"customer": customers[0]["id"], "competitor": competitor.data["id"]}
    values |= {f"{name}_id": one["record"]["id"] for name, one in records_kit.one_of_each(api, admin, refs).items()}
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true"):  # registered only: no bus driver runs here, nothing is sent
        hook = api.call("POST", "/v1/webhooks", admin, {"url": "http://127.0.0.1:9/hook", "events": ["webhooks.*"]})
    assert hook.status_code == 201, hook.data
    values["webhook_id"] = hook.data["id"]
    channel = api.call("POST", "/v1/integrations/inbound", admin, {"name": "官网订单", "kind": "web_order"})
    assert channel.status_code == 201, channel.data
    values["channel_id"] = channel.data["id"]
    values["view"] = "done"  # GET /v1/tasks/views/{view}
    group = api.call("POST", "/v1/messages/conversations", admin, {"name": "项目组", "member_ids": [t["rep1"]]})
    assert group.status_code == 201, group.data
    values["conversation_id"] = group.data["id"]
    return {**t, "customers": customers, "values": values, "users_cursor": users, "customers_cursor": listed}


def _get(api, world, path: str, cursor: str | None):
    token = platform_token() if path.startswith("/v1/platform/") else world["admin"]
    concrete = path.format(**world["values"])
    return api.call("GET", concrete + (f"?cursor={cursor}" if cursor is not None else ""), token)


def test_given_every_cursor_route_when_the_cursor_is_made_up_tampered_or_foreign_then_400_invalid_cursor(api, world):
    routes = cursor_routes()
    assert "/v1/reminders" in routes and "/v1/customers" in routes and "/v1/org/users" in routes
    wrong = []
    for path in routes:
        assert _get(api, world, path, None).status_code == 200, path  # the route itself works
        foreign = world["customers_cursor"] if path == "/v1/org/users" else world["users_cursor"]
        own = world["customers_cursor"] if path == "/v1/customers" else foreign
        cases = {"garbage": "garbage!!", "base64 text": b64("not-a-cursor"), "base64 json": b64('"abc"'),
                 "old style": b64('{"pk":{"S":"T#x#REMINDER#1"},"sk":{"S":"R#1"}}'),
                 "tampered": flipped(own), "foreign": foreign}
        for case, cursor in cases.items():
            r = _get(api, world, path, cursor)
            if r.status_code != 400 or (r.data or {}).get("code") != "INVALID_CURSOR":
                wrong.append((path, case, r.status_code, r.data))
    assert not wrong


FORGED = ["abc", -1, 1.5, True, {"pk": {"S": "x"}}, [], [1, 2], [None, None, None], [{"x": 1}, "c1"], ["@offset", -5],
          [2**80, "c1"], [["x"], "y", "z"]]


def test_given_a_cursor_signed_with_the_right_secret_but_values_of_the_wrong_shape_then_400_on_every_route(
        api, world, monkeypatch):
    """As if the secret had leaked: the signature passes, the values are still checked before any query."""
    wrong = []
    for state in FORGED:
        monkeypatch.setattr(pagination, "_open", lambda cursor, listing, state=state: state)
        for path in cursor_routes():
            r = _get(api, world, path, "forged")
            if r.status_code != 400 or (r.data or {}).get("code") != "INVALID_CURSOR":
                wrong.append((state, path, r.status_code, r.data))
    assert not wrong


def test_given_a_cursor_of_one_user_when_another_user_or_tenant_sends_it_then_400(api, world, make_tenant):
    admin, rep1 = world["admin"], world["tokens"]["rep1"]
    customer = world["customers"][0]
    # a record's log is one partition every reader shares; the cursor is still the reader's own
    version = api.call("GET", f"/v1/customers/{customer['id']}", rep1).data["version"]  # a revisit of the world stamped it
    r = api.call("PATCH", f"/v1/customers/{customer['id']}", rep1, {"remark": "到访"}, headers={"If-Match": f'"{version}"'})
    assert r.status_code == 200, r.data
    log = f"/v1/records/customer/{customer['id']}/logs?limit=1"
    mine = api.call("GET", log, admin).data["next_cursor"]
    assert mine
    assert api.call("GET", f"{log}&cursor={mine}", admin).status_code == 200
    theirs = api.call("GET", f"{log}&cursor={mine}", rep1)
    assert theirs.status_code == 400 and theirs.data["code"] == "INVALID_CURSOR"

    users = world["users_cursor"]
    assert api.call("GET", f"/v1/org/users?limit=1&cursor={users}", admin).status_code == 200
    other_tenant = make_tenant(mobile="13600000000")
    for token in (world["tokens"]["manager"], other_tenant["admin"]):
        r = api.call("GET", f"/v1/org/users?limit=1&cursor={users}", token)
        assert r.status_code == 400 and r.data["code"] == "INVALID_CURSOR"
    # the same listing with other filters is another listing
    r = api.call("GET", f"/v1/org/users?limit=1&status=active&cursor={users}", admin)
    assert r.status_code == 400 and r.data["code"] == "INVALID_CURSOR"
    r = api.call("GET", f"/v1/customers?limit=1&sort=name&cursor={world['customers_cursor']}", admin)
    assert r.status_code == 400 and r.data["code"] == "INVALID_CURSOR"


def test_given_the_openapi_document_then_cursors_are_described_as_opaque_and_400_is_documented(api):
    from chalicelib.core.openapi import document

    doc = document()
    for path in cursor_routes():
        op = doc["paths"][path]["get"]
        (param,) = [p for p in op["parameters"] if p["name"] == "cursor"]
        assert param["description"] == pagination.CURSOR_DESCRIPTION, path
        assert "INVALID_CURSOR" in op["responses"]["400"]["description"], path
        assert op["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
