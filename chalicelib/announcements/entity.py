"""Announcements and news (公告/新闻, 信息交流): a record type on the engine.

An announcement is published in a column (新闻/公告/规章制度…, chalicelib/announcements/service.py);
only the column's publishers (roles or users) and the module's managers may publish in it. It
reaches an audience — everyone, departments (with their sub-departments) or roles — and nobody
else ever sees it, in lists, search or by id (EntityDef.audience: the derived `audience_keys`).
Pinned ones come first (the derived `rank`), expired ones leave lists and search. Its body is rich
text cleaned on input with an allow-list (sanitize.py). Publishing notifies the audience through
a background job (service.notify_job), not one request per reader. Every role may write
announcements: where (if anywhere) is the columns' say, and only the author or a manager changes or
deletes one.
"""
from __future__ import annotations

from ..engine.definition import Audience, EntityDef, Features, Hooks, lazy
from ..engine.fieldtypes import FieldSpec as F

ACTIONS = ("create", "update", "list", "read", "delete", "manage", "export")
AUDIENCES = (("all", "全体员工", "Everyone"), ("departments", "指定部门", "Departments"), ("roles", "指定角色", "Roles"))
STATUSES = (("draft", "草稿", "Draft"), ("published", "已发布", "Published"))
WRITERS = ("create", "update", "delete", "list", "read")  # where they may publish is the columns' say

ANNOUNCEMENT = EntityDef(
    name="announcement",
    module="announcements",
    label=("公告", "Announcement"),
    path="/announcements",
    title_field="title",
    card_fields=("column", "published_at"),
    actions=ACTIONS,
    features=Features(
        team=False, transfer=False, handover=False, custom_fields=False),
    fields=(
        F("title", "text", ("标题", "Title"), required=True, max_length=200, searchable=True),
        F("column", "text", ("栏目", "Column"), required=True, max_length=40,
          description="a column id (GET /v1/announcement-columns)"),
        F("body", "textarea", ("正文", "Body"), required=True, max_length=100_000, filterable=False, sortable=False,
          description="rich text (HTML); cleaned on input: only an allow-list of tags and attributes stays"),
        F("audience", "select", ("发布范围", "Audience"), required=True, default="all", options=AUDIENCES),
        F("audience_departments", "tags", ("部门", "Departments"), max_length=40,
          description="department ids (audience = departments; sub-departments included)"),
        F("audience_roles", "tags", ("角色", "Roles"), max_length=40, description="role ids (audience = roles)"),
        F("status", "select", ("状态", "Status"), required=True, default="published", options=STATUSES),
        F("pinned", "boolean", ("置顶", "Pinned"), default=False),
        F("expires_at", "datetime", ("有效期至", "Expires at"), description="after it the announcement leaves lists"),
        F("published_at", "datetime", ("发布时间", "Published at"), readonly=True),
        F("rank", "text", ("排序", "Order"), readonly=True, hidden=True, max_length=40,
          description="pinned first, then the newest (the list's default order)"),
        F("audience_keys", "tags", ("可见范围", "Audience keys"), readonly=True, hidden=True, sortable=False),
    ),
    hooks=Hooks(validate=lazy("chalicelib.announcements.service", "validate"),
                derive=lazy("chalicelib.announcements.service", "derive"),
                after_write=lazy("chalicelib.announcements.service", "after_write"),
                before_delete=lazy("chalicelib.announcements.service", "before_delete")),
    audience=Audience("audience_keys", lazy("chalicelib.announcements.service", "reader_keys"), until="expires_at"),
    default_sort="-rank",
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": WRITERS, "scope": "all"},
        "sales_rep": {"actions": WRITERS, "scope": "all"},
        "service_agent": {"actions": WRITERS, "scope": "all"},
    },
)
