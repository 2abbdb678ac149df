"""Tasks (任务, WORK-1): what someone has to do, by when, with whom.

A task has an owner (负责人, the engine's owner: who does it) and an assigner (`assigned_by`,
分派人: who created it; read-only). Who sees a task: its owner, its participants, its assigner —
kept in the record team from the task's values (participants read, the assigner may change it;
Hooks.team) — and whoever's data scope covers its owner (a manager sees the tasks of their
people). A participant reads, comments and reports their own progress (POST /tasks/{id}/progress);
every other field is the owner's and the assigner's to change.

Sub-tasks hang under their parent (`parent`, the parent's related list); a task with sub-tasks
is a plan (任务计划): its `children_total` / `children_done` / `progress` follow its children in
the same transaction as each child's change (versioned on the parent: two children completed at
once both count). Completion, approval of completion, recurrence and the views are the module's
own routes (tasks/service.py); the due reminder is a timer (remind `remind_minutes_before` the
due time, until the task is done); comments with @mentions come from chalicelib/comments.
"""
from __future__ import annotations

from ..engine.definition import EntityDef, Features, Hooks, Timer, lazy
from ..engine.fieldtypes import FieldSpec as F
from ..org.service import MAX_PARTICIPANTS

SERVICE = "chalicelib.tasks.service"
ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "import", "export")
STATUSES = (("open", "待办", "Open"), ("awaiting_approval", "待确认完成", "Awaiting approval"), ("done", "已完成", "Done"))
PRIORITIES = (("high", "高", "High"), ("medium", "中", "Medium"), ("low", "低", "Low"), ("none", "无", "None"))
REPEATS = (("daily", "每天", "Daily"), ("weekly", "每周", "Weekly"), ("monthly", "每月", "Monthly"))

TASK = EntityDef(
    name="task",
    module="tasks",
    label=("任务", "Task"),
    path="/tasks",
    title_field="title",
    card_fields=("status", "due_at"),
    actions=ACTIONS,
    parent_field="parent",
    parent_cascade=("delete",),
    features=Features(team=False, handover=True, comments=True),
    fields=(
        F("title", "text", ("标题", "Title"), required=True, max_length=200, searchable=True),
        F("description", "textarea", ("描述", "Description"), max_length=5000, searchable=True),
        F("status", "select", ("状态", "Status"), default="open", readonly=True, options=STATUSES),
        F("priority", "select", ("优先级", "Priority"), default="none", options=PRIORITIES),
        F("important", "boolean", ("重要", "Important"), default=False),
        F("urgent", "boolean", ("紧急", "Urgent"), default=False),
        F("due_at", "datetime", ("截止时间", "Due")),
        F("remind_minutes_before", "number", ("提前提醒（分钟）", "Remind minutes before"), max=43200),
        F("participant_ids", "users", ("参与人", "Participants"), max_items=MAX_PARTICIPANTS,
          description=f"user ids of the participants (active users, at most {MAX_PARTICIPANTS}): they read the task, "
                      "comment and report their own progress"),
        F("assigned_by", "user", ("分派人", "Assigned by"), readonly=True),
        F("delegated", "boolean", ("分派给他人", "Delegated"), readonly=True, hidden=True),
        F("tags", "multiselect", ("标签", "Tags"), dictionary="task_tag"),
        F("parent", "reference", ("上级任务", "Parent task"), entity="task"),
        F("is_plan", "boolean", ("任务计划", "Plan"), default=False),
        F("children_total", "number", ("子任务数", "Sub-tasks"), readonly=True),
        F("children_done", "number", ("已完成子任务", "Sub-tasks done"), readonly=True),
        F("progress", "percent", ("进度", "Progress"), readonly=True, precision=0),
        F("participant_progress", "table", ("参与人进度", "Participants' progress"), readonly=True, max_rows=20, columns=(
            F("user", "user", ("参与人", "Participant"), required=True),
            F("progress", "percent", ("进度", "Progress"), precision=0),
            F("note", "text", ("说明", "Note"), max_length=200),
            F("at", "datetime", ("时间", "At")),
        )),
        F("estimated_hours", "decimal", ("预计工时", "Estimated hours"), precision=1, max=10000),
        F("spent_hours", "decimal", ("实际工时", "Spent hours"), precision=1, max=10000),
        F("links", "table", ("相关记录", "Related records"), max_rows=20, columns=(
            F("record", "reference", ("记录", "Record"), required=True),
        )),
        F("files", "file", ("附件", "Attachments")),
        F("completion_approval", "boolean", ("完成需分派人确认", "Completion needs the assigner's approval"), default=False),
        F("completed_at", "datetime", ("完成时间", "Completed at"), readonly=True),
        F("completed_by", "user", ("完成人", "Completed by"), readonly=True),
        F("rejection_reason", "text", ("退回原因", "Rejection reason"), readonly=True, max_length=200),
        F("repeat", "select", ("重复", "Repeat"), options=REPEATS),
        F("repeat_interval", "number", ("重复间隔", "Repeat every"), min=1, max=365),
        F("repeat_until", "date", ("重复截止", "Repeat until")),
        F("repeat_count", "number", ("重复次数", "Occurrences"), min=1, max=1000),
        F("occurrence", "number", ("第几次", "Occurrence"), readonly=True),
        F("series_id", "text", ("重复系列", "Series"), readonly=True, max_length=40),
        F("next_task_id", "text", ("下一次任务", "Next occurrence"), readonly=True, max_length=40),
    ),
    hooks=Hooks(validate=lazy(SERVICE, "validate"), before_write=lazy(SERVICE, "before_write"),
                after_write=lazy(SERVICE, "after_write"), before_delete=lazy(SERVICE, "before_delete"),
                before_restore=lazy(SERVICE, "before_restore"), derive=lazy(SERVICE, "derive"), team=lazy(SERVICE, "team")),
    timers=(Timer("due", lazy(SERVICE, "remind_at"), lazy(SERVICE, "fire_due")),),
    role_defaults={
        "admin": {"actions": ACTIONS, "scope": "all"},
        "sales_manager": {"actions": ACTIONS, "scope": "self_and_subordinates"},
        "sales_rep": {"actions": ("create", "update", "list", "read", "delete", "transfer"), "scope": "self"},
        "service_agent": {"actions": ("create", "update", "list", "read", "delete", "transfer"), "scope": "self"},
    },
)
