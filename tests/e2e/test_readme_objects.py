"""The README's custom-object walkthrough, run as written against the local stack: an admin
builds 电话征订 through the API, a rep creates a record, filters and searches it, and its
end date is scheduled to remind the rep (a real Scheduler schedule on the moto server)."""
from __future__ import annotations

import re
from urllib.parse import urlencode

from .readme import bash_block, curl_commands

REP, ADMIN = "13800000004", "13800000001"


def _block() -> str:
    return bash_block("Custom objects (数据自定义表单): an admin defines a record type")


def _run(stack, args: list[str], tokens: dict[str, str]):
    method, url, headers, body, params, get = "GET", None, {}, None, [], False
    it = iter(args)
    for a in it:
        if a == "-X":
            method = next(it)
        elif a == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = re.sub(r"\$(\w+)", lambda m: tokens[m.group(1)], value.strip())
        elif a == "-d":
            body = next(it)
        elif a == "-G":
            get = True
        elif a == "--data-urlencode":
            k, _, v = next(it).partition("=")
            params.append((k, v))
        elif a.startswith("$API"):
            url = stack.url + a[4:]
    if get:
        method, url = "GET", f"{url}?{urlencode(params)}"
    elif body is not None and method == "GET":
        method = "POST"
    return stack.http.request(method, url, data=body.encode() if body else None, headers=headers, timeout=30)


def test_given_the_readme_walkthrough_when_run_as_written_then_every_call_succeeds_and_the_rep_finds_the_record(stack):
    tokens = {"TOKEN": stack.login(REP), "ADMIN": stack.login(ADMIN)}
    commands = curl_commands(_block())
    assert len(commands) == 5
    for args in commands:
        r = _run(stack, args, tokens)
        assert r.status_code < 400, (args[:6], r.status_code, r.text[:500])
    # the list is served from the index (a driver tick behind the write)
    path = f"/v1/objects/subscription/records?{urlencode({'q': '天府', 'facets': 'kind'})}"

    def listed() -> dict | None:
        page = stack.call("GET", path, tokens["TOKEN"]).json()
        return page if page["items"] else None

    found = stack.eventually(listed)
    assert found, "the record never reached the list"
    assert [i["customer_name"] for i in found["items"]] == ["成都天府医疗器械有限公司"]
    assert found["facets"]["kind"] == [{"value": "paid", "count": 1}]
    meta = {m["type"]: m for m in stack.call("GET", "/v1/meta/records", tokens["TOKEN"]).json()["items"]}
    assert meta["obj_subscription"]["rights"]["create"] is True and meta["obj_subscription"]["rights"]["delete"] is False
    # the end date's reminder is a real schedule on the local Scheduler, due 30 days before at 09:00 Asia/Shanghai
    import boto3

    sched = boto3.client("scheduler", region_name=stack.env.get("CRM_REGION", "ap-southeast-1"),
                         endpoint_url=f"http://127.0.0.1:{stack.env['CRM_MOTO_PORT']}", aws_access_key_id="local",
                         aws_secret_access_key="local")
    groups = [g["Name"] for g in sched.list_schedule_groups()["ScheduleGroups"]]
    record_id = found["items"][0]["id"]
    schedules = [sched.get_schedule(Name=s["Name"], GroupName=g)
                 for g in groups for s in sched.list_schedules(GroupName=g)["Schedules"] if s["Name"].startswith("due-")]
    expressions = [s["ScheduleExpression"] for s in schedules if record_id in s["Target"]["Input"]]  # not the demo's own
    assert expressions == ["at(2027-05-31T09:00:00)"]
