"""Tasks in the module manifest: the record type, its routes, its texts."""
from __future__ import annotations

from ..core.modules import CalendarSource, Module, routes_of
from .entity import TASK
from .messages import MESSAGES

MODULE = Module(name="tasks", label=("任务", "Tasks"), entities=(TASK,), blueprint=routes_of("tasks"),
                notifications=("tasks.task.transferred",), messages=MESSAGES,
                # 任务截止 in the calendar of the task's owner and participants
                calendar=(CalendarSource("task_due", "task", "due_at", ("owner_id", "participant_ids")),))
