"""How one action changes an instance: the change it collects (the instance, tasks, history,
audit notes, notifications), its version-checked commit together with the record's status
writes, the retry on a concurrent change, what follows the commit, and step movement
(activate / decide / finish).

Records of other modules follow their instance through the status hook they `register()`.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..core import clock, i18n, ids
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..core.observability import metric
from ..db import audit, changes, tx
from ..db.base import plain
from ..notifications import service as notifications
from ..org import service as org
from . import plan as planner
from . import sync
from .models import ApprovalInstance, ApprovalTask, FlowVersion, HistoryEntry, box_pk, flow_pk
from .reading import active_step, load_instance, texts

StatusHook = Callable[[str, str, str, str, str], list[tx.Op]]  # (tenant, record id, status, actor, instance id) -> ops
DataOf = Callable[[str, str], dict[str, Any]]  # (tenant, record id) -> the record's current values
_hooks: dict[str, StatusHook] = {}
_data_of: dict[str, DataOf] = {}
RECORD_STATUS = {"running": "pending", "approved": "approved", "rejected": "rejected", "withdrawn": "withdrawn"}


def register(entity: str, status_hook: StatusHook, data_of: DataOf | None = None) -> None:
    """`entity`'s records follow their instance: `status_hook` returns the writes that set
    the record's approval status (pending / approved / rejected / withdrawn); `data_of`
    gives the record's values again when it is resubmitted (conditions are re-evaluated)."""
    _hooks[entity.upper()] = status_hook
    if data_of is not None:
        _data_of[entity.upper()] = data_of


_providers: list[Callable[[str], tuple[StatusHook, DataOf] | None]] = []


def register_provider(provider: Callable[[str], tuple[StatusHook, DataOf] | None]) -> None:
    """Hooks for record types known only at run time (the record engine's, custom objects included)."""
    _providers[:] = [provider]


def _hook_of(entity: str) -> tuple[StatusHook | None, DataOf | None]:
    entity = entity.upper()
    if entity in _hooks:
        return _hooks[entity], _data_of.get(entity)
    for provider in _providers:
        found = provider(entity)
        if found:
            return found
    return None, None


def registered() -> list[str]:
    """Record types whose status follows their approval (installed by the manifest)."""
    return sorted(_hooks)


def data_reader(entity: str) -> DataOf | None:
    """How to read `entity`'s record again (its current values), when it registered one."""
    return _hook_of(entity)[1]


UNCHANGED: Any = object()  # an action's answer when it changes nothing (a replay): no commit


class Change:
    """What one lifecycle action writes (with the instance) and does after the commit."""

    def __init__(self, inst: ApprovalInstance, actor: str) -> None:
        self.inst = inst
        self.actor = actor
        self.ops: list[tx.Op] = []
        self.notify: list[tuple[str, str, dict[str, Any]]] = []  # (user, message key, params)
        self.machine = False  # the execution must move (step change or end)
        self.start = False  # a new execution (submit / resubmit)
        self.status_changed = False
        self.record_ops: list[tx.Op] | None = None  # a record created with its approval: its writes replace the status hook's
        self.now = clock.now_iso()
        self.seq = 0  # history entries of one action keep their order

    def history(self, action: str, *, step: dict[str, Any] | None = None, comment: str | None = None,
                attachments: list[dict[str, Any]] | None = None, actor: str | None = None, **detail: Any) -> None:
        hid = ids.new_id()
        inst = self.inst
        self.seq += 1
        self.ops.append(tx.put(HistoryEntry(
            pk=inst.pk, sk=f"H#{self.now}#{self.seq:02d}#{hid}", tenant_id=inst.tenant_id, instance_id=inst.id, at=self.now,
            actor_id=actor or self.actor, action=action, step=None if step is None else step["index"],
            step_name=None if step is None else step["name"], comment=comment, attachments=attachments or [], detail=detail)))
        rec = inst.record
        note = f"{i18n.text('approval.action.' + action)}{(' · ' + step['name']) if step else ''}{('：' + comment) if comment else ''}"
        self.ops.append(tx.put(audit.entry(inst.tenant_id, rec["entity"], rec["id"], f"approval.{action}", actor or self.actor,
                                           [], note[:500])))

    def task(self, user: str, step: dict[str, Any] | None, box: str, decision: str | None = None) -> None:
        inst = self.inst
        rnd = int(inst.round)
        t = ApprovalTask(pk=inst.pk, sk=ApprovalTask.sk_of(rnd, None if step is None else step["index"], user), tenant_id=inst.tenant_id,
                         instance_id=inst.id, user_id=user, box=box, step=None if step is None else step["index"],
                         round=rnd, step_name=None if step is None else step["name"], title=inst.title,
                         entity=(inst.record or {}).get("entity"),
                         business_type=inst.business_type, applicant_id=inst.owner_id, decision=decision, created_at=self.now,
                         updated_at=self.now)
        if box in ("pending", "handled", "cc"):
            t.gsi1pk, t.gsi1sk = box_pk(inst.tenant_id, user, box), f"{self.now}#{inst.id}#{t.sk}"
        self.ops.append(tx.put(t))

    def close_task(self, user: str, step: dict[str, Any], decision: str | None) -> None:
        """A pending task leaves the inbox: to "handled by me" when the user acted, else closed."""
        self.task(user, step, "handled" if decision else "closed", decision)


def commit(c: Change, *, new: bool = False) -> None:
    """One transaction: the instance (version-checked, or created), the action's tasks and
    history, and — when the status changed — the record's status writes from its hook."""
    inst = c.inst
    if new:
        first = [tx.put(inst, condition=ApprovalInstance.pk.does_not_exist()),
                 tx.put(audit.entry(inst.tenant_id, ApprovalInstance.ENTITY, inst.id, "create", c.actor, []))]
    else:
        changes.stamp(inst, c.actor)
        first = [tx.put(inst)]
    status_ops: list[tx.Op] = c.record_ops or []
    hook = _hook_of(inst.record["entity"])[0]
    if hook and c.status_changed and c.record_ops is None:
        status_ops = hook(inst.tenant_id, inst.record["id"], RECORD_STATUS[inst.status], c.actor, inst.id)
    tx.write([*first, *c.ops, *status_ops])


def run(tenant_id: str, instance_id: str, actor: str, action: Callable[[Change], dict[str, Any] | None]) -> ApprovalInstance:
    """Load, apply, commit with the version check; on a concurrent change start over on the
    fresh instance (so the second of two simultaneous clicks sees the first one's result)."""
    for attempt in range(5):
        inst = load_instance(tenant_id, instance_id)
        c = Change(inst, actor)
        before = inst.status
        if action(c) is UNCHANGED:
            return inst
        c.status_changed = inst.status != before or c.start
        try:
            commit(c)
        except Conflict:
            if attempt == 4:
                raise
            time.sleep(0.02 * (attempt + 1))
            continue
        after_commit(c)
        return inst
    raise Conflict()


def after_commit(c: Change) -> None:
    inst = c.inst
    for user, key, params in c.notify:
        notifications.deliver(inst.tenant_id, user, "approval", texts(inst.tenant_id, user, key, inst, **params),
                              link={"entity": "approval", "id": inst.id}, source=f"approval:{inst.id}:{key}:{inst.round}:{user}")
    if c.start or c.machine:  # a step change: the reminder schedule follows the new step
        sync.schedule_reminder(inst, active_step(inst))
    if c.start:  # called through the module: the bench wraps these two
        sync.start_execution(inst)
    elif c.machine:
        sync.sync_execution(inst)
    metric("approvals.action")


# ---- step movement ---------------------------------------------------------------------------

def activate(c: Change, index: int) -> None:
    """Make step `index` the active one (or finish the instance after the last step). Notify
    steps are passed on the way with copies to their people."""
    inst = c.inst
    steps = inst.plan
    while index < len(steps) and (steps[index]["kind"] == "notify" or steps[index]["state"] == "skipped"):
        s = steps[index]
        if s["kind"] == "notify":
            s["state"] = "passed"
            for u in s["assignees"]:
                c.task(u, None, "cc")
                c.notify.append((u, "notify.approval.cc", {"step": s["name"]}))
            c.history("notify", step=s, actor="system", users=s["assignees"])
        elif s.get("auto") == "no_approver":
            c.history("auto_pass", step=s, actor="system", reason="no_approver")
        index += 1
    inst.round = int(inst.round) + 1
    c.machine = True
    if index >= len(steps):
        finish(c, "approved")
        return
    s = steps[index]
    _stand_in_for_disabled(c, s)
    s.update(state="active", votes={}, activated_at=c.now)
    s["deadline"] = clock.iso(clock.now() + timedelta(seconds=s["time_limit_seconds"])) if s.get("time_limit_seconds") else None
    inst.current_step = index
    for u in planner.current_assignees(s):
        c.task(u, s, "pending")
        c.notify.append((u, "notify.approval.pending", {"step": s["name"]}))


def finish(c: Change, status: str) -> None:
    inst = c.inst
    inst.status = status
    inst.finished_at = c.now
    inst.current_step = None
    c.machine = True
    c.notify.append((inst.owner_id, f"notify.approval.{status}", {}))
    if status == "approved":
        for u in inst.cc_user_ids or []:
            c.notify.append((u, "notify.approval.cc_result", {}))


def close_step(c: Change, step: dict[str, Any], state: str, pending: list[str]) -> None:
    """The step is decided: the tasks still pending in it (`pending`) leave the inboxes."""
    step["state"] = state
    for u in pending:
        c.close_task(u, step, None)


def decide(c: Change, step: dict[str, Any], user: str, decision: str, reject_to: int | None) -> None:
    pending = [u for u in planner.current_assignees(step) if u != user]
    step.setdefault("votes", {})[user] = decision
    c.close_task(user, step, decision)
    settle(c, step, pending, reject_to)


def settle(c: Change, step: dict[str, Any], pending: list[str], reject_to: int | None = None) -> None:
    """After a vote or a change of people: the step passes (next step), is rejected, or waits
    (in 依次 the next one in line is asked). `pending`: who else still has the step's task."""
    outcome = planner.tally(step)
    if outcome == planner.WAITING:
        if step["mode"] == "sequential":
            for u in planner.current_assignees(step):
                c.task(u, step, "pending")
                c.notify.append((u, "notify.approval.pending", {"step": step["name"]}))
        return
    close_step(c, step, outcome, pending)
    if outcome == planner.PASSED:
        activate(c, step["index"] + 1)
        return
    inst = c.inst
    inst.rejected_step = step["index"]
    if reject_to is None:
        finish(c, "rejected")
        return
    for s in inst.plan[reject_to:step["index"] + 1]:
        s.update(state="waiting", votes={})
    activate(c, reject_to)


def acting_step(c: Change, user: str, action: str, decision: str | None = None) -> dict[str, Any] | Any:
    """The active step if `user` may act on it now; a harmless replay returns UNCHANGED."""
    inst = c.inst
    step = active_step(inst)
    if step is not None and user in planner.current_assignees(step):
        if action not in step["actions"]:
            raise ValidationFailed("APPROVAL_ACTION_NOT_ALLOWED", action=action)
        return step
    if decision and any((s.get("votes") or {}).get(user) == decision for s in inst.plan):
        return UNCHANGED  # a second click of the same decision
    if any(user in s["assignees"] for s in inst.plan if s["state"] in ("passed", "rejected", "withdrawn")) or \
            (step and user in (step.get("votes") or {})):
        # decided already (by them or, in 或签, by someone else) or withdrawn: the losing click of a
        # race gets this one answer, whether or not the winner also ended the instance
        raise Conflict("APPROVAL_STEP_CLOSED")
    if inst.status != "running":
        raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{inst.status}")
    raise Forbidden("NOT_CURRENT_ASSIGNEE")


def add_assignees(c: Change, step: dict[str, Any], user_ids: list[str], after: str | None) -> list[str]:
    """More people on `step` (加签 / escalation), placed after `after`; returns the ones added."""
    new = [u for u in dict.fromkeys(user_ids) if u not in step["assignees"]]
    if not new:
        return []
    people = step["assignees"]
    at = people.index(after) + 1 if after in people else len(people)
    step["assignees"] = people[:at] + new + people[at:]
    if step["mode"] != "sequential":
        for u in new:
            c.task(u, step, "pending")
            c.notify.append((u, "notify.approval.pending", {"step": step["name"]}))
    return new


# ---- people who cannot act -----------------------------------------------------------------------

def org_of(tenant_id: str, *, admins: bool = True) -> planner.Org:
    """The organisation as approvals resolve people on it (the super administrators only when asked:
    finding them walks every user)."""
    snap = org.load(tenant_id).snapshot
    return planner.Org(snap, {}, planner.super_admins(snap) if admins else [])


def admins_of(inst: ApprovalInstance, without: str | None = None) -> list[str]:
    """Who takes a place no one else can on `inst`: the flow's administrators (its own list, else
    the super administrators) who are active and not the applicant (nor `without`)."""
    version = FlowVersion.get(flow_pk(inst.tenant_id, inst.flow_id), FlowVersion.sk_of(int(inst.flow_version)))
    return [u for u in planner.flow_admins(plain(version.spec), org_of(inst.tenant_id), inst.owner_id) if u != without]


def replace(c: Change, step: dict[str, Any], user: str, receivers: list[str], reason: str, comment: str | None = None) -> list[str]:
    """`user`'s place on `step` (not yet voted) goes to `receivers` (those not already on it), at
    the same place in the order; their pending task leaves the inbox and the new people who may
    act now get theirs. Without anyone new the step is settled again (it may pass). Returns who
    was added."""
    receivers = [u for u in receivers if u != user]
    if not receivers:
        return []  # never leaves a step without people (it would pass on no one's approval)
    people = step["assignees"]
    was_current = user in planner.current_assignees(step)
    added = [u for u in dict.fromkeys(receivers) if u not in people]
    at = people.index(user)
    step["assignees"] = people[:at] + added + people[at + 1:]
    step.setdefault("former", []).append(user)
    c.history("reassign", step=step, comment=comment, from_user_id=user, to_user_ids=added, reason=reason)
    if step["state"] != "active":
        return added
    if was_current:
        c.close_task(user, step, None)
    now = planner.current_assignees(step)
    for u in added:
        if u in now:
            c.task(u, step, "pending")
            c.notify.append((u, "notify.approval.pending", {"step": step["name"]}))
    if not added and (was_current or planner.tally(step) != planner.WAITING):
        settle(c, step, [] if step["mode"] == "sequential" else now)  # the others already have their tasks
    return added


def _stand_in_for_disabled(c: Change, step: dict[str, Any]) -> None:
    """A step about to start whose people were disabled since the plan was made: their places go
    to the flow's administrators (when there are none, the step waits and the daily check of
    stuck approvals reports it)."""
    o = org_of(c.inst.tenant_id, admins=False)
    gone = [u for u in step["assignees"] if not o.active(u)]
    if not gone:
        return
    admins = admins_of(c.inst)
    if admins:
        for u in gone:
            replace(c, step, u, admins, "disabled")
