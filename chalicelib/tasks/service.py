"""Tasks' own rules beyond the engine's: who sees a task (its team from its values), plans rolled up
from their sub-tasks, completion with an optional approval by the assigner, recurrence, the due
reminder, notifications and the views.

Views (GET /v1/tasks/views/{view}; answered from the search index within the caller's scope,
oldest due first, then newest created; "not done" = status open or awaiting_approval; "today"
and the day boundaries are the tenant's time zone (settings.default_timezone)):
- inbox 收件箱: my tasks (I own them), not done, without a due time;
- today 今天: my tasks, not done, due before the end of today (overdue ones included);
- next 下一步: my tasks, not done, due after today and within the next 7 days;
- later 以后: my tasks, not done, due after that;
- assigned_by_me 我分派的: tasks I assigned to someone else, not done;
- participating 我参与的: tasks I take part in (not as owner), not done;
- done 已完成: done tasks I own, assigned or take part in, latest completed first.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ..core import clock, i18n, ids
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import tx
from ..db.base import plain
from ..engine import fieldtypes, store, visibility
from ..engine import service as engine
from ..engine.definition import Derivation, EntityDef, WriteContext
from ..notifications import service as notifications
from ..org import service as org
from ..search.query import Filter, any_of
from .entity import TASK

OPEN = ("open", "awaiting_approval")


@dataclass(frozen=True)
class Transition:
    """Which statuses a status change starts from, which already are its outcome (answered as they
    are: a repeated or concurrent request changes the task once), and the reason of the refusal
    of any other."""

    start: tuple[str, ...]
    settled: tuple[str, ...]
    reason: str


COMPLETING = Transition(("open",), ("done",), "reason.task_awaiting_approval")
AWAITING = Transition(("awaiting_approval",), (), "reason.task_not_awaiting_approval")
REOPENING = Transition(("done",), (), "reason.task_not_done")
VIEWS = ("inbox", "today", "next", "later", "assigned_by_me", "participating", "done")
ATTEMPTS = 8  # a busy plan (many sub-tasks completed at once) still lets each of them through
COPIED = ("title", "description", "priority", "important", "urgent", "remind_minutes_before", "participant_ids", "assigned_by",
          "tags", "parent", "is_plan", "estimated_hours", "links", "completion_approval", "repeat", "repeat_interval",
          "repeat_until", "repeat_count")


# ---- hooks (entity.py) ----------------------------------------------------------------------------
def validate(wc: WriteContext) -> None:
    """The creator is the assigner; participants are active users of the tenant; a repeating task has
    a due time; a task is not its own ancestor."""
    v = wc.values
    if wc.action == "create":
        v["assigned_by"] = wc.principal.user_id
    problems: list[dict[str, Any]] = []  # participants: the `users` field type checks them (active users)
    if v.get("repeat") and not v.get("due_at"):
        problems.append(fieldtypes.error("due_at", "required", "field.required", label=TASK.field("due_at").label_in(fieldtypes.locale())))
    parent = v.get("parent")
    if isinstance(parent, Mapping) and wc.record is not None and _is_ancestor(wc.principal.tenant_id, wc.record.id, str(parent["id"])):
        problems.append(fieldtypes.error("parent", "invalid", "task.parent_cycle"))
    if problems:
        raise ValidationFailed(details=problems)


def _is_ancestor(tenant_id: str, task_id: str, parent_id: str) -> bool:
    seen = set()
    current: str | None = parent_id
    while current and current not in seen:
        if current == task_id:
            return True
        seen.add(current)
        try:
            rec = store.get(tenant_id, TASK.entity, current, TASK.name_key)
        except NotFound:
            return False
        ref = (rec.data or {}).get("parent")
        current = str(ref["id"]) if isinstance(ref, Mapping) else None
    return False


def derive(dv: Derivation) -> dict[str, Any]:
    """Whether the task is someone else's than its assigner's (the "assigned by me" view), and a
    plan's progress from its sub-tasks."""
    data = dv.data
    out: dict[str, Any] = {"delegated": bool(data.get("assigned_by")) and data.get("assigned_by") != dv.owner_id}
    total = int(data.get("children_total") or 0)
    if total > 0:
        out["progress"] = Decimal(int(data.get("children_done") or 0) * 100 // total)
    elif data.get("status") == "done":
        out["progress"] = Decimal(100)
    return out


def team(data: Mapping[str, Any], owner_id: str, _current: Mapping[str, Any]) -> dict[str, Any]:
    """Participants read the task, its assigner may change it (the owner needs no grant)."""
    out: dict[str, Any] = {u: {"access": "read", "until": None} for u in data.get("participant_ids") or [] if u != owner_id}
    by = data.get("assigned_by")
    if by and by != owner_id:
        out[str(by)] = {"access": "write", "until": None}
    return out


def before_write(wc: WriteContext) -> None:
    """A new sub-task counts in its plan; a sub-task moved to another plan leaves the old one."""
    before_parent = _parent_id(wc.before) if wc.action == "update" else None
    after_parent = _parent_id(wc.values)
    if before_parent == after_parent and wc.action == "update":
        return
    done = 1 if wc.values.get("status") == "done" else 0
    if before_parent:
        wc.extra_ops += _plan_ops(wc, before_parent, -1, -done)
    if after_parent:
        wc.extra_ops += _plan_ops(wc, after_parent, 1, done)


def before_delete(wc: WriteContext) -> None:
    parent = _parent_id(wc.values)
    if parent and not _deleted_with_parent(wc, parent):
        wc.extra_ops += _plan_ops(wc, parent, -1, -(1 if wc.values.get("status") == "done" else 0))


def before_restore(wc: WriteContext) -> None:
    parent = _parent_id(wc.values)
    if parent and not _deleted_with_parent(wc, parent):
        wc.extra_ops += _plan_ops(wc, parent, 1, 1 if wc.values.get("status") == "done" else 0)


def _deleted_with_parent(wc: WriteContext, parent_id: str) -> bool:
    """A sub-task going (or coming back) with its plan: the plan's counts go with it unchanged."""
    try:
        parent = store.get(wc.principal.tenant_id, TASK.entity, parent_id, TASK.name_key, include_deleted=True)
    except NotFound:
        return True
    return bool(parent.deleted_at) or wc.record.deleted_with == f"{TASK.entity}#{parent_id}"


def after_write(wc: WriteContext) -> None:
    """A task created for someone else tells them; its participants are told they take part (those
    added later too, once: notifications/participants.py)."""
    from ..notifications import participants

    rec = wc.record
    if wc.action == "create" and rec.owner_id != wc.principal.user_id:
        _notify(rec, rec.owner_id, "task_assigned", "notify.task.assigned", f"task_assigned:{rec.id}:{rec.owner_id}",
                name=_name(wc.principal, wc.principal.user_id))
    participants.notify_added(wc, "task_participant", "notify.task.participant")


def _parent_id(values: Mapping[str, Any] | None) -> str | None:
    ref = (values or {}).get("parent")
    return str(ref["id"]) if isinstance(ref, Mapping) and ref.get("id") else None


def _plan_ops(wc: WriteContext, parent_id: str, d_total: int, d_done: int) -> list[tx.Op]:
    """The plan's counts moved by this change, in its transaction, versioned on the plan as read
    (a concurrent change of the plan makes the write StaleStamp: read again and retry)."""
    try:
        parent = store.get(wc.principal.tenant_id, TASK.entity, parent_id, TASK.name_key, consistent=True)
    except NotFound:
        return []
    data = plain(parent.data or {})
    data["children_total"] = max(0, int(data.get("children_total") or 0) + d_total)
    data["children_done"] = min(data["children_total"], max(0, int(data.get("children_done") or 0) + d_done))
    return engine.stamp_ops(TASK, wc, parent, data, "plan_progress")


# ---- the due reminder (timer) ------------------------------------------------------------------------
def remind_at(values: Mapping[str, Any]) -> str | None:
    """`remind_minutes_before` the due time (at it, by default), while the task is not done."""
    if not values.get("due_at") or values.get("status") == "done":
        return None
    due = clock.parse_iso(str(values["due_at"]))
    return clock.iso(due - timedelta(minutes=int(values.get("remind_minutes_before") or 0)))


def fire_due(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    """The owner is told the task is due (once per due time)."""
    due = str((rec.data or {}).get("due_at"))
    new = _notify(rec, rec.owner_id, "task_due", "notify.task.due", f"task_due:{rec.id}:{due}", date=_local(due))
    metric("tasks.reminder.delivered")
    return new


def _local(iso: str) -> str:
    return clock.parse_iso(iso).astimezone(ZoneInfo(get_settings().default_timezone)).strftime("%Y-%m-%d %H:%M")


# ---- notifications -------------------------------------------------------------------------------
def _name(p: Principal, user_id: str) -> str:
    return org.user_name(p.tenant_id, user_id)


def _notify(rec: store.EntityRecord, user_id: str, kind: str, key: str, source: str, **params: Any) -> bool:
    """One inbox message about a task to `user_id`, its title as their field rules show it."""
    who = visibility.reader(rec.tenant_id, user_id)
    value = plain((rec.data or {}).get(TASK.title_field))
    text = {loc: i18n.text(key, loc, title=visibility.title(who, TASK, value, loc) or "", **params) for loc in i18n.LOCALES}
    return notifications.deliver(rec.tenant_id, user_id, kind, text, link={"entity": TASK.name, "id": rec.id}, source=source)


# ---- completion ------------------------------------------------------------------------------------
def complete(task_id: str, expected: int | None) -> dict[str, Any]:
    """完成: by whoever may change the task (its owner, its assigner, a manager over its owner). With
    `completion_approval` and someone other than the assigner completing it, it waits for the
    assigner's approval (they are told); otherwise it is done. Completing a done task again answers
    the task as it is (a retried request completes once and makes one next occurrence)."""
    p = org.principal()
    rec = engine.load(TASK, p, task_id, "update")
    if _settled(rec, COMPLETING):
        return engine.out(TASK, rec, p)
    by = (rec.data or {}).get("assigned_by")
    if (rec.data or {}).get("completion_approval") and by and by != p.user_id:
        shown = _change(p, task_id, expected, {"status": "awaiting_approval", "rejection_reason": None}, "complete_requested",
                        COMPLETING)
        if shown["status"] == "awaiting_approval":
            fresh = store.get(p.tenant_id, TASK.entity, task_id, TASK.name_key)
            _notify(fresh, str(by), "task_awaiting_approval", "notify.task.awaiting",
                    f"task_awaiting:{task_id}:{shown['version']}", name=_name(p, p.user_id))
        return shown
    return _done(p, task_id, expected, "complete", COMPLETING)


def approve_completion(task_id: str, expected: int | None) -> dict[str, Any]:
    """The assigner confirms a completion waiting for them: the task is done (its owner is told)."""
    p, rec = _awaiting(task_id)
    shown = _done(p, task_id, expected, "complete_approved", AWAITING)
    _notify(rec, rec.owner_id, "task_completion_approved", "notify.task.approved", f"task_approved:{task_id}:{shown['version']}",
            name=_name(p, p.user_id))
    return shown


def reject_completion(task_id: str, reason: str, expected: int | None) -> dict[str, Any]:
    """The assigner sends a completion back, with the reason: the task is open again (its owner is told)."""
    p, rec = _awaiting(task_id)
    shown = _change(p, task_id, expected, {"status": "open", "rejection_reason": reason}, "complete_rejected", AWAITING)
    _notify(rec, rec.owner_id, "task_completion_rejected", "notify.task.rejected", f"task_rejected:{task_id}:{shown['version']}",
            name=_name(p, p.user_id), reason=reason)
    return shown


def _awaiting(task_id: str) -> tuple[Principal, store.EntityRecord]:
    p = org.principal()
    rec = engine.load(TASK, p, task_id, "read")
    if (rec.data or {}).get("assigned_by") != p.user_id:
        raise Forbidden("TASK_NOT_ASSIGNER")
    _settled(rec, AWAITING)
    return p, rec


def reopen(task_id: str, expected: int | None) -> dict[str, Any]:
    """重新打开: a done task is open again (its plan counts it as not done)."""
    p = org.principal()
    rec = engine.load(TASK, p, task_id, "update")
    _settled(rec, REOPENING)
    return _change(p, task_id, expected, {"status": "open", "completed_at": None, "completed_by": None, "progress": None},
                   "reopen", REOPENING, d_done=-1)


def _done(p: Principal, task_id: str, expected: int | None, action: str, when: Transition) -> dict[str, Any]:
    """The task done, its plan's count and its next occurrence in one transaction."""
    return _change(p, task_id, expected, {"status": "done", "completed_at": clock.now_iso(), "completed_by": p.user_id,
                                          "rejection_reason": None}, action, when, d_done=1, recur=True)


def _settled(rec: store.EntityRecord, when: Transition) -> bool:
    """Whether the task's status already is the change's outcome (True: answer it as it is); a
    status the change does not start from is refused (422 INVALID_STATE with the transition's reason)."""
    status = (rec.data or {}).get("status") or "open"
    if status in when.settled:
        return True
    if status not in when.start:
        raise ValidationFailed("INVALID_STATE", reason=when.reason)
    return False


def _change(p: Principal, task_id: str, expected: int | None, values: dict[str, Any], action: str, when: Transition, *,
            d_done: int = 0, recur: bool = False) -> dict[str, Any]:
    """A status change of one task, versioned (`expected`, or the version read), with its plan's
    count moved by `d_done` and (`recur`) its next occurrence created, all in one transaction; a
    concurrent change of the task or its plan is read again and retried — the status checked again
    on what was read (`when`), so a change another request made meanwhile is not counted twice."""
    for attempt in range(ATTEMPTS):
        rec = store.get(p.tenant_id, TASK.entity, task_id, TASK.name_key, consistent=True)
        if expected is not None and rec.version != expected:
            raise Conflict(details={"current_version": rec.version, "your_version": expected})
        if _settled(rec, when):
            return engine.out(TASK, rec, p)
        wc = WriteContext(p, TASK, rec, "update", {**plain(rec.data or {}), **values}, rec.values())
        parent = _parent_id(rec.data)
        extra = _plan_ops(wc, parent, 0, d_done) if parent and d_done else []
        next_id, draft = _next_occurrence(p, rec) if recur else (None, None)
        if next_id is not None:
            values = {**values, "next_task_id": next_id}
        if draft is not None:
            extra += draft.ops
        try:
            shown = engine.change(TASK, p, rec, values, int(rec.version), action=action, verb=action, extra=extra)
        except engine.StaleStamp:
            engine.backoff(attempt)
            continue
        except Conflict:
            if expected is not None:
                raise
            engine.backoff(attempt)  # someone else changed the task meanwhile: read it again
            continue
        for then in wc.then:
            then()
        if draft is not None:
            engine.finish(draft)
        return shown
    raise Conflict()


# ---- recurrence ------------------------------------------------------------------------------------
def next_due(values: Mapping[str, Any]) -> str | None:
    """The due time of the occurrence after this one, or None when the series ends (until / count)."""
    repeat, due = values.get("repeat"), values.get("due_at")
    if not repeat or not due:
        return None
    n = int(values.get("repeat_interval") or 1)
    at = clock.parse_iso(str(due))
    if repeat == "daily":
        nxt = at + timedelta(days=n)
    elif repeat == "weekly":
        nxt = at + timedelta(weeks=n)
    else:
        month = at.month - 1 + n
        year, month = at.year + month // 12, month % 12 + 1
        day = min(at.day, [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
                           30, 31, 30, 31][month - 1])
        nxt = at.replace(year=year, month=month, day=day)
    occurrence = int(values.get("occurrence") or 1)
    if values.get("repeat_count") and occurrence >= int(values["repeat_count"]):
        return None
    if values.get("repeat_until"):
        tz = ZoneInfo(get_settings().default_timezone)
        if nxt.astimezone(tz).date().isoformat() > str(values["repeat_until"])[:10]:
            return None
    return clock.iso(nxt)


def _next_occurrence(p: Principal, rec: store.EntityRecord) -> tuple[str | None, engine.Draft | None]:
    """The next task of a repeating one (its id, and its draft when it is still to be made): same
    values, the next due time, the same owner and assigner. Its id is derived from the series and
    occurrence, so it is created once whatever retries; a task completed again after a reopen keeps
    the next task it already made (even one since deleted: it stays in the recycle bin)."""
    data = plain(rec.data or {})
    if data.get("next_task_id"):
        return str(data["next_task_id"]), None
    due = next_due(data)
    if due is None:
        return None, None
    series = str(data.get("series_id") or rec.id)
    occurrence = int(data.get("occurrence") or 1) + 1
    values = {k: data[k] for k in COPIED if data.get(k) is not None}
    values.update({"status": "open", "due_at": due, "series_id": series, "occurrence": occurrence})
    record_id = ids.derived_id(int(clock.parse_iso(due).timestamp() * 1000), f"{p.tenant_id}:{series}:{occurrence}")
    try:
        store.get(p.tenant_id, TASK.entity, record_id, TASK.name_key, include_deleted=True, consistent=True)
        return record_id, None
    except NotFound:
        pass
    wc = WriteContext(p, TASK, None, "create", values)
    return record_id, engine.built(TASK, p, wc, plain(rec.custom or {}), rec.owner_id, record_id=record_id)


# ---- participants' progress ------------------------------------------------------------------------
def report_progress(task_id: str, progress: int, note: str | None) -> dict[str, Any]:
    """A participant's (or the owner's) own progress on a task: their row of `participant_progress`;
    nobody else's row and no other field changes."""
    p = org.principal()
    rec = engine.load(TASK, p, task_id, "read")
    data = plain(rec.data or {})
    if p.user_id != rec.owner_id and p.user_id not in (data.get("participant_ids") or []):
        raise Forbidden("TASK_NOT_PARTICIPANT")
    rows = [r for r in data.get("participant_progress") or [] if r.get("user") != p.user_id]
    rows.append({"user": p.user_id, "progress": Decimal(progress), "note": note, "at": clock.now_iso()})
    for attempt in range(ATTEMPTS):
        try:
            return engine.change(TASK, p, rec, {"participant_progress": [{k: v for k, v in r.items() if v is not None}
                                                                          for r in rows]}, int(rec.version),
                                 action="progress", verb="updated")
        except Conflict:
            engine.backoff(attempt)
            rec = store.get(p.tenant_id, TASK.entity, task_id, TASK.name_key, consistent=True)
            data = plain(rec.data or {})
            rows = [r for r in data.get("participant_progress") or [] if r.get("user") != p.user_id] + [rows[-1]]
    raise Conflict()


# ---- views -----------------------------------------------------------------------------------------
def _day_end(days: int) -> str:
    tz = ZoneInfo(get_settings().default_timezone)
    today = clock.now().astimezone(tz).date()
    return clock.iso(datetime.combine(today + timedelta(days=days + 1), time(0), tzinfo=tz))


def view_conditions(view: str, user_id: str) -> tuple[list[Filter], str]:
    """The index conditions of one view for `user_id`, and its sort."""
    not_done = Filter("status", "in", list(OPEN))
    mine = Filter("owner_id", "eq", user_id)
    if view == "inbox":
        return [mine, not_done, Filter("due_at", "missing")], "-created_at"
    if view == "today":
        return [mine, not_done, Filter("due_at", "range", {"lt": _day_end(0)})], "due_at"
    if view == "next":
        return [mine, not_done, Filter("due_at", "range", {"gte": _day_end(0), "lt": _day_end(7)})], "due_at"
    if view == "later":
        return [mine, not_done, Filter("due_at", "range", {"gte": _day_end(7)})], "due_at"
    if view == "assigned_by_me":
        return [Filter("assigned_by", "eq", user_id), Filter("delegated", "eq", True), not_done], "due_at"
    if view == "participating":
        return [Filter("participant_ids", "eq", user_id), not_done], "due_at"
    return [Filter("status", "eq", "done"), any_of(mine, Filter("assigned_by", "eq", user_id),
                                                   Filter("participant_ids", "eq", user_id))], "-completed_at"


def view(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """One page of a view (see the module docstring), within the caller's scope; `q`, `filters` and
    `cursor` work as on the list."""
    if name not in VIEWS:
        raise NotFound("entity.task_view")
    p = org.principal()
    conditions, sort = view_conditions(name, p.user_id)
    params = {**params, "conditions": conditions, "sort": params.get("sort") or sort}
    return engine.list_records(TASK, params)
