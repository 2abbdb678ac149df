"""Team calendars (团队日程): a team's calendar shows the team events the caller may read — taking part,
their data scope, the record team — and the list of teams is the team names among those events."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from chalicelib.core import clock

CST = "+08:00"


def _monday() -> str:
    d = (clock.now() + timedelta(days=14)).date()
    return (d - timedelta(days=d.weekday())).isoformat()


def _at(day: str, hm: str, plus: int = 0) -> str:
    return f"{(datetime.fromisoformat(day) + timedelta(days=plus)).date().isoformat()}T{hm}:00{CST}"


def _event(api, token: str, title: str, day: str, hm: str, **fields) -> dict:
    start = _at(day, hm)
    end = _at(day, f"{int(hm[:2]) + 1:02d}{hm[2:]}")
    r = api.call("POST", "/v1/events?force=true", token, {"title": title, "start_at": start, "end_at": end, **fields})
    assert r.status_code == 201, r.data
    return r.data


def _team(api, token: str, day: str, team: str, lang: str | None = None):
    q = f"from={quote(_at(day, '00:00'))}&to={quote(_at(day, '00:00', 7))}&team_name={quote(team)}"
    return api.call("GET", f"/v1/calendar?{q}", token, headers={"Accept-Language": lang} if lang else None)


def _teams(api, token: str) -> list[tuple[str, int]]:
    r = api.call("GET", "/v1/calendar/teams", token)
    assert r.status_code == 200, r.data
    return [(t["team_name"], t["events"]) for t in r.data["items"]]


def _setup(api, sales_team) -> dict:
    t, tok = sales_team, sales_team["tokens"]
    day = _monday()
    made = {
        "kickoff": _event(api, tok["manager"], "华东组周会", day, "09:00", calendar="team", team_name="华东组",
                          participant_ids=[t["rep1"]]),
        "visit": _event(api, tok["rep1"], "华东组拜访", day, "14:00", calendar="team", team_name="  华东组 "),
        "south": _event(api, tok["rep2"], "华南组复盘", day, "10:00", calendar="team", team_name="华南组"),
        "secret": _event(api, tok["rep2"], "华南组私事", day, "16:00", calendar="team", team_name="华南组", private=True),
        "mine": _event(api, tok["rep1"], "个人安排", day, "16:00"),
    }
    return {"day": day, **made}


def test_given_team_events_then_a_rep_sees_their_team_calendar_and_not_another_teams_private_events(api, sales_team):
    tok = sales_team["tokens"]
    ev = _setup(api, sales_team)
    day = ev["day"]
    r = _team(api, tok["rep1"], day, "华东组")
    assert r.status_code == 200, r.data
    assert r.data["team_name"] == "华东组"
    assert [(i["title"], i["busy"]) for i in r.data["items"]] == [("华东组周会", False), ("华东组拜访", False)]
    assert ev["visit"]["team_name"] == "华东组"  # stored trimmed: one team, whatever the spacing
    assert _teams(api, tok["rep1"]) == [("华东组", 2)]
    # another team's events are not the rep's to read: the calendar is not found, private or not
    other = _team(api, tok["rep1"], day, "华南组")
    assert other.status_code == 404 and other.data["code"] == "TEAM_CALENDAR_NOT_FOUND"
    assert "华南组" in other.data["message"]
    en = _team(api, tok["rep1"], day, "华南组", lang="en")
    assert en.data["message"].startswith("No team calendar “华南组”")
    # rep2 sees their own private event in their team's calendar
    south = _team(api, tok["rep2"], day, "华南组").data["items"]
    assert [i["title"] for i in south] == ["华南组复盘", "华南组私事"]


def test_given_team_events_then_a_manager_sees_the_whole_teams_calendar_but_not_private_events(api, sales_team):
    tok = sales_team["tokens"]
    ev = _setup(api, sales_team)
    day = ev["day"]
    east = _team(api, tok["manager"], day, "华东组").data["items"]
    assert [i["title"] for i in east] == ["华东组周会", "华东组拜访"]
    south = _team(api, tok["manager"], day, "华南组").data["items"]
    assert [i["title"] for i in south] == ["华南组复盘"]  # the private one is rep2's alone
    assert _teams(api, tok["manager"]) == [("华东组", 2), ("华南组", 1)]
    # an admin sees every team; a service agent outside the teams sees none
    assert _teams(api, sales_team["admin"]) == [("华东组", 2), ("华南组", 1)]
    assert _teams(api, tok["agent"]) == []


def test_given_a_bad_team_query_then_422_or_404_with_a_clear_message(api, sales_team):
    tok = sales_team["tokens"]
    day = _monday()
    q = f"from={quote(_at(day, '00:00'))}&to={quote(_at(day, '00:00', 7))}"
    both = api.call("GET", f"/v1/calendar?{q}&team_name=x&user_id={sales_team['rep1']}", tok["manager"])
    assert both.status_code == 422 and both.data["details"][0]["field"] == "team_name"
    long = api.call("GET", f"/v1/calendar?{q}&team_name={'x' * 101}", tok["manager"])
    assert long.status_code == 422 and long.data["details"][0]["field"] == "team_name"
    blank = api.call("GET", f"/v1/calendar?{q}&team_name=%20%20", tok["manager"])
    assert blank.status_code == 422 and blank.data["details"][0]["field"] == "team_name"
    unknown = _team(api, tok["manager"], day, "没有这个组")
    assert unknown.status_code == 404 and "没有这个组" in unknown.data["message"]


def test_given_a_role_that_may_not_read_team_name_then_team_calendars_cannot_probe_it(api, sales_team):
    """The team calendar filters on team_name as the caller's field rules allow it, as the list of teams does:
    hidden → 422 FIELD_NOT_READABLE, never an answer that tells whether a team has events."""
    t = sales_team
    made = _setup(api, t)
    admin = t["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "看不到团队名", "actions": {"calendar": ["list", "read"]}, "scopes": {"calendar": "all"},
        "fields": {"calendar": {"team_name": "hidden"}}})
    assert role.status_code == 201, role.data
    assert api.call("POST", "/v1/org/users", admin, {"name": "无团队名", "mobile": "13700002001", "department_id": t["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"}).status_code == 201
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": "13700002001",
                                                     "password": "Passw0rd!2026"}).data["id_token"]
    for team in ("华东组", "没有这个组"):  # a team with events and none: the same answer
        for lang in ("zh-CN", "en"):
            r = _team(api, token, made["day"], team, lang)
            assert r.status_code == 422 and r.data["code"] == "FIELD_NOT_READABLE", r.data
            assert r.data["message"].isascii() == (lang == "en"), r.data
    listed = api.call("GET", "/v1/calendar/teams", token)
    assert listed.status_code == 422 and listed.data["code"] == "FIELD_NOT_READABLE"
    # whoever may read it still opens the team's calendar
    assert _team(api, t["tokens"]["manager"], made["day"], "华东组").status_code == 200
