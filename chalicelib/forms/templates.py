"""Built-in form templates (办公审批模板, FLOW-5).

Every template has a flow template of the same code (approvals/templates.py) whose
conditions use this form's field keys, so creating a form from a template can create and
bind its approval flow at once.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import NotFound
from .schemas import FormSpec

# ---- building blocks ------------------------------------------------------------------------

# English labels of the templates' fields and options (errors in English name fields by them)
EN = {
    "请假类型": "Leave type", "开始时间": "Start", "结束时间": "End", "请假天数": "Days", "请假事由": "Reason", "证明材料": "Supporting documents",
    "加班类型": "Overtime type", "加班时长(小时)": "Hours", "补偿方式": "Compensation", "加班事由": "Reason", "出差地点": "Destination",
    "开始日期": "Start date", "结束日期": "End date", "出差天数": "Days", "预算金额": "Budget", "拜访客户": "Customer visited",
    "出差事由": "Purpose", "行程明细": "Itinerary", "日期": "Date", "出发地": "From", "目的地": "To", "交通工具": "Transport",
    "预计费用": "Estimated cost", "报销事由": "Purpose", "费用明细": "Expenses", "发生日期": "Date", "费用类别": "Category", "金额": "Amount",
    "说明": "Note", "报销总额": "Total", "关联客户": "Customer", "票据附件": "Receipts", "申请类型": "Request type", "用途": "Purpose",
    "预计还款日期": "Repayment date", "收款人": "Payee", "收款账号": "Payee account", "备注": "Note", "采购事由": "Purpose",
    "采购明细": "Items", "产品": "Product", "名称": "Name", "规格型号": "Specification", "数量": "Quantity", "单价": "Unit price",
    "合计金额": "Total", "建议供应商": "Suggested supplier", "期望到货日期": "Expected delivery", "附件": "Attachments",
    "资产明细": "Assets", "资产名称": "Asset", "资产编号": "Asset number", "领用日期": "Date taken", "归还日期": "Return date",
    "用途说明": "Purpose", "项目名称": "Project", "项目编号": "Project number", "关联商机": "Opportunity", "项目经理": "Project manager",
    "项目预算": "Budget", "计划开始": "Planned start", "计划结束": "Planned end", "项目成员": "Members", "成员": "Member",
    "职责": "Role", "项目目标与范围": "Goals and scope", "立项材料": "Documents", "合同名称": "Contract", "关联合同": "Contract record",
    "客户": "Customer", "合同相对方": "Counterparty", "合同金额": "Amount", "主要条款摘要": "Key terms", "合同文本": "Contract text",
    "文件标题": "Title", "发文字号": "Document number", "紧急程度": "Urgency", "密级": "Classification", "主送": "To", "抄送": "Cc",
    "正文": "Body", "来文单位": "From", "收文日期": "Date received", "来文字号": "Document number", "内容摘要": "Summary",
    "来文扫描件": "Scanned document",
    "年假": "Annual leave", "事假": "Personal leave", "病假": "Sick leave", "婚假": "Marriage leave", "产假": "Maternity leave",
    "调休": "Time off in lieu", "工作日加班": "Workday", "休息日加班": "Rest day", "节假日加班": "Public holiday", "加班费": "Overtime pay",
    "飞机": "Plane", "火车": "Train", "汽车": "Car", "轮船": "Ship", "其他": "Other", "差旅": "Travel", "交通": "Transport",
    "住宿": "Lodging", "餐饮": "Meals", "招待": "Entertainment", "办公": "Office", "通讯": "Communication", "借款": "Loan",
    "用款": "Payment", "领用": "Take", "借用": "Borrow", "普通": "Normal", "加急": "Urgent", "特急": "Very urgent", "公开": "Public",
    "内部": "Internal", "秘密": "Confidential", "机密": "Secret",
}


def _f(key: str, label: str, field_type: str, *, required: bool = False, help: str | None = None, **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"key": key, "label": label, "label_en": EN[label], "field_type": field_type, "required": required,
                             **extra}
    if help:
        field["help"] = help
    return field


def _select(key: str, label: str, options: list[tuple[str, str]], *, required: bool = False) -> dict[str, Any]:
    return _f(key, label, "select", required=required, options=[{"code": c, "label": lbl, "label_en": EN[lbl]} for c, lbl in options])


def _ref(key: str, label: str, entity: str, *, required: bool = False) -> dict[str, Any]:
    return _f(key, label, "reference", required=required, entity=entity)


def _table(key: str, label: str, *columns: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return _f(key, label, "table", required=required, columns=list(columns))


def _attachments(label: str = "附件") -> dict[str, Any]:
    return _f("attachments", label, "attachment")


# cross-field rules (engine/fieldtypes.py RULES)
def _range(start: str, end: str, *, strict: bool = False) -> dict[str, Any]:
    return {"kind": "range", "start": start, "end": end, **({"strict": True} if strict else {})}


def _positive(field: str) -> dict[str, Any]:
    return {"kind": "compare", "field": field, "op": "gt", "value": 0}


def _span(start: str, end: str, field: str, unit: str = "days") -> dict[str, Any]:
    return {"kind": "span", "start": start, "end": end, "field": field, "unit": unit}


def _sum(total: str, table: str, column: str) -> dict[str, Any]:
    return {"kind": "sum", "total": total, "table": table, "column": column}


def _required_if(field: str, when: str, equals: str) -> dict[str, Any]:
    return {"kind": "required_if", "field": field, "when": when, "equals": equals}


URGENCY = [("normal", "普通"), ("urgent", "加急"), ("very_urgent", "特急")]
SECRECY = [("public", "公开"), ("internal", "内部"), ("confidential", "秘密"), ("secret", "机密")]


# ---- the templates --------------------------------------------------------------------------

def _leave() -> dict[str, Any]:
    return {"category": "attendance", "description": "员工请假申请：请假类型、起止时间与天数，超过3天需部门负责人审批。", "fields": [
        _select("leave_type", "请假类型", [("annual", "年假"), ("personal", "事假"), ("sick", "病假"), ("marriage", "婚假"),
                                          ("maternity", "产假"), ("compensatory", "调休")], required=True),
        _f("start", "开始时间", "datetime", required=True),
        _f("end", "结束时间", "datetime", required=True),
        _f("days", "请假天数", "number", required=True, help="按工作日计算，可填0.5天"),
        _f("reason", "请假事由", "textarea", required=True),
        _attachments("证明材料"),
    ], "rules": [_range("start", "end", strict=True), _positive("days"), _span("start", "end", "days")]}


def _overtime() -> dict[str, Any]:
    return {"category": "attendance", "description": "加班申请：加班类型、时间与时长，节假日或超长加班需部门负责人审批。", "fields": [
        _select("overtime_type", "加班类型", [("workday", "工作日加班"), ("weekend", "休息日加班"), ("holiday", "节假日加班")], required=True),
        _f("start", "开始时间", "datetime", required=True),
        _f("end", "结束时间", "datetime", required=True),
        _f("hours", "加班时长(小时)", "number", required=True),
        _select("compensation", "补偿方式", [("time_off", "调休"), ("pay", "加班费")], required=True),
        _f("reason", "加班事由", "textarea", required=True),
    ], "rules": [_range("start", "end", strict=True), _positive("hours"), _span("start", "end", "hours", "hours")]}


def _business_trip() -> dict[str, Any]:
    return {"category": "attendance", "title_field": "destination",
            "description": "出差申请：目的地、行程明细与预算，预算超过1万元或超过7天需部门负责人审批。", "fields": [
        _f("destination", "出差地点", "text", required=True),
        _f("start_date", "开始日期", "date", required=True),
        _f("end_date", "结束日期", "date", required=True),
        _f("days", "出差天数", "number", required=True),
        _f("budget", "预算金额", "money"),
        _ref("customer", "拜访客户", "customer"),
        _f("purpose", "出差事由", "textarea", required=True),
        _table("itinerary", "行程明细",
               _f("date", "日期", "date", required=True),
               _f("from", "出发地", "text", required=True),
               _f("to", "目的地", "text", required=True),
               _select("transport", "交通工具", [("plane", "飞机"), ("train", "火车"), ("car", "汽车"), ("ship", "轮船"), ("other", "其他")]),
               _f("cost", "预计费用", "money")),
    ], "rules": [_range("start_date", "end_date"), _positive("days"), _span("start_date", "end_date", "days")]}


def _expense() -> dict[str, Any]:
    return {"category": "finance", "title_field": "title",
            "description": "费用报销：报销明细、合计金额与票据，超过5000元需上级领导审批，财务审核后付款。", "fields": [
        _f("title", "报销事由", "text", required=True),
        _table("items", "费用明细",
               _f("date", "发生日期", "date", required=True),
               _select("category", "费用类别", [("travel", "差旅"), ("transport", "交通"), ("lodging", "住宿"), ("meals", "餐饮"),
                                                ("entertainment", "招待"), ("office", "办公"), ("communication", "通讯"), ("other", "其他")],
                       required=True),
               _f("amount", "金额", "money", required=True),
               _f("note", "说明", "text"),
               required=True),
        _f("total_amount", "报销总额", "money", required=True, help="应等于费用明细金额合计"),
        _ref("customer", "关联客户", "customer"),
        _attachments("票据附件"),
    ], "rules": [_sum("total_amount", "items", "amount"), _positive("total_amount")]}


def _loan() -> dict[str, Any]:
    return {"category": "finance", "title_field": "purpose", "description": "借款/用款申请：金额、用途与预计还款日期，财务审核后出纳付款。", "fields": [
        _select("loan_type", "申请类型", [("loan", "借款"), ("payment", "用款")], required=True),
        _f("amount", "金额", "money", required=True),
        _f("purpose", "用途", "text", required=True),
        _f("repay_date", "预计还款日期", "date", help="借款必填"),
        _f("payee", "收款人", "text"),
        _f("bank_account", "收款账号", "text"),
        _f("note", "备注", "textarea"),
    ], "rules": [_positive("amount"), _required_if("repay_date", "loan_type", "loan")]}


def _purchase() -> dict[str, Any]:
    return {"category": "admin", "title_field": "title", "description": "采购申请：采购明细与合计金额，按金额分级审批后由行政执行采购。", "fields": [
        _f("title", "采购事由", "text", required=True),
        _table("items", "采购明细",
               _ref("product", "产品", "product"),
               _f("name", "名称", "text", required=True),
               _f("spec", "规格型号", "text"),
               _f("qty", "数量", "number", required=True),
               _f("price", "单价", "money", required=True),
               _f("amount", "金额", "money", required=True),
               required=True),
        _f("total_amount", "合计金额", "money", required=True, help="应等于采购明细金额合计"),
        _f("supplier", "建议供应商", "text"),
        _f("expected_date", "期望到货日期", "date"),
        _attachments(),
    ], "rules": [_sum("total_amount", "items", "amount"), _positive("total_amount")]}


def _asset() -> dict[str, Any]:
    return {"category": "admin", "description": "资产领用/借用：领用或借用的资产明细，借用需填写归还日期。", "fields": [
        _select("kind", "申请类型", [("receive", "领用"), ("borrow", "借用")], required=True),
        _table("items", "资产明细",
               _f("name", "资产名称", "text", required=True),
               _f("asset_no", "资产编号", "text"),
               _f("spec", "规格型号", "text"),
               _f("qty", "数量", "number", required=True),
               _f("note", "备注", "text"),
               required=True),
        _f("use_date", "领用日期", "date", required=True),
        _f("return_date", "归还日期", "date", help="借用必填"),
        _f("reason", "用途说明", "textarea", required=True),
    ], "rules": [_required_if("return_date", "kind", "borrow"), _range("use_date", "return_date")]}


def _project() -> dict[str, Any]:
    return {"category": "business", "title_field": "name", "description": "项目立项：项目目标、预算、成员与客户，评审会签，重大项目逐级审批。", "fields": [
        _f("name", "项目名称", "text", required=True),
        _f("code", "项目编号", "text"),
        _ref("customer", "关联客户", "customer"),
        _ref("opportunity", "关联商机", "opportunity"),
        _f("manager", "项目经理", "user", required=True),
        _f("budget", "项目预算", "money", required=True),
        _f("start_date", "计划开始", "date", required=True),
        _f("end_date", "计划结束", "date", required=True),
        _table("members", "项目成员",
               _f("user", "成员", "user", required=True),
               _f("duty", "职责", "text")),
        _f("goals", "项目目标与范围", "textarea", required=True),
        _attachments("立项材料"),
    ], "rules": [_range("start_date", "end_date")]}


def _contract_countersign() -> dict[str, Any]:
    return {"category": "business", "title_field": "subject", "description": "合同会签：法务、财务等部门会签合同文本，重大合同由分管领导签批。", "fields": [
        _f("subject", "合同名称", "text", required=True),
        _ref("contract", "关联合同", "contract"),
        _ref("customer", "客户", "customer"),
        _f("counterparty", "合同相对方", "text", required=True),
        _f("amount", "合同金额", "money", required=True),
        _f("summary", "主要条款摘要", "textarea", required=True),
        _attachments("合同文本"),
    ], "rules": [_positive("amount")]}


def _document_outgoing() -> dict[str, Any]:
    return {"category": "document", "document": True, "title_field": "doc_title",
            "description": "公文发文：拟稿、核稿、会签、签发与分发，完成后可归档或销毁。", "fields": [
        _f("doc_title", "文件标题", "text", required=True),
        _f("doc_number", "发文字号", "text"),
        _select("urgency", "紧急程度", URGENCY, required=True),
        _select("secrecy", "密级", SECRECY, required=True),
        _f("main_recipients", "主送", "text"),
        _f("cc_recipients", "抄送", "text"),
        _f("body", "正文", "textarea", required=True),
        _attachments(),
    ]}


def _document_incoming() -> dict[str, Any]:
    return {"category": "document", "document": True, "title_field": "doc_title",
            "description": "公文收文：登记来文，拟办、批办与承办，完成后可归档或销毁。", "fields": [
        _f("from_org", "来文单位", "text", required=True),
        _f("received_date", "收文日期", "date", required=True),
        _f("doc_number", "来文字号", "text"),
        _f("doc_title", "文件标题", "text", required=True),
        _select("urgency", "紧急程度", URGENCY),
        _select("secrecy", "密级", SECRECY),
        _f("summary", "内容摘要", "textarea"),
        _attachments("来文扫描件"),
    ]}


_TEMPLATES: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "leave": ("请假", _leave),
    "overtime": ("加班", _overtime),
    "business_trip": ("出差", _business_trip),
    "expense": ("费用报销", _expense),
    "loan": ("借款/用款", _loan),
    "purchase": ("采购申请", _purchase),
    "asset": ("资产领用/借用", _asset),
    "project": ("项目立项", _project),
    "contract_countersign": ("合同会签", _contract_countersign),
    "document_outgoing": ("公文发文", _document_outgoing),
    "document_incoming": ("公文收文", _document_incoming),
}


def catalogue() -> list[dict[str, Any]]:
    out = []
    for code, (name, build) in _TEMPLATES.items():
        spec = build()
        out.append({"code": code, "name": name, "category": spec["category"], "description": spec.get("description")})
    return out


def form_spec(code: str) -> dict[str, Any]:
    """The template's form definition, validated (its rules are checked when the form is created)."""
    try:
        name, build = _TEMPLATES[code]
    except KeyError:
        raise NotFound("entity.form_template") from None
    return FormSpec.model_validate({"name": name, **build()}).model_dump(mode="json")
