"""Customer rules: create / read / change / delete / list / transfer / team, always within
the caller's action permissions, data scope, record team and field rules."""
from __future__ import annotations

from typing import Any

from ..core import clock, handover
from ..core.errors import NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import ALL_OWNERS, Principal
from ..db import idempotency, keys, query, records
from ..dictionaries import service as dictionaries
from ..fields import service as fields
from ..org import service as org
from ..ports import events
from ..search import documents
from ..search import service as search
from .models import Customer

MODULE = "customers"
HANDOVER_PAGE = 100
DICTIONARY_FIELDS = {"customer_type": "customer_type", "level": "customer_level", "industry": "industry", "source": "source"}


def present(src: dict[str, Any], p: Principal) -> dict[str, Any]:
    """A customer as the caller may see it, from its document source (search hits and reads alike)."""
    team = src.get("team") or {}
    access = p.record_access(MODULE, src["owner_id"], team, clock.now_iso()) or "read"
    data = p.shape(MODULE, {k: src.get(k) for k in Customer.FIELDS})
    custom = p.shape(MODULE, {f"custom.{k}": v for k, v in (src.get("custom") or {}).items()})
    return {**data, "id": src["id"], "owner_id": src["owner_id"], "access": access, "created_at": src["created_at"],
            "created_by": src["created_by"], "updated_at": src["updated_at"], "version": src["version"],
            "custom": {k[7:]: v for k, v in custom.items()},
            "team": [{"user_id": u, **g} for u, g in sorted(team.items())]}


def card(src: dict[str, Any], p: Principal) -> dict[str, Any]:
    """Global search summary: name, with level and region when the caller may see them."""
    shown = p.shape(MODULE, {k: src.get(k) for k in ("name", "level", "region", "mobile")})
    return {"title": shown.get("name"), "subtitle": " · ".join(str(v) for k, v in shown.items() if k != "name" and v),
            "owner_id": src["owner_id"]}


def out(c: Customer, p: Principal) -> dict[str, Any]:
    return present(documents.source(c), p)


search.register_card(Customer.ENTITY, card)


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
    values = {k: v for k, v in body.items() if v is not None and k != "owner_id"}
    p.require_writable(MODULE, [k for k in values if k not in ("name", "custom")])
    owner_id = body.get("owner_id") or p.user_id
    _check_owner(p, owner_id)
    dictionaries.validate(p.tenant_id, values, DICTIONARY_FIELDS)
    if "custom" in values:
        p.require_writable(MODULE, [f"custom.{k}" for k in values["custom"]])
    values["custom"] = fields.validate(p.tenant_id, Customer.ENTITY, values.get("custom") or {})

    def do_create(extra, bind):
        c = records.new(Customer, p.tenant_id, p.user_id, owner_id, **values)
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
    p.require_writable(MODULE, [k for k in changes if k != "custom"])
    dictionaries.validate(p.tenant_id, changes, DICTIONARY_FIELDS)
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    if "custom" in changes:
        custom = changes["custom"] or {}
        p.require_writable(MODULE, [f"custom.{k}" for k in custom])
        changes["custom"] = fields.validate(p.tenant_id, Customer.ENTITY, custom, current=c.custom or {})
    records.update(c, p.user_id, changes, expected)
    return out(c, p)


def delete(customer_id: str, expected: int) -> None:
    p = org.principal()
    c = _load(p, customer_id, "delete")
    records.soft_delete(c, p.user_id, expected)
    metric("customers.customer.deleted")


def list_customers(params: dict[str, Any]) -> dict[str, Any]:
    """One page from the search index, within the data scope (see search/service.py)."""
    p = org.principal()
    return search.list_page(p, Customer.ENTITY, params, present)


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
    records.update(c, actor, {"owner_id": to_user_id, "team": team}, expected, action="transfer")


def set_team(customer_id: str, members: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    p = org.principal()
    c = _load(p, customer_id, "team")
    team = {}
    for m in members:
        if m["user_id"] not in p.org.users:
            raise ValidationFailed(details=[{"field": "members", "type": "not_found", "message": f"user {m['user_id']} not found"}])
        if m["user_id"] != c.owner_id:
            team[m["user_id"]] = {"access": m["access"], "until": m.get("until")}
    records.update(c, p.user_id, {"team": team}, expected, action="team")
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

