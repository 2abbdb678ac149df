"""Reading instances: one instance as its viewer sees it (with the actions open to them),
its history, and the inboxes (pending / handled / cc / mine) with their counts."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import context, i18n
from ..core.errors import NotFound
from ..core.permissions import Principal
from ..db import keys, query
from ..db.base import Item, plain
from ..org import service as org
from . import plan as planner
from .flows import MODULE
from .models import ApprovalInstance, ApprovalTask, HistoryEntry, box_pk

TitleView = Callable[[Principal, str, str, str], str]  # (reader, record type, title, locale) -> what the reader may see
_title_view: list[TitleView] = []


def register_title_view(view: TitleView) -> None:
    """How a record's title is shown to a reader whose field rules may hide or mask it (the record
    engine's; installed by the manifest). Form applications have no field rules."""
    _title_view[:] = [view]


def shown_title(p: Principal, entity: str | None, title: str, locale: str | None = None) -> str:
    if not entity or not _title_view:
        return title
    return _title_view[0](p, entity, title, locale or context.locale())


def texts(tenant_id: str, user_id: str, key: str, inst: ApprovalInstance, **params: Any) -> dict[str, str]:
    """A notification about `inst` for `user_id`, in every language, with the title as their
    field rules let them see it."""
    reader = Principal(tenant_id, user_id, org.load(tenant_id).snapshot)
    entity = (inst.record or {}).get("entity")
    return {loc: i18n.text(key, loc, title=shown_title(reader, entity, inst.title, loc), **params) for loc in i18n.LOCALES}


def load_instance(tenant_id: str, instance_id: str) -> ApprovalInstance:
    """Strongly consistent: every decision starts from the latest committed instance."""
    try:
        inst = ApprovalInstance.get(*ApprovalInstance.key(tenant_id, instance_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound("entity.approval") from None
    if not isinstance(inst, ApprovalInstance) or inst.deleted_at:
        raise NotFound("entity.approval")
    return inst


def active_step(inst: ApprovalInstance) -> dict[str, Any] | None:
    if inst.status != "running" or inst.current_step is None:
        return None
    return inst.plan[int(inst.current_step)]


def participants(inst: ApprovalInstance) -> set[str]:
    people = {inst.owner_id, *(inst.cc_user_ids or [])}
    for s in inst.plan:
        people |= set(s["assignees"]) | set(s.get("votes") or {}) | set(s.get("former") or [])
    return people


def may_read(p: Principal, inst: ApprovalInstance) -> None:
    if p.user_id in participants(inst) or p.can(MODULE, "read") or p.can(MODULE, "manage"):
        return
    raise NotFound("entity.approval")  # as a missing one: instance ids cannot be probed


def _my_actions(p: Principal, inst: ApprovalInstance) -> list[str]:
    acts: list[str] = []
    step = active_step(inst)
    if step and p.user_id in planner.current_assignees(step):
        acts += [a for a in step["actions"] if a in ("approve", "reject", "transfer", "add_signer")]
    if p.user_id in participants(inst) or p.can(MODULE, "manage"):
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
    record = plain(inst.record) or {}
    title = shown_title(p, record.get("entity"), inst.title)
    return {"id": inst.id, "business_type": inst.business_type, "flow_id": inst.flow_id, "flow_version": int(inst.flow_version),
            "record": {**record, "title": title} if "title" in record else record, "title": title, "applicant_id": inst.owner_id, "status": inst.status,
            "round": int(inst.round), "current_step": None if inst.current_step is None else int(inst.current_step), "steps": steps,
            "my_actions": _my_actions(p, inst), "cc_user_ids": list(inst.cc_user_ids or []), "created_at": inst.created_at,
            "updated_at": inst.updated_at, "finished_at": inst.finished_at, "version": inst.version}


def get(instance_id: str) -> dict[str, Any]:
    p = org.principal()
    inst = load_instance(p.tenant_id, instance_id)
    may_read(p, inst)
    return out(inst, p)


def history(instance_id: str) -> list[dict[str, Any]]:
    p = org.principal()
    inst = load_instance(p.tenant_id, instance_id)
    may_read(p, inst)
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
        rows = [_summary(i, p) for i in items if isinstance(i, ApprovalInstance)]
    else:
        items, nxt = query.page(ApprovalTask, box_pk(p.tenant_id, p.user_id, box), index="gsi1", limit=limit, cursor=cursor)
        rows = [{"instance_id": t.instance_id, "title": shown_title(p, t.entity, t.title), "business_type": t.business_type, "applicant_id": t.applicant_id,
                 "step": None if t.step is None else int(t.step), "step_name": t.step_name, "decision": t.decision,
                 "received_at": t.created_at, "updated_at": t.updated_at} for t in items if isinstance(t, ApprovalTask)]
    return {"items": rows, "next_cursor": nxt}


def _summary(i: ApprovalInstance, p: Principal) -> dict[str, Any]:
    step = active_step(i)
    return {"instance_id": i.id, "title": shown_title(p, (i.record or {}).get("entity"), i.title), "business_type": i.business_type, "applicant_id": i.owner_id, "status": i.status,
            "step": None if i.current_step is None else int(i.current_step), "step_name": step["name"] if step else None,
            "received_at": i.created_at, "updated_at": i.updated_at}


def calendar_items(p: Principal, people: list[str], frm: str, to: str) -> list[dict[str, Any]]:
    """The time limits (处理时限) of the approval steps waiting for the caller's decision, in [frm, to),
    for the caller's own calendar (another person's pending approvals are theirs): one Query on the
    pending box and one batch read of the instances."""
    if people != [p.user_id]:
        return []
    tasks = [t for t in Item.gsi1.query(box_pk(p.tenant_id, p.user_id, "pending"), limit=200) if isinstance(t, ApprovalTask)]
    if not tasks:
        return []
    wanted = {t.instance_id for t in tasks}
    out_: list[dict[str, Any]] = []
    for inst in ApprovalInstance.batch_get([ApprovalInstance.key(p.tenant_id, i) for i in sorted(wanted)]):
        step = active_step(inst) if isinstance(inst, ApprovalInstance) and not inst.deleted_at else None
        deadline = step.get("deadline") if step else None
        if not deadline or not frm <= deadline < to or p.user_id not in (step.get("assignees") or []):
            continue
        out_.append({"type": "approval", "source": "approval_deadline", "id": inst.id,
                     "title": shown_title(p, (inst.record or {}).get("entity"), inst.title), "start_at": deadline,
                     "end_at": deadline, "all_day": False, "busy": False, "location": None, "owner_id": inst.owner_id,
                     "participant_ids": [], "private": False, "occurrence": None, "recurring": False, "moved": False})
    return out_


def pending_count(p: Principal) -> int:
    """How many approval tasks wait for this user's decision (one count on their pending box)."""
    return Item.gsi1.count(box_pk(p.tenant_id, p.user_id, "pending"))


def counts() -> dict[str, int]:
    p = org.principal()

    def n(box: str) -> int:
        return Item.gsi1.count(box_pk(p.tenant_id, p.user_id, box))

    running = ApprovalInstance.gsi1.count(keys.owner_list(p.tenant_id, ApprovalInstance.ENTITY, p.user_id),
                                          filter_condition=ApprovalInstance.status == "running")
    return {"pending": n("pending"), "mine_running": running, "handled": n("handled"), "cc": n("cc")}

