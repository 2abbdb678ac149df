"""Strict request bodies of the work modules (tasks, comments, calendar, messages, announcements,
mail, work reports): every write route refuses an unknown field by name and takes values as JSON
sends them (no "5" for 5, no 0 for false); instants still come as ISO text."""
from __future__ import annotations

import re

import pytest

from chalicelib.core.api import ROUTES, resolve
from chalicelib.core.inputs import StrictBody

WORK = ("tasks", "comments", "calendar", "messages", "announcements", "mail", "reports")
# the one-click unsubscribe is posted by mail clients as a form (RFC 8058), not as JSON
NOT_JSON = {("/v1/mail/unsubscribe/{token}", "POST")}
UNKNOWN = "zz_not_a_field"


def _write_routes() -> list[tuple[str, str]]:
    import app  # noqa: F401 - the routes register when the app is built

    return sorted((path, method) for (path, method), spec in ROUTES.items()
                  if spec.tag in WORK and method in ("POST", "PUT", "PATCH") and (path, method) not in NOT_JSON)


def _is_record_body(model) -> bool:
    """A record type's generated body: extra keys go on to the field-type engine, which refuses them by name."""
    return model.model_config.get("extra") == "allow" and model.__module__ == "chalicelib.engine.models"


def test_given_the_work_modules_then_every_write_route_has_a_body_that_refuses_unknown_fields():
    routes = _write_routes()
    assert len(routes) > 40
    loose = []
    for path, method in routes:
        body = resolve(ROUTES[(path, method)].body)
        if body is None or not (body.model_config.get("extra") == "forbid" or _is_record_body(body)):
            loose.append((method, path))
        elif body.__module__.split(".")[1] in WORK and not issubclass(body, StrictBody):  # the modules' own bodies
            loose.append((method, path, "not strict"))
    assert loose == []


@pytest.fixture()
def records(api, sales_team):
    """One record of each work type, so that its routes get as far as reading the body."""
    admin = sales_team["admin"]
    made = {}
    for path, body in (("/v1/tasks", {"title": "准备方案"}),
                       ("/v1/events", {"title": "周会", "start_at": "2026-12-07T10:00:00+08:00", "end_at": "2026-12-07T11:00:00+08:00"}),
                       ("/v1/announcements", {"title": "放假通知", "column": "notice", "body": "<p>元旦放假</p>"}),
                       ("/v1/work-reports", {"kind": "daily"}),
                       ("/v1/mails", {"direction": "out", "subject": "报价"})):
        r = api.call("POST", path, admin, body)
        assert r.status_code == 201, (path, r.data)
        made[path] = r.data["id"]
    return made


def _url(path: str, records: dict[str, str]) -> str:
    def fill(m: re.Match) -> str:
        name = m.group(1)
        for prefix, rid in records.items():
            if path.startswith(prefix + "/{"):
                if f"{prefix}/{{{name}}}" in path:
                    return rid
        return "2026-12-07" if name == "date" else "x1"
    return re.sub(r"{(\w+)}", fill, path)


def test_given_an_unknown_field_when_posted_to_any_work_write_route_then_422_names_it_in_zh_and_en(api, sales_team, records):
    admin = sales_team["admin"]
    missed = []
    for path, method in _write_routes():
        url = _url(path, records)
        for lang, text in (("zh-CN", "没有这个字段"), ("en", "No such field")):
            r = api.call(method, url, admin, {UNKNOWN: 1}, headers={"Accept-Language": lang, "If-Match": '"1"'})
            named = [d for d in (r.data or {}).get("details") or [] if isinstance(d, dict) and d.get("field") == UNKNOWN]
            if r.status_code != 422 or not named or named[0]["message"] != text:
                missed.append((method, path, lang, r.status_code, r.data))
    assert missed == []


def test_given_json_values_of_the_wrong_type_then_422_and_instants_as_iso_text_still_parse(api, sales_team, records):
    t, admin = sales_team["tokens"], sales_team["admin"]
    task = records["/v1/tasks"]
    # a number as text, a boolean as a number: refused, not coerced
    r = api.call("POST", f"/v1/tasks/{task}/progress", admin, {"progress": "50"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "progress"
    r = api.call("POST", f"/v1/tasks/{task}/complete", admin, {"version": "1"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "version"
    r = api.call("POST", "/v1/messages/conversations", t["manager"], {"name": "项目组", "member_ids": sales_team["rep1"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "member_ids"
    r = api.call("POST", "/v1/announcement-columns", admin, {"name": "制度", "sort_order": True})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "sort_order"
    # an instant: ISO text is the JSON way and still works; a number is not an instant
    event = api.call("POST", "/v1/events", admin, {"title": "晨会", "start_at": "2026-12-07T09:00:00+08:00",
                                                   "end_at": "2026-12-07T09:30:00+08:00", "rrule": "FREQ=DAILY;COUNT=3"})
    assert event.status_code == 201, event.data
    occ = f"/v1/events/{event.data['id']}/occurrences/2026-12-08"
    r = api.call("PATCH", occ, admin, {"start_at": 1765155600, "end_at": "2026-12-08T10:30:00+08:00", "version": 1},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "start_at", r.data
    r = api.call("PATCH", occ, admin, {"start_at": "2026-12-08T10:00:00+08:00", "end_at": "2026-12-08T10:30:00+08:00",
                                       "version": event.data["version"]})
    assert r.status_code == 200, r.data
    # a body-less action takes nothing, {} or null
    ann = records["/v1/announcements"]
    assert api.call("POST", f"/v1/announcements/{ann}/read", admin).status_code == 200
    assert api.call("POST", f"/v1/announcements/{ann}/read", admin, {}).status_code == 200
