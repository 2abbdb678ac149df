"""Demo data: 华夏智联科技有限公司 (tenant `demo`) with a department tree, ten users in
several roles, and customers owned across the sales team — enough to sign in as any role
and see the permission rules at work. Idempotent: an existing demo tenant is left alone.

Approvals (审批) to try: the 请假 and 费用报销 forms from their templates (each with its
enabled flow: 直属上级 → … → 系统管理员 刘洋 for the finance step), a 合同审批 flow
(business type `contract`: 直属上级, then above 100000 a 会签 of 王强 and 吴静), and one
leave request of 张伟 waiting for his supervisor 孙丽 (APPROVER), so her inbox is not empty.

Deals: a product catalogue (categories, five products — one off the shelf —, quantity tiers and
A-level discounts) and opportunities of the sales team across the stages, one won and one lost.

Printing: the contract print template (销售合同 with the company's address, phone and terms).

Targets and commission (业绩目标与提成): this year's sales plan of both metrics for the company, the sales
departments and their people, a 回款审批 flow and two approved payments of 李娜 on the approved 华为 contract
(today), so achievement and 李娜's commission statement of this month show living figures; a commission plan
for the sales department; territories 华东区 (销售一部), 华南区 (销售二部) and 深圳 (李娜)."""
from __future__ import annotations

from typing import Any

from chalicelib.core import context
from chalicelib.core.errors import NotFound, ValidationFailed

TENANT = "demo"
PASSWORD = "Crm@2026!demo"

# (key, name, mobile, department key, roles, supervisor key, position)
USERS = [
    ("ceo", "陈建国", "13800000000", "root", ["super_admin"], None, "gm"),
    ("admin", "刘洋", "13800000001", "root", ["admin"], "ceo", "admin"),
    ("director", "王强", "13800000002", "sales", ["sales_manager"], "ceo", "sales_director"),
    ("manager1", "孙丽", "13800000003", "sales1", ["sales_manager"], "director", "sales_manager"),
    ("rep1", "李娜", "13800000004", "sales1", ["sales_rep"], "manager1", "sales_rep"),
    ("rep2", "张伟", "13800000005", "sales1", ["sales_rep"], "manager1", "sales_rep"),
    ("manager2", "周杰", "13800000006", "sales2", ["sales_manager"], "director", "sales_manager"),
    ("rep3", "王芳", "13800000007", "sales2", ["sales_rep"], "manager2", "sales_rep"),
    ("agent", "赵敏", "13800000008", "sales1", ["service_agent"], "ceo", "service_agent"),
    ("finance", "吴静", "13800000009", "finance", ["sales_rep"], "ceo", "finance"),
]
BY_KEY = {u[0]: u for u in USERS}

# The demo's pending approval: who applied and who signs in to approve it (their supervisor).
APPLICANT, APPROVER = "rep2", "manager1"

DEPARTMENTS = [("sales", "销售部", "root"), ("sales1", "销售一部", "sales"), ("sales2", "销售二部", "sales"),
               ("service", "客服部", "root"), ("finance", "财务部", "root")]

CUSTOMERS = [
    ("华为技术有限公司", "rep1", "A", "it", "13912345678", "广东省/深圳市/龙岗区"),
    ("上海ACME贸易有限公司", "rep1", "B", "retail", "13612345678", "上海市/浦东新区"),
    ("北京合同通科技有限公司", "rep2", "B", "it", "13712345678", "北京市/海淀区"),
    ("杭州西湖制造有限公司", "rep2", "C", "manufacturing", None, "浙江省/杭州市/西湖区"),
    ("广州云帆教育科技有限公司", "rep3", "A", "education", "13512345678", "广东省/广州市/天河区"),
    ("成都天府医疗器械有限公司", "rep3", "B", "healthcare", None, "四川省/成都市/高新区"),
    ("南京金陵地产集团", "manager1", "A", "real_estate", "13312345678", "江苏省/南京市/鼓楼区"),
    ("深圳前海金融服务有限公司", "manager2", "A", "finance", "13212345678", "广东省/深圳市/南山区"),
    ("武汉光谷软件园", "director", "B", "it", None, "湖北省/武汉市/洪山区"),
    ("苏州工业园区政务中心", "director", "C", "government", None, "江苏省/苏州市"),
]

# public pools (公海): (name, admin key, member department keys, rules, warn days before, daily claim cap, cool-down days)
POOLS = [
    ("销售一部公海", "manager1", ["sales1"], [{"kind": "no_followup", "days": 30}, {"kind": "no_deal", "days": 90}], 3, 2, 7),
    ("销售二部公海", "manager2", ["sales2"], [{"kind": "no_followup", "days": 15, "levels": ["C"]},
                                              {"kind": "no_followup", "days": 45}], 2, 3, 7),
]
# customer care (客户关怀): greet contacts the day before their birthday, revisit a week after a deal, remind of
# customers nobody contacted for 30 days, greet every customer two days before these holidays
CARE_RULES = [
    {"kind": "birthday", "days": 1, "name": "生日祝福"},
    {"kind": "after_deal", "days": 7, "name": "成交回访"},
    {"kind": "not_contacted", "days": 30, "name": "遗忘客户提醒"},
    {"kind": "holiday", "days": 2, "name": "节日问候", "holidays": [
        {"name": "元旦", "date": "01-01"}, {"name": "春节", "date": "2027-02-06"}, {"name": "国庆节", "date": "10-01"}]},
]
# customers nobody has followed up for a while (name, owner, level, region, the pool rule's days, seconds until
# it has gone that long; None: CRM_DEMO_RECYCLE_AFTER_SECONDS, default 600): 温州, 嘉兴 and 湖州 enter
# 销售一部公海 by their schedules about ten minutes after `make dev` starts, 宁波 in two days, 合肥 (level C)
# enters 销售二部公海 tomorrow; their owners have the 待进入公海 warning in their inbox.
AGING = [
    ("温州瓯江鞋业有限公司", "rep2", "B", "浙江省/温州市/鹿城区", 30, None),
    ("嘉兴南湖纺织有限公司", "rep2", "B", "浙江省/嘉兴市/南湖区", 30, None),
    ("湖州太湖茶叶有限公司", "rep2", "C", "浙江省/湖州市/吴兴区", 30, None),
    ("宁波港城外贸有限公司", "rep2", "B", "浙江省/宁波市/北仑区", 30, 2 * 86400),
    ("合肥科大讯联有限公司", "manager2", "C", "安徽省/合肥市/蜀山区", 15, 86400 - 3600),
]

# the sales pipeline's front: leads in several states (key, name, company, owner, source, mobile, remark)
LEADS = [
    ("byd", "刘总", "深圳鹏程新能源车队有限公司", "rep1", "exhibition", "13660001111", "展会上留的名片，对车队管理系统感兴趣"),
    ("xiamen", "陈经理", "厦门鹭岛物流有限公司", "rep1", "web", "13560002222", "官网留言咨询报价"),
    ("fuzhou", "林女士", "福州闽江茶业有限公司", "rep2", "phone", "13460003333", "来电咨询渠道合作"),
    ("dongguan", "黄先生", "东莞松山湖电子厂", "rep3", "referral", "13360004444", "老客户介绍"),
    ("tianjin", "赵总", "天津港湾物流集团", "manager1", "campaign", "13260005555", "参加了 3 月的线上研讨会"),
]
# contacts of demo customers (customer name, name, title, mobile, decision maker)
CONTACTS = [
    ("华为技术有限公司", "王建华", "采购总监", "13900001111", True),
    ("华为技术有限公司", "李晓梅", "IT 经理", "13900002222", False),
    ("广州云帆教育科技有限公司", "周明", "校长", "13900003333", True),
]

# the catalogue (产品): categories (id, name, parent) and products (sku, name, category, unit, price, cost, tiers, A-level
# discount %, on the shelf)
CATEGORIES = [("software", "软件", None), ("crm", "CRM 系统", "software"), ("hardware", "硬件", None), ("service", "服务", None)]
PRODUCTS = [
    ("CRM-STD", "CRM 标准版（年）", "crm", "year", 12000, 6000, [(10, 10800), (50, 9600)], 5, True),
    ("CRM-PRO", "CRM 专业版（年）", "crm", "year", 30000, 12000, [(10, 27000)], 5, True),
    ("SVC-DAY", "实施服务（人天）", "service", "time", 2000, 800, [], 0, True),
    ("SRV-R740", "机架服务器", "hardware", "machine", 45000, 36000, [], 0, True),
    ("CRM-OLD", "CRM 旧版授权（停售）", "crm", "year", 8000, 3000, [], 0, False),
]
# opportunities (商机) across the standard group's stages: (owner, customer, name, stage, lines [(sku, quantity)] or amount,
# days until the expected close, outcome None | won | lost)
OPPORTUNITIES = [
    ("rep1", "华为技术有限公司", "华为二期 CRM 采购", "proposal", [("CRM-PRO", 20), ("SVC-DAY", 30)], 25, None),
    ("rep1", "上海ACME贸易有限公司", "ACME 门店会员系统", "needs", 80000, 40, None),
    ("rep2", "北京合同通科技有限公司", "合同通 CRM 续费", "negotiation", [("CRM-STD", 12)], 10, None),
    ("rep2", "杭州西湖制造有限公司", "西湖制造销售管理", "contact", 50000, 70, None),
    ("rep3", "广州云帆教育科技有限公司", "云帆智慧校园", "contact", 150000, 90, None),
    ("rep3", "成都天府医疗器械有限公司", "天府医疗渠道管理", "proposal", 90000, -5, "lost"),
    ("manager1", "南京金陵地产集团", "金陵售楼处系统", "negotiation", [("CRM-STD", 5), ("SRV-R740", 1)], -10, "won"),
]

# contracts (合同) in every approval state: (owner, customer, name, lines [(sku, quantity)] or amount, what happens to it:
# draft | pending | approved | rejected | withdrawn | voided); the 合同审批 flow asks the owner's supervisor, and above
# 100000 also 王强 and 吴静 together
CONTRACTS = [
    ("rep1", "华为技术有限公司", "华为 CRM 一期合同", [("CRM-PRO", 10)], "approved"),
    ("rep2", "北京合同通科技有限公司", "合同通 CRM 续费合同", 43200, "pending"),
    ("rep3", "广州云帆教育科技有限公司", "云帆智慧校园一期合同", 80000, "rejected"),
    ("rep1", "上海ACME贸易有限公司", "ACME 试用合同", 20000, "withdrawn"),
    ("rep2", "杭州西湖制造有限公司", "西湖制造销售管理合同", 30000, "voided"),
    ("manager1", "南京金陵地产集团", "金陵售楼处系统合同", [("CRM-STD", 5), ("SRV-R740", 1)], "draft"),
]


def seed() -> dict[str, Any]:
    from chalicelib import manifest

    manifest.install()  # the seed writes through the services: every module's record types first, as in the API
    from chalicelib.customers.entity import CUSTOMER
    from chalicelib.engine import service as engine
    from chalicelib.org import service as org
    from chalicelib.tenants import service as tenants

    ceo = USERS[0]
    try:
        created = tenants.create_tenant({"id": TENANT, "name": "华夏智联科技有限公司", "admin_name": ceo[1], "admin_mobile": ceo[2],
                                         "admin_password": PASSWORD, "top_department_name": "办公室"})
    except ValidationFailed:
        return {"created": False}
    ids = {"root": created["top_department_id"]}
    users = {"ceo": created["admin_user_id"]}
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["ceo"])):
        for key, name, parent in DEPARTMENTS:
            ids[key] = org.create_department(name, ids[parent], None, 0)["id"]
        for key, name, mobile, dept, roles, sup, position in USERS[1:]:
            users[key] = org.create_user({"mobile": mobile, "name": name, "department_id": ids[dept], "role_ids": roles,
                                          "supervisor_id": users.get(sup) if sup else None, "position": position,
                                          "password": PASSWORD, "gender": None, "email": None})["id"]
        org.update_department(ids["sales"], {"head_user_id": users["director"]}, 1)
        pools = seed_pools(users, ids)
        seed_care(users)
        seed_printing(users)
        customers = {}
        for name, owner, level, industry, mobile, region in CUSTOMERS:
            customers[name] = engine.create(CUSTOMER, {"name": name, "owner_id": users[owner], "level": level, "industry": industry,
                                                       "mobile": mobile, "region": region, "customer_type": "target",
                                                       "source": "referral"}, None)["id"]
    pipeline = seed_pipeline(users, customers)
    approvals = seed_approvals(users)  # the contract flow first: the deals submit contracts to it
    deals = seed_deals(users, customers)
    plans = seed_targets(users, ids, deals)
    seed_calendar(users)
    seed_tasks(users, customers)
    seed_messages(users, ids)
    seed_mail(users, customers)
    seed_work_reports(users, customers)  # 工作报告: today's daily reports of 销售一部, 张伟's missing
    return {"created": True, "users": users, "approvals": approvals, "pipeline": pipeline, "pools": pools,
            "aging": seed_aging(users), "deals": deals, "targets": plans}


def seed_calendar(users: dict[str, str]) -> dict[str, str]:
    """日程: 孙丽's weekly sales meeting with 李娜 and 张伟 (Mondays 10:00, next week on), 李娜's visit to 华为 that
    overlaps the first one (scheduled anyway: a conflict to look at), 张伟's private appointment and a
    department training day."""
    from datetime import date, timedelta

    from chalicelib.calendar.entity import EVENT
    from chalicelib.engine import service as engine
    from chalicelib.engine.definition import write_options

    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())

    def at(day: date, hm: str) -> str:
        return f"{day.isoformat()}T{hm}:00+08:00"

    made = {}
    events = [
        ("rep1", {"title": "拜访华为：二期方案沟通", "start_at": at(monday, "09:30"), "end_at": at(monday, "11:00"), "location": "深圳坂田华为基地",
                  "reminder_minutes": 30}),
        ("manager1", {"title": "销售一部周例会", "start_at": at(monday, "10:00"), "end_at": at(monday, "11:00"), "location": "3 楼会议室",
                      "participant_ids": [users["rep1"], users["rep2"]], "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=12", "reminder_minutes": 15}),
        ("rep2", {"title": "看牙医", "start_at": at(monday + timedelta(days=1), "15:00"), "end_at": at(monday + timedelta(days=1), "16:00"),
                  "private": True}),
        ("manager1", {"title": "新产品培训", "start_at": at(monday + timedelta(days=3), "14:00"), "end_at": at(monday + timedelta(days=3), "17:00"),
                      "calendar": "department", "department_id": None, "location": "培训室"}),
    ]
    for owner, body in events:
        with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[owner])), write_options({"force": True}):
            if body.get("calendar") == "department":
                from chalicelib.org import service as org

                body = {**body, "department_id": org.load(TENANT).users[users[owner]].department_id}
            made[body["title"]] = engine.create(EVENT, body, None)["id"]
    return made


def seed_tasks(users: dict[str, str], customers: dict[str, str]) -> dict[str, str]:
    """Tasks (任务): 孙丽's plan for her team with two sub-tasks, a task she gave 李娜 due today whose
    completion she approves, and 李娜's own weekly report task."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from chalicelib.core import clock
    from chalicelib.engine import service as engine
    from chalicelib.tasks.entity import TASK

    tz = ZoneInfo("Asia/Shanghai")
    today = clock.now().astimezone(tz).date()

    def at(days: int, hour: int) -> str:
        return clock.iso(datetime.combine(today + timedelta(days=days), time(hour), tzinfo=tz))

    huawei = {"entity": "customer", "id": next(iter(customers.values()))}
    made: dict[str, str] = {}
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["manager1"])):
        plan = engine.create(TASK, {"title": "本季度重点客户拓展计划", "is_plan": True, "priority": "high", "important": True,
                                    "due_at": at(30, 18), "participant_ids": [users["rep1"], users["rep2"]],
                                    "tags": ["customer_visit"]}, None)
        made["plan"] = plan["id"]
        for title, rep, days in (("拜访重点客户并确认年度预算", "rep1", 5), ("整理竞品报价对比", "rep2", 10)):
            made[title] = engine.create(TASK, {"title": title, "owner_id": users[rep], "due_at": at(days, 18),
                                               "parent": {"entity": "task", "id": plan["id"]}, "estimated_hours": "6",
                                               "links": [{"record": huawei}]}, None)["id"]
        made["today"] = engine.create(TASK, {"title": "给客户发送报价方案", "owner_id": users["rep1"], "due_at": at(0, 18),
                                             "priority": "high", "urgent": True, "completion_approval": True,
                                             "remind_minutes_before": 60, "links": [{"record": huawei}],
                                             "tags": ["proposal"]}, None)["id"]
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["rep1"])):
        made["weekly"] = engine.create(TASK, {"title": "提交本周工作总结", "due_at": at(4, 17), "repeat": "weekly",
                                              "priority": "medium", "tags": ["internal"]}, None)["id"]
    return made


def seed_pools(users: dict[str, str], departments: dict[str, str]) -> dict[str, str]:
    """Two public pools, each with its team as members, recycling rules and a warning before."""
    from chalicelib.pools import service as pools
    from chalicelib.pools.schemas import PoolIn

    made = {}
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["admin"])):
        for name, admin, depts, rules, warn, cap, cooldown in POOLS:
            body = PoolIn.model_validate({"name": name, "admin_ids": [users[admin]], "rules": rules,
                                          "member_department_ids": [departments[d] for d in depts],
                                          "remind_days_before": warn, "daily_claim_cap": cap, "reclaim_cooldown_days": cooldown})
            made[name] = pools.create_pool(body.model_dump())["id"]
    return made


def seed_care(users: dict[str, str]) -> None:
    """The tenant's care rules, saved by the admin as through PUT /v1/care-rules."""
    from chalicelib.care import service as care
    from chalicelib.care.schemas import CareRulesIn

    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["admin"])):
        care.put_rules(CareRulesIn.model_validate({"rules": CARE_RULES}).model_dump()["rules"], None)


# the contract print template (打印模板): the company header, the fields in order, the terms
CONTRACT_PRINT = {
    "title": "销售合同", "company_name": "华夏智联科技有限公司", "company_address": "深圳市南山区科技园科苑路 88 号",
    "company_phone": "0755-8888 6666",
    "fields": ["number", "name", "customer", "customer_signer", "company_signer", "sign_date", "start_date", "end_date",
               "payment_terms", "approval_status", "owner_id"],
    "footer": "条款：本合同一式两份，双方各执一份，自双方签字盖章之日起生效。未尽事宜，双方协商解决。",
}


def seed_printing(users: dict[str, str]) -> None:
    """The contract print template, saved by the admin as through PUT /v1/print-templates/contract."""
    from chalicelib.printing import service as printing
    from chalicelib.printing.schemas import PrintTemplateIn

    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["admin"])):
        printing.put_template("contract", PrintTemplateIn.model_validate(CONTRACT_PRINT).model_dump(exclude={"version"}), None)


def seed_aging(users: dict[str, str]) -> dict[str, str]:
    """Customers created as long ago as they have gone without a follow-up (the clock moved back for
    their creation only), so their pool timers are near."""
    import os

    from chalicelib.core import clock
    from chalicelib.customers.entity import CUSTOMER
    from chalicelib.engine import service as engine

    soon = float(os.environ.get("CRM_DEMO_RECYCLE_AFTER_SECONDS") or 600)
    made = {}
    for name, owner, level, region, days, due_in in AGING:
        owned_for = days * 86400 - (soon if due_in is None else due_in)
        clock.travel(-owned_for)
        try:
            with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[owner])):
                made[name] = engine.create(CUSTOMER, {"name": name, "level": level, "region": region, "customer_type": "target",
                                                      "source": "web"}, None)["id"]
        finally:
            clock.travel(owned_for)
    return made


def seed_pipeline(users: dict[str, str], customers: dict[str, str]) -> dict[str, Any]:
    """Contacts of some customers, leads in every state (new, following with a next contact
    time that reminds its owner, converted into a contact of an existing customer, invalid) and
    follow-ups, each written by the user who would write it."""
    from datetime import timedelta

    from chalicelib.contacts.entity import CONTACT
    from chalicelib.core import clock
    from chalicelib.engine import service as engine
    from chalicelib.followups.entity import FOLLOWUP
    from chalicelib.leads import service as leads
    from chalicelib.leads.entity import LEAD

    def as_user(key: str) -> Any:
        return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[key]))

    owner_of = {name: owner for name, owner, *_ in CUSTOMERS}
    for customer, name, title, mobile, decides in CONTACTS:
        with as_user(owner_of[customer]):
            engine.create(CONTACT, {"name": name, "customer": customers[customer], "title": title, "mobile": mobile,
                                    "decision_maker": decides}, None)
    made = {}
    for key, name, company, owner, source, mobile, remark in LEADS:
        with as_user(owner):
            made[key] = engine.create(LEAD, {"name": name, "company": company, "source": source, "mobile": mobile,
                                             "remark": remark}, None)
    tomorrow = clock.iso((clock.now() + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0))  # 10:00 北京时间
    with as_user("rep1"):
        engine.create(FOLLOWUP, {"about": {"entity": "lead", "id": made["byd"]["id"]}, "type": "call",
                                 "content": "电话沟通车队规模（约 200 台），约下周演示", "next_contact_at": tomorrow}, None)
        engine.create(FOLLOWUP, {"about": {"entity": "customer", "id": customers["华为技术有限公司"]}, "type": "visit",
                                 "content": "上门拜访，沟通二期采购计划", "next_contact_at": tomorrow}, None)
        leads.convert(made["xiamen"]["id"], {"customer_id": customers["上海ACME贸易有限公司"], "contact": True})
    with as_user("rep3"):
        lead = made["dongguan"]
        engine.update(LEAD, lead["id"], {"status": "invalid", "remark": "电话空号，无法联系"}, lead["version"])
    return {"leads": {k: v["id"] for k, v in made.items()}}


def contract_flow(users: dict[str, str]) -> dict[str, Any]:
    """合同审批, two levels: the applicant's supervisor, then above 100000 a 会签 (all must
    approve) of the sales director and finance."""
    return {
        "name": "合同审批", "business_type": "contract", "model": "fixed", "no_approver": "admin",
        "description": "直属上级审批；合同金额超过10万元由销售总监王强与财务吴静会签。",
        "nodes": [
            {"id": "supervisor", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}, "mode": "any",
             "time_limit_hours": 24, "remind_before_hours": 4},
            {"id": "amount_check", "name": "合同金额判断", "kind": "branch", "branches": [
                {"name": "大额合同", "priority": 1, "conditions": [{"field": "amount", "op": "gt", "value": 100000}],
                 "nodes": [{"id": "countersign", "name": "总监与财务会签", "mode": "all", "time_limit_hours": 48,
                            "approvers": {"type": "users", "user_ids": [users["director"], users["finance"]]}}]},
                {"name": "常规合同", "priority": 99, "conditions": [], "nodes": []},
            ]},
        ],
    }


def seed_approvals(users: dict[str, str]) -> dict[str, Any]:
    """The leave and expense forms (and their flows) from the templates, the contract flow,
    and one submitted leave request of APPLICANT waiting for their supervisor APPROVER."""
    from chalicelib.approvals import service as approvals
    from chalicelib.approvals.schemas import FlowSpec
    from chalicelib.forms import service as forms

    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["ceo"])):
        leave = forms.from_template("leave")
        expense = forms.from_template("expense")
        contract = approvals.create_flow(FlowSpec.model_validate(contract_flow(users)).model_dump(mode="json"), True)
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[APPLICANT])):
        pending = forms.create_application({
            "form_id": leave["id"], "comment": "家中有事，请批准",
            "data": {"leave_type": "personal", "start": "2026-03-02T09:00:00+08:00", "end": "2026-03-03T18:00:00+08:00",
                     "days": 2, "reason": "家中有事需要处理"}})
    return {"forms": {"leave": leave["id"], "expense": expense["id"]}, "contract_flow": contract["id"],
            "pending": {"application": pending["id"], "instance": pending["instance_id"]}}


def seed_deals(users: dict[str, str], customers: dict[str, str]) -> dict[str, Any]:
    """The catalogue (categories and products, one off the shelf) kept by the admin, and opportunities of
    the sales team across the stages, one won and one lost, each written by its owner."""
    from datetime import timedelta

    from chalicelib.core import clock
    from chalicelib.engine import service as engine
    from chalicelib.opportunities import service as opportunities
    from chalicelib.opportunities.entity import OPPORTUNITY
    from chalicelib.products import categories
    from chalicelib.products.entity import PRODUCT

    products: dict[str, str] = {}
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["admin"])):
        categories.put_tree([{"id": cid, "name": name, "parent_id": parent, "sort_order": i}
                             for i, (cid, name, parent) in enumerate(CATEGORIES)], None)
        for sku, name, category, unit, price, cost, tiers, discount, on_shelf in PRODUCTS:
            products[sku] = engine.create(PRODUCT, {
                "name": name, "sku": sku, "category": category, "unit": unit, "price": price, "cost": cost, "on_shelf": on_shelf,
                "price_tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
                "level_discounts": [{"level": "A", "discount": discount}] if discount else []}, None)["id"]
    made: dict[str, str] = {}
    for owner, customer, name, stage, lines, days, outcome in OPPORTUNITIES:
        with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[owner])):
            body: dict[str, Any] = {"name": name, "customer": customers[customer],
                                    "expected_close_date": (clock.now() + timedelta(days=days)).date().isoformat()}
            if isinstance(lines, list):
                body["lines"] = [{"product": products[sku], "quantity": q} for sku, q in lines]
            else:
                body["amount"] = lines
            opp = engine.create(OPPORTUNITY, body, None)
            if stage != opp["stage"]:
                opp = opportunities.move(opp["id"], stage, None, opp["version"])
            if outcome:
                opp = opportunities.close(opp["id"], outcome, "price" if outcome == "lost" else None, None, opp["version"])
            made[name] = opp["id"]
    contracts = seed_contracts(users, customers, products)
    return {"products": products, "opportunities": made, "contracts": contracts, "invoices": seed_invoices(users, contracts),
            "quotes": seed_quotes(users, made)}


# quotes (报价): (owner, opportunity, name, days valid, line discount %, what happens to it: draft | pending | sent — approved first)
QUOTES = [
    ("rep1", "华为二期 CRM 采购", "华为二期 CRM 报价", 30, 0, "sent"),
    ("rep2", "合同通 CRM 续费", "合同通续费优惠报价", 15, 20, "pending"),
    ("rep1", "华为二期 CRM 采购", "华为二期备选报价", 30, 5, "draft"),
]


def seed_quotes(users: dict[str, str], opportunities: dict[str, str]) -> dict[str, str]:
    """The 报价折扣审批 flow from its template, and quotes of the open opportunities taking their products
    (above the 10 % discount threshold: 华为 is an A-level customer): one approved and sent to 华为, one of
    张伟's waiting for approval, one draft."""
    from datetime import timedelta

    from chalicelib.approvals import service as approvals
    from chalicelib.approvals import templates
    from chalicelib.core import clock
    from chalicelib.engine import service as engine
    from chalicelib.opportunities.entity import OPPORTUNITY
    from chalicelib.quotes import service as quotes
    from chalicelib.quotes.entity import QUOTE

    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["ceo"])):
        approvals.create_flow(templates.flow_spec("quote"), True)
    made: dict[str, str] = {}
    for owner, opportunity, name, days, discount, outcome in QUOTES:
        with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[owner])):
            opp = engine.get(OPPORTUNITY, opportunities[opportunity])
            q = engine.create(QUOTE, {
                "name": name, "customer": opp["customer"]["id"], "opportunity": opp["id"], "terms": "报价含税；款到发货；有效期内价格不变",
                "valid_until": (clock.now() + timedelta(days=days)).date().isoformat(),
                "lines": [{"product": x["product"]["id"], "quantity": x["quantity"], "discount": discount} for x in opp["lines"]]}, None)
            if outcome != "draft":
                q = engine.submit(QUOTE, q["id"], {"comment": "老客户，申请折扣"})
        if outcome == "sent":  # 孙丽, 李娜's supervisor, approves the discount; then 李娜 sends it
            with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["manager1"])):
                approvals.approve(q["approval_id"], "同意", [])
            with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[owner])):
                q = quotes.send(q["id"], engine.get(QUOTE, q["id"])["version"])
        made[name] = q["id"]
    return made


def seed_contracts(users: dict[str, str], customers: dict[str, str], products: dict[str, str]) -> dict[str, str]:
    """Contracts in every approval state, each written and submitted by its owner and decided by the
    people the 合同审批 flow asks."""
    from chalicelib.approvals import service as approvals
    from chalicelib.contracts import service as contracts
    from chalicelib.contracts.entity import CONTRACT
    from chalicelib.engine import service as engine

    def as_user(key: str) -> Any:
        return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[key]))

    supervisor = {key: sup for key, _n, _m, _d, _r, sup, _p in USERS}
    made: dict[str, str] = {}
    for owner, customer, name, lines, outcome in CONTRACTS:
        body: dict[str, Any] = {"name": name, "customer": customers[customer], "start_date": "2027-01-01", "end_date": "2027-12-31",
                                "sign_date": "2026-12-01", "company_signer": users[owner]}
        if isinstance(lines, list):
            body["lines"] = [{"product": products[sku], "quantity": q} for sku, q in lines]
        else:
            body["amount"] = lines
        with as_user(owner):
            c = engine.create(CONTRACT, body, None)
            made[name] = c["id"]
            if outcome == "draft":
                continue
            if outcome == "voided":
                contracts.void(c["id"], "客户取消采购", c["version"])
                continue
            iid = engine.submit(CONTRACT, c["id"], {"comment": "请审批"})["approval_id"]
            if outcome == "withdrawn":
                approvals.withdraw(iid, "条款需要再谈")
        for step in range(3):  # the supervisor, then (above 100000) the 会签 of 王强 and 吴静
            if outcome not in ("approved", "rejected"):
                break
            deciders = [supervisor[owner]] if step == 0 else ["director", "finance"] if step == 1 else []
            for who in deciders:
                with as_user(who):
                    try:
                        inst = approvals.get(iid)
                    except NotFound:  # not on this approval's plan (at or below 100000: no 会签)
                        continue
                    if inst["status"] != "running" or users[who] not in inst["steps"][inst["current_step"]]["current_assignees"]:
                        continue
                    if outcome == "rejected":
                        approvals.reject(iid, "applicant", None, "价格需要重新评估", [])
                    else:
                        approvals.approve(iid, "同意", [])
    return made


# invoice requests (开票申请) on the approved 华为 contract: (title, type, amount, what happens to it: issued | requested)
INVOICES = [
    ("华为技术有限公司", "special", 100000, "issued"),
    ("华为技术有限公司", "normal", 50000, "requested"),
]
HUAWEI_TAX = {"tax_number": "914403001922038216", "bank": "招商银行深圳分行", "bank_account": "755900000000001",
              "registered_address": "深圳市龙岗区坂田华为基地", "registered_phone": "0755-28780808"}


def seed_invoices(users: dict[str, str], contracts: dict[str, str]) -> dict[str, str]:
    """The 开票审批 flow from its template (直属上级 → above 100000 分管领导 → 财务: the 系统管理员 刘洋), and two
    requests of 李娜 on her approved 华为 contract: one issued by 刘洋, one waiting for her supervisor 孙丽."""
    from chalicelib.approvals import service as approvals
    from chalicelib.approvals import templates
    from chalicelib.engine import service as engine
    from chalicelib.invoices import service as invoices
    from chalicelib.invoices.entity import INVOICE

    def as_user(key: str) -> Any:
        return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[key]))

    with as_user("ceo"):
        approvals.create_flow(templates.flow_spec("invoice"), True)
    contract = contracts["华为 CRM 一期合同"]
    made: dict[str, str] = {}
    for i, (title, kind, amount, outcome) in enumerate(INVOICES):
        body: dict[str, Any] = {"contract": contract, "invoice_type": kind, "title": title, "amount": amount,
                                "content": "CRM 专业版软件许可费", **(HUAWEI_TAX if kind == "special" else {})}
        with as_user("rep1"):
            inv = engine.create(INVOICE, body, None)
            iid = engine.submit(INVOICE, inv["id"], {"comment": "请审核开票信息"})["approval_id"]
        made[outcome] = inv["id"]
        if outcome != "issued":
            continue
        for who in ("manager1", "admin"):  # 孙丽, then the 财务 step (系统管理员 刘洋)
            with as_user(who):
                approvals.approve(iid, "同意", [])
        with as_user("admin"):
            current = engine.get(INVOICE, inv["id"])
            invoices.issue(inv["id"], f"4403{2612 + i:04d}", "2026-12-10", current["version"])
    return made


# this year's monthly targets (业绩目标) per subject: (subject key, contract amount, payment amount) a month
TARGETS = [("company", 600000, 450000), ("sales", 540000, 400000), ("sales1", 300000, 220000), ("sales2", 240000, 180000),
           ("rep1", 150000, 100000), ("rep2", 100000, 80000), ("manager1", 50000, 40000), ("rep3", 150000, 120000),
           ("manager2", 90000, 60000)]
# the approved 华为 contract's payments (回款), today: (amount, method)
PAYMENTS = [(80000, "bank"), (20000, "bank")]
COMMISSION_PLAN = {"id": "sales", "name": "销售部提成方案", "base": "payment_amount", "default_rate": 3,
                   "category_rates": [{"category_id": "software", "rate": 5}, {"category_id": "hardware", "rate": 1},
                                      {"category_id": "service", "rate": 8}],
                   "tiers": [{"from_rate": 0, "multiplier": 0.8}, {"from_rate": 80, "multiplier": 1}, {"from_rate": 100, "multiplier": 1.2}]}
# territories (销售地域): (id, name, region codes, department keys, user keys)
TERRITORIES = [("east", "华东区", ["310000", "320000", "330000"], ["sales1"], []),
               ("south", "华南区", ["440000", "450000", "460000"], ["sales2"], []),
               ("shenzhen", "深圳", ["440300"], [], ["rep1"])]


def seed_targets(users: dict[str, str], departments: dict[str, str], deals: dict[str, Any]) -> dict[str, Any]:
    """This year's targets of both metrics (the sales plan), a payment flow with two approved payments of
    李娜 on the approved 华为 contract dated today, the commission plan and the territories — each saved by
    the admin as through the API."""
    from chalicelib.approvals import service as approvals
    from chalicelib.approvals.schemas import FlowSpec
    from chalicelib.commission import service as commission
    from chalicelib.commission.schemas import CommissionPlanIn
    from chalicelib.engine import service as engine
    from chalicelib.payments.entity import PAYMENT
    from chalicelib.targets import service as targets
    from chalicelib.targets import territories

    def as_user(key: str) -> Any:
        return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[key]))

    def subject(key: str) -> str:
        return "company" if key == "company" else f"department:{departments[key]}" if key in departments else f"user:{users[key]}"

    today = targets.local_today()
    with as_user("ceo"):
        approvals.create_flow(FlowSpec.model_validate({
            "name": "回款审批", "business_type": "payment", "model": "fixed", "no_approver": "admin",
            "nodes": [{"id": "supervisor", "name": "直属上级", "approvers": {"type": "supervisor", "level": 1}}]}).model_dump(mode="json"), True)
    huawei = deals["contracts"]["华为 CRM 一期合同"]
    paid = []
    for amount, method in PAYMENTS:
        with as_user("rep1"):
            made = engine.create(PAYMENT, {"contract": huawei, "amount": amount, "paid_on": today.isoformat(), "method": method}, None)
            iid = engine.submit(PAYMENT, made["id"], {"comment": "客户已付款"})["approval_id"]
        with as_user(BY_KEY["rep1"][5]):
            approvals.approve(iid, "已到账", [])
        paid.append(made["id"])
    with as_user("admin"):
        for i, metric in enumerate(("contract_amount", "payment_amount")):
            rows = [{"subject": subject(key), "months": [figures[i]] * 12} for key, *figures in TARGETS]
            targets.put_targets(today.year, metric, f"{today.year} 年度销售计划", "华东、华南为重点区域；季度末冲刺回款", rows, None)
        plan = CommissionPlanIn.model_validate({**COMMISSION_PLAN, "department_ids": [departments["sales"]]}).model_dump()
        commission.put_plans([plan], None)
        territories.put_territories([{"id": tid, "name": name, "regions": codes, "department_ids": [departments[d] for d in depts],
                                      "user_ids": [users[u] for u in people], "notes": None}
                                     for tid, name, codes, depts, people in TERRITORIES], None)
    return {"payments": paid}


def seed_messages(users: dict[str, str], departments: dict[str, str]) -> None:
    """Messages and announcements (内部消息/公告): 王强's 销售部 group with a message, 孙丽 writing to 李娜 (her unread
    count is 2), a pinned 公告 for everyone by 刘洋 and a 新闻 for the sales department by 王强 (the audience hears of
    them when the stack runs the notify jobs)."""
    from chalicelib.announcements.entity import ANNOUNCEMENT
    from chalicelib.engine import service as engine
    from chalicelib.messages import service as messages

    def acting(key: str):
        return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[key]))

    with acting("director"):
        group = messages.create_group("销售部", [users[k] for k in ("manager1", "rep1", "rep2", "manager2", "rep3")])
        messages.send(group["id"], "本周五下午三点销售例会，请各位准备本月商机进展。", [], None)
        engine.create(ANNOUNCEMENT, {"title": "华为 CRM 一期签约", "column": "news", "audience": "departments",
                                     "audience_departments": [departments["sales"]],
                                     "body": "<p>祝贺李娜签下<b>华为 CRM 一期合同</b>！</p>"}, None)
    with acting("manager1"):
        direct = messages.open_direct(users["rep1"])
        messages.send(direct["id"], "李娜，华为二期的方案今天能发我看看吗？", [], None)
    with acting("admin"):
        engine.create(ANNOUNCEMENT, {"title": "关于调整 2026 年考勤制度的通知", "column": "notice", "audience": "all",
                                     "pinned": True, "body": "<p>自下月起，上班时间调整为 <b>9:00–18:00</b>。</p>"}, None)


def seed_mail(users: dict[str, str], customers: dict[str, str]) -> None:
    """Mail (邮件): a shared mailbox 销售支持 (sales@demo.<mail domain>) read by 李娜 and 张伟; 李娜's mail from
    华为 to 王建华 and his reply with an attachment, filed on 华为's timeline by its thread; an enquiry to the shared
    mailbox from an unknown address (in the mailbox, linked to nobody)."""
    from email.message import EmailMessage

    from chalicelib.mail import inbound
    from chalicelib.mail import service as mail

    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["ceo"])):
        box = mail.create_mailbox({"name": "销售支持", "local_part": "sales", "member_ids": [users["rep1"], users["rep2"]],
                                   "owner_id": users["manager1"]})
    with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users["rep1"])):
        sent = mail.send_from_record({"record": {"entity": "customer", "id": customers["华为技术有限公司"]},
                                      "to": ["wangjianhua@huawei.example"], "subject": "{{ record.name }}：二期 CRM 方案",
                                      "body_text": "王总您好：\n附上二期方案要点，请审阅。\n{{ sender.name }}"})
    reply = EmailMessage()
    reply["From"] = "Wang Jianhua <wangjianhua@huawei.example>"
    reply["To"] = sent["from_addr"]
    reply["Subject"] = f"Re: {sent['subject']}"
    reply["Message-ID"] = "<demo-reply-1@huawei.example>"
    reply["In-Reply-To"] = reply["References"] = sent["message_id"]
    reply.set_content("方案收到，下周三上午来公司详谈。附件是我们的需求清单。\n王建华")
    reply.add_attachment("1. 门店会员\n2. 渠道报表\n".encode(), maintype="text", subtype="plain", filename="需求清单.txt")
    inbound.receive_raw(reply.as_bytes(), "demo/inbound/1")
    ask = EmailMessage()
    ask["From"] = "Zhou Ming <zhouming@yunfan-edu.example>"
    ask["To"] = box["address"]
    ask["Subject"] = "询价：智慧校园 CRM"
    ask["Message-ID"] = "<demo-ask-1@yunfan-edu.example>"
    ask.set_content("你好，想了解贵司 CRM 的教育行业方案和报价。\n周明")
    inbound.receive_raw(ask.as_bytes(), "demo/inbound/2")


# work reports (工作报告) of today: 李娜's daily report, submitted and reviewed by 孙丽, and her weekly draft; 孙丽's
# own daily report to 王强. 张伟 has not written his: 孙丽's GET /v1/work-reports/missing?kind=daily names him.
WORK_REPORTS = [
    ("rep1", "daily", {"done": "拜访华为采购总监王建华，确认二期 CRM 需求范围", "plan": "整理二期方案报价，约 IT 经理演示",
                       "problems": "二期预算审批周期较长"}, ["华为技术有限公司"], "submitted", ("manager1", "华为二期抓紧推进，方案我来把关")),
    ("rep1", "weekly", {"done": "华为、ACME 两家客户推进", "plan": "华为二期方案报价"}, ["华为技术有限公司", "上海ACME贸易有限公司"],
     "draft", None),
    ("manager1", "daily", {"done": "销售一部周例会，金陵地产合同条款确认", "plan": "陪同李娜拜访华为"}, ["南京金陵地产集团"],
     "submitted", None),
]


def seed_work_reports(users: dict[str, str], customers: dict[str, str]) -> None:
    """The reports, written, submitted and reviewed through the work reports' services as their authors."""
    from chalicelib.engine import service as engine
    from chalicelib.reports import service as reports
    from chalicelib.reports.entity import WORK_REPORT

    for author, kind, texts, linked, state, review in WORK_REPORTS:
        with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[author])):
            rep = engine.create(WORK_REPORT, {"kind": kind, "sections": [{"key": k, "content": v} for k, v in texts.items()],
                                              "links": [{"record": {"entity": "customer", "id": customers[c]}} for c in linked]},
                                None)
            if state == "submitted":
                reports.submit(rep["id"], rep["version"])
        if review:
            with context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=users[review[0]])):
                reports.review(rep["id"], review[1])
