"""The rules every record type shares: create / read / change / delete / list / transfer /
team / hand-over / restore, within the caller's action permissions, data scope, record
team and field rules, with the operation log, unique values and domain events.

Every function takes the record type's `EntityDef`; a module adds its own rules as hooks
(definition.Hooks) and extra routes. Events: `<module>.<entity>.<verb>` on the bus with
ids, the actor and the names of changed fields — never values.
"""
from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..approvals import service as approvals
from ..approvals.models import ApprovalInstance
from ..comments.models import Comment
from ..core import clock, context, i18n
from ..core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import ALL_OWNERS, Principal
from ..db import audit, idempotency, keys, query, tx
from ..db.audit import AuditEntry
from ..db.base import Item, plain
from ..dictionaries import regions
from ..dictionaries import service as dictionaries
from ..duplicates import service as duplicates
from ..duplicates.models import Merge
from ..fields import service as fields
from ..files import service as files
from ..files.models import FileLink
from ..numbering import service as numbering
from ..org import service as org
from ..ports import events
from ..search import documents, schema
from ..search import service as search
from ..search.query import IndexOp
from . import due, family, fieldtypes, registry, store, visibility
from .definition import Derivation, EntityDef, Relation, WriteContext

HANDOVER_PAGE = 100


class TenantResolver:
    """What field validation needs to know, answered for the caller's tenant.

    `kept`: the files a record already holds — they stay valid for whoever edits it; a new file
    must be one the caller uploaded and confirmed (files.usable)."""

    def __init__(self, p: Principal, kept: Iterable[Mapping[str, Any]] = ()) -> None:
        self.p = p
        self.kept = {str(m["id"]): plain(dict(m)) for m in kept}
        self._seen: dict[tuple[str, str], bool] = {}  # a record named in many rows is read once
        # what it read, by (ENTITY, id) — None: created in the same transaction; a parent gives its children their family
        self.loaded: dict[tuple[str, str], store.EntityRecord | None] = {}

    def user_ok(self, user_id: str) -> bool:
        u = self.p.org.users.get(user_id)
        return u is not None and u.active

    def unknown_users(self, user_ids: list[str]) -> set[str]:
        """The tenant's people are one cached read (org.load): every id is checked against it."""
        people = self.p.org.users
        return {uid for uid in user_ids if (u := people.get(uid)) is None or not u.active}

    def department_ok(self, department_id: str) -> bool:
        return department_id in self.p.org.departments

    def code_ok(self, dictionary: str, code: str) -> bool:
        return dictionaries.exists(self.p.tenant_id, dictionary, code)

    def record_ok(self, entity: str, record_id: str) -> bool:
        """The record exists in this tenant and the caller may read it (no existence oracle)."""
        if (entity, record_id) not in self._seen:
            self._seen[(entity, record_id)] = self._readable(entity, record_id)
        return self._seen[(entity, record_id)]

    def expecting(self, entity: str, record_id: str) -> None:
        """A record created in the same transaction (a conversion's customer): references to it are good
        (and a child of it is the first of its family: store.family_of)."""
        self._seen[(entity, record_id)] = True
        self.loaded[(entity.upper(), record_id)] = None

    def _readable(self, entity: str, record_id: str) -> bool:
        d = registry.find(entity, self.p.tenant_id)
        if d is None:
            return False
        try:
            self.loaded[(d.entity, record_id)] = load(d, self.p, record_id, "read")
        except (NotFound, Forbidden):
            return False
        return True

    def file_ok(self, ref: Any) -> dict[str, Any] | None:
        file_id = files.ref_id(ref)
        if file_id in self.kept:
            return self.kept[file_id]
        return files.usable(self.p.tenant_id, self.p.user_id, ref)

    def region_name(self, code: str) -> str | None:
        return regions.name(code)


# ---- reading ---------------------------------------------------------------------------------
def present(d: EntityDef, src: dict[str, Any], p: Principal) -> dict[str, Any]:
    """A record as the caller may see it, from its document source (search hits and reads alike)."""
    team = src.get("team") or {}
    access = p.record_access(d.module, src["owner_id"], team, clock.now_iso()) or "read"
    return {**visibility.values(p, d, src), "id": src["id"], "owner_id": src["owner_id"], "access": access,
            "created_at": src["created_at"], "created_by": src["created_by"], "updated_at": src["updated_at"],
            "version": src["version"], "custom": visibility.custom(p, d, src.get("custom")),
            "team": [{"user_id": u, **g} for u, g in sorted(team.items())]}


def card(d: EntityDef, src: dict[str, Any], p: Principal) -> dict[str, Any]:
    """Global-search summary: the title, with the card fields the caller may see."""
    shown = visibility.some(p, d, src, (d.title_field, *d.card_fields))
    return {"title": shown.get(d.title_field),
            "subtitle": " · ".join(str(v) for k, v in shown.items() if k != d.title_field and v not in (None, "")),
            "owner_id": src["owner_id"]}


def out(d: EntityDef, rec: store.EntityRecord, p: Principal) -> dict[str, Any]:
    return present(d, documents.source(rec), p)


def load(d: EntityDef, p: Principal, record_id: str, action: str) -> store.EntityRecord:
    p.require(d.module, action)  # without the action, whether the record exists is not told
    rec = store.get(p.tenant_id, d.entity, record_id, d.name_key)
    p.require_record(d.module, action, rec.owner_id, rec.team, clock.now_iso(), d.name_key)
    if not in_audience(d, p, rec):
        raise NotFound(d.name_key)
    return rec


def in_audience(d: EntityDef, p: Principal, rec: store.EntityRecord) -> bool:
    """A record of a type that reaches an audience is there for `p` only when they are in it."""
    if d.audience is None:
        return True
    keys = d.audience.keys(p)
    return keys is None or bool(set(keys) & set(plain((rec.data or {}).get(d.audience.field)) or ()))


def get(d: EntityDef, record_id: str) -> dict[str, Any]:
    p = org.principal()
    return out(d, load(d, p, record_id, "read"), p)


def require_read(d: EntityDef, record_id: str) -> None:
    """Reading a record's operation log or timeline needs read access to the record."""
    load(d, org.principal(), record_id, "read")


def relations(d: EntityDef, tenant_id: str) -> list[Relation]:
    """The record types whose records hang under `d`'s records (their parent field names `d`)."""
    return [Relation(c.name, c.parent_field, tuple(c.parent_cascade)) for c in registry.every(tenant_id)
            if c.parent_field and d.name in c.parent_types()]


def related(d: EntityDef, record_id: str) -> dict[str, Any]:
    """A record with every related list the caller may read (客户360): its children of each related
    type, the children of those whose type rolls up (EntityDef.rolls_up: a customer's contracts
    bring their payment plans, payments and invoices), and the current approval of each of them as
    the records say it (approval id and status are facts every reader of a record may know).

    The record (GetItem: permissions are decided on it), then one Query: of its family (gsi5,
    engine/family.py) when a type of its children rolls up — whatever the number of contracts —,
    else of its collection (gsi3). A tenant whose older records are still being given their family
    keys reads as before: the record's collection, and one Query per rolling-up child, side by side."""
    p = org.principal()
    rec = load(d, p, record_id, "read")
    now = clock.now_iso()
    lists: dict[str, list[dict[str, Any]]] = {r.child: [] for r in relations(d, p.tenant_id)}
    approvals_: list[dict[str, Any]] = []

    def take(children: list[store.EntityRecord], parents: list[tuple[EntityDef, store.EntityRecord]] | None) -> None:
        for child in children:
            cd = registry.find(child.entity.lower(), p.tenant_id)
            if cd is None or child.deleted_at or not p.can(cd.module, "read") or \
                    p.record_access(cd.module, child.owner_id, child.team, now) is None:
                continue
            shown = out(cd, child, p)
            lists.setdefault(cd.name, []).append(shown)
            if shown.get("approval_id"):
                approvals_.append(_approval_card(cd, shown))
            if parents is not None and cd.rolls_up:
                parents.append((cd, child))

    parents: list[tuple[EntityDef, store.EntityRecord]] = []
    rolling = any((cd := registry.find(r.child, p.tenant_id)) is not None and cd.rolls_up for r in relations(d, p.tenant_id))
    if not rolling:  # nothing under it brings children along: its collection is the whole 360
        take(store.collection(p.tenant_id, d.entity, rec.id), None)
    else:
        members = family.members(rec) if family.ready(p.tenant_id) else None  # {parent partition: its children}
        if members is None and family.queues_on_read():  # deployed: the back-fill is a deployment step
            family.start_backfill(p)
        take(store.collection(p.tenant_id, d.entity, rec.id) if members is None else members.get(rec.pk, []), parents)
        for cd, _child in parents:
            for r in relations(cd, p.tenant_id):
                lists.setdefault(r.child, [])
        if members is not None:
            for _cd, child in parents:
                take(members.get(child.pk, []), None)
        elif parents:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(8, len(parents))) as pool:
                for children in pool.map(lambda pc: store.collection(p.tenant_id, pc[1].entity, pc[1].id), parents):
                    take(children, None)
    record = out(d, rec, p)
    if record.get("approval_id"):
        approvals_.append(_approval_card(d, record))
    approvals_.sort(key=lambda a: a["updated_at"] or "", reverse=True)
    return {"record": record, "related": lists, "approvals": approvals_}


def _approval_card(d: EntityDef, shown: dict[str, Any]) -> dict[str, Any]:
    """A record's current approval, from the record as the caller sees it (GET /v1/approvals/{id} has the rest)."""
    status = shown.get("approval_status") or "none"
    return {"id": shown["approval_id"], "status": "running" if status == "pending" else status,
            "record": {"entity": d.name, "id": shown["id"]}, "title": shown.get(d.title_field), "updated_at": shown.get("updated_at")}


TIMELINE_MAX = 100


def timeline(d: EntityDef, record_id: str, limit: int = 50) -> dict[str, Any]:
    """A record's history as one stream, newest first: its operation log (field rules applied),
    its related records the caller may read, its approvals and its attachments — one Query of
    the log and one of the record's collection (gsi3) — and, for each record merged into it, the
    merge and that record's log (entries marked `merged_from`; one more Query per merged record)."""
    p = org.principal()
    rec = load(d, p, record_id, "read")
    limit = max(1, min(limit, TIMELINE_MAX))
    logged, _ = query.page(AuditEntry, audit.log_pk(p.tenant_id, d.entity, rec.id), limit=limit, cursor=None)
    items: list[dict[str, Any]] = []
    for e in logged:
        entry = audit.as_dict(e)
        items.append({"at": entry["at"], "kind": "log", "action": entry["action"], "actor_id": entry["actor_id"],
                      "changes": shape_log(d.name, entry["changes"]), "note": entry["note"]})
    merged: list[Merge] = []
    now = clock.now_iso()
    for item in Item.gsi3.query(store.parent_partition(p.tenant_id, d.entity, rec.id), scan_index_forward=False,
                                limit=limit * 3):
        if isinstance(item, store.EntityRecord):
            cd = registry.find(item.entity, p.tenant_id)
            if cd is None or item.deleted_at or not p.can(cd.module, "read") or \
                    p.record_access(cd.module, item.owner_id, item.team, now) is None:
                continue
            items.append({"at": item.created_at, "kind": "record", "type": cd.name, "id": item.id,
                          "title": card(cd, documents.source(item), p)["title"], "owner_id": item.owner_id})
        elif isinstance(item, ApprovalInstance):  # the record's approval instances (submitted by whoever may change it)
            items.append({"at": item.created_at, "kind": "approval", "id": item.id,
                          "title": approval_title(p, d.entity, item.title or "", context.locale()),
                          "status": getattr(item, "status", None), "applicant_id": getattr(item, "owner_id", None)})
        elif isinstance(item, FileLink) and getattr(item, "kind", None) == "attachment":
            items.append({"at": item.created_at, "kind": "attachment", "file_id": item.file_id, "name": item.name,
                          "by": item.created_by})
        elif isinstance(item, Merge):  # a record merged into this one (merge.py): its log is linked, not copied
            merged.append(item)
        elif isinstance(item, Comment) and not item.deleted_at:  # 评论 (chalicelib/comments): plain text
            items.append({"at": item.created_at, "kind": "comment", "id": item.id, "by": item.author_id, "body": item.body})
        elif hasattr(item, "timeline_entry"):  # a module's own entry in the record's collection (a mail: mail/models.py)
            items.append(item.timeline_entry())
    for m in merged:
        items.append({"at": m.created_at, "kind": "merge", "id": m.record_id, "by": m.created_by})
        logged, _ = query.page(AuditEntry, audit.log_pk(p.tenant_id, m.entity, m.record_id), limit=limit, cursor=None)
        for e in logged:
            entry = audit.as_dict(e)
            items.append({"at": entry["at"], "kind": "log", "action": entry["action"], "actor_id": entry["actor_id"],
                          "changes": shape_log(d.name, entry["changes"]), "note": entry["note"], "merged_from": m.record_id})
    items.sort(key=lambda i: i["at"] or "", reverse=True)
    return {"items": items[:limit]}


def search_schema(d: EntityDef) -> schema.EntitySchema:
    return schema.schema_for(d) if d.custom else schema.get(d.entity)


def list_records(d: EntityDef, params: dict[str, Any]) -> dict[str, Any]:
    """One page from the search index, within the data scope (see search/service.py)."""
    p = org.principal()
    if d.default_sort and not params.get("sort") and not (params.get("q") or "").strip() and not params.get("view"):
        params = {**params, "sort": d.default_sort}
    return search.list_page(p, search_schema(d), params, lambda src, who: present(d, src, who))


def index_op(rec: store.EntityRecord, *, removed: bool = False) -> IndexOp | None:
    """The index operation of a record change (stream indexer, reindex); None for a type the
    index does not hold."""
    d = registry.find(rec.entity, rec.tenant_id)
    if d is not None and d.custom and set(rec.data or {}) - {f.key for f in d.fields}:
        d = registry.find(rec.entity, rec.tenant_id, fresh=True)  # a field added a moment ago in another container
    if d is None:
        return None
    es = search_schema(d)
    if removed:
        return documents.delete_op(rec, es)
    slots = fields.slots(rec.tenant_id, d.entity) if d.features.custom_fields else {}
    return documents.index_op(rec, slots, es)


# ---- writing ---------------------------------------------------------------------------------
def _check_owner(d: EntityDef, p: Principal, owner_id: str) -> None:
    u = p.org.users.get(owner_id)
    if u is None or not u.active:
        raise ValidationFailed(details=[fieldtypes.error("owner_id", "invalid", "field.user")])
    owners = p.visible_owners(d.module)
    if owners is not ALL_OWNERS and owner_id not in owners:
        raise ValidationFailed(details=[fieldtypes.error("owner_id", "scope", "field.owner_scope")])


def _refuse_read_only(d: EntityDef, body: dict[str, Any]) -> None:
    bad = [k for k in body if (f := d.field(k)) is not None and f.readonly]
    if bad:
        raise ValidationFailed(details=[fieldtypes.error(k, "read_only", "field.read_only") for k in bad])


def _custom(d: EntityDef, p: Principal, given: dict[str, Any] | None, current: dict[str, Any] | None,
            r: TenantResolver) -> dict[str, Any]:
    if not d.features.custom_fields:
        if given:
            raise ValidationFailed(details=[fieldtypes.error("custom", "unknown", "field.unknown")])
        return dict(current or {})
    if given:
        p.require_writable(d.module, [f"custom.{k}" for k in given])
    return fields.validate(p.tenant_id, d.entity, given or {}, r, current=current)


def _unique_ops(d: EntityDef, rec: store.EntityRecord, before: dict[str, Any], p: Principal) -> list[tx.Op]:
    ops: list[tx.Op] = []
    for f in d.fields:
        if f.unique:
            ops += store.claim_ops(rec, f.key, f.label_in(fieldtypes.locale()), before.get(f.key), (rec.data or {}).get(f.key))
    return ops


def _file_ops(d: EntityDef, rec: store.EntityRecord, before: Mapping[str, Any], after: Mapping[str, Any], actor: str) -> list[tx.Op]:
    """The record's links to the files in its values (so its readers may download them)."""
    return files.link_ops(rec.tenant_id, d.entity, rec.id, files.file_ids(fieldtypes.stored_files(d.fields, before)),
                          files.file_ids(fieldtypes.stored_files(d.fields, after)), actor)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def publish(d: EntityDef, verb: str, rec: store.EntityRecord, actor: str, changed: list[str] | None = None,
            **extra: Any) -> None:
    """The one place a record change becomes a domain event (ids, actor, changed field names)."""
    metric(f"{d.events_of}.{d.name}.{verb}")
    if not d.features.events:
        return
    detail = {"entity": d.name, "id": rec.id, "owner_id": rec.owner_id, "actor_id": actor, **extra}
    if changed is not None:
        detail["changed"] = changed
    events.publish(d.events_of, f"{d.events_of}.{d.name}.{verb}", rec.tenant_id, detail)


def _run(hook: Any, wc: WriteContext) -> None:
    if hook is not None:
        hook(wc)


def _holdings(d: EntityDef, tenant_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tx.Op]:
    """The type's writes for a change of who holds a record and how (limits' counters), if any."""
    if d.hooks.holdings is None or before == after:
        return []
    return list(d.hooks.holdings(tenant_id, before, after))


def holdings_of(d: EntityDef, tenant_id: str, records: Iterable[store.EntityRecord]) -> list[tx.Op]:
    """The holdings writes of many records created together, in one transaction: the type's
    Hooks.holdings_many sums them (one write per counter item), else each record's own."""
    held = [(None, store.holding(rec)) for rec in records]
    if not held:
        return []
    if d.hooks.holdings_many is not None:
        return list(d.hooks.holdings_many(tenant_id, held))
    return [op for before, after in held for op in _holdings(d, tenant_id, before, after)]


def _settled(hook: Any, wc: WriteContext) -> None:
    """After a committed write, delete or restore: the type's own hook, then its due-date
    reminders follow the record (engine/due.py; its timers follow through the table stream), then
    what the write left to do once committed (the reminders of records it stamped)."""
    _run(hook, wc)
    d = wc.definition
    if wc.record is not None and due.reminding(d):
        due.sync(d, wc.record, {} if wc.action == "create" else wc.before if wc.action == "update" else None)
    for then in wc.then:
        then()


def kept_team(d: EntityDef, rec: store.EntityRecord, data: Mapping[str, Any], owner_id: str,
              team: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The record team its type keeps from its values (Hooks.team) when it differs from the one it
    has (or `team`, the one this write gives it); None: nothing to change."""
    current = plain(dict(team if team is not None else rec.team or {}))
    if d.hooks.team is None:
        return None if team is None else current
    kept = plain(d.hooks.team(data, owner_id, current))
    return kept if kept != plain(dict(rec.team or {})) else None


def derived(d: EntityDef, tenant_id: str, rec: store.EntityRecord | None, owner_before: str | None, owner_id: str,
            data: dict[str, Any]) -> dict[str, Any]:
    """The record's values with what its type derives from them (Hooks.derive), for any write."""
    if d.hooks.derive is None:
        return data
    out_ = {**data, **d.hooks.derive(Derivation(tenant_id, rec.id if rec else "", rec.created_at if rec else clock.now_iso(),
                                                owner_before, owner_id, data))}
    return {k: v for k, v in out_.items() if v is not None}


def rederive(d: EntityDef, rec: store.EntityRecord, action: str) -> bool:
    """Write a record's derived values again as its type now derives them (the rules they come from
    changed); True if they moved. Versioned on what was read, logged as `action` by the system; its
    timers follow through the table stream."""
    data = plain(rec.data or {})
    new = derived(d, rec.tenant_id, rec, rec.owner_id, rec.owner_id, data)
    if new == data:
        return False
    tx.write(store.update_ops(rec, "system", new, int(rec.version), action=action, parent=d.parent_of(new)))
    return True


def rederive_one(d: EntityDef, tenant_id: str, record_id: str, action: str, attempts: int = 3) -> int:
    """Re-read one record consistently and re-derive it (1 if its derived values moved); a concurrent
    change wins and the record is derived again."""
    for _ in range(attempts):
        try:
            rec = store.get(tenant_id, d.entity, record_id, d.name_key, consistent=True)
        except NotFound:
            return 0
        try:
            return int(rederive(d, rec, action))
        except Conflict:
            continue
    return 0


def walk_rederive(d: EntityDef, tenant_id: str, pk: str, index: str, action: str) -> tuple[int, int]:
    """Every live record of one index partition (a tenant's, an owner's), re-derived where what it
    derives moves — a record whose values stay is neither read again nor written. (seen, moved)."""
    seen = moved = 0
    cursor = None
    while True:
        items, cursor = query.page(store.EntityRecord, pk, index=index, limit=HANDOVER_PAGE, cursor=cursor)
        for listed in items:
            if not isinstance(listed, store.EntityRecord) or listed.deleted_at or listed.entity != d.entity:
                continue
            seen += 1
            data = plain(listed.data or {})
            if derived(d, tenant_id, listed, listed.owner_id, listed.owner_id, data) != data:
                moved += rederive_one(d, tenant_id, listed.id, action)
        if not cursor:
            return seen, moved


class StaleStamp(Conflict):
    """The record a write stamps changed between reading and writing it (a create tries again)."""


STAMP_ATTEMPTS = 8  # a busy record (many follow-ups at once) still lets each of them through


def backoff(attempt: int) -> None:
    """A short random wait before reading a busy record again, so retries do not collide in step."""
    time.sleep(random.uniform(0, 0.01 * (attempt + 1)))



def stamp_ops(d: EntityDef, wc: WriteContext, rec: store.EntityRecord, data: dict[str, Any], action: str) -> list[tx.Op]:
    """Another record's values changed by this write, in its transaction (a follow-up stamps the
    record it is about): versioned on what was read — a concurrent change of that record is never
    overwritten; a create reads it again and retries —, logged as `action`, derived, and its
    reminders follow once the write has committed."""
    before = rec.values()
    data = derived(d, wc.principal.tenant_id, rec, rec.owner_id, rec.owner_id, data)
    ops = store.update_ops(rec, wc.principal.user_id, data, int(rec.version), action=action, parent=d.parent_of(data))
    if ops:
        ops[0].on_conflict = StaleStamp
        if due.reminding(d):
            wc.then.append(lambda: due.sync(d, rec, before))
    return ops


@dataclass
class Draft:
    """A record about to be created: checked, built, its writes gathered. `create()` commits one;
    a composite change (a lead's conversion) commits several in one transaction, then `finish()`es
    each (domain event, after-write hooks)."""

    definition: EntityDef
    wc: WriteContext
    ops: list[tx.Op]

    @property
    def record(self) -> store.EntityRecord:
        return self.wc.record


def checked(d: EntityDef, p: Principal, body: dict[str, Any], r: TenantResolver | None = None
            ) -> tuple[WriteContext, dict[str, Any], str]:
    """A create's input checked: (its write context, custom values, owner) — nothing written."""
    p.require(d.module, "create")
    request = dict(body)
    values_in = {k: v for k, v in request.items() if k not in ("owner_id", "custom")}
    owner_id = request.get("owner_id") or p.user_id
    _check_owner(d, p, owner_id)
    _refuse_read_only(d, values_in)
    p.require_writable(d.module, [k for k, v in values_in.items() if k != d.title_field and v is not None])
    r = r or TenantResolver(p)
    values = {k: v for k, v in fieldtypes.validate(d.fields, values_in, r, creating=True, rules=d.rules).items()
              if v is not None}
    custom = _custom(d, p, request.get("custom"), None, r)
    wc = WriteContext(p, d, None, "create", values, loaded=getattr(r, "loaded", {}))
    _run(d.hooks.validate, wc)
    return wc, custom, owner_id


def built(d: EntityDef, p: Principal, wc: WriteContext, custom: dict[str, Any], owner_id: str,
          record_id: str | None = None, *, takes_over: Iterable[tuple[str, str]] = (), holdings: bool = True) -> Draft:
    """The record of a checked create and every write it takes (record, log entry, unique values,
    file links, the type's own, the leases of duplicate block rules — `takes_over`: records whose
    leases it may take, duplicates.lease_ops), not yet committed. `holdings=False`: without the
    type's holdings writes — a caller committing many creates at once adds `holdings_of()` for them."""
    if d.features.numbering and d.features.number_field:  # 编号: drawn atomically; a retried create may leave a gap
        wc.values[d.features.number_field] = numbering.draw(p.tenant_id, d.features.numbering)["number"]
    wc.values = derived(d, p.tenant_id, None, None, owner_id, wc.values)
    parent = d.parent_of(wc.values)
    rec = store.new(p.tenant_id, d.entity, p.user_id, owner_id, wc.values, custom, record_id=record_id, parent=parent,
                    family=store.family_of(p.tenant_id, parent, wc.loaded) if parent else None)
    if d.hooks.team is not None:
        rec.team = d.hooks.team(wc.values, owner_id, {})
    wc.record = rec
    _run(d.hooks.before_write, wc)
    ops = [*store.create_ops(rec, p.user_id), *_unique_ops(d, rec, {}, p), *_file_ops(d, rec, {}, wc.values, p.user_id),
           *wc.extra_ops, *(_holdings(d, p.tenant_id, None, store.holding(rec)) if holdings else []),
           *duplicates.lease_ops(p.tenant_id, d, rec.id, {}, wc.values, takes_over=takes_over)]
    if parent:  # the family it joins is still its parent's when it commits (a contract moving meanwhile)
        ops += family.parent_checks(p.tenant_id, parent, wc.loaded, ops, StaleStamp)
    return Draft(d, wc, ops)


def finish(draft: Draft) -> None:
    """After the commit: the domain event and the type's after-write hook."""
    rec, p = draft.record, draft.wc.principal
    publish(draft.definition, "created", rec, p.user_id, sorted(rec.values()))
    _settled(draft.definition.hooks.after_write, draft.wc)


def create(d: EntityDef, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    p = org.principal()
    wc, custom, owner_id = checked(d, p, body)

    def replay(record_id: str) -> dict[str, Any]:
        rec = store.get(p.tenant_id, d.entity, record_id, d.name_key)
        return _with_duplicates(d, out(d, rec, p), lambda: duplicates.check(d, plain(rec.data or {}), exclude_id=rec.id, p=p)["matches"])

    try:  # 查重: a block rule refuses (409 DUPLICATE), warnings come back with the record
        found = duplicates.on_write(p, d, wc.values) if d.duplicates else []
    except Conflict as e:
        earlier = idempotency.earlier(p.tenant_id, p.user_id, idempotency_key, body) if e.code == "DUPLICATE" else None
        if earlier is None:
            raise
        return replay(earlier)  # a retried create whose first attempt went through matches itself

    def do_create(extra: list[tx.Op], bind: Any) -> dict[str, Any]:
        for attempt in range(STAMP_ATTEMPTS):
            wc.extra_ops.clear()
            wc.then.clear()
            draft = built(d, p, wc, custom, owner_id)
            bind(draft.record.id)
            try:
                tx.write([*extra, *draft.ops])  # the idempotency marker first: a retry replays rather than meet its own leases
            except StaleStamp:
                if attempt == STAMP_ATTEMPTS - 1:
                    raise
                backoff(attempt)  # the record it stamps (or its parent) changed meanwhile: read it again
                family.reread(wc.loaded)
                continue
            finish(draft)
            return _with_duplicates(d, out(d, draft.record, p), lambda: found)
        raise AssertionError("unreachable")

    return idempotency.run(p.tenant_id, p.user_id, idempotency_key, body, d.entity, do_create, replay)


def _with_duplicates(d: EntityDef, shown: dict[str, Any], matches: Any) -> dict[str, Any]:
    """The create/update response of a type that declares duplicate checks carries `duplicates`:
    the records the caller may read that a warn rule matched (empty when none)."""
    return {**shown, "duplicates": matches()} if d.duplicates else shown


def _not_in_review(d: EntityDef, rec: store.EntityRecord) -> None:
    if d.features.approval and (rec.data or {}).get("approval_status") == "pending":
        raise ValidationFailed("INVALID_STATE", reason="approval.status.running")


def update(d: EntityDef, record_id: str, changes: dict[str, Any], expected: int) -> dict[str, Any]:
    p = org.principal()
    return update_record(d, p, load(d, p, record_id, "update"), changes, expected)


def update_record(d: EntityDef, p: Principal, rec: store.EntityRecord, changes: dict[str, Any], expected: int,
                  *, check_duplicates: bool = True) -> dict[str, Any]:
    """An update of a record loaded with the update action (`update()`; an import's overwrite,
    which already chose the record as the row's duplicate: `check_duplicates=False`)."""
    _not_in_review(d, rec)
    changes = dict(changes)
    custom_in = changes.pop("custom", None)  # null or {} leaves the custom values as they are
    _refuse_read_only(d, changes)
    p.require_writable(d.module, list(changes))
    r = TenantResolver(p, kept=fieldtypes.stored_files(d.fields, plain(rec.data or {})))
    clean = fieldtypes.validate(d.fields, changes, r, creating=False, rules=d.rules, current=plain(rec.data or {}))
    before = rec.values()
    data = {**(rec.data or {}), **clean}
    data = {k: v for k, v in data.items() if v is not None}
    custom = _custom(d, p, custom_in, plain(rec.custom or {}), r) if custom_in else None
    wc = WriteContext(p, d, rec, "update", data, before)
    _run(d.hooks.validate, wc)
    old_data, held = plain(rec.data or {}), store.holding(rec)
    wc.values = derived(d, p.tenant_id, rec, rec.owner_id, rec.owner_id, wc.values)
    # 查重 on what the edit changes (an old duplicate does not block editing something else)
    changed_keys = [f for f in d.duplicates if old_data.get(f) != plain(wc.values.get(f))]
    found = duplicates.on_write(p, d, wc.values, exclude_id=rec.id, fields=changed_keys) \
        if changed_keys and check_duplicates else []
    parent, gives = d.parent_of(wc.values), store.children_partition(rec)
    moved = parent is not None and store.parent_partition(p.tenant_id, *parent) != rec.gsi3pk
    ops = store.update_ops(rec, p.user_id, wc.values, expected, custom=custom, parent=parent,
                           family=store.family_of(p.tenant_id, parent, r.loaded) if moved else None,
                           team=kept_team(d, rec, wc.values, rec.owner_id))
    if ops:
        _run(d.hooks.before_write, wc)
        following, later = family.follow_ops(rec, gives)  # a record whose type rolls up takes its children along
        if later:  # before the write: a crash after it never leaves the children in the old family
            family.queue(p, rec, after=int(rec.version or 0) + 1)
        writes = [*ops, *_unique_ops(d, rec, old_data, p), *_file_ops(d, rec, old_data, wc.values, p.user_id), *wc.extra_ops,
                  *_holdings(d, p.tenant_id, held, store.holding(rec)), *duplicates.lease_ops(p.tenant_id, d, rec.id, old_data, wc.values),
                  *following]
        if moved:
            writes += family.parent_checks(p.tenant_id, parent, r.loaded, writes, StaleStamp)
        tx.write(writes)
        publish(d, "updated", rec, p.user_id, _changed(before, rec.values()))
        _settled(d.hooks.after_write, wc)
    return _with_duplicates(d, out(d, rec, p), lambda: found)


def change(d: EntityDef, p: Principal, rec: store.EntityRecord, values: dict[str, Any], expected: int | None, *,
           action: str, verb: str, owner_id: str | None = None, team: dict[str, Any] | None = None,
           extra: list[tx.Op] | None = None) -> dict[str, Any]:
    """A module's own change of fields it maintains (read-only to clients, e.g. 锁定, 公海), and of
    the owner or team when it moves a record (claim, put back): versioned, logged as `action`,
    counted (holdings), committed with `extra`, published as `verb`, like any update."""
    held, before = store.holding(rec), rec.values()
    data = {k: v for k, v in {**plain(rec.data or {}), **values}.items() if v is not None}
    data = derived(d, p.tenant_id, rec, rec.owner_id, owner_id or rec.owner_id, data)
    team = kept_team(d, rec, data, owner_id or rec.owner_id, team)
    ops = store.update_ops(rec, p.user_id, data, expected, owner_id=owner_id, team=team, action=action,
                           parent=d.parent_of(data))
    if ops:
        tx.write([*ops, *_holdings(d, p.tenant_id, held, store.holding(rec)), *(extra or [])])
        publish(d, verb, rec, p.user_id, _changed(before, rec.values()))
        _settled(d.hooks.after_write, WriteContext(p, d, rec, "update", data, before))
    return out(d, rec, p)


CASCADE_CHUNK = 40  # children per transaction (each is its item + its log entry; DynamoDB takes 100 writes)


def _cascading(d: EntityDef, p: Principal, rec: store.EntityRecord, verb: str,
               types: list[str] | None = None) -> list[tuple[EntityDef, store.EntityRecord]]:
    """Children the parent's `verb` carries along: their type declares it (or the caller chose the type)."""
    wanted = {r.child for r in relations(d, p.tenant_id) if (verb in r.cascade if types is None else r.child in types)}
    if not wanted:
        return []
    out_ = []
    for child in store.collection(p.tenant_id, d.entity, rec.id):
        cd = registry.find(child.entity, p.tenant_id)
        if cd is not None and cd.name in wanted:
            out_.append((cd, child))
    return out_


def _in_chunks(ops_of: list[list[tx.Op]]) -> None:
    for i in range(0, len(ops_of), CASCADE_CHUNK):
        tx.write([op for ops in ops_of[i:i + CASCADE_CHUNK] for op in ops])


def _may_change(p: Principal, cd: EntityDef, child: store.EntityRecord, action: str) -> bool:
    return p.can(cd.module, action) and p.record_access(cd.module, child.owner_id, child.team, clock.now_iso()) == "write"


def delete(d: EntityDef, record_id: str, expected: int) -> None:
    """To the recycle bin, with the children whose type cascades deletes (they come back with it).
    A record in review stays until its approval ends; a cascade the caller may not do is refused."""
    p = org.principal()
    rec = load(d, p, record_id, "delete")
    _not_in_review(d, rec)
    children = [(cd, c) for cd, c in _cascading(d, p, rec, "delete") if not c.deleted_at]
    if any(not _may_change(p, cd, c, "delete") for cd, c in children):
        raise Forbidden("RECORD_FORBIDDEN")
    wc = _before(d.hooks.before_delete, WriteContext(p, d, rec, "delete", plain(rec.data or {})))
    taken = [(cd, c, _before(cd.hooks.before_delete, WriteContext(p, cd, c, "delete", plain(c.data or {})))) for cd, c in children]
    held = store.holding(rec)
    tx.write([*store.soft_delete_ops(rec, p.user_id, expected, d.features.private), *_holdings(d, p.tenant_id, held, None),
              *wc.extra_ops])
    publish(d, "deleted", rec, p.user_id)
    _settled(d.hooks.on_delete, wc)
    _in_chunks([[*_holdings(cd, p.tenant_id, store.holding(c), None),
                 *store.soft_delete_ops(c, p.user_id, None, cd.features.private, with_parent=f"{d.entity}#{rec.id}"), *cwc.extra_ops]
                for cd, c, cwc in taken])
    for cd, c, cwc in taken:
        publish(cd, "deleted", c, p.user_id, with_parent=rec.id)
        _settled(cd.hooks.on_delete, cwc)


def _before(hook: Any, wc: WriteContext) -> WriteContext:
    """A type's check before a delete or a restore (it may refuse, or add writes to it)."""
    _run(hook, wc)
    return wc


def restore(d: EntityDef, rec: store.EntityRecord, p: Principal) -> None:
    """Back from the recycle bin (the caller's right to do so is the bin's to check), with the
    children its deletion took along; a merged record takes back what its merge moved (merge.py)."""
    if rec.merged_into:
        from . import merge

        merge.undo(d, rec, p)
        return
    if not rec.deleted_at:
        raise ValidationFailed("NOT_IN_RECYCLE_BIN")
    wc = _before(d.hooks.before_restore, WriteContext(p, d, rec, "restore", plain(rec.data or {})))
    mark = f"{d.entity}#{rec.id}"
    children = [(cd, c) for cd, c in _cascading(d, p, rec, "delete") if c.deleted_at and c.deleted_with == mark]
    taken = [(cd, c, _before(cd.hooks.before_restore, WriteContext(p, cd, c, "restore", plain(c.data or {})))) for cd, c in children]
    ops = store.restore_ops(rec, p.user_id, d.parent_of(rec.data or {}))
    tx.write([*ops, *_holdings(d, p.tenant_id, None, store.holding(rec)), *wc.extra_ops])
    publish(d, "restored", rec, p.user_id)
    _settled(d.hooks.on_restore, wc)
    _in_chunks([[*_restored_with_holdings(cd, c, p), *cwc.extra_ops] for cd, c, cwc in taken])
    for cd, c, cwc in taken:
        publish(cd, "restored", c, p.user_id, with_parent=rec.id)
        _settled(cd.hooks.on_restore, cwc)


def _restored_with_holdings(d: EntityDef, rec: store.EntityRecord, p: Principal) -> list[tx.Op]:
    ops = store.restore_ops(rec, p.user_id, d.parent_of(rec.data or {}))
    return [*ops, *_holdings(d, p.tenant_id, None, store.holding(rec))]


def purge(d: EntityDef, rec: store.EntityRecord, p: Principal) -> None:
    """Removed for good: the record, the unique values it held, and what the type's before_purge hook adds."""
    releases = [op for f in d.fields if f.unique
                for op in store.claim_ops(rec, f.key, f.key, (rec.data or {}).get(f.key), None)]
    wc = _before(d.hooks.before_purge, WriteContext(p, d, rec, "purge", plain(rec.data or {})))
    tx.write([*store.purge_ops(rec, p.user_id), *releases, *wc.extra_ops])
    publish(d, "purged", rec, p.user_id)


def transfer(d: EntityDef, record_id: str, to_user_id: str, keep_previous_owner_as: str, expected: int | None,
             cascade: list[str] | None = None) -> dict[str, Any]:
    """转移: the record, and the previous owner's children of the related types in `cascade`
    (default: the types that declare transfers cascade), to an active user."""
    p = org.principal()
    rec = load(d, p, record_id, "transfer")
    target = p.org.users.get(to_user_id)
    if target is None or not target.active:
        raise ValidationFailed(details=[fieldtypes.error("to_user_id", "invalid", "field.user")])
    if cascade is not None:
        known = {r.child for r in relations(d, p.tenant_id)}
        unknown = [i for i, t in enumerate(cascade) if t not in known]
        if unknown:
            raise ValidationFailed(details=[fieldtypes.error(f"cascade.{i}", "unknown", "object.unknown_type") for i in unknown])
    previous = rec.owner_id
    _transfer(d, rec, to_user_id, keep_previous_owner_as, p.user_id, expected)
    publish(d, "transferred", rec, p.user_id, from_user_id=previous, to_user_id=to_user_id)
    children = [(cd, c) for cd, c in _cascading(d, p, rec, "transfer", cascade)
                if not c.deleted_at and c.owner_id == previous and _may_change(p, cd, c, "transfer")]
    for cd, c in children:
        _transfer(cd, c, to_user_id, keep_previous_owner_as, p.user_id, c.version)
        publish(cd, "transferred", c, p.user_id, from_user_id=previous, to_user_id=to_user_id, with_parent=rec.id)
    return out(d, rec, p)


def transfer_many(d: EntityDef, ids: list[str], to_user_id: str, keep_previous_owner_as: str,
                  cascade: list[str] | None = None) -> dict[str, Any]:
    """批量转移: each record as its own transfer (at its current version); one refused does not stop the others."""
    items = []
    for record_id in dict.fromkeys(ids):
        try:
            transfer(d, record_id, to_user_id, keep_previous_owner_as, None, cascade)
            items.append({"id": record_id, "status": 200})
        except DomainError as e:
            items.append({"id": record_id, "status": e.status, **e.body(context.locale())})
    return {"items": items, "done": sum(1 for i in items if i["status"] == 200)}


def _transfer(d: EntityDef, rec: store.EntityRecord, to_user_id: str, keep_as: str, actor: str, expected: int | None) -> None:
    team = dict(rec.team or {})
    team.pop(to_user_id, None)
    if keep_as in ("read", "write") and rec.owner_id != to_user_id:
        team[rec.owner_id] = {"access": keep_as, "until": None}
    held = store.holding(rec)
    data = plain(rec.data or {})
    moved = derived(d, rec.tenant_id, rec, rec.owner_id, to_user_id, data)
    team = kept_team(d, rec, moved, to_user_id, team)
    ops = store.update_ops(rec, actor, moved if moved != data else None, expected, owner_id=to_user_id, team=team,
                           action="transfer", parent=d.parent_of(moved))
    if ops:
        tx.write([*ops, *_holdings(d, rec.tenant_id, held, store.holding(rec))])


def set_team(d: EntityDef, record_id: str, members: list[dict[str, Any]], expected: int) -> dict[str, Any]:
    p = org.principal()
    rec = load(d, p, record_id, "team")
    team: dict[str, Any] = {}
    for m in members:
        if m["user_id"] not in p.org.users:
            raise ValidationFailed(details=[fieldtypes.error("members", "not_found", "field.user")])
        if m["user_id"] != rec.owner_id:
            team[m["user_id"]] = {"access": m["access"], "until": m.get("until")}
    ops = store.update_ops(rec, p.user_id, None, expected, team=team, action="team", parent=d.parent_of(rec.data or {}))
    if ops:
        tx.write(ops)
        publish(d, "team_changed", rec, p.user_id, ["team"])
    return out(d, rec, p)


def transfer_all(d: EntityDef, tenant_id: str, from_user_id: str, to_user_id: str, actor: str) -> int:
    """Hand-over: every record of this type owned by `from_user_id` moves to `to_user_id`.

    Walks the owner's index partition page by page; each record is re-read (consistently)
    before it moves, because the index may lag behind a change made a moment ago."""
    moved, cursor = 0, None
    while True:
        items, cursor = query.page(store.EntityRecord, keys.owner_list(tenant_id, d.entity, from_user_id), index="gsi1",
                                   limit=HANDOVER_PAGE, cursor=cursor)
        for listed in items:
            if not isinstance(listed, store.EntityRecord):
                continue
            try:
                rec = store.get(tenant_id, d.entity, listed.id, d.name_key, consistent=True)
            except NotFound:
                continue
            if rec.owner_id == from_user_id:
                _transfer(d, rec, to_user_id, "none", actor, rec.version)
                publish(d, "transferred", rec, actor, from_user_id=from_user_id, to_user_id=to_user_id, handover=True)
                moved += 1
        if not cursor:
            return moved


# ---- approvals ---------------------------------------------------------------------------------
def submit(d: EntityDef, record_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """提交审批: the record goes to the enabled flow of its type's business type (a rejected or
    withdrawn one is resubmitted from the start, with its current values)."""
    p = org.principal()
    if not d.features.approval:
        raise NotFound(d.name_key)
    rec = load(d, p, record_id, "update")
    status = (rec.data or {}).get("approval_status") or "none"
    if status in ("pending", "approved"):
        raise ValidationFailed("INVALID_STATE", reason=f"approval.status.{'running' if status == 'pending' else status}")
    business_type = d.hooks.submit_as(p, rec) if d.hooks.submit_as is not None else d.features.approval
    resubmitted = False
    if status in ("rejected", "withdrawn") and (rec.data or {}).get("approval_id") and \
            approvals.business_type_of_instance(p.tenant_id, str(rec.data["approval_id"])) == business_type:
        try:
            approvals.resubmit(str(rec.data["approval_id"]), "start", options.get("comment"))
            resubmitted = True
        except ValidationFailed as e:  # its flow was disabled since: a new approval on the type's enabled flow
            if e.code != "APPROVAL_FLOW_DISABLED":
                raise
    if not resubmitted:
        title = str(plain((rec.data or {}).get(d.title_field)) or d.label_in(fieldtypes.locale()))
        approvals.submit({"entity": d.entity, "id": rec.id, "title": title}, business_type, plain(rec.data or {}), options)
    return out(d, store.get(p.tenant_id, d.entity, rec.id, d.name_key, consistent=True), p)


def approval_title(p: Principal, entity: str, title: str, locale: str) -> str:
    """An approval's title (its record's title at submission) as the reader's field rules let them see it."""
    d = registry.find(entity, p.tenant_id)
    return title if d is None else (visibility.title(p, d, title, locale) or "")


def approval_hooks(entity: str) -> tuple[Any, Any] | None:
    """The approval engine's hooks for a record type with Features.approval (standard or custom):
    the record's approval status follows its instance in the same transaction."""
    d = registry.find(entity)
    if d is not None and not d.features.approval:
        return None
    if d is None and not entity.lower().startswith(registry.CUSTOM_PREFIX):
        return None

    def status_ops(tenant_id: str, record_id: str, status: str, actor: str, instance_id: str) -> list[tx.Op]:
        td = registry.find(entity, tenant_id)
        if td is None or not td.features.approval:
            return []
        rec = store.get(tenant_id, td.entity, record_id, td.name_key, consistent=True, include_deleted=True)
        before = (rec.data or {}).get("approval_status") or "none"
        data = {**(rec.data or {}), "approval_status": status, "approval_id": instance_id}
        ops = store.update_ops(rec, actor, data, None, action=f"approval_{status}", parent=td.parent_of(data))
        if td.hooks.on_approval is not None:
            ops += td.hooks.on_approval(tenant_id, rec, before, status, actor)
        return ops

    def data_of(tenant_id: str, record_id: str) -> dict[str, Any]:
        td = registry.find(entity, tenant_id)
        return plain(store.get(tenant_id, td.entity, record_id, td.name_key, include_deleted=True).data or {}) if td else {}

    return status_ops, data_of


# ---- operation log -------------------------------------------------------------------------------
def shape_log(entity: str, changes_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A record's logged changes as the caller may see them (visibility.changes)."""
    p = org.principal()
    d = registry.find(entity, p.tenant_id)
    return changes_ if d is None else visibility.changes(p, d, changes_)


def title_of(tenant_id: str, entity: str, record_id: str, reader_id: str) -> dict[str, str] | None:
    """A record's title per language for a system text written to `reader_id` (a notification),
    as their field rules let them see it; None when the record is gone."""
    d = registry.find(entity, tenant_id)
    if d is None:
        return None
    try:
        rec = store.get(tenant_id, d.entity, record_id, d.name_key)
    except NotFound:
        return None
    who = visibility.reader(tenant_id, reader_id)
    value = (rec.data or {}).get(d.title_field)
    return {loc: visibility.title(who, d, value, loc) or "" for loc in i18n.LOCALES}
