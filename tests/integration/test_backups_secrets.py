"""Backups hold no signing secret: a tenant's webhooks and inbound channels are archived without
theirs, and a restored copy brings them back disabled, so it sends nothing to the real receivers and
accepts nothing signed with the original secrets until an administrator rotates and enables them."""
from __future__ import annotations

import json

from chalicelib.jobs import service as jobs
from chalicelib.webhooks import signing
from tests.conftest import platform_token
from tests.integration.test_backups import _backup, _login, _part
from tests.integration.test_integrations import send
from tests.integration.test_webhooks import _deliver, _register, receiver  # noqa: F401 - the receiver fixture

TARGET = "restored-secrets"


def _version(api, token: str, path: str) -> dict:
    r = api.call("GET", path, token)
    assert r.status_code == 200, r.data
    return r.data


def test_given_a_webhook_and_a_channel_when_backed_up_and_restored_then_no_secret_and_nothing_sent_until_rotated(
        api, sales_team, receiver):  # noqa: F811 - the fixture
    admin = sales_team["admin"]
    hook = _register(api, admin, receiver.url + "/crm", ["customers.*"], description="ERP")
    channel = api.call("POST", "/v1/integrations/inbound", admin, {"name": "官网订单", "kind": "web_order"}).data
    assert hook["secret"] and channel["secret"]
    assert send(api, channel, channel["secret"], {"contact": {"name": "备份前"}}).status_code == 200
    _deliver(api)

    # the archive: the webhook and the channel are there, their secrets are not
    b = _backup(api, admin)
    assert b["status"] == "succeeded" and b["counts"]["WEBHOOK"] == 1 and b["counts"]["INBOUND"] == 1
    lines = [line for p in b["parts"] if p["name"].startswith("items-") for line in _part(p["download_url"], p)]
    kinds = {i["type"]["S"]: i for i in lines if i.get("type", {}).get("S") in ("WEBHOOK", "INBOUND")}
    assert set(kinds) == {"WEBHOOK", "INBOUND"} and not any("secret" in i for i in kinds.values())
    assert kinds["WEBHOOK"]["url"]["S"] == hook["url"]
    text = json.dumps(lines, ensure_ascii=False)
    assert hook["secret"] not in text and channel["secret"] not in text
    assert not [i for i in lines if i.get("type", {}).get("S") == "MAILSET"]

    # restored: both disabled, without a secret
    r = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": TARGET})
    assert r.status_code == 202, r.data
    jobs.run_queued()
    assert api.call("GET", f"/v1/platform/tenants/{TARGET}/restore", platform_token()).data["status"] == "succeeded"
    admin2 = _login(api, TARGET, "13800000000")  # password hashes come back: the same people sign in
    copy_hook = _version(api, admin2, f"/v1/webhooks/{hook['id']}")
    copy_channel = _version(api, admin2, f"/v1/integrations/inbound/{channel['id']}")
    assert (copy_hook["enabled"], copy_hook["has_secret"]) == (False, False)
    assert (copy_channel["enabled"], copy_channel["has_secret"]) == (False, False)
    assert _version(api, admin, f"/v1/webhooks/{hook['id']}")["enabled"] is True  # the original is untouched

    # a customer made in the copy reaches no receiver; the original secret opens no channel of the copy
    sent = len(receiver.requests)
    assert api.call("POST", "/v1/customers", admin2, {"name": "恢复副本的客户"}).status_code == 201
    _deliver(api)
    assert len(receiver.requests) == sent
    copy_url = {**channel, "url": channel["url"].replace(f"/{sales_team['id']}/", f"/{TARGET}/")}
    assert send(api, copy_url, channel["secret"], {"contact": {"name": "旧密钥"}}).status_code == 401

    # enabling first is refused, in the caller's language
    for lang, words in (("zh-CN", "重置密钥"), ("en", "rotate the secret")):
        r = api.call("PATCH", f"/v1/webhooks/{hook['id']}", admin2, {"enabled": True}, headers={
            "If-Match": f'"{copy_hook["version"]}"', "Accept-Language": lang})
        assert r.status_code == 422 and r.data["details"][0]["field"] == "enabled" and words in r.data["details"][0]["message"]
        r = api.call("PATCH", f"/v1/integrations/inbound/{channel['id']}", admin2, {"enabled": True}, headers={
            "If-Match": f'"{copy_channel["version"]}"', "Accept-Language": lang})
        assert r.status_code == 422 and r.data["details"][0]["field"] == "enabled" and words in r.data["details"][0]["message"]

    # rotated: a new secret, still disabled, still nothing sent
    rotated = api.call("POST", f"/v1/webhooks/{hook['id']}/rotate-secret", admin2)
    assert rotated.status_code == 200 and rotated.data["secret"] != hook["secret"] and rotated.data["enabled"] is False
    assert api.call("POST", "/v1/customers", admin2, {"name": "轮换后未启用"}).status_code == 201
    _deliver(api)
    assert len(receiver.requests) == sent
    # enabled: deliveries resume, signed with the new secret only
    r = api.call("PATCH", f"/v1/webhooks/{hook['id']}", admin2, {"enabled": True},
                 headers={"If-Match": f'"{rotated.data["version"]}"'})
    assert r.status_code == 200 and r.data["enabled"] is True and r.data["has_secret"] is True
    assert api.call("POST", "/v1/customers", admin2, {"name": "启用后的客户"}).status_code == 201
    _deliver(api)
    [got] = receiver.requests[sent:]
    assert "启用后的客户" in got["body"].decode()
    h = got["headers"]
    assert signing.verify(rotated.data["secret"], got["body"], h["x-crm-timestamp"], h["x-crm-signature"], tolerance=10**9)
    assert not signing.verify(hook["secret"], got["body"], h["x-crm-timestamp"], h["x-crm-signature"], tolerance=10**9)

    # the channel likewise: rotate, enable, and only the new secret writes
    new = api.call("POST", f"/v1/integrations/inbound/{channel['id']}/rotate-secret", admin2).data
    r = api.call("PATCH", f"/v1/integrations/inbound/{channel['id']}", admin2, {"enabled": True},
                 headers={"If-Match": f'"{new["version"]}"'})
    assert r.status_code == 200 and r.data["enabled"] is True
    assert send(api, copy_url, channel["secret"], {"contact": {"name": "旧密钥二"}}).status_code == 401
    assert send(api, copy_url, new["secret"], {"contact": {"name": "新密钥"}}).status_code == 200


def test_given_an_older_archive_holding_secrets_when_restored_then_they_do_not_come_back(api, sales_team, monkeypatch):
    from chalicelib.backups import walk

    admin = sales_team["admin"]
    channel = api.call("POST", "/v1/integrations/inbound", admin, {"name": "财务", "kind": "web_order"}).data
    with monkeypatch.context() as m:  # a backup made before secrets were left out
        m.setattr(walk, "SECRETS", {})
        b = _backup(api, admin)
    lines = [line for p in b["parts"] if p["name"].startswith("items-") for line in _part(p["download_url"], p)]
    assert channel["secret"] in json.dumps(lines)
    assert api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "restored-old"}).status_code == 202
    jobs.run_queued()
    admin2 = _login(api, "restored-old", "13800000000")
    copy = _version(api, admin2, f"/v1/integrations/inbound/{channel['id']}")
    assert (copy["enabled"], copy["has_secret"]) == (False, False)
    copy_url = {**channel, "url": channel["url"].replace(f"/{sales_team['id']}/", "/restored-old/")}
    assert send(api, copy_url, channel["secret"], {"contact": {"name": "旧密钥"}}).status_code == 401
