"""The demo company seeds as `make dev` seeds it: a living pipeline a new user can look at."""
from __future__ import annotations

from chalicelib.core import clock


def test_given_the_demo_seed_then_leads_contacts_and_follow_ups_are_there_in_several_states(api):
    from devstack import demo

    seeded = demo.seed()
    assert seeded["created"] is True
    rep = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000004",
                                                   "password": demo.PASSWORD}).data["id_token"]
    leads = {x["company"]: x["status"] for x in api.call("GET", "/v1/leads", rep).data["items"]}
    assert leads == {"深圳鹏程新能源车队有限公司": "following", "厦门鹭岛物流有限公司": "converted"}
    names = {c["name"] for c in api.call("GET", "/v1/contacts", rep).data["items"]}
    assert names == {"王建华", "李晓梅", "陈经理"}  # 陈经理 came from the converted lead
    assert len(api.call("GET", "/v1/followups", rep).data["items"]) == 2
    assert demo.seed() == {"created": False}  # idempotent


def test_given_the_demo_seed_then_two_pools_have_rules_and_some_customers_are_about_to_enter_them(api):
    from devstack import demo
    from devstack.drivers import ScheduleDriver

    seeded = demo.seed()
    api.pump()  # the table stream: the timers' schedules (functions/record_timers.py), the search index
    login = lambda mobile: api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": mobile,  # noqa: E731
                                                                    "password": demo.PASSWORD}).data["id_token"]
    rep2, rep3, manager2 = login("13800000005"), login("13800000007"), login("13800000006")
    pools = {p["name"]: p for p in api.call("GET", "/v1/pools", rep2).data["items"]}
    assert set(pools) == {"销售一部公海"} and pools["销售一部公海"]["rules"][0] == {"kind": "no_followup", "days": 30, "levels": []}
    week = {c["name"] for c in api.call("GET", "/v1/pools/upcoming?within=week", rep2).data["items"]}
    assert week == {"温州瓯江鞋业有限公司", "嘉兴南湖纺织有限公司", "湖州太湖茶叶有限公司", "宁波港城外贸有限公司"}
    assert [c["name"] for c in api.call("GET", "/v1/pools/upcoming?within=tomorrow", manager2).data["items"]] == \
        ["合肥科大讯联有限公司"]
    assert api.call("GET", "/v1/pools/upcoming", rep3).data["items"] == []  # nothing of hers (e2e tests count her inbox)
    rules = api.call("GET", "/v1/care-rules", rep2).data["rules"]
    assert [r["kind"] for r in rules] == ["birthday", "after_deal", "not_contacted", "holiday"]
    clock.travel(61)
    ScheduleDriver().run_once()  # the 待进入公海 warnings were due already: a minute after the start
    warned = [n for n in api.call("GET", "/v1/notifications?limit=50", rep2).data["items"] if n["kind"] == "pool_warning"]
    assert len(warned) == 4 and all("销售一部公海" in n["title"] for n in warned)
    assert [n["kind"] for n in api.call("GET", "/v1/notifications", manager2).data["items"]].count("pool_warning") == 1
    clock.travel(11 * 60)
    ScheduleDriver().run_once()  # 温州, 嘉兴 and 湖州 go to their pool by their schedules
    pool = seeded["pools"]["销售一部公海"]
    assert {c["name"] for c in api.call("GET", f"/v1/pools/{pool}/customers", rep2).data["items"]} == \
        {"温州瓯江鞋业有限公司", "嘉兴南湖纺织有限公司", "湖州太湖茶叶有限公司"}


def test_given_the_demo_seed_then_the_catalogue_and_the_pipeline_have_living_figures(api):
    from devstack import demo

    demo.seed()
    director = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000002",
                                                        "password": demo.PASSWORD}).data["id_token"]
    products = {p["sku"]: p["on_shelf"] for p in api.call("GET", "/v1/products?limit=50", director).data["items"]}
    assert products == {"CRM-STD": True, "CRM-PRO": True, "SVC-DAY": True, "SRV-R740": True, "CRM-OLD": False}
    board = api.call("GET", "/v1/opportunities/board", director).data
    assert {c["stage"]: c["count"] for c in board["columns"]} == {"contact": 2, "needs": 1, "proposal": 1, "negotiation": 1}
    assert (board["won"]["count"], board["lost"]["count"]) == (1, 1)
    huawei = next(c for c in board["columns"] if c["stage"] == "proposal")
    assert huawei["amount"] == 20 * 27000 * 0.95 + 30 * 2000  # the tier (≥10) and 华为's A-level discount on the licences
    forecast = api.call("GET", "/v1/opportunities/forecast?by=owner", director).data
    assert forecast["totals"]["count"] == 5 and forecast["totals"]["weighted_amount"] > 0


def test_given_the_demo_seed_then_contracts_are_there_in_every_approval_state(api):
    from devstack import demo

    demo.seed()
    director = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000002",
                                                        "password": demo.PASSWORD}).data["id_token"]
    contracts = {c["name"]: (c["approval_status"], c["state"]) for c in api.call("GET", "/v1/contracts?limit=50", director).data["items"]}
    assert contracts == {"华为 CRM 一期合同": ("approved", "normal"), "合同通 CRM 续费合同": ("pending", "normal"),
                         "云帆智慧校园一期合同": ("rejected", "normal"), "ACME 试用合同": ("withdrawn", "normal"),
                         "西湖制造销售管理合同": ("none", "voided"), "金陵售楼处系统合同": ("none", "normal")}
    huawei = next(c for c in api.call("GET", "/v1/customers?q=华为技术", director).data["items"])
    assert huawei["deal_status"] == "closed"  # its contract was approved (through the 会签: above 100000)


def test_given_the_demo_seed_then_targets_achievement_commission_and_territories_show_living_figures(api):
    from chalicelib.targets.service import local_today
    from devstack import demo

    demo.seed()
    api.pump()
    login = lambda mobile: api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": mobile,  # noqa: E731
                                                                    "password": demo.PASSWORD}).data["id_token"]
    admin, lina, director = login("13800000001"), login("13800000004"), login("13800000002")
    today = local_today()
    month = today.month - 1
    plan = api.call("GET", "/v1/targets?metric=payment_amount", admin).data
    assert plan["name"] == f"{today.year} 年度销售计划" and len(plan["rows"]) == 9
    company = api.call("GET", "/v1/targets/achievement?metric=payment_amount", admin).data
    assert company["subject"]["subject"] == "company"
    assert company["items"][month] == {"period": today.isoformat()[:7], "target": "450000.00", "actual": "100000.00", "rate": "22.22"}
    contracts = api.call("GET", "/v1/targets/achievement?year=2026&period=year", director).data  # his sales department
    assert contracts["subject"]["name"] == "销售部" and contracts["items"][0]["actual"] == "256500.00"  # the approved 华为 contract
    mine = api.call("GET", "/v1/targets/achievement?metric=payment_amount", lina).data
    assert mine["subject"]["name"] == "李娜" and mine["items"][month]["rate"] == "100.00"
    statement = api.call("GET", f"/v1/commission/statements?period={today.isoformat()[:7]}", lina).data["items"]
    assert [(s["name"], len(s["lines"]), s["multiplier"], s["commission_total"]) for s in statement] == [("李娜", 2, "1.2", "6000.00")]
    shenzhen = api.call("GET", "/v1/territories/of?region=440307", lina).data["territory"]  # 华为 in 龙岗区
    assert shenzhen["name"] == "深圳" and shenzhen["users"][0]["name"] == "李娜"


def test_given_the_demo_seed_then_the_approved_contract_has_an_issued_invoice_and_a_request_in_review(api):
    from devstack import demo

    demo.seed()
    login = lambda mobile: api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": mobile,  # noqa: E731
                                                                    "password": demo.PASSWORD}).data["id_token"]
    rep, manager = login("13800000004"), login("13800000003")
    invoices = {i["amount"]: (i["invoice_status"], i["approval_status"], i.get("invoice_number"))
                for i in api.call("GET", "/v1/invoices", rep).data["items"]}
    assert invoices == {100000: ("issued", "approved", "44032612"), 50000: ("requested", "pending", None)}
    huawei = next(c for c in api.call("GET", "/v1/contracts", rep).data["items"] if c["name"] == "华为 CRM 一期合同")
    assert huawei["invoiced_amount"] == 150000
    pending = api.call("GET", "/v1/approvals?box=pending", manager).data["items"]
    assert [i["business_type"] for i in pending].count("invoice") == 1  # 孙丽 reviews the request
    quotes = {q["name"]: (q["quote_status"], q["approval_status"]) for q in api.call("GET", "/v1/quotes", rep).data["items"]}
    assert quotes == {"华为二期 CRM 报价": ("sent", "approved"), "华为二期备选报价": ("draft", "none")}
    assert [i["business_type"] for i in pending].count("quote") == 1  # 张伟's discount waits for 孙丽


def test_given_the_demo_seed_then_a_rep_prints_her_approved_contract_on_the_company_template(api):
    import io
    import re

    from pypdf import PdfReader

    from devstack import demo

    demo.seed()
    rep = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000004",
                                                   "password": demo.PASSWORD}).data["id_token"]
    contract = next(c for c in api.call("GET", "/v1/contracts?q=华为", rep).data["items"] if c["name"] == "华为 CRM 一期合同")
    r = api.call("GET", f"/v1/contracts/{contract['id']}/pdf", rep, headers={"Accept": "application/pdf"})
    assert r.status_code == 200, r.data
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body)).pages))
    for expected in ("华夏智联科技有限公司", "0755-88886666", "销售合同", contract["number"], "华为技术有限公司", "已通过", "产品明细",
                     "本合同一式两份"):
        assert expected in text, expected


def test_given_the_demo_seed_then_a_reps_next_week_has_the_weekly_meeting_overlapping_her_visit(api):
    from datetime import date, timedelta
    from urllib.parse import quote

    from devstack import demo

    demo.seed()
    rep = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000004",
                                                   "password": demo.PASSWORD}).data["id_token"]
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    frm, to = quote(f"{monday.isoformat()}T00:00:00+08:00"), quote(f"{(monday + timedelta(days=7)).isoformat()}T00:00:00+08:00")
    everything = api.call("GET", f"/v1/calendar?from={frm}&to={to}", rep).data["items"]
    week = [i for i in everything if i["type"] == "event"]  # other modules' dates (her weekly task …) are there too
    assert [(i["title"], i["busy"]) for i in week] == [("拜访华为：二期方案沟通", False), ("销售一部周例会", False)]
    assert week[0]["end_at"] > week[1]["start_at"]  # the conflict the demo keeps
    # 张伟's private appointment is busy time in his manager's view of his calendar
    manager = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000003",
                                                       "password": demo.PASSWORD}).data["id_token"]
    admin = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000001",
                                                     "password": demo.PASSWORD}).data["id_token"]
    sales1 = next(d["id"] for d in api.call("GET", "/v1/org/departments", admin).data["items"] if d["name"] == "销售一部")
    dept = [i for i in api.call("GET", f"/v1/calendar?from={frm}&to={to}&department_id={sales1}", manager).data["items"]
            if i["type"] == "event"]
    assert [(i["title"], i["busy"]) for i in dept] == [("拜访华为：二期方案沟通", False), ("销售一部周例会", False), ("忙碌", True),
                                                       ("新产品培训", False)]
