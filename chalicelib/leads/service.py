"""Lead conversion (线索转化) and its field mapping.

Converting a lead creates a customer (or uses an existing one the caller may change) and a
contact under it from the lead's values through the tenant's mapping (custom fields included),
marks the lead converted and links all three both ways — in one transaction, so a conversion
happens wholly or not at all, and the lead's version check makes a second conversion (even a
simultaneous one) fail. Later modules add what a conversion also creates (an opportunity) with
`register_step`, without changing this code.

The customer and the contact are checked for duplicates as any create is (duplicates/service.py
`on_write`, before anything is written): a block rule refuses the whole conversion with 409
DUPLICATE (its details name `customer.name`, `contact.mobile` …) and the lead stays as it was;
the records a warn rule matched — those the caller may read — come back in the answer as
`duplicates: {customer: [...], contact: [...]}`. The lead itself (it shares its values with
what it becomes) and, for the contact, the customer it joins are not duplicates: the customer
and the contact take over the lead's block-rule leases rather than meet them. A block rule across
customers and contacts also holds between the two a conversion creates (the contact may not
share its new customer's mobile: 409 on `contact.mobile`), as it would for two separate creates.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..contacts.entity import CONTACT
from ..core import clock, context
from ..core.errors import Conflict, DomainError, ValidationFailed, detail
from ..core.permissions import Principal
from ..customers.entity import CUSTOMER
from ..db import changes, tx
from ..db.base import plain
from ..duplicates import service as duplicates
from ..engine import fieldtypes, store
from ..engine import service as engine
from ..engine.definition import EntityDef
from ..fields import service as fields
from ..org import service as org
from .entity import LEAD
from .models import ConversionMapping

MODULE = "leads"
BULK_MAX = 100

DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "customer": {"company": "name", "mobile": "mobile", "phone": "phone", "email": "email", "source": "source",
                 "region": "region", "address": "address", "industry": "industry", "level": "level", "remark": "remark"},
    "contact": {"name": "name", "mobile": "mobile", "phone": "phone", "email": "email"},
}
TARGETS: dict[str, EntityDef] = {"customer": CUSTOMER, "contact": CONTACT}
_TEXT = ("text", "textarea")
_NUMBERS = ("mobile", "phone")

# a later module's part of a conversion: (caller, lead, customer id, options, resolver) -> drafts to commit with it
Step = Callable[[Principal, store.EntityRecord, str, dict[str, Any], engine.TenantResolver], list[engine.Draft]]
_steps: list[Step] = []


def register_step(step: Step) -> None:
    """Something a conversion also creates (the deals module: an opportunity), committed with it."""
    if step not in _steps:
        _steps.append(step)


# ---- the mapping -----------------------------------------------------------------------------------
def _spec(tenant_id: str, d: EntityDef, name: str) -> fieldtypes.FieldSpec | None:
    """A field of `d` by its API name: a declared field, or custom.<key>."""
    if name.startswith("custom."):
        found = [f for f in fields.definitions(tenant_id, d.entity) if f.key == name[7:] and f.active]
        return fields.spec(found[0]) if found else None
    return d.field(name)


def _compatible(source: fieldtypes.FieldSpec, target: fieldtypes.FieldSpec) -> bool:
    if target.readonly:
        return False
    if source.type == target.type:
        return target.type not in ("select", "multiselect") or (source.dictionary == target.dictionary
                                                               and source.options == target.options)
    if target.type in _TEXT:
        return source.type not in ("table", "file", "image", "multiselect", "tags", "users")
    return source.type in _NUMBERS and target.type in _NUMBERS


def mapping_of(tenant_id: str) -> dict[str, dict[str, str]]:
    try:
        m = ConversionMapping.get(*ConversionMapping.key(tenant_id))
    except DoesNotExist:
        return {k: dict(v) for k, v in DEFAULT_MAPPING.items()}
    return {"customer": dict(m.customer or {}), "contact": dict(m.contact or {})}


def get_mapping() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "convert")
    try:
        m = ConversionMapping.get(*ConversionMapping.key(p.tenant_id))
        version = int(m.version)
    except DoesNotExist:
        version = 0
    return {**mapping_of(p.tenant_id), "version": version}


def put_mapping(body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """Replace the mapping (admins: leads:manage). Every pair must name a lead field and a field of
    the target whose type can hold it; the first version needs no If-Match, later ones do."""
    p = org.principal()
    p.require(MODULE, "manage")
    problems = []
    for target, pairs in (("customer", body["customer"]), ("contact", body["contact"])):
        for src, dst in pairs.items():
            s, t = _spec(p.tenant_id, LEAD, src), _spec(p.tenant_id, TARGETS[target], dst)
            if s is None:
                problems.append(detail(f"{target}.{src}", "unknown", "lead.mapping_source"))
            elif t is None:
                problems.append(detail(f"{target}.{src}", "unknown", "lead.mapping_target", target=dst))
            elif not _compatible(s, t):
                problems.append(detail(f"{target}.{src}", "type", "lead.mapping_type", target=dst))
        if len(set(pairs.values())) != len(pairs):
            problems.append(detail(target, "duplicate", "lead.mapping_twice"))
    if problems:
        raise ValidationFailed(details=problems)
    values = {"customer": body["customer"], "contact": body["contact"]}
    item = changes.put_setting(ConversionMapping, ConversionMapping.key(p.tenant_id), p.tenant_id, p.user_id, "lead_mapping",
                               "default", values, expected)
    return {**values, "version": int(item.version)}


def _mapped(tenant_id: str, pairs: dict[str, str], lead: store.EntityRecord, target: EntityDef) -> dict[str, Any]:
    """The target's body from the lead's values (custom values in `custom`), each in the target's form."""
    data, custom = plain(lead.data or {}), plain(lead.custom or {})
    body: dict[str, Any] = {}
    for src, dst in pairs.items():
        value = custom.get(src[7:]) if src.startswith("custom.") else data.get(src)
        t = _spec(tenant_id, target, dst)
        if value in (None, "", []) or t is None:
            continue
        if t.type in _TEXT and isinstance(value, dict):
            value = value.get("name") or value.get("id")
        if dst.startswith("custom."):
            body.setdefault("custom", {})[dst[7:]] = value
        else:
            body[dst] = value
    return body


# ---- converting ------------------------------------------------------------------------------------
def convert(lead_id: str, options: dict[str, Any]) -> dict[str, Any]:
    p = org.principal()
    return _convert(p, engine.load(LEAD, p, lead_id, "convert"), options)


def convert_many(ids: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Bulk convert: each lead on its own (one failing does not stop the others)."""
    p = org.principal()
    p.require(MODULE, "convert")
    items = []
    for lead_id in dict.fromkeys(ids):
        try:
            done = _convert(p, engine.load(LEAD, p, lead_id, "convert"), options)
            items.append({"id": lead_id, "status": 200, "customer_id": done["customer_id"], "contact_id": done["contact_id"],
                          "duplicates": done["duplicates"]})
        except DomainError as e:
            items.append({"id": lead_id, "status": e.status, **e.body(context.locale())})
    return {"items": items, "converted": sum(1 for i in items if i["status"] == 200)}


def _convert(p: Principal, lead: store.EntityRecord, options: dict[str, Any]) -> dict[str, Any]:
    data = plain(lead.data or {})
    if data.get("status") == "converted":
        raise ValidationFailed("LEAD_ALREADY_CONVERTED")
    mapping = mapping_of(p.tenant_id)
    link = {"entity": "lead", "id": lead.id}
    owner = options.get("owner_id") or lead.owner_id
    r = engine.TenantResolver(p)
    drafts: list[engine.Draft] = []
    found: dict[str, list[dict[str, Any]]] = {"customer": [], "contact": []}  # warnings of the duplicate rules
    not_duplicates = [(LEAD.entity, lead.id)]
    if options.get("customer_id"):  # the lead is a new contact of a customer the caller already has
        customer_id = engine.load(CUSTOMER, p, options["customer_id"], "update").id
        not_duplicates.append((CUSTOMER.entity, customer_id))
    else:
        body = _mapped(p.tenant_id, mapping["customer"], lead, CUSTOMER)
        body.setdefault("name", data.get("company") or data.get("name"))
        draft, found["customer"] = _draft(p, CUSTOMER, {**body, "owner_id": owner}, r, link, not_duplicates, drafts)
        drafts.append(draft)
        customer_id = draft.record.id
        r.expecting("customer", customer_id)
    contact_id = None
    if options.get("contact", True):
        body = _mapped(p.tenant_id, mapping["contact"], lead, CONTACT)
        body.setdefault("name", data.get("name"))
        draft, found["contact"] = _draft(p, CONTACT, {**body, "customer": customer_id, "owner_id": owner}, r, link, not_duplicates,
                                         drafts)
        drafts.append(draft)
        contact_id = draft.record.id
    for step in _steps:
        drafts += step(p, lead, customer_id, options, r)
    converted = {**data, "status": "converted", "converted_at": clock.now_iso(),
                 "customer": {"entity": "customer", "id": customer_id},
                 **({"contact": {"entity": "contact", "id": contact_id}} if contact_id else {})}
    lead_ops = store.update_ops(lead, p.user_id, converted, int(lead.version), action="convert")
    tx.write([*(op for dr in drafts for op in dr.ops), *lead_ops])
    for dr in drafts:
        engine.finish(dr)
    engine.publish(LEAD, "converted", lead, p.user_id, customer_id=customer_id, contact_id=contact_id)
    return {"lead": engine.out(LEAD, lead, p), "customer_id": customer_id, "contact_id": contact_id, "duplicates": found}


def _draft(p: Principal, d: EntityDef, body: dict[str, Any], r: engine.TenantResolver, link: dict[str, str],
           not_duplicates: list[tuple[str, str]], earlier: list[engine.Draft]) -> tuple[engine.Draft, list[dict[str, Any]]]:
    """One record of the conversion, checked and built (nothing written), with the readable records a
    warn rule matched; a block rule raises 409 DUPLICATE — also against a record `earlier` in the same
    conversion (a block rule across customers and contacts: the contact may not share its customer's mobile)."""
    try:
        wc, custom, owner_id = engine.checked(d, p, body, r)
        matches = duplicates.on_write(p, d, wc.values, also_exclude=not_duplicates) if d.duplicates else []
        for other in earlier:
            same = duplicates.blocked_between(p.tenant_id, d, wc.values, other.definition, other.wc.values)
            if same:
                raise duplicates.blocked_error(d, wc.values, same)
    except (ValidationFailed, Conflict) as e:  # name the part of the conversion that failed: customer.name, contact.mobile …
        if isinstance(e.details, list):
            e.details = [{**x, "field": f"{d.name}.{x['field']}"} for x in e.details]
        raise
    wc.values["lead"] = link
    return engine.built(d, p, wc, custom, owner_id, takes_over=[(LEAD.entity, link["id"])]), matches
