"""Mail (邮件, WORK-5): one record per mail sent or received, on the record engine.

A mail belongs to its owner (the sender, or the owner of the mailbox it arrived in) and, when it is in
a shared team mailbox, every member of that mailbox reads it through the record team (set when the
mail is written). It is linked to the records it concerns (`links`: contacts, customers, leads,
opportunities …, any record type) and shows in each of their timelines to whoever may read that
record (models.MailLink). Mails of one conversation share `thread_id` (Message-ID / In-Reply-To).
"""
from __future__ import annotations

from ..engine.definition import EntityDef, Features, Hooks, lazy
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "export")
DIRECTIONS = (("out", "发出", "Sent"), ("in", "收到", "Received"))
STATUSES = (("sent", "已发送", "Sent"), ("received", "已接收", "Received"), ("failed", "发送失败", "Failed"),
            ("logged", "已登记", "Logged"))


MAIL = EntityDef(
    name="mail",
    module="mail",
    label=("邮件", "Mail"),
    path="/mails",
    title_field="subject",
    card_fields=("direction", "from_addr"),
    actions=ACTIONS,
    features=Features(custom_fields=False, handover=True),
    # a mail of a shared mailbox comes back from the recycle bin with the mailbox's members of now and
    # leaves the mailbox's entries when purged (service.restoring / purging)
    hooks=Hooks(before_restore=lazy("chalicelib.mail.service", "restoring"),
                before_purge=lazy("chalicelib.mail.service", "purging")),
    fields=(
        F("direction", "select", ("方向", "Direction"), required=True, options=DIRECTIONS),
        F("subject", "text", ("主题", "Subject"), max_length=300, searchable=True),
        F("from_addr", "email", ("发件人", "From"), max_length=254, searchable=True),
        F("from_name", "text", ("发件人名称", "From name"), max_length=200),
        F("to", "textarea", ("收件人", "To"), max_length=4000, filterable=False, sortable=False),
        F("cc", "textarea", ("抄送", "Cc"), max_length=4000, filterable=False, sortable=False),
        F("body_text", "textarea", ("正文", "Body"), max_length=100_000, searchable=True, filterable=False, sortable=False),
        F("body_html", "textarea", ("HTML 正文", "HTML body"), max_length=150_000, filterable=False, sortable=False,
          hidden=True),
        F("message_id", "text", ("邮件标识", "Message-ID"), max_length=300),
        F("in_reply_to", "text", ("回复的邮件", "In-Reply-To"), max_length=300),
        F("thread_id", "text", ("会话", "Thread"), max_length=300),
        F("mailbox_id", "text", ("邮箱", "Mailbox"), max_length=64),
        F("campaign_id", "text", ("群发任务", "Bulk send"), max_length=64),
        F("status", "select", ("状态", "Status"), default="logged", options=STATUSES),
        F("sent_at", "datetime", ("时间", "Date")),
        F("links", "table", ("关联记录", "Linked records"), max_rows=50, columns=(
            F("record", "reference", ("记录", "Record"), required=True),
        )),
        F("attachments", "file", ("附件", "Attachments")),
    ),
    role_defaults={
        "admin": {"actions": (*ACTIONS, "manage"), "scope": "all"},
        "sales_manager": {"actions": ("create", "update", "list", "read", "delete", "team", "export"),
                          "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "list", "read"), "scope": "self"},
        "service_agent": {"actions": ("create", "list", "read"), "scope": "self"},
    },
)
