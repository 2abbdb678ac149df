"""The tasks module's own texts (merged into core.i18n at install)."""
from __future__ import annotations

MESSAGES = {
    "entity.task": {"zh-CN": "任务", "en": "Task"},
    "entity.task_view": {"zh-CN": "任务视图", "en": "Task view"},
    "module.tasks": {"zh-CN": "任务", "en": "Tasks"},
    "task.parent_cycle": {"zh-CN": "上级任务不能是它自己或它的子任务", "en": "A task cannot be under itself or one of its sub-tasks"},
    "TASK_NOT_ASSIGNER": {"zh-CN": "只有分派人可以确认或退回任务的完成", "en": "Only the task's assigner may approve or reject its completion"},
    "TASK_NOT_PARTICIPANT": {"zh-CN": "只有任务的负责人和参与人可以报告进度", "en": "Only the task's owner and participants report progress"},
    "reason.task_awaiting_approval": {"zh-CN": "任务的完成正等待分派人确认", "en": "the task's completion awaits its assigner's approval"},
    "reason.task_not_awaiting_approval": {"zh-CN": "任务没有等待确认的完成", "en": "the task has no completion awaiting approval"},
    "reason.task_not_done": {"zh-CN": "任务尚未完成", "en": "the task is not done"},
    "notify.task.assigned": {"zh-CN": "{name} 给你分派了任务「{title}」", "en": "{name} assigned you the task “{title}”"},
    "notify.task.awaiting": {"zh-CN": "{name} 完成了任务「{title}」，请确认", "en": "{name} completed “{title}”: please approve"},
    "notify.task.approved": {"zh-CN": "{name} 确认了任务「{title}」的完成", "en": "{name} approved the completion of “{title}”"},
    "notify.task.rejected": {"zh-CN": "{name} 退回了任务「{title}」：{reason}", "en": "{name} sent “{title}” back: {reason}"},
    "notify.task.participant": {"zh-CN": "{name} 邀请你参与任务「{title}」", "en": "{name} added you to the task “{title}”"},
    "notify.task.due": {"zh-CN": "任务「{title}」将于 {date} 到期", "en": "The task “{title}” is due at {date}"},
}
