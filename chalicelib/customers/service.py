"""Customer rules: create / read / change / delete / list / transfer / team, always within
the caller's action permissions, data scope, record team and field rules."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core import clock, handover
from ..core.errors import NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import ALL_OWNERS, Principal
from ..db import idempotency, keys, query, records
from ..dictionaries import service as dictionaries
from ..org import service as org
from ..ports import events
from .models import Customer

MODULE = "customers"
HANDOVER_PAGE = 100
DICTIONARY_FIELDS = {"customer_type": "customer_type", "level": "customer_level", "industry": "industry", "source": "source"}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


def out(c: Customer, p: Principal) -> dict[str, Any]:
    access = p.record_access(MODULE, c.owner_id, c.team, clock.now_iso()) or "read"
    data = p.shape(MODULE, _plain(c.values()))
    data.pop("custom", None)
    return {**data, "id": c.id, "owner_id": c.owner_id, "access": access, "created_at": c.created_at, "created_by": c.created_by,
            "updated_at": c.updated_at, "version": c.version,
            "team": [{"user_id": u, **g} for u, g in sorted((c.team or {}).items())]}


def _load(p: Principal, customer_id: str, action: str) -> Customer:
    c = records.get(Customer, p.tenant_id, customer_id)
    p.require_record(MODULE, action, c.owner_id, c.team, clock.now_iso())
    return c


def _check_owner(p: Principal, owner_id: str) -> None:
    u = p.org.users.get(owner_id)
    if u is None or not u.active:
        raise ValidationFailed(details=[{"field": "owner_id", "type": "invalid", "message": "owner must be an active user"}])
    owners = p.visible_owners(MODULE)
    if owners is not ALL_OWNERS and owner_id not in owners:
        raise ValidationFailed(details=[{"field": "owner_id", "type": "scope", "message": "owner is outside your data scope"}])


def create(body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "create")
    fields = {k: v for k, v in body.items() if v is not None and k != "owner_id"}
    p.require_writable(MODULE, [k for k in fields if k != "name"])
    owner_id = body.get("owner_id") or p.user_id
    _check_owner(p, owner_id)
    dictionaries.validate(p.tenant_id, fields, DICTIONARY_FIELDS)

    def do_create(extra, bind):
        c = records.new(Customer, p.tenant_id, p.user_id, owner_id, **fields)
        bind(c.id)
        records.create(c, p.user_id, extra=extra)
        metric("customers.customer.created")
        return out(c, p)

    def replay(customer_id: str) -> dict[str, Any]:
        return out(records.get(Customer, p.tenant_id, customer_id), p)

    return idempotency.run(p.tenant_id, p.user_id, idempotency_key, body, Customer.ENTITY, do_create, replay)


def get(customer_id: str) -> dict[str, Any]:
    p = org.principal()
    return out(_load(p, customer_id, "read"), p)


def update(customer_id: str, changes: dict[str, Any], expected: int) -> dict[str, Any]:
    p = org.principal()
    c = _load(p, customer_id, "update")
    p.require_writable(MODULE, changes.keys())
    dictionaries.validate(p.tenant_id, changes, DICTIONARY_FIELDS)
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    records.update(c, p.user_id, changes, expected)
    return out(c, p)


def delete(customer_id: str, expected: int) -> None:
    p = org.principal()
    c = _load(p, customer_id, "delete")
    records.soft_delete(c, p.user_id, expected)
    metric("customers.customer.deleted")


def list_customers(scope: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page within the data scope, newest first.

    全部 reads the tenant partition; narrower scopes merge one owner partition per visible
    owner plus the caller's team partition (records shared with them)."""
    p = org.principal()
    p.require(MODULE, "list")
    owners = p.visible_owners(MODULE)
    team_partition = keys.team_list(p.tenant_id, Customer.ENTITY, p.user_id)
    if scope == "mine":
        partitions = [keys.owner_list(p.tenant_id, Customer.ENTITY, p.user_id)]
    elif scope == "team":
        partitions = [team_partition]
    elif owners is ALL_OWNERS:
        items, nxt = query.page(Customer, keys.tenant_list(p.tenant_id, Customer.ENTITY), index="gsi2", limit=limit, cursor=cursor)
        return [out(c, p) for c in items if isinstance(c, Customer)], nxt
    else:
        partitions = [keys.owner_list(p.tenant_id, Customer.ENTITY, o) for o in sorted(owners)] + [team_partition]
    rows, nxt = query.merged(Customer, partitions, index="gsi1", limit=limit, cursor=cursor)
    shared_ids = [r.record_id for r in rows if isinstance(r, records.TeamMember)]
    shared = {c.id: c for c in records.batch_get(Customer, p.tenant_id, shared_ids)}
    now = clock.now_iso()
    seen: set[str] = set()
    result = []
    for r in rows:
        c = r if isinstance(r, Customer) else shared.get(getattr(r, "record_id", ""))
        if c is None or c.id in seen or p.record_access(MODULE, c.owner_id, c.team, now) is None:
            continue  # expired team grant, or already listed through its owner
        seen.add(c.id)
        result.append(out(c, p))
    return result, nxt


def transfer(customer_id: str, to_user_id: str, keep_previous_owner_as: str, expected: int) -> dict[str, Any]:
    p = org.principal()
    c = _load(p, customer_id, "transfer")
    target = p.org.users.get(to_user_id)
    if target is None or not target.active:
        raise ValidationFailed(details=[{"field": "to_user_id", "type": "invalid", "message": "choose an active user"}])
    previous = c.owner_id
    _transfer(c, to_user_id, keep_previous_owner_as, p.user_id, expected)
    events.publish("customers", "customers.customer.transferred", p.tenant_id,
                   {"customer_id": c.id, "name": c.name, "from_user_id": previous, "to_user_id": to_user_id, "by": p.user_id})
    return out(c, p)


def _transfer(c: Customer, to_user_id: str, keep_as: str, actor: str, expected: int | None) -> None:
    team = dict(c.team or {})
    team.pop(to_user_id, None)
    if keep_as in ("read", "write") and c.owner_id != to_user_id:
        team[c.owner_id] = {"access": keep_as, "until": None}
    extra = records.team_ops(c, team)
    records.update(c, actor, {"owner_id": to_user_id, "team": team}, expected, action="transfer", extra=extra)


def set_team(customer_id: str, members: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    p = org.principal()
    c = _load(p, customer_id, "team")
    team = {}
    for m in members:
        if m["user_id"] not in p.org.users:
            raise ValidationFailed(details=[{"field": "members", "type": "not_found", "message": f"user {m['user_id']} not found"}])
        if m["user_id"] != c.owner_id:
            team[m["user_id"]] = {"access": m["access"], "until": m.get("until")}
    records.update(c, p.user_id, {"team": team}, expected, action="team", extra=records.team_ops(c, team))
    return out(c, p)


def transfer_all(tenant_id: str, from_user_id: str, to_user_id: str, actor: str) -> int:
    """Hand-over: every customer owned by `from_user_id` moves to `to_user_id`.

    Walks the owner's index partition page by page; each record is re-read (consistently)
    before it moves, because the index may lag behind a change made a moment ago."""
    moved, cursor = 0, None
    while True:
        items, cursor = query.page(Customer, keys.owner_list(tenant_id, Customer.ENTITY, from_user_id), index="gsi1",
                                   limit=HANDOVER_PAGE, cursor=cursor)
        for listed in items:
            if not isinstance(listed, Customer):
                continue
            try:
                c = records.get(Customer, tenant_id, listed.id)
            except NotFound:
                continue
            if c.owner_id == from_user_id:
                _transfer(c, to_user_id, "none", actor, c.version)
                moved += 1
        if not cursor:
            return moved


handover.register(MODULE, transfer_all)


def audit_access(record_id: str) -> None:
    """Reading a customer's operation log needs read access to the customer."""
    p = org.principal()
    _load(p, record_id, "read")

