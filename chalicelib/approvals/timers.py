"""Timers firing: the reminder schedule before a step's time limit (`remind_due`, set up by
sync.schedule_reminder) and the state machine's time limit (`on_overdue`, which applies the
node's policy as a decision of the system)."""
from __future__ import annotations

from typing import Any

from ..core import clock, context
from ..core.errors import NotFound
from ..notifications import service as notifications
from . import plan as planner
from .lifecycle import UNCHANGED, Change, activate, add_assignees, close_step, finish, org_of, run
from .reading import active_step, load_instance, texts


def remind_due(tenant_id: str, instance_id: str, round_: int) -> bool:
    """The reminder schedule fired: remind the current approvers (if the step still waits)."""
    try:
        inst = load_instance(tenant_id, instance_id)
    except NotFound:
        return False
    step = active_step(inst)
    if step is None or int(inst.round) != round_:
        return False
    active = org_of(tenant_id, admins=False).active
    for u in [u for u in planner.current_assignees(step) if active(u)]:
        notifications.deliver(tenant_id, u, "approval", texts(tenant_id, u, "notify.approval.due_soon", inst, step=step["name"]),
                              link={"entity": "approval", "id": inst.id}, source=f"approval-due:{inst.id}:{round_}:{u}",
                              occurred_at=clock.parse_iso(step["deadline"]))
    return True


def on_overdue(tenant_id: str, instance_id: str, step_index: int, round_: int) -> str:
    """The step's time limit passed (the state machine said so): apply the node's policy.
    Returns the policy applied, "stale" when the step moved on since, "gone" without an instance."""
    outcome = "stale"

    def act(c: Change) -> Any:
        nonlocal outcome
        step = active_step(c.inst)
        if step is None or int(c.inst.round) != round_ or step["index"] != step_index:
            outcome = "stale"
            return UNCHANGED
        outcome = policy = step.get("on_timeout", "remind")
        people = planner.current_assignees(step)
        o = org_of(tenant_id, admins=False)
        told = [u for u in people if o.active(u)]  # disabled people are not reminded
        c.history("overdue", step=step, actor="system", policy=policy, users=people)
        if policy == "auto_pass":
            close_step(c, step, planner.PASSED, people)
            activate(c, step_index + 1)
        elif policy == "auto_reject":
            close_step(c, step, planner.REJECTED, people)
            c.inst.rejected_step = step_index
            finish(c, "rejected")
        elif policy == "escalate":
            bosses = planner.escalation(o, people, c.inst.owner_id, step["assignees"])
            added = add_assignees(c, step, bosses, after=people[-1] if people else None)
            c.notify += [(u, "notify.approval.overdue", {"step": step["name"]}) for u in told]
            c.history("escalate", step=step, actor="system", user_ids=added)
        else:
            c.notify += [(u, "notify.approval.overdue", {"step": step["name"]}) for u in told]

    try:
        with context.acting_as(context.system_context(tenant_id)):
            run(tenant_id, instance_id, "system", act)
    except NotFound:
        return "gone"
    return outcome

