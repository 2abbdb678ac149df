"""The instance lifecycle as people drive it: submit and resubmit, the decisions (approve,
reject, transfer 转交, add signers 加签), comment, withdraw, urge 催办.

Each action is a function of the loaded instance run by `lifecycle.run()` (version-checked
commit, retried on a concurrent change); the answer is the instance as `reading.out()` shows it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..core import clock
from ..core.errors import Forbidden, LimitExceeded, ValidationFailed, invalid
from ..core.observability import metric
from ..core.permissions import Principal
from ..db import keys, records, tx
from ..db.base import plain
from ..engine import fieldtypes
from ..files import service as files
from ..org import service as org
from . import plan as planner
from .flows import MODULE, enabled_of, load_flow
from .lifecycle import (
    RECORD_STATUS,
    UNCHANGED,
    Change,
    acting_step,
    activate,
    add_assignees,
    admins_of,
    after_commit,
    close_step,
    commit,
    data_reader,
    decide,
    finish,
    org_of,
    run,
)
from .models import ApprovalInstance, FlowVersion
from .reading import active_step, may_read, out, participants

URGE_INTERVAL_SECONDS = 300


def submit(record: dict[str, Any], business_type: str, data: dict[str, Any], options: dict[str, Any], *,
           flow_id: str | None = None, creating: Callable[[str, str], list[tx.Op]] | None = None) -> dict[str, Any]:
    """Start an approval for `record` ({entity, id, title}) with the enabled flow of
    `business_type` (or `flow_id`). The record's status hook runs in the same transaction.

    `creating(instance id, record status)` gives the writes that create a record submitted as it
    is created (instead of its status hook's): a refused submit then leaves nothing behind."""
    p = org.principal()
    if flow_id:
        f = load_flow(p.tenant_id, flow_id)
        if not f.enabled:
            raise ValidationFailed("APPROVAL_FLOW_DISABLED")
    else:
        found = enabled_of(p.tenant_id, business_type)
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
    c = Change(inst, p.user_id)
    c.start = True
    c.history("submit", comment=options.get("comment"), flow=f.name, flow_version=int(f.current_version), branches=taken)
    for u in cc:
        c.task(u, None, "cc")
    activate(c, 0)
    c.status_changed = True
    if creating is not None:
        c.record_ops = creating(inst.id, RECORD_STATUS[inst.status])
    commit(c, new=True)
    after_commit(c)
    metric("approvals.instance.submitted")
    return out(inst, p)


def _resolve(p: Principal, spec: dict[str, Any], data: dict[str, Any], options: dict[str, Any]) -> tuple[list[dict], list[str]]:
    od = org.load(p.tenant_id)
    admins = planner.super_admins(p.org)
    me = p.org.users.get(p.user_id)
    facts = {**data, "applicant": {"id": p.user_id, "department_id": me.department_id if me else None,
                                   "role_ids": list(me.role_ids) if me else []}}
    try:
        return planner.resolve(spec, planner.Org(p.org, {d.id: d.head_user_id for d in od.departments.values()}, admins),
                               p.user_id, facts, options)
    except planner.PlanError as e:
        raise ValidationFailed(details=e.details) from None


def _attachments(p: Principal, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attachments of a comment or decision: files the caller uploaded and confirmed, as
    {id, name, size, content_type, sha256}."""
    found: dict[str, dict[str, Any]] = {}
    errors = []
    for i, ref in enumerate(given):
        file = files.usable(p.tenant_id, p.user_id, ref)
        if file is None:
            errors.append(fieldtypes.error(f"attachments.{i}", "not_found", "field.file"))
        else:
            found[file["id"]] = file
    if errors:
        raise ValidationFailed(details=errors)
    return list(found.values())


def _share(c: Change, p: Principal, attachments: list[dict[str, Any]]) -> None:
    """Whoever may read the approval may download the files attached to its history."""
    c.ops += files.link_ops(p.tenant_id, ApprovalInstance.ENTITY, c.inst.id, (), [a["id"] for a in attachments], p.user_id)


def by_reader(p: Principal, instance_id: str, act: Callable[[Change], Any]) -> ApprovalInstance:
    """A user's action on an instance: one they may not read answers as a missing one (404)."""
    def checked(c: Change) -> Any:
        may_read(p, c.inst)
        return act(c)

    return run(p.tenant_id, instance_id, p.user_id, checked)


def approve(instance_id: str, comment: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()
    attachments = _attachments(p, attachments)

    def act(c: Change) -> Any:
        step = acting_step(c, p.user_id, "approve", "approve")
        if step is UNCHANGED:
            return UNCHANGED
        c.history("approve", step=step, comment=comment, attachments=attachments)
        _share(c, p, attachments)
        decide(c, step, p.user_id, "approve", None)

    return out(by_reader(p, instance_id, act), p)


def reject(instance_id: str, to: str, node_id: str | None, comment: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()
    attachments = _attachments(p, attachments)

    def act(c: Change) -> Any:
        step = acting_step(c, p.user_id, "reject", "reject")
        if step is UNCHANGED:
            return UNCHANGED
        target = None
        if to == "node":
            earlier = [s for s in c.inst.plan[:step["index"]] if s["node_id"] == node_id and s["kind"] == "approve" and s["assignees"]]
            if not earlier:
                raise invalid("node_id", "invalid", "approval.earlier_node")
            target = earlier[-1]["index"]
        c.history("reject", step=step, comment=comment, attachments=attachments, to=to, node_id=node_id)
        _share(c, p, attachments)
        decide(c, step, p.user_id, "reject", target)

    return out(by_reader(p, instance_id, act), p)


def transfer(instance_id: str, to_user_id: str, comment: str | None) -> dict[str, Any]:
    """转交: the caller's place in the active step goes to another user."""
    p = org.principal()

    def act(c: Change) -> Any:
        step = acting_step(c, p.user_id, "transfer")
        require_approver(p, c.inst, to_user_id, "to_user_id")
        if to_user_id in step["assignees"]:
            raise invalid("to_user_id", "duplicate", "approval.already_approver")
        step["assignees"] = [to_user_id if u == p.user_id else u for u in step["assignees"]]
        step.setdefault("former", []).append(p.user_id)
        c.close_task(p.user_id, step, "transferred")
        c.task(to_user_id, step, "pending")
        c.notify.append((to_user_id, "notify.approval.pending", {"step": step["name"]}))
        c.history("transfer", step=step, comment=comment, to_user_id=to_user_id)

    return out(by_reader(p, instance_id, act), p)


def add_signers(instance_id: str, user_ids: list[str], comment: str | None) -> dict[str, Any]:
    """加签: more approvers on the active step (after the caller in a sequential step)."""
    p = org.principal()

    def act(c: Change) -> Any:
        step = acting_step(c, p.user_id, "add_signer")
        for u in user_ids:
            require_approver(p, c.inst, u, "user_ids")
        if not add_assignees(c, step, user_ids, after=p.user_id):
            raise invalid("user_ids", "duplicate", "approval.already_approver")
        c.history("add_signer", step=step, comment=comment, user_ids=user_ids)

    return out(by_reader(p, instance_id, act), p)


def _require_active_user(p: Principal, user_id: str, field: str) -> None:
    u = p.org.users.get(user_id)
    if u is None or not u.active:
        raise invalid(field, "invalid", "field.active_user")


def require_approver(p: Principal, inst: ApprovalInstance, user_id: str, field: str) -> None:
    """Someone who may be given a place on a step of `inst`: an active user, never its applicant."""
    _require_active_user(p, user_id, field)
    if user_id == inst.owner_id:
        raise invalid(field, "self", "approval.self_approver")


def comment(instance_id: str, text: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    p = org.principal()
    if not text and not attachments:
        raise invalid("comment", "missing", "approval.comment_needed")
    attachments = _attachments(p, attachments)

    def act(c: Change) -> Any:
        if p.user_id not in participants(c.inst) and not p.can(MODULE, "manage"):
            raise Forbidden("RECORD_FORBIDDEN")
        c.history("comment", step=active_step(c.inst), comment=text, attachments=attachments)
        _share(c, p, attachments)

    return out(by_reader(p, instance_id, act), p)


def withdraw(instance_id: str, text: str | None) -> dict[str, Any]:
    p = org.principal()

    def act(c: Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id:
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        if inst.status == "withdrawn":
            return UNCHANGED
        if inst.status != "running":
            raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{inst.status}")
        step = active_step(inst)
        pending = planner.current_assignees(step) if step else []
        if step:
            close_step(c, step, "withdrawn", pending)
        c.history("withdraw", step=step, comment=text)
        finish(c, "withdrawn")
        c.notify = [(u, "notify.approval.withdrawn", {}) for u in pending]

    return out(by_reader(p, instance_id, act), p)


def urge(instance_id: str) -> dict[str, Any]:
    """催办: remind the current approvers (at most once every 5 minutes)."""
    p = org.principal()

    def act(c: Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id and not p.can(MODULE, "manage"):
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        step = active_step(inst)
        if step is None:
            raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{inst.status}")
        if inst.urged_at and clock.parse_iso(inst.urged_at) > clock.now() - timedelta(seconds=URGE_INTERVAL_SECONDS):
            raise LimitExceeded("APPROVAL_URGED_RECENTLY", minutes=URGE_INTERVAL_SECONDS // 60)
        inst.urged_at = c.now
        active = org_of(p.tenant_id, admins=False).active
        people = [u for u in planner.current_assignees(step) if active(u)]
        c.notify += [(u, "notify.approval.urge", {"step": step["name"], "when": c.now}) for u in people]
        if not people:  # everyone it waits on was disabled: the flow's administrators are told instead
            c.notify += [(u, "notify.approval.no_one_active", {"step": step["name"]}) for u in admins_of(inst)]
        c.history("urge", step=step, users=people)

    return out(by_reader(p, instance_id, act), p)


def resubmit(instance_id: str, from_: str, text: str | None) -> dict[str, Any]:
    """重新提交 after a rejection or withdrawal; a new execution (the instance's next attempt).

    Both modes resolve the plan again from the record's current values and the organisation as
    it is now (the flow version stays the instance's). From the start: every step is asked
    again. From the rejecting node: steps that passed before it and are unchanged in the new
    plan stand; it resumes at the rejecting node, or earlier at the first step the change
    invalidates (see `plan.resume_at`)."""
    p = org.principal()

    def act(c: Change) -> Any:
        inst = c.inst
        if inst.owner_id != p.user_id:
            raise Forbidden("APPROVAL_APPLICANT_ONLY")
        if inst.status not in ("rejected", "withdrawn"):
            raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{inst.status}")
        if from_ == "rejected_node" and (inst.status != "rejected" or inst.rejected_step is None):
            raise invalid("from", "invalid", "approval.no_rejecting_node")
        flow = load_flow(p.tenant_id, inst.flow_id)
        if not flow.enabled:
            raise ValidationFailed("APPROVAL_FLOW_DISABLED")
        data_of = data_reader(inst.record["entity"])
        data = data_of(p.tenant_id, inst.record["id"]) if data_of else plain(inst.data)
        spec = plain(FlowVersion.get(flow.pk, FlowVersion.sk_of(int(inst.flow_version))).spec)
        old = plain(inst.plan)
        new, taken = _resolve(p, spec, data, plain(inst.options or {}))
        start = planner.resume_at(old, new, int(inst.rejected_step)) if from_ == "rejected_node" else 0
        inst.data, inst.plan = data, new
        inst.status = "running"
        inst.finished_at = None
        inst.rejected_step = None
        inst.attempt = int(inst.attempt) + 1
        c.start = True
        changed = len(old) != len(new) or not all(planner.same_step(o, n) for o, n in zip(old, new, strict=True))
        c.history("resubmit", comment=text, **{"from": from_}, plan_changed=changed, branches=taken,
                  resumed_at=new[start]["name"] if start < len(new) else None)
        activate(c, start)

    return out(by_reader(p, instance_id, act), p)
