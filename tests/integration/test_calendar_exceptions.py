"""Single-occurrence exceptions of a recurring event: a cancelled date (`exdates`) must be an
occurrence of the series, as a moved one (`overrides`) must — one check, a 422 naming the date."""
from __future__ import annotations

from datetime import date, timedelta

from chalicelib.core import clock


def _monday() -> date:
    d = (clock.now() + timedelta(days=14)).date()
    return d - timedelta(days=d.weekday())


def _weekly(api, token: str, monday: date, **fields) -> dict:
    r = api.call("POST", "/v1/events?force=true", token, {"title": "周例会", "start_at": f"{monday}T10:00:00+08:00",
                                                          "end_at": f"{monday}T11:00:00+08:00", "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
                                                          **fields})
    return r


def test_given_a_cancelled_date_that_is_not_an_occurrence_then_422_names_the_date(api, sales_team):
    tok = sales_team["tokens"]["rep1"]
    monday = _monday()
    tuesday, after_end = monday + timedelta(days=8), monday + timedelta(days=28)  # not a Monday; past the 4th Monday
    r = _weekly(api, tok, monday, exdates=[str(monday + timedelta(days=7)), str(tuesday)])
    assert r.status_code == 422, r.data
    assert [d["field"] for d in r.data["details"]] == ["exdates.1"], r.data
    assert r.data["details"][0]["message"].startswith(f"{tuesday} 不是这个重复日程的某一次")
    ev = _weekly(api, tok, monday, exdates=[str(monday + timedelta(days=7))])
    assert ev.status_code == 201, ev.data
    en = api.call("PATCH", f"/v1/events/{ev.data['id']}", tok, {"exdates": [str(after_end)], "version": ev.data["version"]},
                  headers={"Accept-Language": "en"})
    assert en.status_code == 422 and en.data["details"][0]["field"] == "exdates.0"
    assert en.data["details"][0]["message"].startswith(f"{after_end} is not an occurrence of this series")
    # not a date at all, and a cancelled and a moved date wrong at once: each named at its own path
    r = api.call("PATCH", f"/v1/events/{ev.data['id']}", tok, {"exdates": [str(tuesday)], "overrides": [
        {"date": str(tuesday), "start_at": f"{tuesday}T10:00:00+08:00", "end_at": f"{tuesday}T11:00:00+08:00"}],
        "version": ev.data["version"]})
    assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["exdates.0", "overrides.0.date"]
    # changing the rule so that a cancelled date is no longer an occurrence is refused, naming it
    r = api.call("PATCH", f"/v1/events/{ev.data['id']}", tok, {"rrule": "FREQ=WEEKLY;BYDAY=MO;INTERVAL=2;COUNT=2",
                                                                "version": ev.data["version"]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "exdates.0"
    # an event that does not recur has no occurrences to cancel
    r = api.call("POST", "/v1/events", tok, {"title": "x", "start_at": f"{monday}T15:00:00+08:00", "exdates": [str(monday)]})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "rrule"


def test_given_an_event_without_a_rule_then_any_cancelled_or_moved_occurrence_is_refused(api, sales_team):
    tok = sales_team["tokens"]["rep1"]
    monday = _monday()
    once = {"title": "单次会议", "start_at": f"{monday}T15:00:00+08:00", "end_at": f"{monday}T16:00:00+08:00"}
    for extra in ({"exdates": ["banana"]}, {"exdates": [str(monday)]},
                  {"overrides": [{"date": str(monday), "start_at": f"{monday}T17:00:00+08:00", "end_at": f"{monday}T18:00:00+08:00"}]}):
        for lang in ("zh-CN", "en"):
            r = api.call("POST", "/v1/events?force=true", tok, {**once, **extra}, headers={"Accept-Language": lang})
            assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["rrule"], (extra, r.data)
            assert r.data["details"][0]["message"].isascii() == (lang == "en")
    # a recurring event with a cancelled date cannot drop its rule and keep the date
    ev = _weekly(api, tok, monday, exdates=[str(monday + timedelta(days=7))])
    assert ev.status_code == 201, ev.data
    r = api.call("PATCH", f"/v1/events/{ev.data['id']}", tok, {"rrule": None, "version": ev.data["version"]})
    assert r.status_code == 422 and [d["field"] for d in r.data["details"]] == ["rrule"], r.data
