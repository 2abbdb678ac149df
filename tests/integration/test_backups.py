"""Backups of a tenant (PLAT-12) and restores into an empty tenant, through the API and the jobs
that run them; the daily schedule; the tenant walk they read."""
from __future__ import annotations

import gzip
import hashlib
import json

import boto3
import pytest
import requests

from chalicelib.core import clock
from chalicelib.core.settings import get_settings
from chalicelib.jobs import service as jobs
from tests.conftest import platform_token

NOTE = {"key": "ad_note", "label": "广告备注", "title_field": "title",
        "fields": [{"key": "title", "label": "标题", "type": "text", "required": True},
                   {"key": "amount", "label": "金额", "type": "money"}],
        "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"}}}
PDF = b"%PDF-1.7 signed contract"


@pytest.fixture()
def filled(api, sales_team, upload):
    """A tenant with customers, a contact, a custom object's record, an attachment and changed settings;
    and another tenant with a customer of its own."""
    t = sales_team
    admin, rep = t["admin"], t["tokens"]["rep1"]
    assert api.call("POST", "/v1/objects", admin, NOTE).status_code == 201
    huawei = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司", "mobile": "13911112222"}).data
    api.call("POST", "/v1/customers", t["tokens"]["rep2"], {"name": "阿里巴巴"})
    assert api.call("POST", "/v1/contacts", rep, {"name": "王芳", "customer": huawei["id"]}).status_code == 201
    assert api.call("POST", "/v1/objects/ad_note/records", rep, {"title": "春季投放", "amount": "12800.50"}).status_code == 201
    f = upload(rep, PDF, "合同.pdf")
    assert api.call("POST", f"/v1/customers/{huawei['id']}/attachments", rep, {"file_id": f["id"]}).status_code == 201
    assert api.call("PUT", "/v1/numbering-rules/payment", admin, {"name": "回款编号", "prefix": "HK-", "date_format": "YYYYMM",
                                                                   "reset": "monthly", "version": 1}).status_code == 200
    assert api.call("POST", "/v1/numbering-rules/contract/next", admin).status_code == 201
    other = _other_tenant(api)
    return {**t, "huawei": huawei, "file": f, "other": other}


def _other_tenant(api) -> dict:
    r = api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "othercorp", "name": "别家公司", "admin_name": "别家管理员", "admin_mobile": "13600000000", "admin_password": "Passw0rd!2026"})
    assert r.status_code == 201, r.data
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": "othercorp", "mobile": "13600000000",
                                                    "password": "Passw0rd!2026"}).data["id_token"]
    api.call("POST", "/v1/customers", token, {"name": "别家的客户"})
    return {"id": "othercorp", "admin": token}


def _login(api, tenant: str, mobile: str) -> str:
    r = api.call("POST", "/v1/auth/login", body={"tenant_id": tenant, "mobile": mobile, "password": "Passw0rd!2026"})
    assert r.status_code == 200, r.data
    return r.data["id_token"]


def _backup(api, token: str) -> dict:
    r = api.call("POST", "/v1/backups", token)
    assert r.status_code == 202, r.data
    assert r.data["status"] == "queued" and r.data["job_id"]
    jobs.run_queued()
    done = api.call("GET", f"/v1/backups/{r.data['id']}", token)
    assert done.status_code == 200, done.data
    return done.data


def _strip(value):
    """API output without what differs by nature between two reads (presigned links and their expiry)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if "url" not in k and "expires" not in k}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _everything(api, admin: str, rep: str, huawei_id: str) -> dict:
    """Every record and setting as the API returns it, to the administrator and to a rep."""
    def get(path: str, token: str = admin):
        r = api.call("GET", path, token)
        assert r.status_code == 200, (path, r.data)
        return _strip(r.data)

    out = {path: get(path) for path in ("/v1/customers?limit=100", "/v1/contacts?limit=100", "/v1/objects/ad_note/records?limit=100",
                                        "/v1/objects", "/v1/org/users?limit=100", "/v1/org/departments", "/v1/org/roles",
                                        "/v1/numbering-rules", "/v1/dictionaries", f"/v1/customers/{huawei_id}",
                                        f"/v1/customers/{huawei_id}/attachments", f"/v1/customers/{huawei_id}/timeline")}
    out["rep"] = get("/v1/customers?limit=100", rep)
    out["counts"] = {k: len(v["items"]) for k, v in out.items() if isinstance(v, dict) and isinstance(v.get("items"), list)}
    out["tenant"] = {k: v for k, v in get("/v1/tenant").items() if k != "id"}
    return out


def _part(url: str, entry: dict) -> list[dict]:
    body = requests.get(url, timeout=10).content
    assert len(body) == entry["bytes"] and hashlib.sha256(body).hexdigest() == entry["sha256"]
    return [json.loads(line) for line in gzip.decompress(body).splitlines() if line.strip()]


def test_given_a_tenant_when_backed_up_and_restored_into_an_empty_tenant_then_every_record_file_and_setting_round_trips(
        api, filled):
    t = filled
    before = _everything(api, t["admin"], t["tokens"]["rep1"], t["huawei"]["id"])
    b = _backup(api, t["admin"])
    assert b["status"] == "succeeded" and b["trigger"] == "manual" and b["format_version"] == 1
    assert b["counts"]["REC:CUSTOMER"] == 2 and b["counts"]["REC:CONTACT"] == 1 and b["counts"]["REC:OBJ_AD_NOTE"] == 1
    assert b["counts"]["USER"] == 5 and b["counts"]["FILE"] == 1 and b["counts"]["AUDIT"] > 5 and b["files"] == 1

    # the archive: a manifest with the format version and checksummed gzip'd JSON-lines parts
    manifest = requests.get(b["download_url"], timeout=10).json()
    assert manifest["format"] == "crm-tenant-backup" and manifest["format_version"] == 1 and manifest["items"] == b["items"]
    lines = [line for p in b["parts"] if p["name"].startswith("items-") for line in _part(p["download_url"], p)]
    assert len(lines) == b["items"]
    assert all(i["pk"]["S"].startswith(f"T#{t['id']}#") for i in lines)  # only this tenant's items, nothing of othercorp
    assert not any("othercorp" in json.dumps(i, ensure_ascii=False) for i in lines)
    files = [line for p in b["parts"] if p["name"].startswith("files-") for line in _part(p["download_url"], p)]
    assert files == [{"id": t["file"]["id"], "key": f"tenants/{t['id']}/files/{t['file']['id']}/合同.pdf", "name": "合同.pdf",
                      "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()}]

    # restore into a new tenant code, by a platform operator
    r = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "restored"})
    assert r.status_code == 202, r.data
    assert r.data["source_tenant_id"] == t["id"] and r.data["status"] == "queued"
    jobs.run_queued()
    state = api.call("GET", "/v1/platform/tenants/restored/restore", platform_token())
    assert state.data["status"] == "succeeded", state.data
    assert state.data["result"]["items"] == b["items"] and state.data["result"]["files_copied"] == 1

    # the same people sign in to the new tenant code with their passwords and see the same data
    admin2, rep2 = _login(api, "restored", "13800000000"), _login(api, "restored", "13900000002")
    after = _everything(api, admin2, rep2, t["huawei"]["id"])
    assert after == before
    assert api.call("GET", "/v1/tenant", admin2).data["id"] == "restored"
    directory = api.call("GET", "/v1/platform/tenants?limit=100", platform_token()).data["items"]
    assert {x["id"] for x in directory} >= {t["id"], "restored", "othercorp"}
    dl = api.call("GET", f"/v1/files/{t['file']['id']}/download", rep2)
    assert "/tenants/restored/files/" in dl.data["url"] and requests.get(dl.data["url"], timeout=10).content == PDF
    found = api.call("GET", "/v1/customers?q=华为", rep2).data["items"]  # the search index of the new tenant was rebuilt
    assert [c["id"] for c in found] == [t["huawei"]["id"]]
    # it is a tenant of its own: writes there leave the original alone, numbering goes on from the backup
    api.call("POST", "/v1/customers", rep2, {"name": "恢复后新建"})
    assert len(api.call("GET", "/v1/customers?limit=100", t["admin"]).data["items"]) == 2
    assert api.call("POST", "/v1/numbering-rules/contract/next", admin2).data["sequence"] == 2


def test_given_a_tenant_that_holds_data_when_restored_into_then_409_and_only_platform_operators_restore(api, filled):
    t = filled
    b = _backup(api, t["admin"])
    for target in ("othercorp", t["id"]):
        r = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": target},
                     headers={"Accept-Language": "en"})
        assert r.status_code == 409 and r.data["code"] == "RESTORE_TARGET_NOT_EMPTY", r.data
        assert target in r.data["message"]
    assert api.call("POST", f"/v1/backups/{b['id']}/restore", t["admin"], {"target_tenant_id": "x1"}).status_code == 403
    assert api.call("POST", "/v1/backups/nope/restore", platform_token(), {"target_tenant_id": "x1"}).status_code == 404
    assert api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "x1"}).status_code == 202
    again = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "x1"})
    assert again.status_code == 409  # one restore per tenant, even before its job ran


def test_given_a_rep_or_another_tenant_when_backups_are_asked_for_then_refused_or_not_found(api, filled):
    t = filled
    rep = t["tokens"]["rep1"]
    assert api.call("POST", "/v1/backups", rep).status_code == 403
    assert api.call("GET", "/v1/backups", rep).status_code == 403
    assert api.call("PUT", "/v1/backup-schedule", rep, {"enabled": True, "hour": 2}).status_code == 403
    b = _backup(api, t["admin"])
    assert api.call("GET", f"/v1/backups/{b['id']}", t["other"]["admin"]).status_code == 404
    assert api.call("GET", "/v1/backups", t["other"]["admin"]).data["items"] == []
    assert [x["id"] for x in api.call("GET", "/v1/backups", t["admin"]).data["items"]] == [b["id"]]


def test_given_a_daily_schedule_when_the_clock_passes_its_hour_then_one_backup_is_made_per_day(api, sales_team):
    from devstack.drivers import ScheduleDriver

    admin = sales_team["admin"]
    r = api.call("PUT", "/v1/backup-schedule", admin, {"enabled": True, "hour": 3, "timezone": "Asia/Shanghai"})
    assert r.status_code == 200 and r.data["enabled"] and r.data["next_run_at"], r.data
    sched = boto3.client("scheduler", region_name=get_settings().region).get_schedule(
        Name=f"backup-{sales_team['id']}", GroupName=get_settings().schedule_group)
    assert sched["ScheduleExpression"] == "cron(0 3 * * ? *)" and sched["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    driver = ScheduleDriver()
    assert driver.run_once() == 0
    clock.travel((clock.parse_iso(r.data["next_run_at"]) - clock.now()).total_seconds() + 60)
    assert driver.run_once() == 1
    assert driver.run_once() == 0  # the next one is tomorrow
    jobs.run_queued()
    made = api.call("GET", "/v1/backups", admin).data["items"]
    assert [(b["trigger"], b["status"]) for b in made] == [("scheduled", "succeeded")]
    from functions import reminders  # a second delivery of the same hour makes no second backup

    assert reminders.handler({"kind": "backup", "tenant_id": sales_team["id"]}) == {"delivered": False}
    clock.travel(24 * 3600)
    assert driver.run_once() == 1
    jobs.run_queued()
    assert len(api.call("GET", "/v1/backups", admin).data["items"]) == 2
    # turned off: the schedule is gone
    v = api.call("GET", "/v1/backup-schedule", admin).data["version"]
    off = api.call("PUT", "/v1/backup-schedule", admin, {"enabled": False, "hour": 3, "version": v})
    assert off.status_code == 200 and off.data["next_run_at"] is None
    clock.travel(24 * 3600)
    assert driver.run_once() == 0


def test_given_items_of_every_kind_when_the_tenant_is_walked_then_the_walk_finds_what_a_scan_finds(api, filled):
    from chalicelib.backups import walk

    t = filled
    scanned = set()
    ddb = boto3.client("dynamodb", region_name=get_settings().region)
    for page in ddb.get_paginator("scan").paginate(TableName=get_settings().table_name):
        for i in page["Items"]:
            if i["pk"]["S"].startswith(f"T#{t['id']}#") and i.get("type", {}).get("S") != "RATE":  # rate buckets: not data
                scanned.add((i["pk"]["S"], i["sk"]["S"]))
    walked = set()
    for shard in range(8):
        after = None
        while True:
            keys, after = walk.key_page(t["id"], shard, after)
            walked |= {(k["pk"]["S"], k["sk"]["S"]) for k in keys}
            if after is None:
                break
    assert scanned and walked == scanned
    assert not walk.is_empty(t["id"]) and walk.is_empty("nobodyhere")


def test_given_a_backup_of_many_parts_when_its_job_stops_and_fails_midway_then_it_resumes_and_the_restore_is_whole(
        api, filled, monkeypatch):
    from chalicelib.backups import archive, runner, walk

    t = filled
    monkeypatch.setattr(archive, "PART_LINES", 15)  # small parts: many of them
    monkeypatch.setattr(runner, "LOW_SECONDS", 10**9)  # "out of time" after every part: the job is queued again
    real, calls = walk.pages, {"n": 0}

    def flaky(tenant_id, position=None):
        calls["n"] += 1
        if calls["n"] == 3:  # the third invocation crashes before its first part: resumed from the checkpoint
            raise ConnectionError("network went away")
        return real(tenant_id, position)

    monkeypatch.setattr(walk, "pages", flaky)
    b = _backup(api, t["admin"])
    assert b["status"] == "succeeded", b
    parts = [p for p in b["parts"] if p["name"].startswith("items-")]
    assert len(parts) >= 3 and [p["name"] for p in parts] == [f"items-{i:05d}.jsonl.gz" for i in range(1, len(parts) + 1)]
    lines = [line for p in parts for line in _part(p["download_url"], p)]
    assert len(lines) == b["items"] and len({(i["pk"]["S"], i["sk"]["S"]) for i in lines}) == len(lines)  # each item once
    job = api.call("GET", f"/v1/jobs/{b['job_id']}", t["admin"]).data
    assert job["status"] == "succeeded" and job["attempts"] > len(parts)
    r = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "resumed", "name": "恢复公司"})
    assert r.status_code == 202
    jobs.run_queued()
    state = api.call("GET", "/v1/platform/tenants/resumed/restore", platform_token()).data
    assert state["status"] == "succeeded" and state["result"]["items"] == b["items"], state
    admin2 = _login(api, "resumed", "13800000000")
    assert api.call("GET", "/v1/tenant", admin2).data["name"] == "恢复公司"
    assert len(api.call("GET", "/v1/customers?limit=100", admin2).data["items"]) == 2


def test_given_an_unknown_time_zone_when_the_schedule_is_set_then_422_in_the_callers_language(api, sales_team):
    r = api.call("PUT", "/v1/backup-schedule", sales_team["admin"], {"enabled": True, "hour": 3, "timezone": "Mars/Olympus"},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "timezone" and "Mars/Olympus" in r.data["details"][0]["message"]
    bad_hour = api.call("PUT", "/v1/backup-schedule", sales_team["admin"], {"enabled": True, "hour": 24})
    assert bad_hour.status_code == 422 and bad_hour.data["details"][0]["field"] == "hour"


def _enrol_by_choice(api, token: str) -> str:
    from chalicelib.signin import totp

    setup = api.call("POST", "/v1/me/mfa/setup", token, {"password": "Passw0rd!2026"})
    assert setup.status_code == 200, setup.data
    code = totp.code_at(setup.data["secret"], totp.step_of(clock.now().timestamp()))
    done = api.call("POST", "/v1/me/mfa/setup/confirm", token, {"code": code, "password": "Passw0rd!2026"})
    assert done.status_code == 200 and done.data["enrolled"] is True, done.data
    return setup.data["secret"]


def _second_factors(tenant_id: str) -> list[dict]:
    ddb = boto3.client("dynamodb", region_name=get_settings().region)
    r = ddb.query(TableName=get_settings().table_name, KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": f"T#{tenant_id}#MFA"}})
    return r["Items"]


def test_given_users_with_authenticators_when_backed_up_then_no_second_factor_or_secret_is_in_the_backup(api, filled):
    t = filled
    clock.freeze()
    secrets = [_enrol_by_choice(api, t["admin"]), _enrol_by_choice(api, t["tokens"]["rep1"])]
    assert len(_second_factors(t["id"])) == 2
    secrets += [i[a]["S"] for i in _second_factors(t["id"]) for a in ("seed", "seed_key")]  # and their encrypted forms
    b = _backup(api, t["admin"])
    assert b["status"] == "succeeded" and "MFA" not in b["counts"]
    lines = [line for p in b["parts"] if p["name"].startswith("items-") for line in _part(p["download_url"], p)]
    assert lines and not [i for i in lines if i.get("type", {}).get("S") == "MFA" or "#MFA" in i["pk"]["S"]]
    text = json.dumps(lines, ensure_ascii=False)
    assert not any(s in text for s in secrets)


def test_given_an_older_backup_holding_second_factors_when_restored_then_they_do_not_come_back(api, filled, monkeypatch):
    from chalicelib.backups import walk

    t = filled
    clock.freeze()
    _enrol_by_choice(api, t["tokens"]["rep1"])
    with monkeypatch.context() as m:  # a backup made before second factors were left out
        m.setattr(walk, "NOT_BACKED_UP", walk.NOT_BACKED_UP - {"MFA"})
        b = _backup(api, t["admin"])
    assert b["counts"]["MFA"] == 1
    r = api.call("POST", f"/v1/backups/{b['id']}/restore", platform_token(), {"target_tenant_id": "restored-mfa"})
    assert r.status_code == 202, r.data
    jobs.run_queued()
    assert api.call("GET", "/v1/platform/tenants/restored-mfa/restore", platform_token()).data["status"] == "succeeded"
    assert _second_factors("restored-mfa") == []
    rep = _login(api, "restored-mfa", "13900000002")  # the optional policy: a password signs in, no old authenticator asked
    assert api.call("GET", "/v1/me/mfa", rep).data["enrolled"] is False
