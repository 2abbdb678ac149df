"""What runs outside follows the committed instance: its Step Functions execution and its
reminder schedule. Called after every commit (lifecycle.after_commit), never inside one.

The state machine (step_functions/approval.asl.json, one execution per submission) waits
for each step's decision with a task token it stores on the instance's TOKEN item, enforces
the step's time limit and moves to the step the decision names. `sync_execution()` brings
the execution to the instance's round after every committed decision.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock
from ..core.observability import logger, metric
from ..core.settings import get_settings
from ..ports import scheduler, workflow
from . import plan as planner
from .models import ApprovalInstance, ApprovalToken
from .reading import active_step, load_instance

# ---- the execution ---------------------------------------------------------------------------

def _execution_input(inst: ApprovalInstance) -> dict[str, Any]:
    s = get_settings()
    step = active_step(inst)
    return {"table": s.table_name, "bus": s.event_bus_name, "tenant_id": inst.tenant_id, "instance_id": inst.id, "pk": inst.pk,
            "step": int(inst.current_step or 0), "round": int(inst.round), "timeout": _timeout(step)}


def _timeout(step: dict[str, Any] | None) -> int:
    return int(step.get("time_limit_seconds") or planner.NO_LIMIT_SECONDS) if step else planner.NO_LIMIT_SECONDS


def execution_arn(inst: ApprovalInstance) -> str:
    """The execution of the instance's current submission (its name is derived, never stored)."""
    return workflow.execution_arn(workflow.state_machine_arn(), _execution_name(inst))


def _execution_name(inst: ApprovalInstance) -> str:
    return workflow.execution_name(inst.tenant_id, inst.id, str(int(inst.attempt)))


def start_execution(inst: ApprovalInstance) -> None:
    if inst.status != "running":
        return  # every step passed on its own (no approvers, auto-pass): nothing to wait for
    workflow.start(workflow.state_machine_arn(), _execution_name(inst), _execution_input(inst))


def _read_token(inst: ApprovalInstance) -> ApprovalToken | None:
    try:
        t = ApprovalToken.get(inst.pk, "TOKEN", consistent_read=True)
    except DoesNotExist:
        return None
    return t if isinstance(t, ApprovalToken) else None


def sync_execution(inst: ApprovalInstance) -> bool:
    """Bring the execution to the instance: answer the stored token with "go to step s of
    round r" or "end with status", until the execution reaches that round (or ends).

    Safe to run twice and concurrently: a token is answered once; a later decision answers
    the token of the round the earlier one produced. Returns False when the execution did
    not respond in time (the next action or the timer retries)."""
    if inst.status == "running":
        output = {"outcome": "goto", "step": int(inst.current_step), "round": int(inst.round), "timeout": _timeout(active_step(inst))}
    else:
        output = {"outcome": "end", "status": inst.status}
    deadline = time.monotonic() + get_settings().approval_token_wait_seconds
    answered: set[str] = set()
    pause = 0.01
    while True:
        tok = _read_token(inst)
        if tok is not None:
            if inst.status == "running" and int(tok.round) >= int(inst.round):
                return True
            if tok.token not in answered and int(tok.round) <= int(inst.round):
                answered.add(tok.token)
                try:
                    workflow.succeed(tok.token, output)
                except workflow.TokenGone:
                    pass  # answered by someone else or timed out: the next token will show
                else:
                    if inst.status != "running":
                        return True
        if time.monotonic() > deadline:
            _report_lagging(inst)
            return False
        time.sleep(pause)
        pause = min(pause * 1.5, 0.2)  # quick at first (the usual case), then gentle on the table


def _report_lagging(inst: ApprovalInstance) -> None:
    """The execution did not reach the instance's round in time: say whether it is still
    alive (slow: the next action or the timer resends) or ended (an operator must look)."""
    arn = execution_arn(inst)
    try:
        status = workflow.describe(arn)["status"]
    except Exception:  # noqa: BLE001 - the describe is diagnostics only
        status = "UNKNOWN"
    if status == "RUNNING":
        logger.warning("approval execution behind", extra={"instance_id": inst.id, "round": int(inst.round)})
        metric("approvals.execution.behind")
    else:
        logger.error("approval execution not running", extra={"instance_id": inst.id, "execution": arn, "status": status})
        metric("approvals.execution.dead")


def reconcile(tenant_id: str, instance_id: str) -> bool:
    """Re-send what the execution is missing (after a lost signal); used by operators and tests."""
    inst = load_instance(tenant_id, instance_id)
    return sync_execution(inst)


# ---- the reminder schedule (EventBridge Scheduler, one per instance) ------------------------

def schedule_name(inst: ApprovalInstance) -> str:
    return scheduler.schedule_name("apr", inst.tenant_id, inst.id)


def schedule_reminder(inst: ApprovalInstance, step: dict[str, Any] | None) -> None:
    """One reminder schedule per instance, before the active step's time limit (upserted per round)."""
    if step and step.get("deadline") and step.get("remind_before_seconds"):
        at = clock.parse_iso(step["deadline"]) - timedelta(seconds=step["remind_before_seconds"])
        if at > clock.now():
            scheduler.upsert(schedule_name(inst), at, {"kind": "approval_reminder", "tenant_id": inst.tenant_id,
                                                        "instance_id": inst.id, "round": int(inst.round)})
            return
    if any(s.get("remind_before_seconds") for s in inst.plan):
        scheduler.delete(schedule_name(inst))
