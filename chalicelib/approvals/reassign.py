"""Nothing waits on someone who cannot act (FLOW-3, PLAT-2).

- Hand-over (交接) of a leaving user: their places on running approvals (the active step and the
  steps still to come) go to the receiver — or, where the receiver is the applicant, to the
  flow's administrators — with a "reassign" entry in each approval's history.
- Disabling a user: their places go to the flow's administrators (its own list, else the super
  administrators; never the applicant). A step that starts later with a disabled person on it
  does the same when it starts (lifecycle.activate).
- Administrators (approvals:manage) reassign any pending place themselves.
- A daily check (one schedule per tenant, flows.arm_watch) lists the approvals whose current step
  no active person can act on and tells the administrators; `GET /v1/approvals/stuck` lists them
  at any time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..core import clock, context, i18n
from ..core.errors import Forbidden, invalid
from ..core.observability import logger, metric
from ..core.permissions import Principal
from ..db.base import Item
from ..notifications import service as notifications
from ..org import service as org
from . import plan as planner
from .flows import MODULE, arm_watch
from .instances import by_reader, require_approver
from .lifecycle import UNCHANGED, Change, admins_of, org_of, replace, run
from .models import ApprovalInstance, ApprovalTask, box_pk
from .reading import active_step, load_instance, out, shown_title


def _open_places(inst: ApprovalInstance, user: str) -> list[dict[str, Any]]:
    """The steps of a running instance where `user` still has to decide (active or to come)."""
    if inst.status != "running":
        return []
    return [s for s in inst.plan if s["state"] in ("active", "waiting") and user in s["assignees"]
            and user not in (s.get("votes") or {})]


def _pending_instances(tenant_id: str, user: str) -> Iterator[str]:
    """The instances waiting for `user` now (their pending inbox), each once."""
    seen: set[str] = set()
    for t in Item.gsi1.query(box_pk(tenant_id, user, "pending")):
        if isinstance(t, ApprovalTask) and t.instance_id not in seen:
            seen.add(t.instance_id)
            yield t.instance_id


def _move_all(tenant_id: str, user: str, actor: str, reason: str,
              receivers: Callable[[ApprovalInstance], list[str]]) -> dict[str, list[str]]:
    """Every approval waiting for `user` gives their places to `receivers(instance)`; returns who
    received each one that moved."""
    moved: dict[str, list[str]] = {}

    def act(c: Change) -> Any:
        places = _open_places(c.inst, user)
        to = receivers(c.inst) if places else []
        if not to:
            return UNCHANGED  # no one may take it: the daily check reports it
        for step in places:
            replace(c, step, user, to, reason)
        moved[c.inst.id] = to

    for iid in list(_pending_instances(tenant_id, user)):  # listed first: the moves empty the inbox being read
        run(tenant_id, iid, actor, act)
    metric("approvals.reassigned", len(moved))
    return moved


def hand_over(tenant_id: str, from_user: str, to_user: str, actor: str) -> int:
    """交接: the leaving user's pending approvals go to the receiver (the flow's administrators where
    the receiver applied for it). Returns how many the receiver got."""
    moved = _move_all(tenant_id, from_user, actor, "handover",
                      lambda inst: [to_user] if to_user != inst.owner_id else admins_of(inst, without=from_user))
    return sum(to_user in to for to in moved.values())


def user_disabled(tenant_id: str, user: str, actor: str) -> int:
    """A disabled user's pending approvals go to the flows' administrators."""
    return len(_move_all(tenant_id, user, actor, "disabled", lambda inst: admins_of(inst, without=user)))


def reassign(instance_id: str, from_user_id: str, to_user_id: str, comment: str | None) -> dict[str, Any]:
    """An administrator (approvals:manage) gives one person's places on a running approval to another."""
    p = org.principal()
    if not p.can(MODULE, "manage"):
        raise Forbidden(module=MODULE, action="manage")

    def act(c: Change) -> Any:
        places = _open_places(c.inst, from_user_id)
        if not places:
            raise invalid("from_user_id", "invalid", "approval.not_waiting_on")
        require_approver(p, c.inst, to_user_id, "to_user_id")
        for step in places:
            if to_user_id in step["assignees"]:
                raise invalid("to_user_id", "duplicate", "approval.already_approver")
            replace(c, step, from_user_id, [to_user_id], "admin", comment)

    return out(by_reader(p, instance_id, act), p)


# ---- stuck approvals ------------------------------------------------------------------------------

def _stuck(tenant_id: str) -> list[ApprovalInstance]:
    """Running approvals whose current step waits only on disabled people (found through the
    pending inboxes of the disabled users: no scan)."""
    o = org_of(tenant_id, admins=False)
    found: dict[str, ApprovalInstance] = {}
    for user in sorted(u for u, info in o.snapshot.users.items() if not info.active):
        for iid in _pending_instances(tenant_id, user):
            if iid in found:
                continue
            inst = load_instance(tenant_id, iid)
            step = active_step(inst)
            if step and not any(o.active(u) for u in planner.current_assignees(step)):
                found[iid] = inst
    return sorted(found.values(), key=lambda i: i.created_at)


def _row(inst: ApprovalInstance, p: Principal) -> dict[str, Any]:
    step = active_step(inst) or {}
    return {"instance_id": inst.id, "title": shown_title(p, (inst.record or {}).get("entity"), inst.title),
            "business_type": inst.business_type, "applicant_id": inst.owner_id, "step": step.get("index"),
            "step_name": step.get("name"), "waiting_on": planner.current_assignees(step) if step else [],
            "since": step.get("activated_at") or inst.updated_at}


def stuck() -> list[dict[str, Any]]:
    p = org.principal()
    if not p.can(MODULE, "manage"):
        raise Forbidden(module=MODULE, action="manage")
    return [_row(i, p) for i in _stuck(p.tenant_id)]


def fire_watch(tenant_id: str, at: str) -> bool:
    """The daily check: tell the administrators how many approvals wait on no active person (with
    the first titles), then arm tomorrow's check. Idempotent per day (the notification ids derive
    from the check's time)."""
    items = _stuck(tenant_id)
    snap = org.load(tenant_id).snapshot
    admins = [u for u, info in snap.users.items() if info.active and Principal(tenant_id, u, snap).can(MODULE, "manage")]
    for user in admins if items else []:
        reader = Principal(tenant_id, user, snap)
        titles = "、".join(shown_title(reader, (i.record or {}).get("entity"), i.title) for i in items[:3])
        texts = {loc: i18n.text("notify.approval.stuck", loc, count=len(items), titles=titles) for loc in i18n.LOCALES}
        notifications.deliver(tenant_id, user, "approval", texts, link={"entity": "approval", "id": "stuck"},
                              source=f"approvals-watch:{at}:{user}", occurred_at=clock.parse_iso(at))
    if items:
        logger.warning("approvals waiting on disabled users", extra={"tenant_id": tenant_id, "count": len(items)})
    with context.acting_as(context.system_context(tenant_id)):
        arm_watch(tenant_id, clock.parse_iso(at))
    metric("approvals.stuck", len(items))
    return bool(items)

