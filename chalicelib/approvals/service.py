"""Approval rules: flow definitions (admin), the instance lifecycle, inboxes.

Any module submits a record through `submit()` and registers a status hook, so the
record's status follows its instance (审核中 → 已通过 / 已拒绝 / 已撤回) in the same
transaction as the decision that changed it.

Who decides what:
- this service resolves the plan (plan.py), records every vote with a version-checked write
  of the instance (so in 或签 the first decision wins and a second click changes nothing),
  and decides each step's outcome;
- the state machine (step_functions/approval.asl.json, one execution per submission) waits
  for that decision with a task token it stores on the instance's TOKEN item, enforces the
  step's time limit and moves to the step the decision names. `_sync_execution()` brings
  the execution to the instance's round after every committed decision.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, i18n, ids
from ..core.errors import Conflict, Forbidden, LimitExceeded, NotFound, ValidationFailed
from ..core.observability import logger, metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import audit, changes, keys, query, records, tx
from ..db.base import Item, plain
from ..notifications import service as notifications
from ..org import service as org
from ..ports import scheduler, workflow
from . import plan as planner
from .models import ApprovalFlow, ApprovalInstance, ApprovalTask, ApprovalToken, FlowVersion, HistoryEntry, box_pk, flow_list, flow_pk

MODULE = "approvals"
URGE_INTERVAL_SECONDS = 300
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


def registered() -> list[str]:
    """Record types whose status follows their approval (installed by the manifest)."""
    return sorted(_hooks)


# ---- flows (admin) ---------------------------------------------------------------------------

def flow_out(f: ApprovalFlow) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "business_type": f.business_type, "model": f.model, "enabled": bool(f.enabled),
            "current_version": int(f.current_version), "spec": plain(f.spec), "created_at": f.created_at,
            "updated_at": f.updated_at, "version": f.version}


def _admin() -> Principal:
    p = org.principal()
    p.require(MODULE, "manage")
    return p


def _check_refs(p: Principal, spec: dict[str, Any]) -> None:
    """Every user, role and department a flow names must exist (422 lists what does not)."""
    data = org.load(p.tenant_id)
    errors: list[dict[str, str]] = []

    def user(u: str, where: str) -> None:
        if u not in data.users:
            errors.append({"field": where, "type": "not_found", "message": f"用户 {u} 不存在 / no such user"})

    def walk(nodes: list[dict[str, Any]], path: str) -> None:
        for i, n in enumerate(nodes):
            rule = n.get("approvers") or {}
            for u in rule.get("user_ids") or []:
                user(u, f"{path}{i}.approvers.user_ids")
            if rule.get("role_id") and rule["role_id"] not in data.roles:
                errors.append({"field": f"{path}{i}.approvers.role_id", "type": "not_found", "message": "角色不存在 / no such role"})
            if rule.get("department_id") and rule["department_id"] not in data.departments:
                errors.append({"field": f"{path}{i}.approvers.department_id", "type": "not_found", "message": "部门不存在 / no such department"})
            for j, b in enumerate(n.get("branches") or []):
                walk(b.get("nodes") or [], f"{path}{i}.branches.{j}.nodes.")

    walk(spec["nodes"], "nodes.")
    for u in spec.get("admin_user_ids") or []:
        user(u, "admin_user_ids")
    for u in spec.get("cc_user_ids") or []:
        user(u, "cc_user_ids")
    if errors:
        raise ValidationFailed(details=errors)


def _flow(tenant_id: str, flow_id: str) -> ApprovalFlow:
    return query.one(ApprovalFlow, flow_pk(tenant_id, flow_id), keys.RECORD_SK, "entity.approval_flow")  # type: ignore[return-value]


def business_type_of(tenant_id: str, flow_id: str) -> str:
    """The business type a flow serves (a form binds only a flow of its own type)."""
    return _flow(tenant_id, flow_id).business_type


def _enabled_of(tenant_id: str, business_type: str) -> list[ApprovalFlow]:
    return [f for f in Item.gsi2.query(flow_list(tenant_id), Item.gsi2sk.startswith(f"{business_type}#"))
            if isinstance(f, ApprovalFlow) and f.enabled and f.business_type == business_type]


def _disable_others(tenant_id: str, business_type: str, keep: str, actor: str) -> list[tx.Op]:
    """One enabled flow per business type: enabling one disables the others (same transaction)."""
    ops = []
    for other in _enabled_of(tenant_id, business_type):
        if other.id != keep:
            other.enabled = False
            changes.stamp(other, actor)
            ops += [tx.put(other), tx.put(audit.entry(tenant_id, "approval_flow", other.id, "disable", actor,
                                                      [{"field": "enabled", "before": True, "after": False}]))]
    return ops


def create_flow(spec: dict[str, Any], enabled: bool, *, template: str | None = None) -> dict[str, Any]:
    p = _admin()
    _check_refs(p, spec)
    fid = ids.new_id()
    f = ApprovalFlow(pk=flow_pk(p.tenant_id, fid), sk=keys.RECORD_SK, tenant_id=p.tenant_id, id=fid, name=spec["name"],
                     business_type=spec["business_type"], model=spec.get("model", "fixed"), enabled=enabled, current_version=1,
                     spec=spec, template=template, gsi2pk=flow_list(p.tenant_id), gsi2sk=f"{spec['business_type']}#{fid}")
    changes.stamp(f, p.user_id, new=True)
    v = FlowVersion(pk=f.pk, sk=FlowVersion.sk_of(1), tenant_id=p.tenant_id, flow_id=fid, number=1, spec=spec,
                    created_at=f.created_at, created_by=p.user_id)
    extra = [tx.put(v)] + (_disable_others(p.tenant_id, f.business_type, fid, p.user_id) if enabled else [])
    changes.create(f, "approval_flow", fid, p.user_id, extra=extra)
    metric("approvals.flow.created")
    return flow_out(f)


def list_flows(business_type: str | None) -> list[dict[str, Any]]:
    p = _admin()
    cond = Item.gsi2sk.startswith(f"{business_type}#") if business_type else None
    return [flow_out(f) for f in Item.gsi2.query(flow_list(p.tenant_id), cond) if isinstance(f, ApprovalFlow)]


def get_flow(flow_id: str) -> dict[str, Any]:
    p = _admin()
    return flow_out(_flow(p.tenant_id, flow_id))


def update_flow(flow_id: str, spec: dict[str, Any] | None, enabled: bool | None, expected: int) -> dict[str, Any]:
    """A new spec is a new version; running instances keep the plan they started with."""
    p = _admin()
    f = _flow(p.tenant_id, flow_id)
    values: dict[str, Any] = {}
    extra: list[tx.Op] = []
    if spec is not None:
        _check_refs(p, spec)
        if spec["business_type"] != f.business_type:
            raise ValidationFailed(details=[{"field": "spec.business_type", "type": "immutable",
                                             "message": "业务类型不能修改，请复制流程 / copy the flow to use it for another type"}])
        number = int(f.current_version) + 1
        values.update(spec=spec, name=spec["name"], model=spec.get("model", "fixed"), current_version=number)
        extra.append(tx.put(FlowVersion(pk=f.pk, sk=FlowVersion.sk_of(number), tenant_id=p.tenant_id, flow_id=f.id, number=number,
                                        spec=spec, created_at=clock.now_iso(), created_by=p.user_id),
                            condition=FlowVersion.pk.does_not_exist()))
    if enabled is not None:
        values["enabled"] = enabled
        if enabled:
            extra += _disable_others(p.tenant_id, f.business_type, f.id, p.user_id)
    changes.save(f, "approval_flow", f.id, p.user_id, values, expected, extra=extra)
    return flow_out(f)


def copy_flow(flow_id: str, name: str, business_type: str | None) -> dict[str, Any]:
    p = _admin()
    src = _flow(p.tenant_id, flow_id)
    spec = {**plain(src.spec), "name": name, "business_type": business_type or src.business_type}
    return create_flow(spec, False)


def versions(flow_id: str) -> list[dict[str, Any]]:
    p = _admin()
    f = _flow(p.tenant_id, flow_id)
    return [{"flow_id": v.flow_id, "number": int(v.number), "spec": plain(v.spec), "created_at": v.created_at, "created_by": v.created_by}
            for v in FlowVersion.query(f.pk, FlowVersion.sk.startswith("V#")) if isinstance(v, FlowVersion)]


def spec_of(flow_id: str, version: int | None) -> dict[str, Any]:
    p = _admin()
    f = _flow(p.tenant_id, flow_id)
    if version is None or version == int(f.current_version):
        return plain(f.spec)
    try:
        return plain(FlowVersion.get(f.pk, FlowVersion.sk_of(version)).spec)
    except DoesNotExist:
        raise NotFound("entity.approval_flow") from None


# ---- instances: reading ----------------------------------------------------------------------

def _load(tenant_id: str, instance_id: str) -> ApprovalInstance:
    """Strongly consistent: every decision starts from the latest committed instance."""
    try:
        inst = ApprovalInstance.get(*ApprovalInstance.key(tenant_id, instance_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("entity.approval") from None
    if not isinstance(inst, ApprovalInstance) or inst.deleted_at:
        raise NotFound("entity.approval")
    return inst


def _active(inst: ApprovalInstance) -> dict[str, Any] | None:
    if inst.status != "running" or inst.current_step is None:
        return None
    return inst.plan[int(inst.current_step)]


def _participants(inst: ApprovalInstance) -> set[str]:
    people = {inst.owner_id, *(inst.cc_user_ids or [])}
    for s in inst.plan:
        people |= set(s["assignees"]) | set(s.get("votes") or {}) | set(s.get("former") or [])
    return people


def _may_read(p: Principal, inst: ApprovalInstance) -> None:
    if p.user_id in _participants(inst) or p.can(MODULE, "read") or p.can(MODULE, "manage"):
        return
    raise Forbidden("RECORD_FORBIDDEN")


def _my_actions(p: Principal, inst: ApprovalInstance) -> list[str]:
    acts: list[str] = []
    step = _active(inst)
    if step and p.user_id in planner.current_assignees(step):
        acts += [a for a in step["actions"] if a in ("approve", "reject", "transfer", "add_signer")]
    if p.user_id in _participants(inst) or p.can(MODULE, "manage"):
        acts.append("comment")
    if p.user_id == inst.owner_id:
        if inst.status == "running":
            acts += ["withdraw", "urge"]
        elif inst.status in ("rejected", "withdrawn"):
            acts.append("resubmit")
    return acts


def out(inst: ApprovalInstance, p: Principal) -> dict[str, Any]:
    steps = []
    for s in inst.plan:
        steps.append({k: s.get(k) for k in ("index", "node_id", "name", "kind", "mode", "assignees", "state", "auto", "time_limit_seconds",
                                             "deadline", "on_timeout")}
                     | {"votes": [{"user_id": u, "decision": d} for u, d in (s.get("votes") or {}).items()],
                        "current_assignees": planner.current_assignees(s) if inst.status == "running" else []})
    return {"id": inst.id, "business_type": inst.business_type, "flow_id": inst.flow_id, "flow_version": int(inst.flow_version),
            "record": plain(inst.record), "title": inst.title, "applicant_id": inst.owner_id, "status": inst.status,
            "round": int(inst.round), "current_step": None if inst.current_step is None else int(inst.current_step), "steps": steps,
            "my_actions": _my_actions(p, inst), "cc_user_ids": list(inst.cc_user_ids or []), "created_at": inst.created_at,
            "updated_at": inst.updated_at, "finished_at": inst.finished_at, "version": inst.version}


def get(instance_id: str) -> dict[str, Any]:
    p = org.principal()
    inst = _load(p.tenant_id, instance_id)
    _may_read(p, inst)
    return out(inst, p)


def history(instance_id: str) -> list[dict[str, Any]]:
    p = org.principal()
    inst = _load(p.tenant_id, instance_id)
    _may_read(p, inst)
    names = org.load(p.tenant_id).users
    items = []
    for h in HistoryEntry.query(inst.pk, HistoryEntry.sk.startswith("H#")):
        if isinstance(h, HistoryEntry):
            actor = names.get(h.actor_id)
            items.append({"at": h.at, "actor_id": h.actor_id, "actor_name": actor.name if actor else h.actor_id, "action": h.action,
                          "step": None if h.step is None else int(h.step), "step_name": h.step_name, "comment": h.comment,
                          "attachments": plain(h.attachments), "detail": plain(h.detail)})
    return items


def inbox(box: str, limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    if box == "mine":
        items, nxt = query.page(ApprovalInstance, keys.owner_list(p.tenant_id, ApprovalInstance.ENTITY, p.user_id), index="gsi1",
                                limit=limit, cursor=cursor)
        rows = [_summary(i) for i in items if isinstance(i, ApprovalInstance)]
    else:
        items, nxt = query.page(ApprovalTask, box_pk(p.tenant_id, p.user_id, box), index="gsi1", limit=limit, cursor=cursor)
        rows = [{"instance_id": t.instance_id, "title": t.title, "business_type": t.business_type, "applicant_id": t.applicant_id,
                 "step": None if t.step is None else int(t.step), "step_name": t.step_name, "decision": t.decision,
                 "received_at": t.created_at, "updated_at": t.updated_at} for t in items if isinstance(t, ApprovalTask)]
    return {"items": rows, "next_cursor": nxt}


def _summary(i: ApprovalInstance) -> dict[str, Any]:
    step = _active(i)
    return {"instance_id": i.id, "title": i.title, "business_type": i.business_type, "applicant_id": i.owner_id, "status": i.status,
            "step": None if i.current_step is None else int(i.current_step), "step_name": step["name"] if step else None,
            "received_at": i.created_at, "updated_at": i.updated_at}


def counts() -> dict[str, int]:
    p = org.principal()

    def n(box: str) -> int:
        return Item.gsi1.count(box_pk(p.tenant_id, p.user_id, box))

    running = ApprovalInstance.gsi1.count(keys.owner_list(p.tenant_id, ApprovalInstance.ENTITY, p.user_id),
                                          filter_condition=ApprovalInstance.status == "running")
    return {"pending": n("pending"), "mine_running": running, "handled": n("handled"), "cc": n("cc")}


# ---- instances: the write path ---------------------------------------------------------------

class _Change:
    """What one lifecycle action writes (with the instance) and does after the commit."""

    def __init__(self, inst: ApprovalInstance, actor: str) -> None:
        self.inst = inst
        self.actor = actor
        self.ops: list[tx.Op] = []
        self.notify: list[tuple[str, str, dict[str, Any]]] = []  # (user, message key, params)
        self.machine = False  # the execution must move (step change or end)
        self.start = False  # a new execution (submit / resubmit)
        self.status_changed = False
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
                         business_type=inst.business_type, applicant_id=inst.owner_id, decision=decision, created_at=self.now,
                         updated_at=self.now)
        if box in ("pending", "handled", "cc"):
            t.gsi1pk, t.gsi1sk = box_pk(inst.tenant_id, user, box), f"{self.now}#{inst.id}#{t.sk}"
        self.ops.append(tx.put(t))

    def close_task(self, user: str, step: dict[str, Any], decision: str | None) -> None:
        """A pending task leaves the inbox: to "handled by me" when the user acted, else closed."""
        self.task(user, step, "handled" if decision else "closed", decision)


def _commit(c: _Change, *, new: bool = False) -> None:
    """One transaction: the instance (version-checked, or created), the action's tasks and
    history, and — when the status changed — the record's status writes from its hook."""
    inst = c.inst
    if new:
        first = [tx.put(inst, condition=ApprovalInstance.pk.does_not_exist()),
                 tx.put(audit.entry(inst.tenant_id, ApprovalInstance.ENTITY, inst.id, "create", c.actor, []))]
    else:
        changes.stamp(inst, c.actor)
        first = [tx.put(inst)]
    status_ops: list[tx.Op] = []
    hook = _hooks.get(inst.record["entity"].upper())
    if hook and c.status_changed:
        status_ops = hook(inst.tenant_id, inst.record["id"], RECORD_STATUS[inst.status], c.actor, inst.id)
    tx.write([*first, *c.ops, *status_ops])


def _run(tenant_id: str, instance_id: str, actor: str, action: Callable[[_Change], dict[str, Any] | None]) -> ApprovalInstance:
    """Load, apply, commit with the version check; on a concurrent change start over on the
    fresh instance (so the second of two simultaneous clicks sees the first one's result)."""
    for attempt in range(5):
        inst = _load(tenant_id, instance_id)
        c = _Change(inst, actor)
        before = inst.status
        if action(c) is _UNCHANGED:
            return inst
        c.status_changed = inst.status != before or c.start
        try:
            _commit(c)
        except Conflict:
            if attempt == 4:
                raise
            time.sleep(0.02 * (attempt + 1))
            continue
        _after(c)
        return inst
    raise Conflict()


_UNCHANGED: Any = object()


def _after(c: _Change) -> None:
    inst = c.inst
    for user, key, params in c.notify:
        notifications.deliver(inst.tenant_id, user, "approval", i18n.both(key, title=inst.title, **params),
                              link={"entity": "approval", "id": inst.id}, source=f"approval:{inst.id}:{key}:{inst.round}:{user}")
    if c.start or c.machine:  # a step change: the reminder schedule follows the new step
        _schedule_reminder(inst, _active(inst))
    if c.start:
        _start_execution(inst)
    elif c.machine:
        _sync_execution(inst)
    metric("approvals.action")


def _schedule_name(inst: ApprovalInstance) -> str:
    return scheduler.schedule_name("apr", inst.tenant_id, inst.id)


def _schedule_reminder(inst: ApprovalInstance, step: dict[str, Any] | None) -> None:
    """One reminder schedule per instance, before the active step's time limit (upserted per round)."""
    if step and step.get("deadline") and step.get("remind_before_seconds"):
        at = clock.parse_iso(step["deadline"]) - timedelta(seconds=step["remind_before_seconds"])
        if at > clock.now():
            scheduler.upsert(_schedule_name(inst), at, {"kind": "approval_reminder", "tenant_id": inst.tenant_id,
                                                        "instance_id": inst.id, "round": int(inst.round)})
            return
    if any(s.get("remind_before_seconds") for s in inst.plan):
        scheduler.delete(_schedule_name(inst))


def _execution_input(inst: ApprovalInstance) -> dict[str, Any]:
    s = get_settings()
    step = _active(inst)
    return {"table": s.table_name, "bus": s.event_bus_name, "tenant_id": inst.tenant_id, "instance_id": inst.id, "pk": inst.pk,
            "step": int(inst.current_step or 0), "round": int(inst.round), "timeout": _timeout(step)}


def _timeout(step: dict[str, Any] | None) -> int:
    return int(step.get("time_limit_seconds") or planner.NO_LIMIT_SECONDS) if step else planner.NO_LIMIT_SECONDS


def execution_arn(inst: ApprovalInstance) -> str:
    """The execution of the instance's current submission (its name is derived, never stored)."""
    return workflow.execution_arn(workflow.state_machine_arn(), _execution_name(inst))


def _execution_name(inst: ApprovalInstance) -> str:
    return workflow.execution_name(inst.tenant_id, inst.id, str(int(inst.attempt)))


def _start_execution(inst: ApprovalInstance) -> None:
    if inst.status != "running":
        return  # every step passed on its own (no approvers, auto-pass): nothing to wait for
    workflow.start(workflow.state_machine_arn(), _execution_name(inst), _execution_input(inst))


def _read_token(inst: ApprovalInstance) -> ApprovalToken | None:
    try:
        t = ApprovalToken.get(inst.pk, "TOKEN", consistent_read=True)
    except DoesNotExist:
        return None
    return t if isinstance(t, ApprovalToken) else None


def _sync_execution(inst: ApprovalInstance) -> bool:
    """Bring the execution to the instance: answer the stored token with "go to step s of
    round r" or "end with status", until the execution reaches that round (or ends).

    Safe to run twice and concurrently: a token is answered once; a later decision answers
    the token of the round the earlier one produced. Returns False when the execution did
    not respond in time (the next action or the timer retries)."""
    if inst.status == "running":
        output = {"outcome": "goto", "step": int(inst.current_step), "round": int(inst.round), "timeout": _timeout(_active(inst))}
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


# ---- step movement ---------------------------------------------------------------------------

def _activate(c: _Change, index: int) -> None:
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
        _finish(c, "approved")
        return
    s = steps[index]
    s.update(state="active", votes={}, activated_at=c.now)
    s["deadline"] = clock.iso(clock.now() + timedelta(seconds=s["time_limit_seconds"])) if s.get("time_limit_seconds") else None
    inst.current_step = index
    for u in planner.current_assignees(s):
        c.task(u, s, "pending")
        c.notify.append((u, "notify.approval.pending", {"step": s["name"]}))


def _finish(c: _Change, status: str) -> None:
    inst = c.inst
    inst.status = status
    inst.finished_at = c.now
    inst.current_step = None
    c.machine = True
    c.notify.append((inst.owner_id, f"notify.approval.{status}", {}))
    if status == "approved":
        for u in inst.cc_user_ids or []:
            c.notify.append((u, "notify.approval.cc_result", {}))


def _close_step(c: _Change, step: dict[str, Any], state: str, pending: list[str]) -> None:
    """The step is decided: the tasks still pending in it (`pending`) leave the inboxes."""
    step["state"] = state
    for u in pending:
        c.close_task(u, step, None)


def _decide(c: _Change, step: dict[str, Any], user: str, decision: str, reject_to: int | None) -> None:
    pending = [u for u in planner.current_assignees(step) if u != user]
    step.setdefault("votes", {})[user] = decision
    c.close_task(user, step, decision)
    outcome = planner.tally(step)
    if outcome == planner.WAITING:
        if step["mode"] == "sequential":
            for u in planner.current_assignees(step):
                c.task(u, step, "pending")
                c.notify.append((u, "notify.approval.pending", {"step": step["name"]}))
        return
    _close_step(c, step, outcome, pending)
    if outcome == planner.PASSED:
        _activate(c, step["index"] + 1)
        return
    inst = c.inst
    inst.rejected_step = step["index"]
    if reject_to is None:
        _finish(c, "rejected")
        return
    for s in inst.plan[reject_to:step["index"] + 1]:
        s.update(state="waiting", votes={})
    _activate(c, reject_to)


def _acting_step(c: _Change, user: str, action: str, decision: str | None = None) -> dict[str, Any] | Any:
    """The active step if `user` may act on it now; a harmless replay returns _UNCHANGED."""
    inst = c.inst
    step = _active(inst)
    if step is not None and user in planner.current_assignees(step):
        if action not in step["actions"]:
            raise ValidationFailed("APPROVAL_ACTION_NOT_ALLOWED", action=action)
        return step
    if decision and any((s.get("votes") or {}).get(user) == decision for s in inst.plan):
        return _UNCHANGED  # a second click of the same decision
    if inst.status != "running":
        raise ValidationFailed("INVALID_STATE", reason=i18n.text(f"approval.status.{inst.status}"))
    if any(user in s["assignees"] for s in inst.plan if s["state"] in ("passed", "rejected")) or \
            (step and user in (step.get("votes") or {})):
        raise Conflict("APPROVAL_STEP_CLOSED")  # decided already (by them or, in 或签, by someone else)
    raise Forbidden("NOT_CURRENT_ASSIGNEE")


# ---- lifecycle actions -----------------------------------------------------------------------

def submit(record: dict[str, Any], business_type: str, data: dict[str, Any], options: dict[str, Any], *,
           flow_id: str | None = None) -> dict[str, Any]:
    """Start an approval for `record` ({entity, id, title}) with the enabled flow of
    `business_type` (or `flow_id`). The record's status hook runs in the same transaction."""
    p = org.principal()
    if flow_id:
        f = _flow(p.tenant_id, flow_id)
        if not f.enabled:
            raise ValidationFailed("APPROVAL_FLOW_DISABLED")
    else:
        found = _enabled_of(p.tenant_id, business_type)
        if not found:
            raise ValidationFailed("APPROVAL_FLOW_MISSING", business_type=business_type)
        f = found[0]
    spec = plain(f.spec)
    for u in options.get("cc_user_ids") or []:
        _require_active_user(p, u, "cc_user_ids")
    steps, taken = _resolve(p, spec, data, options)
    cc = [u for u in dict.fromkeys([*spec.get("cc_user_ids", []), *options.get("cc_user_ids", [])]) if u != p.user_id]
    inst = records.new(ApprovalInstance, p.tenant_id, p.user_id, p.user_id, business_type=f.business_type, flow_id=f.id,
                       flow_version=int(f.current_version), record=record, title=record.get("title") or business_type,
                       status="running", round=0, attempt=1, plan=steps, data=data, cc_user_ids=cc,
                       options={k: options.get(k) for k in ("approvers", "extra_nodes") if options.get(k)})
    inst.gsi3pk, inst.gsi3sk = keys.record_pk(p.tenant_id, record["entity"], record["id"]), f"APPROVAL#{inst.created_at}#{inst.id}"
    c = _Change(inst, p.user_id)
    c.start = True
    c.history("submit", comment=options.get("comment"), flow=f.name, flow_version=int(f.current_version), branches=taken)
    for u in cc:
        c.task(u, None, "cc")
    _activate(c, 0)
    c.status_changed = True
    _commit(c, new=True)
    _after(c)
    metric("approvals.instance.submitted")
    return out(inst, p)


def _resolve(p: Principal, spec: dict[str, Any], data: dict[str, Any], options: dict[str, Any]) -> tuple[list[dict], list[str]]:
    od = org.load(p.tenant_id)
    admins = sorted(u.id for u in p.org.users.values() if u.active and any(p.org.roles.get(r) and p.org.roles[r].is_super for r in u.role_ids))
    me = p.org.users.get(p.user_id)
    facts = {**data, "applicant": {"id": p.user_id, "department_id": me.department_id if me else None,
                                   "role_ids": list(me.role_ids) if me else []}}
    try:
        return planner.resolve(spec, planner.Org(p.org, {d.id: d.head_user_id for d in od.departments.values()}, admins),
                               p.user_id, facts, options)
    except planner.PlanError as e:
        raise ValidationFailed(details=e.details) from None


def approve(instance_id: str, comment: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()

    def act(c: _Change) -> Any:
        step = _acting_step(c, p.user_id, "approve", "approve")
        if step is _UNCHANGED:
            return _UNCHANGED
        c.history("approve", step=step, comment=comment, attachments=attachments)
        _decide(c, step, p.user_id, "approve", None)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def reject(instance_id: str, to: str, node_id: str | None, comment: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()

    def act(c: _Change) -> Any:
        step = _acting_step(c, p.user_id, "reject", "reject")
        if step is _UNCHANGED:
            return _UNCHANGED
        target = None
        if to == "node":
            earlier = [s for s in c.inst.plan[:step["index"]] if s["node_id"] == node_id and s["kind"] == "approve" and s["assignees"]]
            if not earlier:
                raise ValidationFailed(details=[{"field": "node_id", "type": "invalid",
                                                 "message": "只能退回到之前的审批节点 / only an earlier approval node"}])
            target = earlier[-1]["index"]
        c.history("reject", step=step, comment=comment, attachments=attachments, to=to, node_id=node_id)
        _decide(c, step, p.user_id, "reject", target)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def transfer(instance_id: str, to_user_id: str, comment: str | None) -> dict[str, Any]:
    """转交: the caller's place in the active step goes to another user."""
    p = org.principal()

    def act(c: _Change) -> Any:
        step = _acting_step(c, p.user_id, "transfer")
        _require_active_user(p, to_user_id, "to_user_id")
        if to_user_id in step["assignees"]:
            raise ValidationFailed(details=[{"field": "to_user_id", "type": "duplicate", "message": "已是该节点审批人 / already an approver here"}])
        step["assignees"] = [to_user_id if u == p.user_id else u for u in step["assignees"]]
        step.setdefault("former", []).append(p.user_id)
        c.close_task(p.user_id, step, "transferred")
        c.task(to_user_id, step, "pending")
        c.notify.append((to_user_id, "notify.approval.pending", {"step": step["name"]}))
        c.history("transfer", step=step, comment=comment, to_user_id=to_user_id)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def add_signers(instance_id: str, user_ids: list[str], comment: str | None) -> dict[str, Any]:
    """加签: more approvers on the active step (after the caller in a sequential step)."""
    p = org.principal()

    def act(c: _Change) -> Any:
        step = _acting_step(c, p.user_id, "add_signer")
        for u in user_ids:
            _require_active_user(p, u, "user_ids")
        if not _add(c, step, user_ids, after=p.user_id):
            raise ValidationFailed(details=[{"field": "user_ids", "type": "duplicate", "message": "已是该节点审批人 / already approvers here"}])
        c.history("add_signer", step=step, comment=comment, user_ids=user_ids)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def _add(c: _Change, step: dict[str, Any], user_ids: list[str], after: str | None) -> list[str]:
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


def _require_active_user(p: Principal, user_id: str, field: str) -> None:
    u = p.org.users.get(user_id)
    if u is None or not u.active:
        raise ValidationFailed(details=[{"field": field, "type": "invalid", "message": "请选择启用的员工 / choose an active user"}])


def comment(instance_id: str, text: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()
    if not text and not attachments:
        raise ValidationFailed(details=[{"field": "comment", "type": "missing", "message": "请填写评论或附件 / a comment or an attachment"}])

    def act(c: _Change) -> Any:
        _may_read(p, c.inst)
        if p.user_id not in _participants(c.inst) and not p.can(MODULE, "manage"):
            raise Forbidden("RECORD_FORBIDDEN")
        c.history("comment", step=_active(c.inst), comment=text, attachments=attachments)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def withdraw(instance_id: str, text: str | None) -> dict[str, Any]:
    p = org.principal()

    def act(c: _Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id:
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        if inst.status == "withdrawn":
            return _UNCHANGED
        if inst.status != "running":
            raise ValidationFailed("INVALID_STATE", reason=i18n.text(f"approval.status.{inst.status}"))
        step = _active(inst)
        pending = planner.current_assignees(step) if step else []
        if step:
            _close_step(c, step, "withdrawn", pending)
        c.history("withdraw", step=step, comment=text)
        _finish(c, "withdrawn")
        c.notify = [(u, "notify.approval.withdrawn", {}) for u in pending]

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def urge(instance_id: str) -> dict[str, Any]:
    """催办: remind the current approvers (at most once every 5 minutes)."""
    p = org.principal()

    def act(c: _Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id and not p.can(MODULE, "manage"):
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        step = _active(inst)
        if step is None:
            raise ValidationFailed("INVALID_STATE", reason=i18n.text(f"approval.status.{inst.status}"))
        if inst.urged_at and clock.parse_iso(inst.urged_at) > clock.now() - timedelta(seconds=URGE_INTERVAL_SECONDS):
            raise LimitExceeded("APPROVAL_URGED_RECENTLY", minutes=URGE_INTERVAL_SECONDS // 60)
        inst.urged_at = c.now
        people = planner.current_assignees(step)
        c.notify += [(u, "notify.approval.urge", {"step": step["name"], "when": c.now}) for u in people]
        c.history("urge", step=step, users=people)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


def resubmit(instance_id: str, from_: str, text: str | None) -> dict[str, Any]:
    """重新提交 after a rejection or withdrawal: from the first step or from the step that
    rejected; a new execution (the instance's next attempt)."""
    p = org.principal()

    def act(c: _Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id:
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        if inst.status not in ("rejected", "withdrawn"):
            raise ValidationFailed("INVALID_STATE", reason=i18n.text(f"approval.status.{inst.status}"))
        start = 0
        if from_ == "rejected_node":
            if inst.status != "rejected" or inst.rejected_step is None:
                raise ValidationFailed(details=[{"field": "from", "type": "invalid", "message": "没有被拒绝的节点 / no rejecting node"}])
            start = int(inst.rejected_step)
        data_of = _data_of.get(inst.record["entity"].upper())
        data = data_of(p.tenant_id, inst.record["id"]) if data_of else None
        if data is not None and data != plain(inst.data) and start == 0:
            inst.data = data
            flow = _flow(p.tenant_id, inst.flow_id)
            spec = plain(FlowVersion.get(flow.pk, FlowVersion.sk_of(int(inst.flow_version))).spec)
            inst.plan, _ = _resolve(p, spec, data, plain(inst.options or {}))
        for s in inst.plan[start:]:
            if s["state"] != "skipped":
                s.update(state="waiting", votes={})
        inst.status = "running"
        inst.finished_at = None
        inst.rejected_step = None
        inst.attempt = int(inst.attempt) + 1
        c.start = True
        c.history("resubmit", comment=text, **{"from": from_})
        _activate(c, start)

    return out(_run(p.tenant_id, instance_id, p.user_id, act), p)


# ---- timers (Scheduler reminder, state-machine time limit) -----------------------------------

def remind_due(tenant_id: str, instance_id: str, round_: int) -> bool:
    """The reminder schedule fired: remind the current approvers (if the step still waits)."""
    try:
        inst = _load(tenant_id, instance_id)
    except NotFound:
        return False
    step = _active(inst)
    if step is None or int(inst.round) != round_:
        return False
    for u in planner.current_assignees(step):
        notifications.deliver(tenant_id, u, "approval", i18n.both("notify.approval.due_soon", title=inst.title, step=step["name"]),
                              link={"entity": "approval", "id": inst.id}, source=f"approval-due:{inst.id}:{round_}:{u}",
                              occurred_at=clock.parse_iso(step["deadline"]))
    return True


def on_overdue(tenant_id: str, instance_id: str, step_index: int, round_: int) -> str:
    """The step's time limit passed (the state machine said so): apply the node's policy.
    Returns the policy applied, "stale" when the step moved on since, "gone" without an instance."""
    outcome = "stale"

    def act(c: _Change) -> Any:
        nonlocal outcome
        step = _active(c.inst)
        if step is None or int(c.inst.round) != round_ or step["index"] != step_index:
            outcome = "stale"
            return _UNCHANGED
        outcome = policy = step.get("on_timeout", "remind")
        people = planner.current_assignees(step)
        c.history("overdue", step=step, actor="system", policy=policy, users=people)
        if policy == "auto_pass":
            _close_step(c, step, planner.PASSED, people)
            _activate(c, step_index + 1)
        elif policy == "auto_reject":
            _close_step(c, step, planner.REJECTED, people)
            c.inst.rejected_step = step_index
            _finish(c, "rejected")
        elif policy == "escalate":
            snap = org.load(tenant_id).snapshot
            bosses = [s.supervisor_id for u in people if (s := snap.users.get(u)) and s.supervisor_id]
            added = _add(c, step, bosses, after=people[-1] if people else None)
            c.notify += [(u, "notify.approval.overdue", {"step": step["name"]}) for u in people]
            c.history("escalate", step=step, actor="system", user_ids=added)
        else:
            c.notify += [(u, "notify.approval.overdue", {"step": step["name"]}) for u in people]

    try:
        with context.acting_as(context.system_context(tenant_id)):
            _run(tenant_id, instance_id, "system", act)
    except NotFound:
        return "gone"
    return outcome


def reconcile(tenant_id: str, instance_id: str) -> bool:
    """Re-send what the execution is missing (after a lost signal); used by operators and tests."""
    inst = _load(tenant_id, instance_id)
    return _sync_execution(inst)
