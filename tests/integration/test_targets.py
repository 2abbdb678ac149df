"""Sales targets, achievement (SALES-13) and territories (SALES-15) through the API: who sets which
targets, achievement figures equal to the hand-computed sums of approved contracts and payments
(approvals on real Step Functions executions), data scope, and which team a region belongs to."""
from __future__ import annotations

import itertools

_n = itertools.count(1)
YEAR = 2026


def months(*pairs: tuple[int, float]) -> list[float]:
    out = [0.0] * 12
    for m, v in pairs:
        out[m - 1] = v
    return out


def flows(api, team) -> None:
    for business in ("contract", "payment"):
        r = api.call("POST", "/v1/approval-flows", team["admin"], {
            "name": f"{business}审批", "business_type": business, "enabled": True,
            "nodes": [{"id": "sup", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]})
        assert r.status_code == 201, r.data


def approved_contract(api, team, rep: str, amount: float | None, sign_date: str, **fields) -> dict:
    t = team["tokens"]
    customer = api.call("POST", "/v1/customers", t[rep], {"name": f"目标客户{next(_n)}"}).data
    body = {"name": f"目标合同{next(_n)}", "customer": customer["id"], "sign_date": sign_date, **fields}
    if amount is not None:
        body["amount"] = amount
    c = api.call("POST", "/v1/contracts", t[rep], body)
    assert c.status_code == 201, c.data
    iid = api.call("POST", f"/v1/contracts/{c.data['id']}/submit", t[rep], {}).data["approval_id"]
    assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    return api.call("GET", f"/v1/contracts/{c.data['id']}", t[rep]).data


def payment(api, team, rep: str, contract_id: str, amount: float, paid_on: str, approve: bool = True) -> dict:
    t = team["tokens"]
    r = api.call("POST", "/v1/payments", t[rep], {"contract": contract_id, "amount": amount, "paid_on": paid_on})
    assert r.status_code == 201, r.data
    if approve:
        iid = api.call("POST", f"/v1/payments/{r.data['id']}/submit", t[rep], {}).data["approval_id"]
        assert api.call("POST", f"/v1/approvals/{iid}/approve", t["manager"], {}).status_code == 200
    return r.data


def put_targets(api, token, rows, metric="contract_amount", version=None, **plan):
    body = {"rows": rows, **plan, **({"version": version} if version is not None else {})}
    return api.call("PUT", f"/v1/targets?year={YEAR}&metric={metric}", token, body)


def test_given_targets_when_set_then_twelve_non_negative_figures_of_known_subjects_are_kept_with_quarters_and_year(api, sales_team):
    admin = sales_team["admin"]
    sales = sales_team["sales"]
    rows = [{"subject": "company", "months": [100000] * 12},
            {"subject": f"department:{sales}", "months": [50000] * 12},
            {"subject": f"user:{sales_team['rep1']}", "months": months((1, 1000), (2, 2000), (4, 500.5))}]
    r = put_targets(api, admin, rows, name="2026 年度销售计划", notes="华东优先")
    assert r.status_code == 200, r.data
    assert r.data["version"] == 1 and r.data["name"] == "2026 年度销售计划"
    rep_row = next(x for x in r.data["rows"] if x["kind"] == "user")
    assert rep_row["name"] == "李娜" and rep_row["quarters"] == ["3000.00", "500.50", "0.00", "0.00"]
    assert rep_row["total"] == "3500.50"
    company = r.data["rows"][0]
    assert company["subject"] == "company" and company["total"] == "1200000.00"

    # validation: 12 figures, none negative, known subjects, one row each
    bad = [
        [{"subject": "company", "months": [1] * 11}],
        [{"subject": "company", "months": [-1] + [0] * 11}],
        [{"subject": "department:nope", "months": [0] * 12}],
        [{"subject": "user:nope", "months": [0] * 12}],
        [{"subject": "team:x", "months": [0] * 12}],
        [{"subject": "company", "months": [0] * 12}, {"subject": "company", "months": [1] * 12}],
    ]
    for b in bad:
        r = put_targets(api, admin, b, version=1)
        assert r.status_code == 422, (b, r.data)
        assert r.data["details"][0]["field"].startswith("rows"), r.data
    unknown = put_targets(api, admin, [{"subject": "department:nope", "months": [0] * 12}], version=1)
    assert unknown.data["details"] == [{"field": "rows.0.subject", "type": "not_found", "message": "部门不存在"}]
    assert put_targets(api, admin, rows).status_code == 428  # the second save needs the version read
    assert put_targets(api, admin, rows, version=7).status_code == 409
    again = api.call("GET", f"/v1/targets?year={YEAR}&metric=contract_amount", admin).data
    assert again["version"] == 1 and len(again["rows"]) == 3
    assert api.call("GET", f"/v1/targets?year={YEAR}&metric=payment_amount", admin).data == {
        "year": YEAR, "metric": "payment_amount", "name": None, "notes": None, "rows": [], "version": 0}
    plans = api.call("GET", f"/v1/targets/plans?year={YEAR}", admin).data
    assert [(p["metric"], p["name"]) for p in plans["items"]] == [("contract_amount", "2026 年度销售计划")]


def test_given_roles_when_setting_targets_then_a_rep_cannot_and_a_manager_only_for_their_team(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    other = api.call("POST", "/v1/org/users", admin, {"name": "钱客服", "mobile": "13900000009", "department_id": sales_team["service"],
                                                     "role_ids": ["sales_rep"], "password": "Passw0rd!2026"}).data["id"]
    rep1, rep2, manager = sales_team["rep1"], sales_team["rep2"], sales_team["manager"]
    base = [{"subject": "company", "months": [9000] * 12}, {"subject": f"user:{manager}", "months": [3000] * 12},
            {"subject": f"user:{other}", "months": [100] * 12}, {"subject": f"department:{sales_team['sales']}", "months": [6000] * 12}]
    assert put_targets(api, admin, base).status_code == 200

    # a rep sets nothing and sees only their own row
    assert put_targets(api, t["rep1"], [{"subject": f"user:{rep1}", "months": [1] * 12}], version=1).status_code == 403
    # the manager sets their people's rows (their own and their department's are set from above: sent back unchanged
    # they are accepted); the rows they may not set are kept as stored
    team_rows = [{"subject": f"department:{sales_team['sales']}", "months": [6000] * 12},
                 {"subject": f"user:{rep1}", "months": [1000] * 12}, {"subject": f"user:{rep2}", "months": [2000] * 12}]
    r = put_targets(api, t["manager"], team_rows, version=1)
    assert r.status_code == 200, r.data
    shown = {x["subject"] for x in r.data["rows"]}
    assert shown == {f"department:{sales_team['sales']}", f"user:{rep1}", f"user:{rep2}", f"user:{manager}"}  # no company, no other
    stored = api.call("GET", f"/v1/targets?year={YEAR}", admin).data
    assert len(stored["rows"]) == 6 and stored["version"] == 2
    # sending back their own row unchanged is fine; changing it, the company's or another department's user's is 403
    assert put_targets(api, t["manager"], [*team_rows, {"subject": f"user:{manager}", "months": [3000] * 12}], version=2).status_code == 200
    for row in ({"subject": f"user:{manager}", "months": [1] * 12}, {"subject": "company", "months": [1] * 12},
                {"subject": f"user:{other}", "months": [1] * 12}, {"subject": f"department:{sales_team['sales']}", "months": [1] * 12}):
        r = put_targets(api, t["manager"], [*(x for x in team_rows if x["subject"] != row["subject"]), row], version=2)
        assert r.status_code == 403 and r.data["code"] == "TARGET_OUT_OF_REACH", r.data
    assert put_targets(api, t["manager"], team_rows, version=2, name="改名").status_code == 403  # the plan is the company's
    en = api.call("PUT", f"/v1/targets?year={YEAR}", t["manager"], {"rows": [*team_rows, {"subject": "company", "months": [1] * 12}],
                                                                    "version": 2}, headers={"Accept-Language": "en"})
    assert en.data["message"] == "You may not see or set the targets of company"
    # a row of the team left out is removed, the others stay
    r = put_targets(api, t["manager"], team_rows[:2], version=2)
    assert r.status_code == 200
    assert len(api.call("GET", f"/v1/targets?year={YEAR}", admin).data["rows"]) == 5
    mine = api.call("GET", f"/v1/targets?year={YEAR}", t["rep1"]).data["rows"]
    assert [(x["subject"], x["total"]) for x in mine] == [(f"user:{rep1}", "12000.00")]
    log = api.call("GET", f"/v1/records/targets/{YEAR}-contract_amount/logs", admin)
    assert log.status_code == 200 and len(log.data["items"]) == 3, log.data  # an unchanged save writes nothing
    assert api.call("GET", f"/v1/records/targets/{YEAR}-contract_amount/logs", t["manager"]).status_code == 403  # every row is in it


def test_given_approved_contracts_and_payments_when_achievement_is_asked_then_it_equals_their_sums(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    rep1, rep2, sales = sales_team["rep1"], sales_team["rep2"], sales_team["sales"]
    flows(api, sales_team)
    c1 = approved_contract(api, sales_team, "rep1", 10000, f"{YEAR}-01-15")
    approved_contract(api, sales_team, "rep1", 5000.5, f"{YEAR}-02-03")
    c3 = approved_contract(api, sales_team, "rep2", 8000, f"{YEAR}-05-20")
    approved_contract(api, sales_team, "rep1", 7000, f"{YEAR - 1}-12-31")  # another year
    draft = api.call("POST", "/v1/contracts", t["rep1"], {"name": "草稿合同", "customer": c1["customer"]["id"], "amount": 99999,
                                                         "sign_date": f"{YEAR}-01-20"})
    assert draft.status_code == 201  # not approved: counts nothing
    terminated = approved_contract(api, sales_team, "rep2", 3000, f"{YEAR}-04-01")
    r = api.call("POST", f"/v1/contracts/{terminated['id']}/terminate", t["manager"], {"reason": "客户破产", "version": terminated["version"]})
    assert r.status_code == 200, r.data  # a terminated contract still counts
    payment(api, sales_team, "rep1", c1["id"], 4000, f"{YEAR}-01-20")
    payment(api, sales_team, "rep1", c1["id"], 2500.25, f"{YEAR}-03-05")
    payment(api, sales_team, "rep2", c3["id"], 1000, f"{YEAR}-06-30")
    payment(api, sales_team, "rep2", c3["id"], 500, f"{YEAR}-06-30", approve=False)  # not approved: nothing
    assert put_targets(api, admin, [{"subject": "company", "months": [10000] * 12},
                                    {"subject": f"user:{rep1}", "months": months((1, 8000), (2, 8000))}]).status_code == 200
    assert put_targets(api, admin, [{"subject": f"user:{rep1}", "months": months((1, 5000), (3, 5000))}],
                       metric="payment_amount").status_code == 200

    def ach(token, **q):
        query = "&".join(f"{k}={v}" for k, v in {"year": YEAR, **q}.items())
        r = api.call("GET", f"/v1/targets/achievement?{query}", token)
        assert r.status_code == 200, r.data
        return r.data

    company = ach(admin, period="quarter")
    assert company["subject"]["subject"] == "company"
    assert [(i["period"], i["target"], i["actual"], i["rate"]) for i in company["items"]] == [
        ("2026-Q1", "30000.00", "15000.50", "50.00"), ("2026-Q2", "30000.00", "11000.00", "36.67"),
        ("2026-Q3", "30000.00", "0.00", "0.00"), ("2026-Q4", "30000.00", "0.00", "0.00")]
    assert company["total"] == {"target": "120000.00", "actual": "26000.50", "rate": "21.67"}
    rep_month = ach(admin, subject=f"user:{rep1}")
    assert [(i["period"], i["target"], i["actual"], i["rate"]) for i in rep_month["items"][:3]] == [
        ("2026-01", "8000.00", "10000.00", "125.00"), ("2026-02", "8000.00", "5000.50", "62.51"), ("2026-03", "0.00", "0.00", None)]
    assert len(rep_month["items"]) == 12
    paid = ach(admin, subject=f"user:{rep1}", metric="payment_amount", period="year")
    assert paid["items"] == [{"period": "2026", "target": "10000.00", "actual": "6500.25", "rate": "65.00"}]
    paid_q = ach(admin, metric="payment_amount", period="quarter")
    assert [i["actual"] for i in paid_q["items"]] == ["6500.25", "1000.00", "0.00", "0.00"]
    dept = ach(admin, subject=f"department:{sales}", period="year")
    assert dept["items"][0]["actual"] == "26000.50"
    members = {m["id"]: m["total"]["actual"] for m in dept["members"]}
    assert members[rep1] == "15000.50" and members[rep2] == "11000.00" and members[sales_team["manager"]] == "0.00"

    # scope: a rep sees their own figures only; the manager their team's
    mine = ach(t["rep1"], period="year")
    assert mine["subject"]["subject"] == f"user:{rep1}" and mine["items"][0]["actual"] == "15000.50"
    for subject in (f"user:{rep2}", "company", f"department:{sales}"):
        r = api.call("GET", f"/v1/targets/achievement?year={YEAR}&subject={subject}", t["rep1"])
        assert r.status_code == 403 and r.data["code"] == "TARGET_OUT_OF_REACH", r.data
    team = ach(t["manager"], period="year")
    assert team["subject"]["subject"] == f"department:{sales}" and team["items"][0]["actual"] == "26000.50"
    assert api.call("GET", f"/v1/targets/achievement?year={YEAR}&subject=user:nope", admin).status_code == 422
    assert api.call("GET", f"/v1/targets/achievement?year={YEAR}&period=week", admin).status_code == 422

    # the service the dashboard calls: any range of months
    from datetime import date

    from chalicelib.core import context
    from chalicelib.org import service as org
    from chalicelib.targets import service

    with context.acting_as(context.RequestContext(tenant_id=sales_team["id"], user_id=rep1)):
        rows = service.achievement(org.principal(), "contract_amount", f"user:{rep1}", date(YEAR, 2, 1), date(YEAR, 3, 31))
    assert [(r["period"], str(r["target"]), str(r["actual"])) for r in rows] == [("2026-02", "8000.00", "5000.50"),
                                                                                ("2026-03", "0.00", "0.00")]


def test_given_territories_when_set_then_a_region_or_a_customer_finds_its_team(api, sales_team):
    admin, t = sales_team["admin"], sales_team["tokens"]
    body = {"territories": [
        {"id": "south", "name": "华南区", "regions": ["440000", "450000"], "department_ids": [sales_team["sales"]]},
        {"id": "shenzhen", "name": "深圳", "regions": ["440300"], "user_ids": [sales_team["rep1"]]},
    ]}
    r = api.call("PUT", "/v1/territories", admin, body)
    assert r.status_code == 200, r.data
    assert r.data["territories"][0]["region_names"] == ["广东省", "广西壮族自治区"]
    assert r.data["territories"][1]["users"] == [{"id": sales_team["rep1"], "name": "李娜"}]

    def owner(token, query):
        r = api.call("GET", f"/v1/territories/of?{query}", token)
        assert r.status_code == 200, r.data
        return (r.data["territory"] or {}).get("id"), r.data["region"]["code"]

    assert owner(t["rep2"], "region=440305") == ("shenzhen", "440305")  # 南山区: the most specific territory
    assert owner(t["rep2"], "region=440106") == ("south", "440106")  # 广州市天河区
    assert owner(t["rep2"], "region=%E5%B9%BF%E4%B8%9C%E7%9C%81/%E5%B9%BF%E5%B7%9E%E5%B8%82") == ("south", "440100")  # 广东省/广州市
    assert owner(t["rep2"], "region=310115") == (None, "310115")  # 上海: nobody's
    customer = api.call("POST", "/v1/customers", t["rep2"], {"name": "广州客户", "region": "广东省/广州市/天河区"}).data
    assert owner(t["rep2"], f"customer={customer['id']}") == ("south", "440106")
    assert api.call("GET", "/v1/territories/of?region=999999", t["rep2"]).status_code == 422
    assert api.call("GET", "/v1/territories/of", t["rep2"]).status_code == 422
    hidden = api.call("GET", f"/v1/territories/of?customer={customer['id']}", t["rep1"])  # not rep1's customer
    assert hidden.status_code == 404

    # validation and rights
    bad = {"territories": [{"id": "a", "name": "甲", "regions": ["440000", "999999"], "user_ids": ["nope"]},
                           {"id": "a", "name": "乙", "regions": ["440000"]}], "version": 1}
    r = api.call("PUT", "/v1/territories", admin, bad)
    assert r.status_code == 422
    assert {d["field"] for d in r.data["details"]} == {"territories.0.id", "territories.1.id", "territories.0.regions.0",
                                                       "territories.0.regions.1", "territories.1.regions.0",
                                                       "territories.0.user_ids.0", "territories.1"}
    assert api.call("PUT", "/v1/territories", t["manager"], {**body, "version": 1}).status_code == 403
    assert api.call("PUT", "/v1/territories", admin, body).status_code == 428
    assert api.call("GET", "/v1/territories", t["rep1"]).data["version"] == 1


def test_given_targets_when_the_dashboard_shows_achievement_then_its_target_is_the_scope_s_target(api, sales_team):
    from chalicelib.targets.service import local_today

    admin, t = sales_team["admin"], sales_team["tokens"]
    rep1, sales = sales_team["rep1"], sales_team["sales"]
    today = local_today()
    flows(api, sales_team)
    approved_contract(api, sales_team, "rep1", 5000, today.isoformat())
    r = api.call("PUT", f"/v1/targets?year={today.year}&metric=contract_amount", admin, {"rows": [
        {"subject": "company", "months": [80000] * 12}, {"subject": f"department:{sales}", "months": [60000] * 12},
        {"subject": f"user:{rep1}", "months": [20000] * 12}, {"subject": f"user:{sales_team['rep2']}", "months": [10000] * 12}]})
    assert r.status_code == 200, r.data

    def target(token, scope):
        d = api.call("GET", f"/v1/dashboard/achievement?scope={scope}&range=month", token)
        assert d.status_code == 200, d.data
        return d.data["achievement"]["contract"]["target"], d.data["achievement"]["payment"]["target"]

    mine = api.call("GET", "/v1/dashboard/achievement?scope=self&range=month", t["rep1"]).data["achievement"]["contract"]
    assert (mine["actual"], mine["target"], mine["rate"]) == (5000, 20000, 25)
    assert target(t["rep1"], "company")[0] == 20000  # a rep's company is clamped to herself: her own target
    assert target(admin, "company") == (80000, 0)  # no payment targets: 0
    assert target(t["manager"], "department")[0] == 60000
    assert target(t["manager"], "subordinates")[0] == 30000  # the user rows of the manager's people
