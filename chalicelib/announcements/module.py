"""Announcements (公告, DOCS-5) in the module manifest: the record type, columns, receipts, the notify job."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from . import service
from .entity import ANNOUNCEMENT

MESSAGES = {
    "entity.announcement_column": {"zh-CN": "公告栏目", "en": "Announcement column"},
    "announcements.field.column": {"zh-CN": "栏目不存在", "en": "No such column"},
    "announcements.field.body": {"zh-CN": "正文清理后为空（只保留允许的格式）", "en": "The body is empty once cleaned (only allowed formatting stays)"},
    "announcements.field.departments": {"zh-CN": "发布范围为部门时请选择部门", "en": "Choose the departments it is for"},
    "announcements.field.roles": {"zh-CN": "发布范围为角色时请选择角色", "en": "Choose the roles it is for"},
    "announcements.field.role": {"zh-CN": "角色不存在", "en": "No such role"},
    "announcements.reason.draft": {"zh-CN": "草稿尚未发布", "en": "a draft is not published yet"},
    "announcements.notify.title": {"zh-CN": "新公告：{title}", "en": "New announcement: {title}"},
    "ANNOUNCEMENT_COLUMN_FORBIDDEN": {"zh-CN": "你不能在栏目「{column}」发布", "en": "You may not publish in the column {column}"},
    "ANNOUNCEMENT_COLUMN_EXISTS": {"zh-CN": "栏目 {id} 已存在", "en": "The column {id} exists already"},
}

MODULE = Module(name="announcements", label=("公告", "Announcements"), entities=(ANNOUNCEMENT,),
                blueprint=routes_of("announcements"), seed=service.seed, messages=MESSAGES,
                jobs={service.JOB: service.notify_job})
