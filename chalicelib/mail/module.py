"""Mail (邮件, WORK-5) in the module manifest."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from . import models  # noqa: F401 - the item classes a record's timeline query meets (MailLink)
from .entity import MAIL


def _run_campaign(ctx):  # noqa: ANN001, ANN202 - the job runner, imported when a job runs
    from . import campaigns

    return campaigns.run(ctx)


def _restamp(ctx):  # noqa: ANN001, ANN202 - the job of a mailbox's membership change
    from . import service

    return service.restamp_job(ctx)


MESSAGES = {
    "mail.member_both": {"zh-CN": "同一成员不能既加入又移出", "en": "A member cannot be both added and removed"},
    "mail.members_max": {"zh-CN": "邮箱成员最多 {max} 人", "en": "A mailbox has at most {max} members"},
    "entity.mailbox": {"zh-CN": "邮箱", "en": "mailbox"},
    "mail.unsubscribe_link": {"zh-CN": "退订链接", "en": "unsubscribe link"},
    "mail.template_syntax": {"zh-CN": "模板第 {line} 行语法错误", "en": "Template syntax error on line {line}"},
    "mail.template_variable": {"zh-CN": "模板变量 {variable} 不存在或无权查看",
                               "en": "Template variable {variable} does not exist or is not visible to you"},
    "mail.template_unsafe": {"zh-CN": "模板使用了不允许的操作", "en": "The template uses an operation that is not allowed"},
    "mail.template_render": {"zh-CN": "模板无法生成邮件：{reason}", "en": "The template cannot be rendered: {reason}"},
    "mail.template_unknown": {"zh-CN": "邮件模板不存在", "en": "No such mail template"},
    "mail.template_or_body": {"zh-CN": "请选择模板，或填写主题和正文", "en": "Give a template, or a subject and a body"},
    "mail.no_address": {"zh-CN": "该记录没有邮箱地址，请填写收件人", "en": "The record has no e-mail address: give the recipients"},
    "mail.mailbox_taken": {"zh-CN": "该邮箱地址已被使用", "en": "This mailbox address is taken"},
    "mail.campaign_type": {"zh-CN": "群发对象只能是客户或联系人", "en": "Bulk mail goes to customers or contacts"},
    "MAIL_TEMPLATE_SYNTAX": {"zh-CN": "邮件模板（{field}）第 {line} 行语法错误",
                             "en": "Syntax error in the mail template ({field}), line {line}"},
    "MAIL_TEMPLATE_VARIABLE": {"zh-CN": "邮件模板中的变量 {variable} 不存在或无权查看",
                               "en": "The mail template's variable {variable} does not exist or is not visible to you"},
    "MAIL_TEMPLATE_UNSAFE": {"zh-CN": "邮件模板使用了不允许的操作", "en": "The mail template uses an operation that is not allowed"},
    "MAIL_TEMPLATE_RENDER": {"zh-CN": "邮件模板无法生成邮件", "en": "The mail template cannot be rendered"},
    "MAIL_DISABLED": {"zh-CN": "本部署未开通邮件发送服务", "en": "Sending mail is not available in this deployment"},
    "MAIL_SEND_FAILED": {"zh-CN": "邮件发送失败，请稍后重试", "en": "The mail could not be sent; try again later"},
    "MAILBOX_TAKEN": {"zh-CN": "邮箱地址 {address} 已被使用", "en": "The address {address} is taken"},
}

MODULE = Module("mail", ("邮件", "Mail"), entities=(MAIL,), blueprint=routes_of("mail"),
                messages=MESSAGES, jobs={"mail_campaign": _run_campaign,
                                                 "mail_mailbox_members": _restamp})
