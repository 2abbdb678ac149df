"""From a flow definition to a concrete plan, and the tally of one step. Pure functions.

`resolve()` walks the flow tree once, at submit time: condition branches are decided on the
record's values (first matching branch by priority, the one without conditions as the
default), approver rules become user ids on the organisation as it is now, applicant
choices and free-flow extra nodes are applied, and the result is a flat list of steps.
The running instance only ever looks at its plan, so a later change to the flow or to the
organisation never changes an approval in progress.

Segregation of duties: the applicant is never an assignee of their own request, and neither is
a disabled user. People named explicitly (chosen approvers, added nodes, and later transfer,
add-signers and reassignment) who are the applicant are refused. A rule that resolves to the
applicant alone (a named user, a role, ...) hands the node to the applicant's nearest active
supervisor, else to the flow's administrators (`stand_in`); a node that no one else can approve
refuses the submit. Escalation climbs past the applicant and disabled users (`escalation`).

`tally()` says whether a step passed, was rejected or still waits, per mode:
  sequential 依次: everyone in order; one rejection rejects.
  all 会签:        everyone approves; one rejection rejects.
  any 或签:        the first decision (approve or reject) decides.
  majority 半数通过: passes once at least half approve (a tie passes); rejected once more than
                   half reject (then half can no longer approve).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.errors import detail
from ..core.permissions import OrgSnapshot

NO_LIMIT_SECONDS = 365 * 24 * 3600  # a step without a time limit waits up to the execution's year

PASSED, REJECTED, WAITING = "passed", "rejected", "waiting"


@dataclass
class Org:
    """What resolution needs of the organisation."""

    snapshot: OrgSnapshot
    heads: Mapping[str, str | None]  # department id -> head user id
    admins: list[str]  # super administrators (no-approver fallback)

    def active(self, user_id: str | None) -> bool:
        u = self.snapshot.users.get(user_id or "")
        return u is not None and u.active


def super_admins(snapshot: OrgSnapshot) -> list[str]:
    """The tenant's active super administrators (the default administrators of every flow)."""
    return sorted(u.id for u in snapshot.users.values()
                  if u.active and any((r := snapshot.roles.get(rid)) is not None and r.is_super for rid in u.role_ids))


def eligible(org: Org, users: list[str], applicant: str) -> list[str]:
    """Who of `users` may be an assignee of the applicant's request: active, not the applicant, once each."""
    return [u for u in dict.fromkeys(users) if u != applicant and org.active(u)]


def flow_admins(spec: Mapping[str, Any], org: Org, applicant: str) -> list[str]:
    """The flow's administrators (its own list, else the tenant's super administrators) who may
    take a node of the applicant's request."""
    return eligible(org, list(spec.get("admin_user_ids") or []) or org.admins, applicant)[:10]


def stand_in(spec: Mapping[str, Any], org: Org, applicant: str) -> list[str]:
    """Who approves a node only the applicant could have approved: the applicant's nearest
    active supervisor, else the flow's administrators (empty: no one else can)."""
    return _supervisors(org, applicant, 1) or flow_admins(spec, org, applicant)


def escalation(org: Org, people: list[str], applicant: str, present: list[str]) -> list[str]:
    """Escalation of an overdue step: for each of `people`, the nearest active supervisor above
    them who is neither the applicant nor already on the step (`present`)."""
    out: list[str] = []
    for u in people:
        boss = next((s for s in _supervisors(org, u, len(org.snapshot.users)) if s != applicant and s not in present
                     and s not in out), None)
        if boss:
            out.append(boss)
    return out


class PlanError(ValueError):
    """A submit the flow does not allow: `details` are [{field, type, message}]."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        self.details = details
        super().__init__(details)


# ---- conditions ---------------------------------------------------------------------------

def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _num(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        return Decimal(str(v))
    except InvalidOperation:
        return None


def holds(cond: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    actual, op, expected = _lookup(data, cond["field"]), cond["op"], cond.get("value")
    if op == "exists":
        return actual not in (None, "", []) if expected in (None, True) else actual in (None, "", [])
    if op in ("gt", "gte", "lt", "lte"):
        a, e = _num(actual), _num(expected)
        if a is None or e is None:
            return False
        return {"gt": a > e, "gte": a >= e, "lt": a < e, "lte": a <= e}[op]
    if op in ("eq", "ne"):
        a, e = _num(actual), _num(expected)
        same = (a == e) if a is not None and e is not None else actual == expected
        return same if op == "eq" else not same
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else [expected]
        inside = any(v in options for v in actual) if isinstance(actual, list) else actual in options
        return inside if op == "in" else not inside
    if op == "contains":
        if isinstance(actual, list):
            return expected in actual
        return isinstance(actual, str) and str(expected) in actual
    return False


def pick_branch(branches: list[Mapping[str, Any]], data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """First branch (by priority, then order) whose conditions all hold; a branch without
    conditions is the default and is taken only when no other matches."""
    ordered = sorted(enumerate(branches), key=lambda ib: (not ib[1].get("conditions"), ib[1].get("priority", 0), ib[0]))
    for _, b in ordered:
        if all(holds(c, data) for c in b.get("conditions") or []):
            return b
    return None


# ---- approvers ----------------------------------------------------------------------------

def _supervisors(org: Org, user_id: str, levels: int) -> list[str]:
    """Up to `levels` active supervisors above `user_id` (a disabled one is passed over)."""
    chain, seen, current = [], {user_id}, user_id
    while len(chain) < levels:
        u = org.snapshot.users.get(current)
        nxt = u.supervisor_id if u else None
        if not nxt or nxt in seen:
            break
        seen.add(nxt)
        current = nxt
        if org.active(nxt):
            chain.append(nxt)
    return chain


def _department_head(org: Org, department_id: str | None, applicant: str) -> list[str]:
    seen: set[str] = set()
    d = department_id
    while d and d not in seen:
        seen.add(d)
        head = org.heads.get(d)
        if head and head != applicant and org.active(head):
            return [head]
        d = org.snapshot.departments.get(d)
    return []


def approvers(rule: Mapping[str, Any], org: Org, applicant: str) -> tuple[list[str], str | None]:
    """User ids for one approver rule, and the mode it forces (a supervisor chain is sequential)."""
    t = rule["type"]
    if t == "users":
        return list(rule.get("user_ids") or []), None
    if t == "supervisor":
        level = int(rule.get("level") or 1)
        chain = _supervisors(org, applicant, level)
        if len(chain) == level:
            return [chain[-1]], None
        return ([chain[-1]] if chain and rule.get("fallback", "nearest") == "nearest" else []), None
    if t == "supervisor_chain":
        return _supervisors(org, applicant, int(rule.get("level") or 1)), "sequential"
    if t == "role":
        rid = rule.get("role_id")
        return sorted(u.id for u in org.snapshot.users.values() if rid in u.role_ids), None
    if t == "department_head":
        me = org.snapshot.users.get(applicant)
        return _department_head(org, rule.get("department_id") or (me.department_id if me else None), applicant), None
    return [], None  # applicant_choice: filled from the submit options


def _named(org: Org, users: list[str], applicant: str, field: str) -> list[dict[str, str]]:
    """Errors of people the applicant named as approvers: disabled or unknown ones, and themselves."""
    errors = [detail(field, "invalid", "field.user") for u in users if not org.active(u)]
    if applicant in users:
        errors.append(detail(field, "self", "approval.self_approver"))
    return errors


# ---- resolution ---------------------------------------------------------------------------

def _flatten(nodes: list[Mapping[str, Any]], data: Mapping[str, Any], out: list[Mapping[str, Any]], taken: list[str]) -> None:
    for n in nodes:
        if n.get("kind") == "branch":
            b = pick_branch(n.get("branches") or [], data)
            if b is not None:
                taken.append(f"{n['id']}:{b['name']}")
                _flatten(b.get("nodes") or [], data, out, taken)
        else:
            out.append(n)


def all_nodes(nodes: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every node of a flow tree, branch nodes and the nodes inside their branches, in order."""
    out: list[Mapping[str, Any]] = []
    for n in nodes:
        out.append(n)
        for b in n.get("branches") or []:
            out += all_nodes(b.get("nodes") or [])
    return out


def node_ids(nodes: list[Mapping[str, Any]]) -> set[str]:
    return {n["id"] for n in all_nodes(nodes)}


def resolve(spec: Mapping[str, Any], org: Org, applicant: str, data: Mapping[str, Any],
            options: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The flat plan (steps) for one submission, and the branches taken (for the history)."""
    model = spec.get("model", "fixed")
    chosen: Mapping[str, list[str]] = options.get("approvers") or {}
    extra: list[Mapping[str, Any]] = options.get("extra_nodes") or []
    errors: list[dict[str, str]] = []
    nodes: list[Mapping[str, Any]] = []
    taken: list[str] = []
    _flatten(spec["nodes"], data, nodes, taken)
    by_id = {n["id"]: n for n in nodes}
    all_ids = node_ids(spec["nodes"])

    for node_id, users in chosen.items():
        if node_id not in all_ids:
            errors.append(detail(f"approvers.{node_id}", "unknown", "approval.unknown_node"))
        elif node_id in by_id and model == "fixed" and by_id[node_id]["approvers"]["type"] != "applicant_choice":
            errors.append(detail(f"approvers.{node_id}", "fixed_flow", "approval.fixed_flow"))
        errors += _named(org, users, applicant, f"approvers.{node_id}")
    if extra and model != "free":
        errors.append(detail("extra_nodes", "not_free", "approval.not_free"))
    for i, x in enumerate(extra):
        if x.get("after") is not None and x["after"] not in by_id:
            errors.append(detail(f"extra_nodes.{i}.after", "unknown", "approval.unknown_node"))
        errors += _named(org, x.get("user_ids") or [], applicant, f"extra_nodes.{i}.user_ids")

    steps: list[dict[str, Any]] = []

    def add(node: Mapping[str, Any], users: list[str], forced_mode: str | None) -> None:
        limit = node.get("time_limit_hours")
        remind = node.get("remind_before_hours")
        steps.append({
            "index": len(steps), "node_id": node["id"], "name": node["name"], "kind": node.get("kind", "approve"),
            "mode": forced_mode or node.get("mode", "any"), "assignees": users, "votes": {}, "state": "waiting",
            "actions": list(node.get("actions") or []), "time_limit_seconds": max(1, round(limit * 3600)) if limit else None,
            "remind_before_seconds": max(1, round(remind * 3600)) if remind and limit else None,
            "on_timeout": node.get("on_timeout", "remind"), "auto": None,
        })

    def add_extra(after: str | None) -> None:
        for x in extra:
            if x.get("after") == after:
                add({"id": f"+{len(steps)}", "name": x["name"], "kind": "approve", "mode": x.get("mode", "any"),
                     "actions": ["approve", "reject", "transfer", "add_signer", "comment"]}, list(dict.fromkeys(x["user_ids"])), None)

    add_extra(None)
    for n in nodes:
        rule = n["approvers"]
        named, forced = approvers(rule, org, applicant)
        if n["id"] in chosen:
            named, forced = list(chosen[n["id"]]), None
        elif rule["type"] == "applicant_choice":
            errors.append(detail(f"approvers.{n['id']}", "missing", "approval.choose_approvers", node=n["name"]))
        notify = n.get("kind", "approve") == "notify"
        users = [u for u in dict.fromkeys(named) if org.active(u)] if notify else eligible(org, named, applicant)
        add(n, users, forced)
        step = steps[-1]
        if users or notify:
            step["state"] = "waiting" if users else "skipped"
        elif applicant in named or spec.get("no_approver", "auto_pass") == "admin":
            # only the applicant could approve it (or the flow wants someone to): a stand-in takes it
            step["assignees"], step["auto"] = (stand_in(spec, org, applicant), "stand_in") if applicant in named else \
                (flow_admins(spec, org, applicant), "admin")
            if not step["assignees"]:
                errors.append(detail(f"approvers.{n['id']}", "no_approver", "approval.no_eligible_approver", node=n["name"]))
        else:
            step["state"], step["auto"] = "skipped", "no_approver"
        add_extra(n["id"])
    if errors:
        raise PlanError(errors)
    return steps, taken


def resume_at(old: list[dict[str, Any]], new: list[dict[str, Any]], rejected: int) -> int:
    """Where a resubmission from the rejecting node resumes in the re-resolved plan `new`, whose
    steps before it are marked passed. Walking `new` from its start: a step that passed in the
    old attempt with the same node, people and mode keeps its votes and stays passed; the walk
    stops at the rejecting node (resume there) or at the first step the change invalidates (a
    node the new values add, or one whose people changed: restart there). When the change
    removed the rejecting node and every other step stands, the last one is asked again, so a
    resubmission is never approved without anyone looking at it."""
    rejecting = old[rejected]["node_id"]
    passed = [s for s in old[:rejected] if s["state"] == "passed"]
    carried: list[int] = []
    for i, s in enumerate(new):
        if s["state"] == "skipped":
            continue
        if s["node_id"] == rejecting:
            return i
        same = next((o for o in passed if same_step(o, s)), None)
        if same is None:
            return i
        s.update(state="passed", votes=dict(same.get("votes") or {}))
        carried.append(i)
    asked = [i for i in carried if new[i]["kind"] == "approve"]
    if not asked:
        return len(new)
    new[asked[-1]].update(state="waiting", votes={})
    return asked[-1]


def same_step(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same node with the same people in the same mode (its outcome would carry over)."""
    return all(a.get(k) == b.get(k) for k in ("node_id", "kind", "assignees", "mode"))


# ---- tally --------------------------------------------------------------------------------

def tally(step: Mapping[str, Any]) -> str:
    votes: Mapping[str, str] = step.get("votes") or {}
    people: list[str] = step["assignees"]
    approve = sum(1 for u in people if votes.get(u) == "approve")
    reject = sum(1 for u in people if votes.get(u) == "reject")
    n = len(people)
    mode = step["mode"]
    if mode == "any":
        first = next((v for v in votes.values() if v in ("approve", "reject")), None)
        return {"approve": PASSED, "reject": REJECTED}.get(first or "", WAITING)
    if mode == "majority":
        if approve * 2 >= n:
            return PASSED
        return REJECTED if reject * 2 > n else WAITING
    # sequential and all: unanimous
    if reject:
        return REJECTED
    return PASSED if approve == n else WAITING


def current_assignees(step: Mapping[str, Any]) -> list[str]:
    """Who may act on an active step now (sequential: the first one who has not approved)."""
    votes = step.get("votes") or {}
    if step.get("state") != "active":
        return []
    waiting = [u for u in step["assignees"] if u not in votes]
    if step["mode"] == "sequential":
        return waiting[:1]
    return waiting
