"""The dashboard (仪表盘, BI-1) through the API: every figure equals what the records created here
add up to, for the chosen period and the one before it, within the caller's data scope (a rep
asking for the company gets their own), on the tenant's calendar; forgotten customers move with
the clock; the to-do counts what is due; a hidden field leaves its figures out; tenants never mix.
Approvals are real Step Functions executions."""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from chalicelib.core import clock

_n = itertools.count(1)
DAY = 86400


def _today() -> date:
    return clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()


def _flows(api, team) -> None:
    for business in ("contract", "payment"):
        r = api.call("POST", "/v1/approval-flows", team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
        assert r.status_code == 201, r.data


def _customer(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/customers", token, {"name": f"仪表盘客户{next(_n)}", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _approve(api, team, token: str, path: str, record_id: str) -> None:
    iid = api.call("POST", f"/v1/{path}/{record_id}/submit", token, {}).data["approval_id"]
    r = api.call("POST", f"/v1/approvals/{iid}/approve", team["tokens"]["manager"], {})
    assert r.status_code == 200, r.data


def _contract(api, team, token: str, customer_id: str, amount: float, approve: bool = True, **fields) -> dict:
    r = api.call("POST", "/v1/contracts", token, {"name": f"合同{next(_n)}", "customer": customer_id, "amount": amount,
                                                 "sign_date": _today().isoformat(), **fields})
    assert r.status_code == 201, r.data
    if approve:
        _approve(api, team, token, "contracts", r.data["id"])
    return r.data


def _payment(api, team, token: str, contract_id: str, amount: float, approve: bool = True, **fields) -> dict:
    r = api.call("POST", "/v1/payments", token, {"contract": contract_id, "amount": amount, "paid_on": _today().isoformat(),
                                                "method": "bank", **fields})
    assert r.status_code == 201, r.data
    if approve:
        _approve(api, team, token, "payments", r.data["id"])
    return r.data


def _followup(api, token: str, customer_id: str, **fields) -> dict:
    r = api.call("POST", "/v1/followups", token, {"about": {"entity": "customer", "id": customer_id}, "type": "call",
                                                 "content": "电话沟通", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _dash(api, token: str, path: str = "", status: int = 200, **query) -> dict:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    r = api.call("GET", f"/v1/dashboard{path}{'?' + qs if qs else ''}", token)
    assert r.status_code == status, r.data
    return r.data


def test_given_two_periods_when_the_briefing_is_read_then_each_figure_counts_its_period_and_the_change(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    first = _today()
    # period 1: 2 customers, a contact, an opportunity of 1,000, a contract of 10,000 (approved) with a payment of 4,000
    # (approved), a draft contract of 99 that never counts in amounts, a follow-up
    c1, _c2 = _customer(api, t["rep1"]), _customer(api, t["rep1"])
    assert api.call("POST", "/v1/contacts", t["rep1"], {"name": "联系人甲", "customer": c1["id"]}).status_code == 201
    assert api.call("POST", "/v1/opportunities", t["rep1"], {"name": "商机甲", "customer": c1["id"], "amount": 1000}).status_code == 201
    k1 = _contract(api, sales_team, t["rep1"], c1["id"], 10000)
    _contract(api, sales_team, t["rep1"], c1["id"], 99, approve=False)
    _payment(api, sales_team, t["rep1"], k1["id"], 4000)
    _followup(api, t["rep1"], c1["id"])
    clock.travel(10 * DAY)
    second = _today()
    assert (second - first).days == 10
    # period 2: 3 customers, a contract of 5,000 (approved), payments of 3,000 (approved) and 500 (not approved), 2 follow-ups
    c3 = _customer(api, t["rep1"])
    _customer(api, t["rep1"]), _customer(api, t["rep1"])
    k2 = _contract(api, sales_team, t["rep1"], c3["id"], 5000)
    _payment(api, sales_team, t["rep1"], k2["id"], 3000)
    _payment(api, sales_team, t["rep1"], k1["id"], 500, approve=False)
    _followup(api, t["rep1"], c3["id"]), _followup(api, t["rep1"], c3["id"])

    d = _dash(api, t["rep1"], start=second.isoformat(), end=(second + timedelta(days=9)).isoformat())
    assert d["period"] == {"range": None, "start": second.isoformat(), "end": (second + timedelta(days=9)).isoformat(),
                           "previous_start": first.isoformat(), "previous_end": (first + timedelta(days=9)).isoformat(),
                           "time_zone": "Asia/Shanghai"}
    b = d["briefing"]
    assert (b["customers"]["count"], b["customers"]["previous_count"], b["customers"]["count_change"]) == (3, 2, 50.0)
    assert (b["contacts"]["count"], b["contacts"]["previous_count"], b["contacts"]["count_change"]) == (0, 1, -100.0)
    assert (b["opportunities"]["count"], b["opportunities"]["amount"], b["opportunities"]["previous_amount"]) == (0, 0, 1000)
    assert (b["contracts"]["count"], b["contracts"]["previous_count"]) == (1, 2)
    assert (b["contract_amount"]["amount"], b["contract_amount"]["previous_amount"], b["contract_amount"]["amount_change"]) == \
        (5000, 10000, -50.0)
    assert (b["payment_amount"]["amount"], b["payment_amount"]["previous_amount"], b["payment_amount"]["amount_change"]) == \
        (3000, 4000, -25.0)
    assert (b["followups"]["count"], b["followups"]["previous_count"], b["followups"]["count_change"]) == (2, 1, 100.0)
    # 业绩指标: the actual amounts; no targets yet (the integration point answers null)
    assert d["achievement"] == {"contract": {"actual": 5000, "target": None, "rate": None},
                                "payment": {"actual": 3000, "target": None, "rate": None}}
    # 销售趋势: per month of the period, the same amounts
    months = sorted({(second + timedelta(days=i)).strftime("%Y-%m") for i in range(10)})
    assert d["trend"]["months"] == months
    assert sum(x["amount"] for x in d["trend"]["contract"]) == 5000 and sum(x["amount"] for x in d["trend"]["payment"]) == 3000
    assert all(x["target"] is None for x in d["trend"]["contract"])
    # one card alone answers the same figures
    alone = _dash(api, t["rep1"], "/briefing", start=second.isoformat(), end=(second + timedelta(days=9)).isoformat())
    assert alone["briefing"] == b and alone.get("funnel") is None and alone.get("todo") is None
    # a whole-period trend over both periods
    both = _dash(api, t["rep1"], "/trend", start=first.isoformat(), end=(second + timedelta(days=9)).isoformat())
    assert sum(x["amount"] for x in both["trend"]["contract"]) == 15000
    assert sum(x["count"] for x in both["trend"]["payment"]) == 2


def test_given_a_team_when_each_chooses_a_scope_then_figures_stay_within_their_data_scope_and_tenant(api, sales_team, make_tenant):
    t = sales_team["tokens"]
    for who, n in (("rep1", 2), ("rep2", 1), ("manager", 1)):
        for _ in range(n):
            _customer(api, t[who])

    def customers(token: str, scope: str) -> int:
        return _dash(api, token, "/briefing", scope=scope, range="month")["briefing"]["customers"]["count"]

    # a rep asking for more than their data scope gets their own records: clamped, never refused, never widened
    assert [customers(t["rep1"], s) for s in ("self", "subordinates", "department", "company")] == [2, 2, 2, 2]
    assert customers(t["rep2"], "company") == 1
    # the manager (本人及下属): self, the reports, the sales department
    assert [customers(t["manager"], s) for s in ("self", "subordinates", "department", "company")] == [1, 4, 4, 4]
    # the service agent sees the department's customers (本部门) but owns none
    assert [customers(t["agent"], s) for s in ("self", "department", "company")] == [0, 4, 4]
    # the administrator: everything; their own department is the top one (everything below it)
    assert [customers(sales_team["admin"], s) for s in ("self", "department", "company")] == [0, 4, 4]
    # another tenant sees nothing of these
    other = make_tenant()
    _customer(api, other["admin"])
    assert customers(other["admin"], "company") == 1


def test_given_presets_and_bad_ranges_then_periods_follow_the_tenant_calendar_and_bad_input_is_a_422(api, sales_team):
    t = sales_team["tokens"]
    d = _today()
    month = _dash(api, t["rep1"], "/briefing")["period"]  # default: this month
    first = d.replace(day=1)
    prev = (first - timedelta(days=1)).replace(day=1)
    assert (month["range"], month["start"], month["previous_start"], month["previous_end"]) == \
        ("month", first.isoformat(), prev.isoformat(), (first - timedelta(days=1)).isoformat())
    assert date.fromisoformat(month["end"]) + timedelta(days=1) == (first + timedelta(days=32)).replace(day=1)
    today = _dash(api, t["rep1"], "/briefing", range="today")["period"]
    assert (today["start"], today["end"], today["previous_start"]) == (d.isoformat(), d.isoformat(), (d - timedelta(days=1)).isoformat())
    week = _dash(api, t["rep1"], "/briefing", range="last_week")["period"]
    monday = d - timedelta(days=d.weekday() + 7)
    assert (week["start"], week["end"], week["previous_start"]) == \
        (monday.isoformat(), (monday + timedelta(days=6)).isoformat(), (monday - timedelta(days=7)).isoformat())
    year = _dash(api, t["rep1"], "/briefing", range="year")["period"]
    assert (year["start"], year["end"], year["previous_start"]) == (f"{d.year}-01-01", f"{d.year}-12-31", f"{d.year - 1}-01-01")
    quarter = _dash(api, t["rep1"], "/trend", range="quarter")
    assert len(quarter["trend"]["months"]) == 3 and quarter["trend"]["months"][0] == quarter["period"]["start"][:7]
    # a customer created today counts today, not yesterday
    _customer(api, t["rep1"])
    assert _dash(api, t["rep1"], "/briefing", range="today")["briefing"]["customers"]["count"] == 1
    assert _dash(api, t["rep1"], "/briefing", range="yesterday")["briefing"]["customers"]["count"] == 0

    bad = _dash(api, t["rep1"], "/briefing", status=422, start=d.isoformat())
    assert bad["code"] == "VALIDATION_FAILED" and bad["details"][0]["field"] == "end" and "时间范围" in bad["details"][0]["message"]
    r = api.call("GET", f"/v1/dashboard?start={d.isoformat()}&end={(d - timedelta(days=1)).isoformat()}", t["rep1"],
                 headers={"Accept-Language": "en"})
    assert r.status_code == 422 and "time range" in r.data["details"][0]["message"]
    both = _dash(api, t["rep1"], status=422, range="month", start=d.isoformat(), end=d.isoformat())
    assert both["details"][0]["field"] == "range"
    too_long = _dash(api, t["rep1"], status=422, start="2020-01-01", end="2026-01-01")
    assert too_long["details"][0]["field"] == "end"
    assert _dash(api, t["rep1"], status=422, scope="everyone")["details"][0]["field"] == "scope"
    assert _dash(api, t["rep1"], "/funnel", status=422, stage_group="nope")["details"][0]["field"] == "stage_group"


def test_given_opportunities_at_stages_and_closed_when_the_funnel_is_read_then_it_counts_open_per_stage_and_won_lost(api, sales_team):
    t = sales_team["tokens"]
    c = _customer(api, t["rep1"])

    def opp(amount: float) -> dict:
        r = api.call("POST", "/v1/opportunities", t["rep1"], {"name": f"商机{next(_n)}", "customer": c["id"], "amount": amount})
        assert r.status_code == 201, r.data
        return r.data

    opp(1000)
    moved = opp(2000)
    assert api.call("POST", f"/v1/opportunities/{moved['id']}/stage", t["rep1"], {"stage_id": "proposal", "version": moved["version"]}).status_code == 200
    won, lost = opp(3000), opp(4000)
    assert api.call("POST", f"/v1/opportunities/{won['id']}/close", t["rep1"], {"outcome": "won", "version": won["version"]}).status_code == 200
    assert api.call("POST", f"/v1/opportunities/{lost['id']}/close", t["rep1"], {"outcome": "lost", "loss_reason": "price",
                                                                                "version": lost["version"]}).status_code == 200
    opp(500)  # rep2 never sees rep1's: their funnel stays empty
    f = _dash(api, t["rep1"], "/funnel", range="month")["funnel"]
    assert f["stage_group"] == {"id": "standard", "name": "标准销售流程"}
    assert [(s["stage"], s["count"], s["amount"], s["weighted_amount"]) for s in f["stages"]] == [
        ("contact", 2, 1500, 150), ("needs", 0, 0, 0), ("proposal", 1, 2000, 1000), ("negotiation", 0, 0, 0)]
    assert f["won"] == {"count": 1, "amount": 3000} and f["lost"] == {"count": 1, "amount": 4000}
    # closed in another period: not this one's won / lost
    last = _dash(api, t["rep1"], "/funnel", range="last_month")["funnel"]
    assert last["won"] == {"count": 0, "amount": 0} and last["stages"][0]["count"] == 2  # open ones are the pipeline now
    empty = _dash(api, t["rep2"], "/funnel", scope="company")["funnel"]
    assert sum(s["count"] for s in empty["stages"]) == 0 and empty["won"]["count"] == 0
    assert _dash(api, t["manager"], "/funnel", scope="subordinates")["funnel"]["stages"][0]["count"] == 2


def test_given_customers_not_contacted_when_the_clock_moves_then_they_reach_each_bucket_and_are_listed(api, sales_team):
    t = sales_team["tokens"]
    x, y = _customer(api, t["rep1"]), _customer(api, t["rep1"])

    def buckets(token: str = t["rep1"]) -> list[int]:
        return [b["count"] for b in _dash(api, token, "/forgotten")["forgotten"]["buckets"]]

    assert buckets() == [0, 0, 0, 0, 0]
    clock.travel(6 * DAY)
    assert buckets() == [0, 0, 0, 0, 0]  # 6 days: not yet a week
    clock.travel(DAY)
    assert buckets() == [2, 0, 0, 0, 0]
    _followup(api, t["rep1"], x["id"])  # contacted today: out of every bucket
    assert buckets() == [1, 0, 0, 0, 0]
    clock.travel(9 * DAY)  # day 16: y never contacted (16 days), x contacted 9 days ago
    assert buckets() == [2, 1, 0, 0, 0]
    assert buckets(t["rep2"]) == [0, 0, 0, 0, 0] and buckets(t["manager"]) == [0, 0, 0, 0, 0]  # the manager's own: none
    assert [b["count"] for b in _dash(api, t["manager"], "/forgotten", scope="subordinates")["forgotten"]["buckets"]] == [2, 1, 0, 0, 0]

    # the customers behind a bucket, paged with the list cursor, longest forgotten first (never contacted last)
    page = api.call("GET", "/v1/dashboard/forgotten/customers?days=7&limit=1", t["rep1"]).data
    assert [c["id"] for c in page["items"]] == [x["id"]] and page["next_cursor"]
    rest = api.call("GET", f"/v1/dashboard/forgotten/customers?days=7&limit=1&cursor={page['next_cursor']}", t["rep1"]).data
    assert [c["id"] for c in rest["items"]] == [y["id"]] and rest["next_cursor"] is None
    fifteen = api.call("GET", "/v1/dashboard/forgotten/customers?days=15", t["rep1"]).data
    assert [c["id"] for c in fifteen["items"]] == [y["id"]]
    assert api.call("GET", "/v1/dashboard/forgotten/customers?days=7", t["rep2"]).data["items"] == []
    assert api.call("GET", "/v1/dashboard/forgotten/customers?days=8", t["rep1"]).status_code == 422
    # a customer put into a pool is nobody's forgotten customer
    pool = api.call("POST", "/v1/pools", sales_team["admin"], {"name": "公海一", "member_department_ids": [sales_team["sales"]]}).data
    r = api.call("POST", f"/v1/customers/{y['id']}/pool", t["rep1"], {"pool_id": pool["id"], "reason": "无意向",
                                                                       "version": api.call("GET", f"/v1/customers/{y['id']}", t["rep1"]).data["version"]})
    assert r.status_code == 200, r.data
    assert [b["count"] for b in _dash(api, sales_team["admin"], "/forgotten", scope="company")["forgotten"]["buckets"]] == [1, 0, 0, 0, 0]


def test_given_work_due_when_the_todo_is_read_then_it_counts_followups_approvals_plans_contracts_and_pool(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    d = _today()
    pool = api.call("POST", "/v1/pools", sales_team["admin"], {"name": "公海", "member_department_ids": [sales_team["sales"]],
                                                                "rules": [{"kind": "no_followup", "days": 5}]})
    assert pool.status_code == 201, pool.data
    c = _customer(api, t["rep1"])  # a deal once its contract is approved: pools leave it alone
    _customer(api, t["rep1"])  # enters the pool in 5 days: about to
    _followup(api, t["rep1"], c["id"], next_contact_at=f"{d.isoformat()}T23:30:00+08:00")
    _followup(api, t["rep1"], c["id"], next_contact_at=f"{(d + timedelta(days=1)).isoformat()}T10:00:00+08:00")  # tomorrow
    k = _contract(api, sales_team, t["rep1"], c["id"], 10000, start_date=d.isoformat(), end_date=(d + timedelta(days=20)).isoformat())
    _contract(api, sales_team, t["rep1"], c["id"], 10000, start_date=d.isoformat(), end_date=(d + timedelta(days=40)).isoformat())
    for title, due, amount in (("第一期", d + timedelta(days=3), 1000), ("第二期", d + timedelta(days=20), 2000),
                               ("第零期", d - timedelta(days=2), 700)):
        r = api.call("POST", "/v1/payment-plans", t["rep1"], {"title": title, "contract": k["id"], "amount": amount,
                                                             "due_date": due.isoformat()})
        assert r.status_code == 201, r.data
    _payment(api, sales_team, t["rep1"], k["id"], 300, plan=next(
        p["id"] for p in api.call("GET", "/v1/payment-plans", t["rep1"]).data["items"] if p["title"] == "第一期"))
    draft = _contract(api, sales_team, t["rep1"], c["id"], 50, approve=False)
    assert api.call("POST", f"/v1/contracts/{draft['id']}/submit", t["rep1"], {}).status_code == 200  # waits for the manager

    todo = _dash(api, t["rep1"], "/todo")["todo"]
    assert todo["followups_today"] == {"count": 1}
    assert todo["pending_approvals"] == {"count": 0}
    assert todo["plans_due"] == {"count": 1, "amount": 1000, "outstanding": 700, "days": 7}
    assert todo["plans_overdue"] == {"count": 1, "amount": 700, "outstanding": 700}
    assert todo["contracts_expiring"] == {"count": 1, "amount": 10000, "days": 30}
    assert todo["customers_to_pool"] == {"count": 1, "days": 7}
    manager = _dash(api, t["manager"], "/todo", scope="subordinates")["todo"]
    assert manager["pending_approvals"] == {"count": 1} and manager["plans_due"]["count"] == 1
    assert _dash(api, t["manager"], "/todo")["todo"]["plans_due"]["count"] == 0  # self: the manager owns none
    # the clock moves a day: tomorrow's follow-up is today's, the plan is due in 2 days
    clock.travel(DAY)
    later = _dash(api, t["rep1"], "/todo")["todo"]
    assert later["followups_today"] == {"count": 1} and later["plans_due"]["count"] == 1
    clock.travel(7 * DAY)  # the customer's pool moment has passed (the recycler moves it): no longer "about to"
    assert _dash(api, t["rep1"], "/todo")["todo"]["followups_today"] == {"count": 0}


def test_given_hidden_amounts_when_the_dashboard_is_read_then_those_figures_are_left_out_and_the_rest_stays(api, sales_team):
    t = sales_team["tokens"]
    _flows(api, sales_team)
    c = _customer(api, t["rep1"])
    assert api.call("POST", "/v1/opportunities", t["rep1"], {"name": "商机", "customer": c["id"], "amount": 1000}).status_code == 201
    k = _contract(api, sales_team, t["rep1"], c["id"], 5000)
    _payment(api, sales_team, t["rep1"], k["id"], 800)
    read = ["list", "read"]
    role = api.call("POST", "/v1/org/roles", sales_team["admin"], {
        "name": "只看数量", "actions": {m: read for m in ("customers", "contacts", "opportunities", "contracts", "payments", "followups")},
        "scopes": {m: "all" for m in ("customers", "contacts", "opportunities", "contracts", "payments", "followups")},
        "fields": {"contracts": {"amount": "hidden"}, "opportunities": {"amount": "masked"},
                   "customers": {"last_followup_at": "hidden"}}})
    assert role.status_code == 201, role.data
    u = api.call("POST", "/v1/org/users", sales_team["admin"], {"name": "观察员", "mobile": "13900000009", "department_id": sales_team["sales"],
                                                               "role_ids": [role.data["id"]], "password": "Passw0rd!2026"})
    assert u.status_code == 201, u.data
    viewer = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000009", "password": "Passw0rd!2026"}).data["id_token"]

    d = _dash(api, viewer, scope="company")
    b = d["briefing"]
    assert (b["contracts"]["count"], b["contract_amount"]["count"], b["contract_amount"]["amount"]) == (1, 1, None)
    assert (b["opportunities"]["count"], b["opportunities"]["amount"]) == (1, None)
    assert b["payment_amount"]["amount"] == 800  # payments' amount is readable
    assert d["achievement"]["contract"]["actual"] is None and d["achievement"]["payment"]["actual"] == 800
    f = d["funnel"]["stages"][0]
    assert (f["count"], f["amount"], f["weighted_amount"]) == (1, None, 100)
    assert all(p["amount"] is None for p in d["trend"]["contract"]) and sum(p["amount"] for p in d["trend"]["payment"]) == 800
    assert [x["count"] for x in d["forgotten"]["buckets"]] == [None] * 5  # selected by a hidden field: left out
    assert d["todo"]["contracts_expiring"]["amount"] is None
    named = {(o["figure"], o["field"], o["code"]) for o in d["omitted"]}
    assert ("briefing.contract_amount.current.amount", "amount", "FIELD_NOT_READABLE") in named
    assert ("forgotten.7", "last_followup_at", "FIELD_NOT_READABLE") in named
    # the list of a bucket refuses the hidden field, as any list filter or sort on it would
    r = api.call("GET", "/v1/dashboard/forgotten/customers?days=7", viewer)
    assert r.status_code == 422 and r.data["code"] == "FIELD_NOT_READABLE"
    # the rep, without field rules, sees every amount
    assert _dash(api, t["rep1"])["briefing"]["contract_amount"]["amount"] == 5000


def test_given_the_funnel_and_the_trend_when_asked_as_images_then_they_follow_the_figures_with_chinese_labels(api, sales_team):
    import warnings

    t = sales_team["tokens"]
    _flows(api, sales_team)
    png = {"Accept": "image/png"}
    before = api.call("GET", "/v1/dashboard/funnel/png?scope=company", t["rep1"], headers=png)
    assert before.status_code == 200 and before.headers["Content-Type"] == "image/png" and before.body[:8] == b"\x89PNG\r\n\x1a\n"
    customer = _customer(api, t["rep1"])
    opp = api.call("POST", "/v1/opportunities", t["rep1"], {"name": "图表商机", "customer": customer["id"], "amount": 88000})
    assert opp.status_code == 201, opp.data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (a Chinese label drawn as boxes) is a warning of matplotlib's
        after = api.call("GET", "/v1/dashboard/funnel/png?scope=company", t["rep1"], headers=png)
        svg = api.call("GET", "/v1/dashboard/trend/svg?range=year", t["rep1"], headers={"Accept": "image/svg+xml"})
    assert after.status_code == 200 and after.body != before.body  # the new opportunity is drawn
    _contract(api, sales_team, t["rep1"], customer["id"], 5000)
    svg2 = api.call("GET", "/v1/dashboard/trend/svg?range=year", t["rep1"], headers={"Accept": "image/svg+xml"})
    assert svg.status_code == svg2.status_code == 200 and svg.body.lstrip().startswith(b"<?xml") and b"<svg" in svg.body
    assert svg2.body != svg.body  # the approved contract moves this month's point
    refused = api.call("GET", "/v1/dashboard/funnel/png", t["rep1"], headers={"Accept": "application/json", "Accept-Language": "en"})
    assert refused.status_code == 406 and "image/png" in refused.data["message"]
    assert api.call("GET", "/v1/dashboard/funnel/png", headers=png).status_code == 401

