"""Webhooks (PLAT-10): register, receive signed deliveries on a real loopback receiver, retries with
back-off through Scheduler schedules (the clock moves, nothing sleeps), dead-letter, redeliver, field
rules of the webhook's owner, tenant isolation, and the SSRF guard."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.settings import environment
from chalicelib.webhooks import guard, signing
from devstack.drivers import BusDriver, ScheduleDriver

TIMEOUT = 0.3  # CRM_WEBHOOK_TIMEOUT_SECONDS in these tests


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers from a script: "500", "timeout" (answers after the
    sender's time limit), "200"; once the script is used up, the last answer stays."""

    def __init__(self) -> None:
        self.script: list[str] = ["200"]
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = receiver.script.pop(0) if len(receiver.script) > 1 else receiver.script[0]
                receiver.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body, "answer": answer})
                if answer == "timeout":
                    receiver.release.wait(TIMEOUT * 10)  # the sender gives up first
                    answer = "200"
                try:
                    self.send_response(int(answer))
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up waiting
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if path is None or r["path"] == path]


@pytest.fixture()
def receiver(api):
    r = Receiver()
    r.thread.start()
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true", CRM_WEBHOOK_TIMEOUT_SECONDS=str(TIMEOUT)):
        clock.freeze()
        yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


def _deliver(api) -> int:
    """What AWS does after a write: the bus delivers to the webhooks queue, the Lambda runs."""
    api.pump()
    return BusDriver().run_once()


def _register(api, token: str, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    r = api.call("POST", "/v1/webhooks", token, {"url": url, "events": events, **extra})
    assert r.status_code == 201, r.data
    return r.data


def _deliveries(api, token: str, webhook_id: str) -> list[dict[str, Any]]:
    r = api.call("GET", f"/v1/webhooks/{webhook_id}/deliveries", token)
    assert r.status_code == 200, r.data
    return r.data["items"]


def test_given_a_flaky_receiver_when_a_customer_is_created_then_it_arrives_signed_after_four_attempts_with_back_off(
        api, sales_team, receiver):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    hook = _register(api, admin, receiver.url + "/crm", ["customers.*"], description="ERP")
    secret = hook["secret"]
    assert len(secret) >= 40
    listed = api.call("GET", "/v1/webhooks", admin).data["items"]
    assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]
    assert "secret" not in api.call("GET", f"/v1/webhooks/{hook['id']}", admin).data

    receiver.script = ["500", "500", "timeout", "200"]
    customer = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司", "mobile": "13912345678"}).data
    _deliver(api)
    [d] = _deliveries(api, admin, hook["id"])
    assert d["status"] == "retrying" and d["attempts"] == 1 and d["last_status_code"] == 500
    assert d["event_type"] == "customers.customer.created"

    schedules = ScheduleDriver()
    for wait in (30, 60, 120):  # the longest each back-off may be (full jitter over 30 s doubling)
        assert schedules.run_once() == 0  # nothing is due before the back-off
        clock.travel(wait)
        assert schedules.run_once() == 1
    [d] = _deliveries(api, admin, hook["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 4 and d["last_status_code"] == 200
    assert [a["status_code"] for a in d["log"]] == [500, 500, None, 200]
    assert d["log"][2]["error"].startswith("timed out")
    gaps = [(clock.parse_iso(b["at"]) - clock.parse_iso(a["at"])).total_seconds() for a, b in zip(d["log"], d["log"][1:], strict=False)]
    assert 15 <= gaps[0] <= 31 and 30 <= gaps[1] <= 61 and 60 <= gaps[2] <= 121  # doubling back-off, jittered
    assert all(a["next_attempt_at"] for a in d["log"][:3]) and d["next_attempt_at"] is None

    sent = [r for r in receiver.requests if r["path"] == "/crm"]
    assert len(sent) == 4 and len({r["body"] for r in sent}) == 1  # the same body every time
    last = sent[-1]
    h = last["headers"]
    assert h["x-crm-event"] == "customers.customer.created" and h["x-crm-delivery"] == d["id"]
    now = clock.now().timestamp()
    assert signing.verify(secret, last["body"], h["x-crm-timestamp"], h["x-crm-signature"], now=now)
    assert not signing.verify(secret, last["body"] + b" ", h["x-crm-timestamp"], h["x-crm-signature"], now=now)
    assert not signing.verify("another-secret", last["body"], h["x-crm-timestamp"], h["x-crm-signature"], now=now)
    # a replay: the first attempt's request, presented again more than five minutes later, carries its old timestamp
    first, sent_at = sent[0]["headers"], int(sent[0]["headers"]["x-crm-timestamp"])
    assert signing.verify(secret, sent[0]["body"], first["x-crm-timestamp"], first["x-crm-signature"], now=sent_at + 299)
    assert not signing.verify(secret, sent[0]["body"], first["x-crm-timestamp"], first["x-crm-signature"],
                              now=sent_at + 301)
    payload = json.loads(last["body"])
    assert payload["type"] == "customers.customer.created" and payload["tenant_id"] == sales_team["id"]
    assert payload["data"]["record"]["id"] == customer["id"] and payload["data"]["record"]["name"] == "华为技术有限公司"

    # SQS delivers at least once: the same event again sends nothing more
    from functions import webhooks as fn

    event = {"id": d["event_id"], "detail-type": d["event_type"], "time": payload["occurred_at"],
             "detail": {"tenant_id": sales_team["id"], "entity": "customer", "id": customer["id"]}}
    assert fn.handler({"Records": [{"messageId": "m1", "body": json.dumps(event)}]}) == {"batchItemFailures": [],
                                                                                         "deliveries": 0}
    assert len([r for r in receiver.requests if r["path"] == "/crm"]) == 4


def test_given_a_receiver_down_for_a_day_when_retries_run_out_then_the_delivery_is_dead_lettered_and_can_be_redelivered(
        api, sales_team, receiver):
    admin = sales_team["admin"]
    hook = _register(api, admin, receiver.url + "/down", ["customers.customer.created"])
    receiver.script = ["503"]
    api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "上海ACME贸易"})
    _deliver(api)
    schedules = ScheduleDriver()
    for _ in range(60):
        clock.travel(3600)
        schedules.run_once()
        [d] = _deliveries(api, admin, hook["id"])
        if d["status"] == "dead_lettered":
            break
    assert d["status"] == "dead_lettered" and d["next_attempt_at"] is None
    span = clock.parse_iso(d["log"][-1]["at"]) - clock.parse_iso(d["created_at"])
    assert 20 * 3600 < span.total_seconds() <= 24 * 3600
    assert 20 <= d["attempts"] <= 40 and len(d["log"]) == d["attempts"]
    assert schedules.run_once() == 0  # nothing left to retry
    clock.travel(2 * 3600)
    assert schedules.run_once() == 0

    receiver.script = ["200"]
    r = api.call("POST", f"/v1/webhooks/{hook['id']}/deliveries/{d['id']}/redeliver", admin)
    assert r.status_code == 200, r.data
    assert r.data["status"] == "succeeded" and r.data["redelivery_of"] == d["id"] and r.data["attempts"] == 1
    log = _deliveries(api, admin, hook["id"])
    assert [x["id"] for x in log] == [r.data["id"], d["id"]]  # newest first
    page = api.call("GET", f"/v1/webhooks/{hook['id']}/deliveries?limit=1", admin).data
    assert [x["id"] for x in page["items"]] == [r.data["id"]] and page["next_cursor"]
    rest = api.call("GET", f"/v1/webhooks/{hook['id']}/deliveries?limit=1&cursor={page['next_cursor']}", admin).data
    assert [x["id"] for x in rest["items"]] == [d["id"]]
    assert receiver.bodies("/down")[-1] == receiver.bodies("/down")[0]  # the same event, sent again

    ping = api.call("POST", f"/v1/webhooks/{hook['id']}/ping", admin)
    assert ping.status_code == 200 and ping.data["status"] == "succeeded" and ping.data["event_type"] == "webhooks.webhook.ping"


def test_given_an_integration_owner_when_events_are_delivered_then_its_field_rules_and_scope_shape_them(
        api, sales_team, receiver):
    admin, agent = sales_team["admin"], sales_team["agent"]
    hook = _register(api, admin, receiver.url + "/svc", ["customers.customer.*"], owner_id=agent)
    assert hook["owner_id"] == agent
    seen = api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"],
                    {"name": "北京小米科技", "mobile": "13812341234", "credit_limit": 50000}).data
    api.call("POST", "/v1/customers", admin, {"name": "总部直管客户", "mobile": "13700000000"})  # not in the agent's department
    _deliver(api)
    [body] = receiver.bodies("/svc")
    record = body["data"]["record"]
    assert record["id"] == seen["id"] and record["name"] == "北京小米科技"
    assert "credit_limit" not in record  # hidden for the owner's role
    assert record["mobile"] != "13812341234" and "*" in record["mobile"]  # masked
    assert [d["status"] for d in _deliveries(api, admin, hook["id"])] == ["succeeded"]

    r = api.call("PATCH", f"/v1/customers/{seen['id']}", sales_team["tokens"]["rep1"],
                 {"credit_limit": 60000, "level": "A"}, headers={"If-Match": f'"{seen["version"]}"'})
    assert r.status_code == 200, r.data
    _deliver(api)
    update = receiver.bodies("/svc")[-1]
    assert update["type"] == "customers.customer.updated"
    assert "level" in update["data"]["changed"] and "credit_limit" not in update["data"]["changed"]


def test_given_two_tenants_when_one_writes_then_only_its_own_webhooks_hear_it(api, make_tenant, sales_team, receiver):
    other = make_tenant(mobile="13800000099")
    mine = _register(api, sales_team["admin"], receiver.url + "/mine", ["*"])
    _register(api, other["admin"], receiver.url + "/theirs", ["customers.*"])
    api.call("POST", "/v1/customers", other["admin"], {"name": "别家客户"})
    _deliver(api)
    assert receiver.bodies("/mine") == []
    assert [b["tenant_id"] for b in receiver.bodies("/theirs")] == [other["id"]]
    assert api.call("GET", f"/v1/webhooks/{mine['id']}", other["admin"]).status_code == 404
    assert _deliveries(api, sales_team["admin"], mine["id"]) == []


def test_given_webhook_admin_routes_then_patch_rotate_delete_and_permissions_work(api, sales_team, receiver):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    assert api.call("POST", "/v1/webhooks", rep, {"url": receiver.url, "events": ["*"]}).status_code == 403
    hook = _register(api, admin, receiver.url + "/a", ["customers.customer.created"])
    assert api.call("GET", "/v1/webhooks", rep).status_code == 403
    r = api.call("PATCH", f"/v1/webhooks/{hook['id']}", admin, {"events": ["contracts.*", "customers.*"], "enabled": False},
                 headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.data["events"] == ["contracts.*", "customers.*"] and r.data["enabled"] is False
    rotated = api.call("POST", f"/v1/webhooks/{hook['id']}/rotate-secret", admin)
    assert rotated.status_code == 200 and rotated.data["secret"] != hook["secret"]
    r = api.call("PATCH", f"/v1/webhooks/{hook['id']}", admin, {"enabled": True, "version": rotated.data["version"]})
    assert r.status_code == 200
    api.call("POST", "/v1/customers", rep, {"name": "新密钥客户"})
    _deliver(api)
    [sent] = [x for x in receiver.requests if x["path"] == "/a"]
    h = sent["headers"]
    assert signing.verify(rotated.data["secret"], sent["body"], h["x-crm-timestamp"], h["x-crm-signature"],
                          now=clock.now().timestamp())
    assert not signing.verify(hook["secret"], sent["body"], h["x-crm-timestamp"], h["x-crm-signature"],
                              now=clock.now().timestamp())
    log = api.call("GET", f"/v1/audit?entity=webhook&record_id={hook['id']}", admin)
    assert "secret" not in json.dumps(log.data or {}).replace("secret_rotated_at", "")
    bad = api.call("POST", "/v1/webhooks", admin, {"url": receiver.url, "events": ["nosuch.*", "Customers"]})
    assert bad.status_code == 422 and [d["field"] for d in bad.data["details"]] == ["events.0", "events.1"]
    gone = api.call("DELETE", f"/v1/webhooks/{hook['id']}", admin, headers={"If-Match": f'"{r.data["version"]}"'})
    assert gone.status_code == 204
    assert api.call("GET", f"/v1/webhooks/{hook['id']}", admin).status_code == 404


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook",  # loopback, not allowed here
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://intranet.example.com/hook",  # resolves to a private address
    "http://hooks.example.com/hook",  # not https
    "ftp://hooks.example.com/hook",
])
def test_given_an_unsafe_url_when_registered_then_422_says_why(api, sales_team, monkeypatch, url):
    monkeypatch.setattr(guard, "_resolve", lambda host, port: {"intranet.example.com": ["10.20.30.40"]}[host])
    r = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": url, "events": ["customers.*"]})
    assert r.status_code == 422, r.data
    [problem] = r.data["details"]
    assert problem["field"] == "url"
    assert "https://" in problem["message"] or "内网" in problem["message"]
    en = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": url, "events": ["customers.*"]},
                  headers={"Accept-Language": "en"}).data["details"][0]["message"]
    assert "https://" in en or "private" in en


def test_given_a_name_that_later_resolves_privately_when_delivering_then_nothing_is_sent(api, sales_team, receiver,
                                                                                        monkeypatch):
    answers = {"hooks.example.com": ["93.184.216.34"]}
    monkeypatch.setattr(guard, "_resolve", lambda host, port: answers[host])
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="false"):
        hook = _register(api, sales_team["admin"], "https://hooks.example.com/crm", ["customers.*"])
        answers["hooks.example.com"] = ["10.0.0.7"]  # DNS rebinding after the check at registration
        api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "重绑定测试"})
        _deliver(api)
    [d] = _deliveries(api, sales_team["admin"], hook["id"])
    assert d["status"] == "retrying" and d["last_status_code"] is None
    assert d["last_error"].startswith("refused:") and "private" in d["last_error"]


def test_given_guard_rules_then_public_addresses_pass_and_every_private_form_fails():
    import ipaddress

    public = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"]
    private = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
               "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254",
               "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:a00:1::1", "ff02::1"]
    assert all(guard.is_public(ipaddress.ip_address(a)) for a in public)
    assert not [a for a in private if guard.is_public(ipaddress.ip_address(a))]


def test_given_the_local_stack_setting_when_a_public_address_is_registered_then_it_is_refused_without_dns(api, sales_team,
                                                                                                         monkeypatch):
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"DNS asked for {host}")

    monkeypatch.setattr(guard, "_resolve", no_dns)
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true", CRM_WEBHOOK_LOOPBACK_ONLY="true"):
        for url in ("https://93.184.216.34/hook", "https://hooks.example.com/hook", "https://example.com/"):
            r = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": url, "events": ["customers.*"]})
            assert r.status_code == 422 and r.data["details"][0]["field"] == "url", r.data
            # the reason is the local stack's switch, not the address (example.com is public)
            assert "本地开发环境只向本机推送" in r.data["details"][0]["message"] and "内网" not in r.data["details"][0]["message"]
        en = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": "https://example.com/", "events": ["customers.*"]},
                      headers={"Accept-Language": "en"})
        assert en.data["details"][0]["message"] == \
            "The local stack only delivers to this machine (127.0.0.1, ::1 or localhost), not to example.com", en.data
        ok = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": "http://127.0.0.1:9/x", "events": ["customers.*"]})
        assert ok.status_code == 201, ok.data


def test_given_a_public_host_when_the_url_names_another_port_than_https_then_it_is_refused(api, sales_team, monkeypatch):
    monkeypatch.setattr(guard, "_resolve", lambda host, port: ["93.184.216.34"])
    for url, status in (("https://hooks.example.com:22/x", 422), ("https://hooks.example.com:6379/x", 422),
                        ("https://hooks.example.com:8443/x", 201), ("https://hooks.example.com/x", 201)):
        r = api.call("POST", "/v1/webhooks", sales_team["admin"], {"url": url, "events": ["customers.*"]},
                     headers={"Accept-Language": "en"})
        assert r.status_code == status, (url, r.data)
        if status == 422:
            assert "port 443 or 8443" in r.data["details"][0]["message"]


def test_given_an_administrator_who_is_not_super_when_naming_another_owner_then_refused(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {"name": "集成管理员", "actions": {"webhooks": ["read", "manage"]}}).data
    user = api.call("POST", "/v1/org/users", admin, {"name": "集成员", "mobile": "13900000077", "department_id": sales_team["sales"],
                                                     "role_ids": [role["id"]], "password": "Passw0rd!2026"}).data
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000077",
                                                     "password": "Passw0rd!2026"}).data["id_token"]
    body = {"url": "http://127.0.0.1:9/x", "events": ["customers.*"]}
    with environment(CRM_WEBHOOK_ALLOW_LOOPBACK="true"):
        other = api.call("POST", "/v1/webhooks", token, {**body, "owner_id": sales_team["manager"]})
        assert other.status_code == 422 and other.data["details"][0]["field"] == "owner_id", other.data
        mine = api.call("POST", "/v1/webhooks", token, body)
        assert mine.status_code == 201 and mine.data["owner_id"] == user["id"], mine.data


def test_given_a_worker_that_stops_after_claiming_an_attempt_then_the_armed_retry_sends_it(api, sales_team, receiver,
                                                                                             monkeypatch):
    from chalicelib.core.settings import get_settings
    from chalicelib.webhooks import sender

    hook = _register(api, sales_team["admin"], receiver.url + "/late", ["customers.customer.created"])

    def dies(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("the Lambda ran out of time")  # not an Exception: nothing records the attempt

    with monkeypatch.context() as m:
        m.setattr(sender, "post", dies)
        api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "迟到的客户"})
        with pytest.raises(SystemExit):
            _deliver(api)
    [stuck] = _deliveries(api, sales_team["admin"], hook["id"])
    assert (stuck["status"], stuck["attempts"]) == ("pending", 1)  # claimed, never recorded
    s = get_settings()
    clock.travel(s.webhook_timeout_seconds + s.webhook_retry_base_seconds + 1)
    ScheduleDriver().run_once()
    [done] = _deliveries(api, sales_team["admin"], hook["id"])
    assert (done["status"], done["attempts"]) == ("succeeded", 2)
    assert len(receiver.bodies("/late")) == 1


def test_given_a_catch_all_webhook_then_the_products_own_job_events_are_not_delivered():
    from chalicelib.webhooks import service

    assert service.matches(["*"], "customers.customer.created")
    assert not service.matches(["*"], "jobs.job.queued")  # an import's plumbing, not a business event
