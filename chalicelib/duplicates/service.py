"""查重: is there already a record like this one?

`check(d, values)` is the function every writer calls — the form as the user types
(POST /v1/duplicates/check), the engine on create and edit of every record type that
declares duplicate checks (EntityDef.duplicates), lead conversion (the customer and the contact
it creates; leads/service.py) and later import.
The values' fields are turned into normalised keys (normalize.py); the tenant's rules
(rules.py) say which kinds count across which record types and whether a match warns or
blocks. The answer:

- `matches`: records the caller may read (their data scope, team grants; one search
  request across the involved types), each with its title as the caller may see it, its
  owner and which of its fields matched which input field. A kind is matched in a type only
  when the caller may read every field of that kind there unmasked — a masked or hidden
  field is never searched (as in lists), so a match can never reveal a masked value.
  Records the caller may not read are never reported, not even counted.
- `blocked` / `blocking`: a block rule matched some record, readable or not (a second,
  unscoped request, only when the first did not already show it). The answer names the
  input field (客户名称), never the record.

Consistency: the check reads the search index, which follows the table through the stream
(about a second behind). Block rules are made strict for that gap with leases
(`lease_ops`): a write that a block rule covers also puts, in its own transaction, one
short-lived item per normalised key (db/unique.UniqueValue, `expires_at` LEASE ahead), so
two writers racing with the same key within the index's lag cannot both succeed. The
leases only have to cover the lag, not the past — older records are in the index — so a
rule change needs no backfill: a new rule's leases start with the next write, a removed
rule's expire. A record deleted within LEASE of its last write still holds its leases
until they expire. While the search engine is unavailable, writes that must be checked are
refused (503 SEARCH_UNAVAILABLE, retry) rather than let through unchecked.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from ..core import clock, context
from ..core.errors import Conflict, NotFound, detail
from ..core.permissions import FieldAccess, Principal
from ..db import keys, tx
from ..db.unique import UniqueValue
from ..engine import registry, visibility
from ..engine.definition import EntityDef
from ..org import service as org
from ..search import rules as search_rules
from ..search import service as search
from ..search.query import EntityQuery, Filter, Scope, SearchRequest, any_of
from . import normalize, rules

MATCH_LIMIT = 20  # readable matches returned (the total is counted)
BLOCK_PROBE = 20  # records read from the unscoped request that looks for blocks
LEASE = timedelta(minutes=10)  # how long a block rule's lease holds a key (longer than any index lag)
MAX_VALUE = 300  # characters of an input value that are compared

Wanted = dict[str, dict[str, list[str]]]  # kind -> key -> input fields holding it


def wanted_keys(d: EntityDef, values: Mapping[str, Any], fields: Iterable[str] | None = None) -> Wanted:
    """kind -> normalised key -> the input fields holding it."""
    only = set(fields) if fields is not None else None
    decl = {f: k for f, k in d.duplicates.items() if only is None or f in only}
    cut = {f: (v[:MAX_VALUE] if isinstance(v, str) else v) for f, v in values.items() if f in decl}
    out: Wanted = {}
    for f, found in normalize.field_keys(decl, cut).items():
        for key in found:
            out.setdefault(decl[f], {}).setdefault(key, []).append(f)
    return out


def _targets(tenant_id: str, d: EntityDef, kinds: Iterable[str]) -> dict[str, tuple[EntityDef, dict[str, str]]]:
    """Record types to look in -> (definition, kind -> warn | block); block wins where rules overlap."""
    out: dict[str, tuple[EntityDef, dict[str, str]]] = {}
    for r in rules.applying(tenant_id, d.name, kinds):
        for t in rules.types_of(r):
            actions = out.setdefault(t.entity, (t, {}))[1]
            if actions.get(r.kind) != "block":
                actions[r.kind] = r.action
    return out


def _readable_kinds(p: Principal, t: EntityDef, kinds: Iterable[str]) -> list[str]:
    """Kinds whose every field of `t` the caller may read unmasked (only those may be searched)."""
    return [k for k in kinds if all(p.field_access(t.module, f) >= FieldAccess.READ for f, fk in t.duplicates.items() if fk == k)]


def entity_query(t: EntityDef, scope: Scope, kinds: Iterable[str], wanted: Wanted, exclude: Iterable[tuple[str, str]] = ()
                 ) -> EntityQuery:
    """One record type's part of a check: records in `scope` sharing a key of `kinds` with `wanted`
    (one of the dup_<kind> fields holds one of the keys), but the records `exclude` ((ENTITY, id) pairs)."""
    return EntityQuery(t.entity, scope, filters=_filters(t, kinds, wanted, exclude))


def any_key(wanted: Wanted) -> Filter:
    """Documents holding any wanted key of any kind: what every type's own conditions narrow down,
    given to the request as a whole so an engine can start from the keys rather than the scope."""
    return any_of(*(Filter(normalize.index_field(k), "in", sorted(keys)) for k, keys in sorted(wanted.items())))


def _filters(t: EntityDef, kinds: Iterable[str], wanted: Wanted, exclude: Iterable[tuple[str, str]]) -> tuple[Filter, ...]:
    same_keys = any_of(*(Filter(normalize.index_field(k), "in", sorted(wanted[k])) for k in sorted(kinds)))
    # the record being edited is not its own duplicate (nor the lead a conversion creates the record from)
    others = tuple(any_of(Filter("id", "range", {"lt": record_id}), Filter("id", "range", {"gt": record_id}))
                   for entity, record_id in dict.fromkeys(exclude) if entity == t.entity)
    return (same_keys, *others)


def _matched(t: EntityDef, src: Mapping[str, Any], wanted: Wanted, kinds: Mapping[str, str],
             seen: set[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """Which fields of a hit hold which wanted keys (from its values, as the index computed them);
    `seen` collects the (kind, key) pairs that matched."""
    out = []
    decl = {f: k for f, k in t.duplicates.items() if k in kinds}
    for f, found in normalize.field_keys(decl, src).items():
        kind = decl[f]
        keys_ = found & set(wanted.get(kind, {}))
        if keys_:
            out.append({"field": f, "kind": kind, "on": sorted({i for key in keys_ for i in wanted[kind][key]}), "action": kinds[kind]})
            if seen is not None:
                seen |= {(kind, key) for key in keys_}
    return out


def check(d: EntityDef, values: Mapping[str, Any], *, exclude_id: str | None = None,
          also_exclude: Iterable[tuple[str, str]] = (), fields: Iterable[str] | None = None, p: Principal | None = None,
          limit: int = MATCH_LIMIT) -> dict[str, Any]:
    """Duplicates of `values` (field -> value of record type `d`) under the tenant's rules.

    `fields`: only these fields are compared (an edit compares what it changes); `exclude_id`:
    the record being edited; `also_exclude`: records of any type, (ENTITY, id), that are not
    duplicates either (the lead a conversion creates a customer from). Returns {blocked, blocking: [{field, kind, label}], matches:
    [{type, id, title, owner_id, matched: [{field, kind, on, action}], action}], total}.
    Reads the search index: records written in the last second or so may not be seen yet
    (block rules close that gap with `lease_ops` in the writer's transaction)."""
    p = p or org.principal()
    result: dict[str, Any] = {"blocked": False, "blocking": [], "matches": [], "total": 0}
    wanted = wanted_keys(d, values, fields)
    targets = _targets(p.tenant_id, d, wanted) if wanted else {}
    if not targets:
        return result
    exclude = [*([(d.entity, exclude_id)] if exclude_id else []), *also_exclude]
    locale = context.locale()
    blocking: set[str] = set()  # input fields a block rule matched
    confirmed: set[tuple[str, str]] = set()  # (kind, key) pairs a readable block match already showed
    # 1. the matches the caller may read: their scope inside the query, readable kinds only
    readable: dict[str, tuple[EntityDef, dict[str, str]]] = {}
    queries = []
    now = clock.now_iso()
    for entity, (t, actions) in targets.items():
        kinds = _readable_kinds(p, t, actions) if p.can(t.module, "read") else []
        if kinds:
            readable[entity] = (t, {k: actions[k] for k in kinds})
            queries.append(entity_query(t, search_rules.scope_for(p, t.module, now=now), kinds, wanted, exclude))
    if queries:
        res = search.run(SearchRequest(p.tenant_id, queries, filters=[any_key(wanted)], sort=[("created_at", "asc")], limit=limit))
        result["total"] = res.total
        for h in res.hits:
            t, kinds = readable[h.entity]
            seen: set[tuple[str, str]] = set()
            matched = _matched(t, h.source, wanted, kinds, seen)
            block = [m for m in matched if m["action"] == "block"]
            confirmed |= {(k, key) for k, key in seen if kinds[k] == "block"}
            blocking |= {f for m in block for f in m["on"]}
            result["matches"].append({"type": t.name, "id": h.id, "title": visibility.title(p, t, h.source.get(t.title_field), locale),
                                      "owner_id": h.source.get("owner_id"), "matched": matched,
                                      "action": "block" if block else "warn"})
    # 2. blocks: any record of the tenant, readable or not (only whether, and on which input field),
    #    for the keys of block rules that step 1 did not already show
    pending: Wanted = {}
    for kind, by_key in wanted.items():
        for key, holders in by_key.items():
            if (kind, key) not in confirmed:
                pending.setdefault(kind, {})[key] = holders
    probes = []
    unproven: dict[str, tuple[EntityDef, dict[str, str]]] = {}
    for entity, (t, actions) in targets.items():
        kinds = [k for k, a in actions.items() if a == "block" and k in pending]
        if kinds:
            unproven[entity] = (t, {k: "block" for k in kinds})
            probes.append(entity_query(t, Scope(None), kinds, pending, exclude))
    if probes:
        res = search.run(SearchRequest(p.tenant_id, probes, filters=[any_key(pending)], limit=BLOCK_PROBE))
        for h in res.hits:
            t, kinds = unproven[h.entity]
            blocking |= {f for m in _matched(t, h.source, pending, kinds) for f in m["on"]}
    if blocking:
        result["blocked"] = True
        result["blocking"] = [{"field": f, "kind": d.duplicates[f], "label": d.field(f).label_in(locale)}
                              for f in d.duplicates if f in blocking]
    return result


def blocked_error(d: EntityDef, values: Mapping[str, Any], fields: Iterable[str]) -> Conflict:
    """409 DUPLICATE naming the input fields (in the caller's language), never the record."""
    locale = context.locale()
    names = [f for f in d.duplicates if f in set(fields)]
    first = d.field(names[0])
    return Conflict("DUPLICATE", field=first.label_in(locale), value=str(values.get(first.key) or "")[:MAX_VALUE],
                    details=[detail(f, "duplicate", "duplicates.blocked", label=d.field(f).label_in(locale)) for f in names])


def on_write(p: Principal, d: EntityDef, values: Mapping[str, Any], *, exclude_id: str | None = None,
             also_exclude: Iterable[tuple[str, str]] = (), fields: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The check of a create or edit (the engine's, a lead conversion's): a block raises 409
    DUPLICATE; else the readable matches (warnings) for the response's `duplicates`."""
    found = check(d, values, exclude_id=exclude_id, also_exclude=also_exclude, fields=fields, p=p)
    if found["blocked"]:
        raise blocked_error(d, values, [b["field"] for b in found["blocking"]])
    return found["matches"]


def lease_ops(tenant_id: str, d: EntityDef, record_id: str, before: Mapping[str, Any], after: Mapping[str, Any], *,
              takes_over: Iterable[tuple[str, str]] = ()) -> list[tx.Op]:
    """The block rules' leases of a write, to join the record's transaction: a key the record
    gains is claimed for LEASE (refused with 409 DUPLICATE while another record of the rule's
    types holds it), a key it drops is released. `takes_over`: records (ENTITY, id) whose leases
    the record may take instead (a conversion's customer and contact take the lead's: it is what
    they are made from, not a duplicate of them)."""
    if not d.duplicates:
        return []
    ops: list[tx.Op] = []
    now = clock.now()
    me = f"{d.entity}#{record_id}"
    mine = [me, *(f"{entity}#{other}" for entity, other in takes_over)]
    for r in rules.applying(tenant_id, d.name, set(d.duplicates.values())):
        if r.action != "block" or d.name not in {t.name for t in rules.types_of(r)}:
            continue
        decl = {f: k for f, k in d.duplicates.items() if k == r.kind}
        old, new = normalize.keys(decl, before).get(r.kind, set()), normalize.keys(decl, after).get(r.kind, set())
        free = UniqueValue.pk.does_not_exist() | UniqueValue.owner_id.is_in(*mine) | (UniqueValue.expires_at < now)
        for key in sorted(new - old):
            holders = [f for f, found in normalize.field_keys(decl, after).items() if key in found]
            lease = UniqueValue(pk=_lease_pk(tenant_id, r, key), sk="UQ", tenant_id=tenant_id, owner_id=me, expires_at=now + LEASE)
            ops.append(tx.put(lease, condition=free, on_conflict=lambda h=holders: blocked_error(d, after, h)))
        for key in sorted(old - new):
            gone = UniqueValue(pk=_lease_pk(tenant_id, r, key), sk="UQ", tenant_id=tenant_id, owner_id=me)
            ops.append(tx.delete(gone, condition=free))
    return ops


def blocked_between(tenant_id: str, d: EntityDef, values: Mapping[str, Any], other: EntityDef, other_values: Mapping[str, Any]
                    ) -> list[str]:
    """The fields of `values` (a record of `d`) that share a key with `other_values` (a record of
    `other`) under a block rule covering both types: for records written in one transaction (a
    conversion's customer and contact), which cannot see each other in the index or take the same
    lease twice."""
    found: set[str] = set()
    for r in rules.applying(tenant_id, d.name, set(d.duplicates.values())):
        if r.action != "block" or not {d.name, other.name} <= {t.name for t in rules.types_of(r)}:
            continue
        theirs = normalize.keys({f: k for f, k in other.duplicates.items() if k == r.kind}, other_values).get(r.kind, set())
        decl = {f: k for f, k in d.duplicates.items() if k == r.kind}
        found |= {f for f, keys_ in normalize.field_keys(decl, values).items() if keys_ & theirs}
    return [f for f in d.duplicates if f in found]


def _lease_pk(tenant_id: str, r: rules.Rule, key: str) -> str:
    value = key if len(key) <= 200 else hashlib.sha256(key.encode()).hexdigest()
    return keys.unique_pk(tenant_id, f"DUP.{r.scope}", value)


# ---- the check endpoint ---------------------------------------------------------------------
def declared(entity: str, tenant_id: str) -> EntityDef:
    """A record type that declares duplicate checks (else 404)."""
    d = registry.find(entity, tenant_id)
    if d is None or not d.duplicates:
        raise NotFound("entity.record_type")
    return d


def check_form(entity: str, values: Mapping[str, Any], exclude_id: str | None) -> dict[str, Any]:
    """POST /v1/duplicates/check: for a form as the user types. The caller must be able to create
    or edit records of the type; `exclude_id` must be a record they may edit."""
    p = org.principal()
    d = declared(entity, p.tenant_id)
    if exclude_id:
        from ..engine import service as engine

        engine.load(d, p, exclude_id, "update")
    elif not p.can(d.module, "update"):
        p.require(d.module, "create")
    return check(d, values, exclude_id=exclude_id, p=p)
