"""Built-in approval flow templates (流程模板, FLOW-1/FLOW-5).

A template only uses approver rules that resolve in every tenant without tenant-specific
ids: supervisors, supervisor chains, department heads, the applicant's choice, and the
built-in 系统管理员 role (`admin`). The business-record templates (contract, payment,
invoice, quote) branch on the record's fields; the others share their code with a form
template (forms/templates.py) and branch on that form's field keys. A form template's flow
defaults to business type `form:<code>`; the forms service replaces it with `form:<form id>`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import NotFound
from .schemas import FlowSpec

ADMIN_ROLE = "admin"  # built-in 系统管理员: present in every tenant
NOTIFY_ACTIONS = ["comment"]


# ---- building blocks ------------------------------------------------------------------------

def _supervisor(level: int = 1) -> dict[str, Any]:
    return {"type": "supervisor", "level": level, "fallback": "nearest"}


def _chain(level: int) -> dict[str, Any]:
    return {"type": "supervisor_chain", "level": level}


def _head() -> dict[str, Any]:
    return {"type": "department_head"}


def _choice() -> dict[str, Any]:
    return {"type": "applicant_choice"}


def _admin() -> dict[str, Any]:
    return {"type": "role", "role_id": ADMIN_ROLE}


def _approve(node_id: str, name: str, approvers: dict[str, Any], *, mode: str = "any", hours: float | None = 24,
             remind: float | None = None, on_timeout: str = "remind", actions: list[str] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "name": name, "kind": "approve", "approvers": approvers, "mode": mode,
                            "time_limit_hours": hours, "on_timeout": on_timeout}
    if hours is not None:
        node["remind_before_hours"] = remind if remind is not None else max(1, hours // 4)
    if actions is not None:
        node["actions"] = actions
    return node


def _notify(node_id: str, name: str, approvers: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "name": name, "kind": "notify", "approvers": approvers, "actions": list(NOTIFY_ACTIONS)}


def _branch(node_id: str, name: str, *branches: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "name": name, "kind": "branch", "branches": list(branches)}


def _when(name: str, priority: int, conditions: list[dict[str, Any]], *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "priority": priority, "conditions": conditions, "nodes": list(nodes)}


def _otherwise(name: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "priority": 99, "conditions": [], "nodes": list(nodes)}


def _cond(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


# ---- the templates --------------------------------------------------------------------------

def _contract() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "直属上级审批；10万以上由分管领导审批并经管理层会签，2万以上由分管领导审批；通过后知会合同管理员备案。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("amount_check", "合同金额判断",
                    _when("大额合同", 1, [_cond("amount", "gt", 100000)],
                          _approve("leader_large", "分管领导审批", _supervisor(2), hours=24, on_timeout="escalate"),
                          _approve("management", "管理层会签", _admin(), mode="all", hours=48, remind=8, on_timeout="escalate")),
                    _when("中额合同", 2, [_cond("amount", "gt", 20000)],
                          _approve("leader_medium", "分管领导审批", _supervisor(2), hours=24)),
                    _otherwise("常规合同")),
            _notify("archive", "合同备案", _admin()),
        ],
    }


def _contract_credit() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "超信用额度合同（客户未回款加本合同金额超过其信用额度）：直属上级审批，财务评估客户信用，分管领导签批（50万以上逐级签批至第2级主管）；通过后知会合同管理员。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _approve("finance", "财务信用评估", _admin(), hours=48, remind=8, on_timeout="escalate"),
            _branch("amount_check", "合同金额判断",
                    _when("大额超限合同", 1, [_cond("amount", "gt", 500000)],
                          _approve("leaders", "领导逐级签批", _chain(2), mode="sequential", hours=24, on_timeout="escalate")),
                    _otherwise("一般超限合同", _approve("leader", "分管领导签批", _supervisor(2), hours=24, on_timeout="escalate"))),
            _notify("archive", "合同备案", _admin()),
        ],
    }


def _payment() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "销售主管确认回款信息，财务核对到账；50万以上的大额回款知会部门负责人。",
        "nodes": [
            _approve("sales_manager", "销售主管确认", _supervisor(1), hours=24, remind=4),
            _approve("finance", "财务确认到账", _admin(), hours=48, remind=8, on_timeout="escalate",
                     actions=["approve", "reject", "transfer", "comment"]),
            _branch("amount_check", "回款金额判断",
                    _when("大额回款", 1, [_cond("amount", "gt", 500000)], _notify("head_notice", "部门负责人知会", _head())),
                    _otherwise("常规回款")),
        ],
    }


def _invoice() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "销售主管审核开票信息；10万以上需分管领导审批；财务审核后开具发票。",
        "nodes": [
            _approve("sales_manager", "销售主管审核", _supervisor(1), hours=24, remind=4),
            _branch("amount_check", "开票金额判断",
                    _when("大额发票", 1, [_cond("amount", "gt", 100000)], _approve("leader", "分管领导审批", _supervisor(2), hours=24)),
                    _otherwise("常规发票")),
            _approve("finance", "财务审核开票", _admin(), hours=48, remind=8, on_timeout="escalate"),
        ],
    }


def _quote() -> dict[str, Any]:
    return {
        "model": "fixed",
        "description": "报价折扣审批：discount 为让利百分比（如 25 表示打七五折）；超过15%由销售总监审批，超过30%逐级审批至第3级主管。",
        "nodes": [
            _approve("sales_manager", "销售主管审批", _supervisor(1), hours=8, remind=2),
            _branch("discount_check", "折扣幅度判断",
                    _when("特殊折扣", 1, [_cond("discount", "gt", 30)],
                          _approve("chain", "逐级审批", _chain(3), mode="sequential", hours=24, on_timeout="escalate")),
                    _when("较大折扣", 2, [_cond("discount", "gt", 15)], _approve("director", "销售总监审批", _supervisor(2), hours=24)),
                    _otherwise("常规折扣")),
        ],
    }


def _leave() -> dict[str, Any]:
    return {
        "model": "fixed",
        "description": "直属上级审批；请假超过3天由部门负责人审批；通过后人事备案。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("days_check", "请假天数判断",
                    _when("三天以上", 1, [_cond("days", "gt", 3)],
                          _approve("department_head", "部门负责人审批", _head(), hours=24, on_timeout="escalate")),
                    _otherwise("三天及以内")),
            _notify("hr_record", "人事备案", _admin()),
        ],
    }


def _overtime() -> dict[str, Any]:
    return {
        "model": "fixed",
        "description": "直属上级审批；节假日加班或单次超过8小时由部门负责人审批；通过后人事备案。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("overtime_check", "加班类型判断",
                    _when("节假日加班", 1, [_cond("overtime_type", "eq", "holiday")],
                          _approve("head_holiday", "部门负责人审批", _head(), hours=24)),
                    _when("超长加班", 2, [_cond("hours", "gt", 8)], _approve("head_long", "部门负责人审批", _head(), hours=24)),
                    _otherwise("普通加班")),
            _notify("hr_record", "人事备案", _admin()),
        ],
    }


def _business_trip() -> dict[str, Any]:
    return {
        "model": "predefined",
        "description": "直属上级审批；预算超过1万元或出差超过7天由部门负责人审批；通过后行政备案（订票/住宿）。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("trip_check", "出差预算判断",
                    _when("高预算", 1, [_cond("budget", "gt", 10000)], _approve("head_budget", "部门负责人审批", _head(), hours=24)),
                    _when("长期出差", 2, [_cond("days", "gt", 7)], _approve("head_days", "部门负责人审批", _head(), hours=24)),
                    _otherwise("常规出差")),
            _notify("admin_record", "行政备案", _admin()),
        ],
    }


def _expense() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "直属上级审批；报销总额超过5000元由第2级上级审批；财务审核后付款。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("amount_check", "报销金额判断",
                    _when("大额报销", 1, [_cond("total_amount", "gt", 5000)],
                          _approve("leader", "上级领导审批", _supervisor(2), hours=24, on_timeout="escalate")),
                    _otherwise("常规报销")),
            _approve("finance", "财务审核", _admin(), hours=48, remind=8, on_timeout="escalate"),
        ],
    }


def _loan() -> dict[str, Any]:
    return {
        "model": "fixed", "no_approver": "admin",
        "description": "直属上级审批；金额超过1万元由部门负责人审批；财务审核后出纳付款。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("amount_check", "借款金额判断",
                    _when("大额借款", 1, [_cond("amount", "gt", 10000)],
                          _approve("department_head", "部门负责人审批", _head(), hours=24, on_timeout="escalate")),
                    _otherwise("常规借款")),
            _approve("finance", "财务审核", _admin(), hours=48, remind=8, on_timeout="escalate"),
            _notify("cashier", "出纳付款", _admin()),
        ],
    }


def _purchase() -> dict[str, Any]:
    return {
        "model": "predefined",
        "description": "直属上级审批；总额超过5万元由分管领导审批，超过1万元由部门负责人审批；行政采购审核后执行采购。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _branch("amount_check", "采购金额判断",
                    _when("大额采购", 1, [_cond("total_amount", "gt", 50000)],
                          _approve("leader", "分管领导审批", _supervisor(2), hours=48, on_timeout="escalate")),
                    _when("中额采购", 2, [_cond("total_amount", "gt", 10000)],
                          _approve("department_head", "部门负责人审批", _head(), hours=24)),
                    _otherwise("小额采购")),
            _approve("procurement", "行政采购审核", _admin(), hours=48, remind=8),
        ],
    }


def _asset() -> dict[str, Any]:
    return {
        "model": "fixed",
        "description": "直属上级审批，资产管理员审核发放；借用的资产登记归还日期。",
        "nodes": [
            _approve("supervisor", "直属上级审批", _supervisor(1), hours=24, remind=4),
            _approve("asset_admin", "资产管理员审核", _admin(), hours=24, remind=4),
            _branch("kind_check", "领用方式判断",
                    _when("借用", 1, [_cond("kind", "eq", "borrow")], _notify("borrow_record", "借用登记", _admin())),
                    _otherwise("领用")),
        ],
    }


def _project() -> dict[str, Any]:
    return {
        "model": "predefined",
        "description": "部门负责人审核；发起人选择的评审人会签；预算超过20万元逐级审批至第2级主管；立项后备案。",
        "nodes": [
            _approve("department_head", "部门负责人审核", _head(), hours=48, remind=8),
            _approve("review", "立项评审会签", _choice(), mode="all", hours=72, remind=12, on_timeout="escalate"),
            _branch("budget_check", "项目预算判断",
                    _when("重大项目", 1, [_cond("budget", "gt", 200000)],
                          _approve("leaders", "领导逐级审批", _chain(2), mode="sequential", hours=48, on_timeout="escalate")),
                    _otherwise("一般项目")),
            _notify("project_record", "立项备案", _admin()),
        ],
    }


def _contract_countersign() -> dict[str, Any]:
    return {
        "model": "predefined",
        "description": "部门负责人审核；发起人选择的法务、财务等会签人全部同意；金额超过100万元由分管领导签批；通过后合同备案。",
        "nodes": [
            _approve("department_head", "部门负责人审核", _head(), hours=24, remind=4),
            _approve("countersign", "合同会签", _choice(), mode="all", hours=48, remind=8, on_timeout="escalate"),
            _branch("amount_check", "合同金额判断",
                    _when("重大合同", 1, [_cond("amount", "gt", 1000000)],
                          _approve("leader", "分管领导签批", _supervisor(2), hours=24, on_timeout="escalate")),
                    _otherwise("一般合同")),
            _notify("archive", "合同备案", _admin()),
        ],
    }


def _document_outgoing() -> dict[str, Any]:
    return {
        "model": "free",
        "description": "公文发文：拟稿（发起）→ 核稿 → 会签 → 涉密文件保密审查 → 签发 → 分发；完成后可归档或销毁。",
        "nodes": [
            _approve("review", "核稿", _head(), hours=24, remind=4),
            _approve("countersign", "会签", _choice(), mode="all", hours=48, remind=8, on_timeout="escalate"),
            _branch("secrecy_check", "密级判断",
                    _when("涉密公文", 1, [_cond("secrecy", "in", ["confidential", "secret"])],
                          _approve("secrecy_review", "保密审查", _admin(), hours=24)),
                    _otherwise("非涉密公文")),
            _approve("sign", "签发", _supervisor(2), hours=24, remind=4, on_timeout="escalate"),
            _notify("distribute", "分发", _admin()),
        ],
    }


def _document_incoming() -> dict[str, Any]:
    return {
        "model": "free",
        "description": "公文收文：登记（发起）→ 拟办 → 批办 → 承办；完成后可归档或销毁。",
        "nodes": [
            _approve("proposal", "拟办", _head(), hours=24, remind=4),
            _approve("instruction", "批办", _supervisor(2), hours=24, remind=4, on_timeout="escalate"),
            _approve("handling", "承办", _choice(), mode="all", hours=72, remind=12, on_timeout="escalate",
                     actions=["approve", "transfer", "add_signer", "comment"]),
        ],
    }


# code -> (name, default business type, builder); form templates default to form:<code>
_TEMPLATES: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    "contract": ("合同审批", "contract", _contract),
    "contract_credit": ("超信用额度合同审批", "contract_credit", _contract_credit),
    "payment": ("回款审批", "payment", _payment),
    "invoice": ("开票审批", "invoice", _invoice),
    "quote": ("报价折扣审批", "quote", _quote),
    "leave": ("请假审批", "form:leave", _leave),
    "overtime": ("加班审批", "form:overtime", _overtime),
    "business_trip": ("出差审批", "form:business_trip", _business_trip),
    "expense": ("费用报销审批", "form:expense", _expense),
    "loan": ("借款/用款审批", "form:loan", _loan),
    "purchase": ("采购申请审批", "form:purchase", _purchase),
    "asset": ("资产领用/借用审批", "form:asset", _asset),
    "project": ("项目立项审批", "form:project", _project),
    "contract_countersign": ("合同会签", "form:contract_countersign", _contract_countersign),
    "document_outgoing": ("公文发文", "form:document_outgoing", _document_outgoing),
    "document_incoming": ("公文收文", "form:document_incoming", _document_incoming),
}


def catalogue() -> list[dict[str, Any]]:
    out = []
    for code, (name, business_type, build) in _TEMPLATES.items():
        out.append({"code": code, "name": name, "business_type": business_type, "description": build().get("description")})
    return out


def flow_spec(code: str, *, business_type: str | None = None, name: str | None = None) -> dict[str, Any]:
    """The template's flow definition, validated; `business_type`/`name` override the defaults."""
    try:
        default_name, default_type, build = _TEMPLATES[code]
    except KeyError:
        raise NotFound("entity.approval_template") from None
    spec = {"name": name or default_name, "business_type": business_type or default_type, **build()}
    return FlowSpec.model_validate(spec).model_dump(mode="json")
