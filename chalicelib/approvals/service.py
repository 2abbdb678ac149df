"""Approvals (审批): the one module other modules and the API import.

Any module submits a record through `submit()` and registers a status hook, so the
record's status follows its instance (审核中 → 已通过 / 已拒绝 / 已撤回) in the same
transaction as the decision that changed it.

Who decides what:
- this service resolves the plan (plan.py), records every vote with a version-checked write
  of the instance (so in 或签 the first decision wins and a second click changes nothing),
  and decides each step's outcome;
- the state machine (step_functions/approval.asl.json, one execution per submission) waits
  for that decision with a task token it stores on the instance's TOKEN item, enforces the
  step's time limit and moves to the step the decision names. `sync.sync_execution()` brings
  the execution to the instance's round after every committed decision.

Where it lives (each imports only the ones before it):
- flows.py      flow definitions, versions, copies, the enabled flow of a business type (admin)
- reading.py    one instance as its viewer sees it, its history, the inboxes and their counts
- sync.py       the Step Functions execution and the reminder schedule follow the instance
- lifecycle.py  one action's change, its commit with the record's status hook, step movement
- instances.py  submit / resubmit and the decisions people make
- timers.py     the reminder firing and the step's time limit (on_overdue)
- reassign.py   nothing waits on someone who cannot act: hand-over, disabled users, reassignment by
                administrators, the daily check of stuck approvals
"""
from __future__ import annotations

from . import sync
from .flows import (
    MODULE,
    WATCH_KIND,
    arm_watch,
    business_type_of,
    copy_flow,
    create_flow,
    enabled_of,
    flow_out,
    get_flow,
    list_flows,
    spec_of,
    update_flow,
    versions,
)
from .instances import URGE_INTERVAL_SECONDS, add_signers, approve, comment, reject, resubmit, submit, transfer, urge, withdraw
from .lifecycle import RECORD_STATUS, DataOf, StatusHook, register, register_provider, registered
from .reading import calendar_items, counts, get, history, inbox, load_instance, out, pending_count, register_title_view
from .reassign import fire_watch, hand_over, reassign, stuck, user_disabled
from .sync import execution_arn, reconcile
from .timers import on_overdue, remind_due

__all__ = [
    "MODULE", "RECORD_STATUS", "URGE_INTERVAL_SECONDS", "DataOf", "StatusHook", "register", "register_provider", "registered",
    "business_type_of", "copy_flow", "create_flow", "enabled_of", "flow_out", "get_flow", "list_flows", "spec_of", "update_flow", "versions",
    "calendar_items", "counts", "get", "history", "inbox", "out", "pending_count", "register_title_view",
    "add_signers", "approve", "comment", "reject", "resubmit", "submit", "transfer", "urge", "withdraw",
    "on_overdue", "remind_due",
    "WATCH_KIND", "arm_watch", "fire_watch", "hand_over", "reassign", "stuck", "user_disabled",
    "execution_arn", "reconcile",
]

_schedule_name = sync.schedule_name  # the reminder schedule of an instance, by name (tests look it up)


def business_type_of_instance(tenant_id: str, instance_id: str) -> str | None:
    """The business type an approval instance runs as (None when it is gone)."""
    from ..core.errors import NotFound

    try:
        return load_instance(tenant_id, instance_id).business_type
    except NotFound:
        return None
