"""Tried as a new user would: the local stack over HTTP, with the demo company."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import requests

from devstack import demo

REP, MANAGER, OTHER_REP, CEO = "13800000004", "13800000003", "13800000007", "13800000000"


def _names(stack, token, path="/v1/customers?limit=100"):
    r = stack.call("GET", path, token)
    assert r.status_code == 200, r.text
    return {c["name"] for c in r.json()["items"]}


def test_given_demo_company_when_rep_and_manager_sign_in_then_manager_sees_reps_customers_not_vice_versa(stack):
    rep, manager = stack.login(REP), stack.login(MANAGER)
    rep_sees, manager_sees = _names(stack, rep), _names(stack, manager)
    assert {"华为技术有限公司", "上海ACME贸易有限公司"} <= rep_sees  # hers (she may claim and convert more in other tests)
    assert not rep_sees & {name for name, owner, *_ in demo.CUSTOMERS if owner != "rep1"}
    assert rep_sees < manager_sees
    assert "南京金陵地产集团" in manager_sees  # the manager's own
    assert "南京金陵地产集团" not in rep_sees
    assert "广州云帆教育科技有限公司" not in manager_sees  # another team's
    managers_own = next(c for c in stack.call("GET", "/v1/customers?scope=mine", manager).json()["items"])
    assert stack.call("GET", f"/v1/customers/{managers_own['id']}", rep).status_code == 404  # as a missing one
    assert {c[0] for c in demo.CUSTOMERS + demo.AGING} <= _names(stack, stack.login(CEO))  # every one, in a pool or not


def test_given_no_or_bad_token_when_calling_then_401(stack):
    r = stack.call("GET", "/v1/customers")
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"
    assert stack.call("GET", "/v1/customers", "not.a.token").status_code == 401
    assert stack.call("GET", "/v1/health").status_code == 200
    assert stack.call("GET", "/openapi.json").json()["openapi"] == "3.1.0"


def test_given_second_tenant_when_its_admin_looks_for_demo_data_then_nothing_is_reachable(stack):
    r = stack.call("POST", "/v1/platform/tenants", stack.platform_token(), {
        "id": "rival", "name": "竞品公司", "admin_name": "对手", "admin_mobile": REP, "admin_password": "Rival@2026!safe"})
    assert r.status_code == 201, r.text
    rival = stack.login(REP, tenant="rival", password="Rival@2026!safe")
    assert _names(stack, rival) == set()
    demo_customer = next(iter(stack.call("GET", "/v1/customers", stack.login(REP)).json()["items"]))
    for method in ("GET", "PATCH", "DELETE"):
        resp = stack.call(method, f"/v1/customers/{demo_customer['id']}", rival, body={"name": "x", "version": 1},
                          headers={"If-Match": '"1"'})
        assert resp.status_code == 404, (method, resp.text)
    logs = stack.call("GET", f"/v1/records/customer/{demo_customer['id']}/logs", rival)
    assert logs.status_code == 404 or logs.json()["items"] == []  # looked up in rival's own partition
    again = stack.call("GET", f"/v1/customers/{demo_customer['id']}", stack.login(REP)).json()
    assert again["name"] == demo_customer["name"] and again["version"] == demo_customer["version"]


def test_given_rep_when_creating_then_manager_sees_it_and_conflicting_edit_is_409(stack):
    rep, manager = stack.login(REP), stack.login(MANAGER)
    created = stack.call("POST", "/v1/customers", rep, {"name": "新客户（端到端）", "mobile": "13700001111"},
                         headers={"Idempotency-Key": "e2e-create-1"})
    assert created.status_code == 201, created.text
    replay = stack.call("POST", "/v1/customers", rep, {"name": "新客户（端到端）", "mobile": "13700001111"},
                        headers={"Idempotency-Key": "e2e-create-1"})
    assert replay.json()["id"] == created.json()["id"]
    deadline = time.monotonic() + 2  # lists follow the table through the stream (documented: about a second)
    while "新客户（端到端）" not in _names(stack, manager) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "新客户（端到端）" in _names(stack, manager)
    cid = created.json()["id"]
    assert stack.call("PATCH", f"/v1/customers/{cid}", manager, {"level": "A"}, headers={"If-Match": created.headers["ETag"]}).status_code == 200
    stale = stack.call("PATCH", f"/v1/customers/{cid}", rep, {"level": "C"}, headers={"If-Match": created.headers["ETag"], "Accept-Language": "en"})
    assert stale.status_code == 409 and stale.json()["message"].startswith("Someone else changed")


def test_given_reminder_due_in_seconds_when_waiting_then_it_arrives_in_the_inbox(stack):
    rep = stack.login(OTHER_REP)
    due = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    r = stack.call("POST", "/v1/reminders", rep, {"title": "给广州云帆回电话", "remind_at": due})
    assert r.status_code == 201, r.text
    def arrived() -> list[dict] | None:  # her inbox may hold the demo's own (care, pool) notifications too
        inbox = stack.call("GET", "/v1/notifications?limit=50", rep).json()["items"]
        return [n for n in inbox if n["kind"] == "reminder"] or None

    mine = stack.eventually(arrived, timeout=30, every=0.5)
    assert mine and [n["title"] for n in mine] == ["提醒：给广州云帆回电话"]
    assert stack.call("GET", f"/v1/reminders/{r.json()['id']}", rep).json()["status"] == "delivered"


def test_given_transfer_when_bus_delivers_event_then_new_owner_is_notified(stack):
    rep, other = stack.login(REP), stack.login(OTHER_REP)
    before = stack.call("GET", "/v1/notifications/unread-count", other).json()["unread"]
    other_id = stack.call("GET", "/v1/me", other).json()["user"]["id"]
    c = stack.call("POST", "/v1/customers", rep, {"name": "转给王芳的客户"}).json()
    r = stack.call("POST", f"/v1/customers/{c['id']}/transfer", rep, {"to_user_id": other_id, "version": c["version"]})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and stack.call("GET", "/v1/notifications/unread-count", other).json()["unread"] == before:
        time.sleep(0.5)
    titles = [n["title"] for n in stack.call("GET", "/v1/notifications", other).json()["items"]]
    assert "客户「转给王芳的客户」已转移给你" in titles


def test_given_a_rep_when_uploading_a_file_then_the_presigned_urls_reach_the_local_s3_and_the_manager_downloads_it(stack):
    import hashlib

    import requests

    rep, manager = stack.login(REP), stack.login(MANAGER)
    body = "华为框架合同 v3".encode() * 1000
    r = stack.call("POST", "/v1/files", rep, {"name": "框架合同.pdf", "content_type": "application/pdf", "size": len(body),
                                              "sha256": hashlib.sha256(body).hexdigest()})
    assert r.status_code == 201, r.text
    f = r.json()
    moto = f"http://127.0.0.1:{stack.env['CRM_MOTO_PORT']}/"
    assert f["upload"]["url"].startswith(moto)  # the moto server of the stack, path-style
    put = requests.put(f["upload"]["url"], data=body, headers=f["upload"]["headers"], timeout=30)
    assert put.status_code == 200, put.text
    assert stack.call("POST", f"/v1/files/{f['id']}/confirm", rep).json()["status"] == "uploaded"
    huawei = next(c for c in stack.call("GET", "/v1/customers?scope=mine", rep).json()["items"] if c["name"] == "华为技术有限公司")
    assert stack.call("POST", f"/v1/customers/{huawei['id']}/attachments", rep, {"file_id": f["id"]}).status_code == 201
    [attachment] = stack.call("GET", f"/v1/customers/{huawei['id']}/attachments", manager).json()["items"]
    got = requests.get(attachment["download_url"], timeout=30)
    assert got.status_code == 200 and got.content == body


# ---- one error shape for what the gateway answers before the app (an unknown route, a method, a body)

def _error(r, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return body


def _raw(stack, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """One request written as bytes (what a client library would not send); the answer, read to the end."""
    import socket

    port = int(stack.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}, body


def test_given_unknown_route_when_called_with_or_without_credentials_then_404_in_our_shape_echoing_nothing(stack):
    secret = "Bearer eyJ.secret-token-7f3a"
    for headers in ({}, {"Authorization": secret}, {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDSECRET/x"}):
        for method in ("GET", "POST", "DELETE"):
            r = stack.call(method, "/v1/no-such-thing/42", headers=headers)
            body = _error(r, 404, "ROUTE_NOT_FOUND")
            assert body == {"code": "ROUTE_NOT_FOUND", "message": "接口不存在", "details": None}
            assert "secret" not in r.text.lower() and "AKID" not in r.text
            assert not any("secret" in v.lower() or "AKID" in v for v in r.headers.values()), r.headers
    english = stack.call("GET", "/nothing-here", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert _error(english, 404, "ROUTE_NOT_FOUND")["message"] == "No such endpoint"


def test_given_existing_route_when_called_with_another_method_then_405_in_our_shape_with_allow(stack):
    r = stack.call("PUT", "/v1/health", headers={"Accept-Language": "en"})
    assert _error(r, 405, "METHOD_NOT_ALLOWED")["message"] == "This endpoint does not support the request method"
    assert r.headers["Allow"] == "GET"
    for method in ("TRACE", "CONNECT", "PROPFIND", "QUERY"):  # methods http.server has no handler for
        r = stack.http.request(method, stack.url + "/v1/customers", timeout=10)
        _error(r, 405, "METHOD_NOT_ALLOWED")
        assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
        _error(stack.http.request(method, stack.url + "/v1/nope", timeout=10), 404, "ROUTE_NOT_FOUND")


def test_given_head_on_a_route_without_it_when_called_then_405_headers_without_a_body_and_the_connection_serves_on(stack):
    r = stack.http.head(stack.url + "/v1/health", timeout=10)
    assert r.status_code == 405 and r.content == b"" and r.headers["Content-Type"].startswith("application/json")
    assert stack.call("GET", "/v1/health").json()["status"] == "ok"  # same keep-alive connection, nothing left over


def test_given_body_that_is_not_json_when_posted_then_415_in_our_shape_without_quoting_the_type(stack):
    r = stack.http.post(stack.url + "/v1/auth/login", data="tenant=demo", headers={"Content-Type": "text/x-probe; secret=1"}, timeout=10)
    _error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "probe" not in r.text and "secret" not in r.text


def test_given_body_over_the_limit_when_announced_then_413_before_a_byte_of_it_is_read(stack):
    limit = 10 * 1024 * 1024
    # Only the headers are sent: the answer comes without the server waiting for (or reading) the body.
    status, headers, body = _raw(stack, (f"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                         f"Accept-Language: en\r\nContent-Length: {limit + 1}\r\n\r\n").encode())
    assert status.startswith("HTTP/1.1 413"), status
    assert headers["connection"] == "close" and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"code": "PAYLOAD_TOO_LARGE", "message": "The request body is too large", "details": {"max_bytes": limit}}
    status, _, body = _raw(stack, f"POST /v1/nope HTTP/1.1\r\nHost: x\r\nContent-Length: {limit + 1}\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 413") and json.loads(body)["code"] == "PAYLOAD_TOO_LARGE"
    at_limit = stack.http.post(stack.url + "/v1/auth/login", data=b" " * limit, headers={"Content-Type": "application/json"}, timeout=30)
    _error(at_limit, 422, "INVALID_JSON")  # exactly the limit is read and reaches the app


def test_given_request_http_server_cannot_parse_when_sent_then_its_error_is_in_our_shape_not_html(stack):
    status, headers, body = _raw(stack, b"GET /v1/health HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert status.startswith("HTTP/1.1 431") and headers["content-type"].startswith("application/json")
    assert json.loads(body)["code"] == "HEADERS_TOO_LARGE"
    status, _, body = _raw(stack, b"GET /v1/health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert status.startswith("HTTP/1.1 411") and json.loads(body)["code"] == "LENGTH_REQUIRED"


def test_given_a_presigned_link_past_its_expiry_then_the_local_stack_refuses_it_as_s3_does(stack):
    """moto serves a presigned URL whatever its expiry; the local stack refuses it once expired (403
    AccessDenied "Request has expired"), so a client sees on make dev what it will see in AWS."""
    import re

    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{stack.env['CRM_MOTO_PORT']}", region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local",
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))  # as the files port signs
    s3.create_bucket(Bucket="e2e-presigned-expiry")
    s3.put_object(Bucket="e2e-presigned-expiry", Key="报价单.pdf", Body=b"%PDF-1.7 quote")
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "e2e-presigned-expiry", "Key": "报价单.pdf"}, ExpiresIn=900)
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "e2e-presigned-expiry", "Key": "上传.pdf"}, ExpiresIn=900)
    assert requests.get(get, timeout=10).content == b"%PDF-1.7 quote"  # within its 15 minutes

    def signed_hours_ago(url: str, hours: int) -> str:  # as if signed then (the local stack does not check signatures)
        when = (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y%m%dT%H%M%SZ")
        return re.sub(r"X-Amz-Date=\d{8}T\d{6}Z", f"X-Amz-Date={when}", url)

    expired = requests.get(signed_hours_ago(get, 1), timeout=10)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content and b"Request has expired" in expired.content
    assert requests.put(signed_hours_ago(put, 1), data=b"%PDF late", timeout=10).status_code == 403
    assert "上传.pdf" not in [o["Key"] for o in s3.list_objects_v2(Bucket="e2e-presigned-expiry").get("Contents", [])]
    assert requests.put(put, data=b"%PDF on time", timeout=10).status_code == 200
