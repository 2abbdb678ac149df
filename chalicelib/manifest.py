"""The module manifest: the one explicit list of the product's modules.

app.py, every functions/* handler, infra/ and the tests call `install()` and read
`modules()`; nothing registers itself by being imported, so a Lambda that imports less
still sees the same record types, approval hooks, hand-over and subscriptions as the API.
Adding a record type = its module (definition + rules) + one line in MODULES.
"""
from __future__ import annotations

import threading
from typing import Any

from .announcements import module as announcements
from .approvals import service as approvals
from .audit import service as audit
from .backups import module as backups
from .calendar import module as calendar
from .care import module as care
from .comments.messages import MESSAGES as COMMENTS_MESSAGES
from .commission import module as commission
from .competitors import module as competitors
from .contacts import module as contacts
from .contracts import module as contracts
from .core import handover, i18n, permissions, ratelimit, session
from .core.modules import ApprovalHook, CalendarSource, Module, routes_of
from .customers import module as customers
from .dashboard import module as dashboard
from .dictionaries import service as dictionaries
from .engine import family, registry
from .engine import service as engine
from .engine.definition import EntityDef
from .exports import module as exports
from .files import service as files
from .followups import module as followups
from .forms import models as form_models
from .forms import service as forms
from .imports import module as imports
from .integrations import module as integrations
from .invoices import module as invoices
from .jobs import service as jobs
from .leads import module as leads
from .mail import module as mail
from .messages import module as messages
from .numbering import service as numbering
from .objects import service as objects
from .opportunities import module as opportunities
from .org import service as org
from .payments import module as payments
from .pools import module as pools
from .products import module as products
from .quotes import module as quotes
from .reminders import models as reminder_models
from .reminders import service as reminders
from .reports import module as reports
from .revisits import module as revisits
from .signin import module as signin
from .tabular.messages import MESSAGES as TABULAR_MESSAGES
from .targets import module as targets
from .tasks import module as tasks
from .webhooks import module as webhooks


def _org_log(record_id: str) -> None:
    org.principal().require("org", "read")


MODULES: tuple[Module, ...] = (
    Module("system", blueprint=routes_of("system")),
    Module("tenants", blueprint=routes_of("tenants")),
    Module("org", ("组织机构", "Organisation"), blueprint=routes_of("org"),
           audit_access={"department": _org_log, "user": _org_log, "role": _org_log}),
    Module("roles", ("角色权限", "Roles")),
    signin.MODULE,  # 登录安全 (PLAT-11): second factor (TOTP), the tenant's MFA policy
    Module("dictionaries", ("数据字典", "Dictionaries"), blueprint=routes_of("dictionaries"), seed=dictionaries.seed),
    Module("numbering", ("编号规则", "Numbering"), blueprint=routes_of("numbering"), seed=numbering.seed),
    customers.MODULE,  # the order of global search's groups
    contacts.MODULE,
    leads.MODULE,
    followups.MODULE,
    opportunities.MODULE,
    quotes.MODULE,
    contracts.MODULE,
    payments.MODULE,
    invoices.MODULE,
    revisits.MODULE,
    pools.MODULE,
    care.MODULE,
    competitors.MODULE,
    products.MODULE,
    targets.MODULE,  # 业绩目标与销售计划 (SALES-13, SALES-15)
    targets.TERRITORIES,
    commission.MODULE,  # 销售提成 (SALES-13)
    dashboard.MODULE,
    reports.MODULE,  # 工作报告 (WORK-6)
    Module("audit", ("操作日志", "Operation log"), blueprint=routes_of("audit")),
    Module("recyclebin", ("回收站", "Recycle bin"), blueprint=routes_of("recyclebin")),
    Module("families", jobs=family.JOBS),  # the 360's family index (engine/family.py): moves and the back-fill
    Module("notifications", ("通知", "Notifications"), blueprint=routes_of("notifications")),
    Module("reminders", ("提醒", "Reminders"), blueprint=routes_of("reminders"), records=(reminder_models.Reminder,),
           restore_hooks={reminder_models.Reminder.ENTITY: reminders.after_restore}),
    Module("fields", ("自定义字段", "Custom fields"), blueprint=routes_of("fields")),
    Module("search", ("搜索与场景", "Search and views"), blueprint=routes_of("search")),
    Module("duplicates", ("查重规则", "Duplicate rules"), blueprint=routes_of("duplicates"), roles={"admin": {"actions": ["read", "manage"]}}),
    Module("files", blueprint=routes_of("files")),
    backups.MODULE,  # 数据备份: backups and restores of a tenant (jobs), the daily schedule
    Module("jobs", ("后台任务", "Background jobs"), blueprint=routes_of("jobs"), roles={"admin": {"actions": ["read", "manage"]}},
           messages={
               "entity.job": {"zh-CN": "后台任务", "en": "Job"},
               "JOB_ALREADY_STARTED": {"zh-CN": "该任务已经开始", "en": "The job has already started"},
               "JOB_FINISHED": {"zh-CN": "该任务已结束（{status}）", "en": "The job is over ({status})"},
               "job.status.succeeded": {"zh-CN": "已完成", "en": "succeeded"},
               "job.status.failed": {"zh-CN": "失败", "en": "failed"},
               "job.status.cancelled": {"zh-CN": "已取消", "en": "cancelled"},
               "JOB_DIED": {"zh-CN": "任务执行中断（超时或内存不足），已从上次进度继续",
                            "en": "A run of the job stopped (time or memory ran out); it went on from its last progress"},
               "JOB_STALLED": {"zh-CN": "任务执行中断且未能恢复", "en": "The job stopped and could not go on"},
               "JOB_ERROR": {"zh-CN": "任务执行时发生内部错误（已记录），请稍后重试或联系管理员",
                             "en": "The job met an internal error (logged); try again later or ask an administrator"},
           }),
    Module("tabular", messages=TABULAR_MESSAGES),  # spreadsheet cells and headers (imports, exports)
    exports.MODULE,  # 导出: records of any type and the operation log to XLSX / CSV (PLAT-8)
    imports.MODULE,  # 导入 (PLAT-8): every record type from CSV / XLSX, as background jobs
    # 打印: print templates (administrators); the prints are routes of each record type with the print action
    Module("printing", ("打印模板", "Print templates"), blueprint=routes_of("printing"), roles={"admin": {"actions": ["read", "manage"]}}),
    Module("screenpop", blueprint=routes_of("screenpop")),  # 来电弹屏: reads leads, customers, contacts; logs follow-ups
    Module("objects", ("自定义对象", "Custom objects"), blueprint=routes_of("objects"), handover=objects.handover_all,
           roles={"admin": {"actions": ["manage"]}}),
    Module("approvals", ("审批流程", "Approval flows"), blueprint=routes_of("approvals"), handover=approvals.hand_over,
           on_user_disabled=approvals.user_disabled,
           calendar=(CalendarSource("approval_deadline", "approval", "deadline", items=approvals.calendar_items),)),
    Module("forms", ("办公审批", "Forms and applications"), blueprint=routes_of("forms"), records=(form_models.Application,),
           approval_hooks=(ApprovalHook(form_models.Application.ENTITY, forms.status_ops, forms.data_of),),
           audit_access={"application": forms.log_access}),
    webhooks.MODULE,  # PLAT-10: signed, retried deliveries of domain events
    messages.MODULE,  # 内部消息 (WORK-4): conversations, unread counts, the long-poll
    announcements.MODULE,  # 公告 (DOCS-5): columns, audiences, read receipts
    integrations.MODULE,  # 集成: signed inbound channels writing records as import rows (issue 12)
    calendar.MODULE,  # 日程 (WORK-2): events, conflicts, recurrence, other modules' dates, iCalendar feed
    tasks.MODULE,  # 任务 (WORK-1): tasks, plans of sub-tasks, completion approval, recurrence, views
    Module("comments", messages=COMMENTS_MESSAGES),  # 评论 with @mentions on any record type that switches them on
    mail.MODULE,  # 邮件 (WORK-5): SES sends from records, bulk mail with unsubscribe, inbound mail, shared mailboxes
)

_lock = threading.Lock()
_installed = False


def modules() -> tuple[Module, ...]:
    return MODULES


def entities() -> list[EntityDef]:
    return [d for m in MODULES for d in m.entities]


def install() -> None:
    """Install every module's declarations in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        defs = entities()
        registry.install(defs)
        registry.install_custom(objects.find, objects.every)
        approvals.register_provider(engine.approval_hooks)
        approvals.register_title_view(engine.approval_title)
        from .db import records

        records.install([c for m in MODULES for c in m.records], {e: fn for m in MODULES for e, fn in m.restore_hooks.items()})
        for m in MODULES:
            for key, texts in m.messages.items():
                if key in i18n.MESSAGES and i18n.MESSAGES[key] != texts:
                    raise ValueError(f"module {m.name}: message {key} is defined twice")
                i18n.MESSAGES[key] = dict(texts)
            if m.label[0]:
                permissions.MODULES[m.name] = m.label[0]
                i18n.MESSAGES.setdefault(f"module.{m.name}", {"zh-CN": m.label[0], "en": m.label[1] or m.name})
            for hook in m.approval_hooks:
                approvals.register(hook.entity, hook.status_ops, hook.data_of)
            jobs.install(m.jobs)
            if m.handover:
                handover.register(m.name, m.handover)
            if m.handover_check:
                handover.register_check(m.name, m.handover_check)
            if m.on_user_disabled:
                handover.register_on_disabled(m.name, m.on_user_disabled)
        access: dict[str, Any] = {}
        moving: dict[str, list[EntityDef]] = {}
        for d in defs:
            i18n.MESSAGES.setdefault(d.name_key, {"zh-CN": d.label[0], "en": d.label[1]})
            if d.features.handover and d.features.owner:
                moving.setdefault(d.module, []).append(d)
            access[d.name] = _log_access_of(d)
        for module, types in moving.items():  # one hand-over per module, every record type of it (plans and payments)
            handover.register(module, _handover_of(types))
        for m in MODULES:
            access.update(m.audit_access)
        audit.install_access(access, objects.log_access, engine.shape_log)
        # a file linked to a record (attachment, field value, form, approval comment) is readable by
        # whoever may read that record: the same checks as the record's operation log, plus approvals
        files.install_readers({**access, "approval": _approval_read}, objects.log_access)
        from .signin import service as signin_service  # the org's session check, then the tenant's MFA policy

        session.configure(signin_service.check_session, org.principal, signin_service.check_platform_session)
        from .tenants import service as tenants  # here: tenants reads the manifest (built-in roles)

        ratelimit.configure(tenants.rate_limit)
        _installed = True


def _handover_of(types: list[EntityDef]):
    def move(tenant_id: str, from_user_id: str, to_user_id: str, actor: str) -> int:
        return sum(engine.transfer_all(d, tenant_id, from_user_id, to_user_id, actor) for d in types)
    return move


def _approval_read(instance_id: str) -> None:
    approvals.get(instance_id)


def _log_access_of(d: EntityDef):
    def check(record_id: str) -> None:
        engine.require_read(d, record_id)
    return check


def blueprints() -> list[Any]:
    """Every module's own routes, then the generated routes of each standard record type."""
    from .engine import api as engine_api

    out = [m.blueprint() for m in MODULES if m.blueprint]
    out += [engine_api.blueprint(d) for d in entities() if d.path]
    return out


def role_defaults() -> dict[str, dict[str, dict[str, Any]]]:
    """role id -> module -> {actions, scope, fields} contributed by record types and modules."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for m in MODULES:
        for role, grant in m.roles.items():
            out.setdefault(role, {})[m.name] = dict(grant)
        for d in m.entities:
            for role, grant in d.role_defaults.items():
                out.setdefault(role, {})[d.module] = dict(grant)
    return out


def notification_types() -> list[str]:
    return [t for m in MODULES for t in m.notifications]


def snapshot() -> dict[str, Any]:
    """What this process has installed, read back from the live registries (the manifest
    test compares it across the API and every Lambda, each in a fresh interpreter)."""
    from .db import records
    from .search import schema

    return {
        "entities": sorted(registry.standard()),
        "searchable": sorted(schema.schemas()),
        "record_classes": sorted(records.registry()),
        "approval_hooks": approvals.registered(),
        "handover": sorted(handover.transfers()),
        "handover_checks": sorted(handover.checks()),
        "on_user_disabled": sorted(handover.on_disabled()),
        "audit_access": audit.access_entities(),
        "notifications": sorted(notification_types()),
        "session": session.configured(),
        "messages": sorted(k for m in MODULES for k in m.messages if k in i18n.MESSAGES),
        "jobs": jobs.kinds(),
    }
