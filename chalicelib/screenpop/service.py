"""来电弹屏 (call-center screen pop, SVC-6): who is calling — and the call logged as a follow-up
in one request.

`lookup(phone)`: the number, in any spelling (+86 / 0086 / spaces / dashes / full-width digits /
a landline with its area code, an extension), becomes the phone key of the duplicate checks
(duplicates/normalize.py `phone()`, the one normalisation); the records holding it are found
through the `dup_phone` index field the duplicate check queries — one search request across
the record types that declare phone fields (leads, customers, contacts, and any later type
that declares them), each inside the caller's data scope, so records outside it are neither
returned nor counted.

Field rules: a type is looked in only when the caller may read it and none of its phone fields
is hidden from them. Unlike the duplicate check — which compares only fields the caller may
read unmasked, so typing into a form can never confirm a masked value — a screen pop also
matches masked fields: the number comes from the phone line, not from the record, and an
agent whose role masks mobiles must still see who is calling. What comes back is what the
caller may see (visibility.py): the numbers masked (138****8000), never in clear.

`log_call(...)`: the call becomes a follow-up (跟进记录) through the record engine — follow-up
permissions, operation log, the record's timeline, its `last_followup_at` stamp and the
next-contact reminder all apply as for any follow-up. The record must be one the caller may
read (else 404, as a missing one) and must hold the number (one of the screen pop's matches).
The number itself is not stored on the follow-up: follow-ups have their own field rules, which
could not mask it like the record's.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core import clock, context
from ..core.errors import ValidationFailed, invalid
from ..core.permissions import FieldAccess, Principal
from ..db.base import plain
from ..duplicates import normalize
from ..duplicates import rules as duplicate_rules
from ..duplicates import service as duplicates
from ..engine import registry, store, visibility
from ..engine import service as engine
from ..engine.definition import EntityDef
from ..followups.entity import FOLLOWUP
from ..org import service as org
from ..search import rules as search_rules
from ..search import service as search
from ..search.query import SearchRequest

KIND = "phone"
MATCH_LIMIT = 20
CALL_TYPE = "call"  # the followup_type dictionary's phone call (电话)
CUSTOMER_REF = "customer"  # a matched record's reference to its customer (a contact's parent, a converted lead's)


def number(value: str) -> str:
    """The phone key of `value`; 422 naming `phone` when it is no phone number."""
    key = normalize.key(KIND, value[:duplicates.MAX_VALUE]) if value and value.strip() else None
    if key is None:
        raise invalid("phone", "invalid", "screenpop.phone")
    return key


def phone_fields(d: EntityDef) -> list[str]:
    return [f for f, kind in d.duplicates.items() if kind == KIND]


def _searchable(p: Principal, d: EntityDef) -> bool:
    """May the caller's screen pop look in `d`: they read it, and see every one of its phone fields (masked or not)."""
    fields = phone_fields(d)
    return bool(fields) and p.can(d.module, "read") and all(p.field_access(d.module, f) >= FieldAccess.MASKED for f in fields)


def _holding(d: EntityDef, values: Mapping[str, Any], key: str) -> list[str]:
    """The phone fields of `d` whose value is the number `key`."""
    return [f for f, found in normalize.field_keys({f: KIND for f in phone_fields(d)}, values).items() if key in found]


# ---- who is calling ---------------------------------------------------------------------------
def lookup(phone: str) -> dict[str, Any]:
    p = org.principal()
    key = number(phone)
    types = {d.entity: d for d in duplicate_rules.declaring().values() if _searchable(p, d)}
    if not types:
        return {"number": key, "items": [], "total": 0}
    wanted = {KIND: {key: ["phone"]}}
    now = clock.now_iso()
    queries = [duplicates.entity_query(d, search_rules.scope_for(p, d.module, now=now), [KIND], wanted) for d in types.values()]
    res = search.run(SearchRequest(p.tenant_id, queries, filters=[duplicates.any_key(wanted)], sort=[("updated_at", "desc")],
                                   limit=MATCH_LIMIT))
    items = [_match(p, types[h.entity], h.source, key) for h in res.hits]
    _name_customers(p, items)
    return {"number": key, "items": items, "total": res.total}


def _match(p: Principal, d: EntityDef, src: dict[str, Any], key: str) -> dict[str, Any]:
    shown = visibility.some(p, d, src, (*phone_fields(d), CUSTOMER_REF))
    owner = str(src.get("owner_id") or "")
    users = org.load(p.tenant_id).users
    item = {"type": d.name, "id": src["id"], "title": visibility.title(p, d, src.get(d.title_field), context.locale()),
            "owner": {"id": owner, "name": users[owner].name if owner in users else None},
            "matched": _holding(d, src, key), "numbers": {f: shown.get(f) for f in phone_fields(d)}, "customer": None}
    ref, spec = shown.get(CUSTOMER_REF), d.field(CUSTOMER_REF)
    if spec is not None and spec.type == "reference" and spec.entity == CUSTOMER_REF and isinstance(ref, dict) and ref.get("id"):
        item["customer"] = {"id": str(ref["id"]), "name": None}
    return item


def _name_customers(p: Principal, items: list[dict[str, Any]]) -> None:
    """Each contact's customer by name, when the caller may read that customer (one BatchGetItem)."""
    refs = [i["customer"] for i in items if i["customer"]]
    d = registry.find(CUSTOMER_REF, p.tenant_id)
    if not refs or d is None or not p.can(d.module, "read"):
        return
    now, locale = clock.now_iso(), context.locale()
    readable = {rec.id: rec for rec in store.batch_get(p.tenant_id, d.entity, [r["id"] for r in refs])
                if p.record_access(d.module, rec.owner_id, rec.team, now) is not None}
    for ref in refs:
        rec = readable.get(ref["id"])
        if rec is not None:
            ref["name"] = visibility.title(p, d, (rec.data or {}).get(d.title_field), locale)


# ---- logging the call ---------------------------------------------------------------------------
def log_call(values: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    """The call as a follow-up of the record it is about (engine create: the follow-up's own rules apply)."""
    p = org.principal()
    p.require(FOLLOWUP.module, "create")
    key = number(values["phone"])
    about = values["about"]
    allowed = FOLLOWUP.field("about").entities
    d = registry.find(about["entity"], p.tenant_id) if about["entity"] in allowed else None
    if d is None:
        raise invalid("about.entity", "type", "field.reference_type", entity=[f"entity.{e}" for e in allowed])
    rec = engine.load(d, p, about["id"], "read")  # not the caller's to read: 404, as a missing record
    if not _searchable(p, d) or not _holding(d, plain(rec.data or {}), key):  # not one of the screen pop's matches
        raise invalid("about", "number", "screenpop.not_this_number")
    body: dict[str, Any] = {"about": {"entity": d.name, "id": rec.id}, "type": values.get("followup_type") or CALL_TYPE,
                            "content": values["content"]}
    if values.get("next_contact_at"):
        body["next_contact_at"] = values["next_contact_at"]
    try:
        return engine.create(FOLLOWUP, body, idempotency_key)
    except ValidationFailed as e:  # the follow-up's field `type` is this body's `followup_type`
        if isinstance(e.details, list):
            e.details = [{**x, "field": "followup_type"} if x.get("field") == "type" else x for x in e.details]
        raise

