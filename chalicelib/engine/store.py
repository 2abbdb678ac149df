"""The stored item of every record type the engine serves (standard and custom).

Key design (EntityRecord, type = "REC", `entity` = CUSTOMER, COMPETITOR, OBJ_<key> …):
- pk = T#<t>#<ENTITY>#<id>, sk = "#"                           -> get by id: one GetItem.
- gsi1pk = T#<t>#<ENTITY>#OWNER#<owner>, gsi1sk = <created>#<id> -> an owner's records (hand-over).
- gsi2pk = T#<t>#<ENTITY>, gsi2sk = <created>#<id>              -> all records of the tenant (reindex).
- deleted: gsi1 removed, gsi2pk = T#<t>#BIN, gsi2sk = <deleted>#<ENTITY>#<id>  -> recycle bin
  (private record types use T#<t>#BIN#<owner> so they never reach the tenant-wide bin).
- gsi3pk = T#<t>#<PARENT ENTITY>#<parent id>, gsi3sk = <ENTITY>#<created>#<id> -> a parent's
  related records (customer 360) in one Query, when the definition names a parent field; a
  record deleted along with its parent keeps its place and notes the parent in `deleted_with`,
  so restoring the parent brings back exactly those.
- gsi5pk = the family (engine/family.py): T#<t>#<ROOT ENTITY>#<root id>, the record whose 360 lists
  this one — its parent, or its grandparent when the parent's type rolls up (a contract's payments
  sit in the customer's family); gsi5sk = <PARENT ENTITY>#<parent id>#<ENTITY>#<created>#<id>. Only
  records with a parent carry it; like gsi3, a deleted record keeps its place (reads skip it).
- unique values: db/unique.UniqueValue, pk = T#<t>#UQ#<ENTITY>.<field>#<normalised value>,
  put with attribute_not_exists in the record's own transaction, so two writers can never
  both hold a value.

Field values live in `data` (a native DynamoDB map: exact decimals, readable in the
console); custom-field values of standard types in `custom`; the record team in `team`.
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pynamodb.attributes import Attribute, JSONAttribute, UnicodeAttribute
from pynamodb.constants import MAP

from ..core import clock, errors, ids
from ..core.errors import NotFound, ValidationFailed
from ..db import audit, changes, keys, tx
from ..db.base import Item, Versioned, plain
from ..db.unique import UniqueValue

_ser, _des = TypeSerializer(), TypeDeserializer()


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_dynamo(v) for v in value]
    return value


class ValuesAttribute(Attribute[dict]):
    """A dict of field values stored as a native map (numbers stay exact Decimals)."""

    attr_type = MAP

    def serialize(self, value: dict) -> dict:
        return _ser.serialize(_dynamo(value or {}))["M"]

    def deserialize(self, value: dict) -> dict:
        return {k: _des.deserialize(v) for k, v in value.items()}


class EntityRecord(Versioned, discriminator="REC"):
    entity = UnicodeAttribute()
    id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    data = ValuesAttribute(default=dict)
    custom = ValuesAttribute(default=dict)
    team = JSONAttribute(default=dict)  # {user_id: {"access": "read"|"write", "until": iso|None}}
    deleted_at = UnicodeAttribute(null=True)
    deleted_by = UnicodeAttribute(null=True)
    deleted_with = UnicodeAttribute(null=True)  # <ENTITY>#<id> of the parent whose deletion took it along
    merged_into = UnicodeAttribute(null=True)  # in the bin because it was merged into this record (duplicates/merge.py)

    # what the audit log compares: field values, owner, custom values and team, as plain values
    def values(self) -> dict[str, Any]:
        out = {k: plain(v) for k, v in (self.data or {}).items()}
        out["owner_id"] = self.owner_id
        if self.custom:
            out["custom"] = plain(self.custom)
        if self.team:
            out["team"] = plain(self.team)
        return out


MAX_ITEM_BYTES = 350_000  # DynamoDB takes 400 KB per item; the rest is keys, team, audit headroom


def check_size(rec: EntityRecord) -> None:
    """A record too large to store is a 422 naming the limit, not a failed write."""
    size = len(json.dumps({"data": plain(rec.data or {}), "custom": plain(rec.custom or {})}, ensure_ascii=False).encode())
    if size > MAX_ITEM_BYTES:
        raise ValidationFailed("RECORD_TOO_LARGE", size=size, limit=MAX_ITEM_BYTES)


def record_key(tenant_id: str, entity: str, record_id: str) -> tuple[str, str]:
    return keys.record_pk(tenant_id, entity, record_id), keys.RECORD_SK


def bin_partition(tenant_id: str, owner_id: str | None = None) -> str:
    return keys.k(tenant_id, "BIN", owner_id) if owner_id else keys.recycle_bin(tenant_id)


def parent_partition(tenant_id: str, entity: str, parent_id: str) -> str:
    return keys.record_pk(tenant_id, entity, parent_id)


def holding(rec: EntityRecord | None) -> dict[str, Any] | None:
    """Who holds a record and in what state, for the holdings hook; None when it is not live."""
    if rec is None or rec.deleted_at:
        return None
    return {"owner_id": rec.owner_id, "data": plain(rec.data or {}), "id": rec.id}


def set_live_keys(rec: EntityRecord, parent: tuple[str, str] | None = None, family: str | None = None) -> None:
    """The keys of a live record. `family`: the gsi5 partition its parent gives its children
    (children_partition), when the caller has the parent at hand; otherwise a record that keeps its
    parent keeps its family, and one that gets a parent (or has no family yet) reads the parent."""
    order = f"{rec.created_at}#{rec.id}"
    rec.gsi1pk, rec.gsi1sk = keys.owner_list(rec.tenant_id, rec.entity, rec.owner_id), order
    rec.gsi2pk, rec.gsi2sk = keys.tenant_list(rec.tenant_id, rec.entity), order
    if parent:
        partition = parent_partition(rec.tenant_id, *parent)
        if family is None:
            family = rec.gsi5pk if rec.gsi5pk and rec.gsi3pk == partition else family_of(rec.tenant_id, parent)
        rec.gsi3pk, rec.gsi3sk = partition, f"{rec.entity}#{order}"
        rec.gsi5pk, rec.gsi5sk = family, f"{parent[0]}#{parent[1]}#{rec.entity}#{order}"
    else:
        rec.gsi3pk = rec.gsi3sk = rec.gsi5pk = rec.gsi5sk = None


def children_partition(rec: EntityRecord) -> str:
    """The family (gsi5pk) a record gives its children: its own partition, or its parent's when its
    type rolls up (EntityDef.rolls_up: its children show in its parent's 360)."""
    from . import registry

    d = registry.find(rec.entity, rec.tenant_id)
    return rec.gsi3pk if d is not None and d.rolls_up and rec.gsi3pk else rec.pk


def family_of(tenant_id: str, parent: tuple[str, str], loaded: Any = None) -> str:
    """The family of a child of `parent` (ENTITY, id): from the parent record when the caller read it
    (`loaded`: {(ENTITY, id): record}), else one GetItem of it (kept in `loaded`: the write checks
    the parent is still where it was read, engine/family.parent_checks); a parent not (yet) stored —
    created in the same transaction — gives its own partition."""
    if loaded is None:
        loaded = {}
    if parent in loaded and loaded[parent] is None:  # created in the same transaction
        return parent_partition(tenant_id, *parent)
    rec = loaded.get(parent)
    if rec is None:
        try:
            rec = EntityRecord.get(*record_key(tenant_id, *parent))
        except EntityRecord.DoesNotExist:
            return parent_partition(tenant_id, *parent)
        if isinstance(rec, EntityRecord):
            loaded[parent] = rec
    return children_partition(rec) if isinstance(rec, EntityRecord) else parent_partition(tenant_id, *parent)


def collection(tenant_id: str, entity: str, record_id: str) -> list[EntityRecord]:
    """Every record whose parent is this one (its related lists): one Query of gsi3 (paged)."""
    out: list[EntityRecord] = []
    for item in Item.gsi3.query(parent_partition(tenant_id, entity, record_id)):
        if isinstance(item, EntityRecord):
            out.append(item)
    return out


def set_bin_keys(rec: EntityRecord, private: bool) -> None:
    rec.gsi1pk = rec.gsi1sk = None
    rec.gsi2pk = bin_partition(rec.tenant_id, rec.owner_id if private else None)
    rec.gsi2sk = f"{rec.deleted_at}#{rec.entity}#{rec.id}"


def new(tenant_id: str, entity: str, actor_id: str, owner_id: str, data: dict[str, Any], custom: dict[str, Any] | None = None,
        record_id: str | None = None, parent: tuple[str, str] | None = None, family: str | None = None) -> EntityRecord:
    at = clock.now_iso()
    rec = EntityRecord(tenant_id=tenant_id, entity=entity, id=record_id or ids.new_id(), owner_id=owner_id,
                       data={k: v for k, v in data.items() if v is not None}, custom=custom or {}, team={},
                       created_at=at, created_by=actor_id, updated_at=at, updated_by=actor_id)
    rec.pk, rec.sk = record_key(tenant_id, entity, rec.id)
    set_live_keys(rec, parent, family)
    return rec


def get(tenant_id: str, entity: str, record_id: str, name_key: str, *, include_deleted: bool = False,
        consistent: bool = False) -> EntityRecord:
    try:
        rec = EntityRecord.get(*record_key(tenant_id, entity, record_id), consistent_read=consistent)
    except EntityRecord.DoesNotExist:
        raise NotFound(name_key) from None
    if not isinstance(rec, EntityRecord) or rec.entity != entity or rec.tenant_id != tenant_id \
            or (rec.deleted_at and not include_deleted):
        raise NotFound(name_key)
    return rec


def batch_get(tenant_id: str, entity: str, record_ids: list[str], *, consistent: bool = False,
              include_deleted: bool = False) -> list[EntityRecord]:
    """These records in the order asked (missing ones left out; those in the recycle bin too, unless
    `include_deleted`)."""
    if not record_ids:
        return []
    found = {r.id: r for r in EntityRecord.batch_get([record_key(tenant_id, entity, i) for i in dict.fromkeys(record_ids)],
                                                     consistent_read=consistent)
             if isinstance(r, EntityRecord) and r.entity == entity}
    return [found[i] for i in record_ids if i in found and (include_deleted or not found[i].deleted_at)]


# ---- unique values ---------------------------------------------------------------------------
def unique_norm(value: Any) -> str:
    s = str(plain(value)).strip().lower()
    return s if len(s) <= 200 else hashlib.sha256(s.encode()).hexdigest()


def claim_ops(rec: EntityRecord, field: str, label: str, before: Any, after: Any) -> list[tx.Op]:
    """Release the old value and claim the new one, inside the record's transaction."""
    ops: list[tx.Op] = []
    kind = f"{rec.entity}.{field}"
    if before not in (None, "") and unique_norm(before) != unique_norm(after):
        old = UniqueValue(pk=keys.unique_pk(rec.tenant_id, kind, unique_norm(before)), sk="UQ", tenant_id=rec.tenant_id,
                          owner_id=rec.id)
        # a value the record holds (or never claimed: a unique field added later keeps old values unclaimed)
        ops.append(tx.delete(old, condition=UniqueValue.pk.does_not_exist() | (UniqueValue.owner_id == rec.id)))
    if after not in (None, "") and (before in (None, "") or unique_norm(before) != unique_norm(after)):
        claim = UniqueValue(pk=keys.unique_pk(rec.tenant_id, kind, unique_norm(after)), sk="UQ", tenant_id=rec.tenant_id,
                            owner_id=rec.id)
        ops.append(tx.put(claim, condition=UniqueValue.pk.does_not_exist(), on_conflict=lambda: ValidationFailed(
            details=[errors.detail(field, "unique", "field.unique", label=label)])))
    return ops


# ---- writes (each one transaction with its audit entry) -------------------------------------
def create(rec: EntityRecord, actor_id: str, *, extra: list[tx.Op] | None = None, note: str | None = None) -> EntityRecord:
    tx.write([*create_ops(rec, actor_id, note=note), *(extra or [])])
    return rec


def create_ops(rec: EntityRecord, actor_id: str, *, note: str | None = None) -> list[tx.Op]:
    check_size(rec)
    return changes.create_ops(rec, rec.entity, rec.id, actor_id, note=note)


def update_ops(rec: EntityRecord, actor_id: str, data: dict[str, Any] | None, expected: int | None, *, owner_id: str | None = None,
               team: dict[str, Any] | None = None, custom: dict[str, Any] | None = None, action: str = "update",
               note: str | None = None, parent: tuple[str, str] | None = None, family: str | None = None) -> list[tx.Op]:
    """The writes of one version-checked change ([] when nothing changed)."""
    values: dict[str, Any] = {}
    if data is not None:
        values["data"] = {k: v for k, v in data.items() if v is not None}
    if owner_id is not None:
        values["owner_id"] = owner_id
    if team is not None:
        values["team"] = team
    if custom is not None:
        values["custom"] = custom

    def prepare() -> None:
        if not rec.deleted_at:  # a record changed while in the recycle bin (its team re-stamped) stays there
            set_live_keys(rec, parent, family)
        check_size(rec)

    return changes.save_ops(rec, rec.entity, rec.id, actor_id, values, expected, action=action, note=note, prepare=prepare)


def soft_delete_ops(rec: EntityRecord, actor_id: str, expected: int | None, private: bool, with_parent: str | None = None
                    ) -> list[tx.Op]:
    changes.check_version(rec, expected)
    rec.deleted_at = clock.now_iso()
    rec.deleted_by = actor_id
    rec.deleted_with = with_parent
    set_bin_keys(rec, private)
    entry = audit.entry(rec.tenant_id, rec.entity, rec.id, "delete", actor_id, [{"field": "deleted_at", "before": None,
                                                                                 "after": rec.deleted_at}])
    return [tx.put(rec), tx.put(entry)]


def restore_ops(rec: EntityRecord, actor_id: str, parent: tuple[str, str] | None) -> list[tx.Op]:
    if not rec.deleted_at:
        raise ValidationFailed("NOT_IN_RECYCLE_BIN")
    deleted_at = rec.deleted_at
    rec.deleted_at = rec.deleted_by = rec.deleted_with = None
    set_live_keys(rec, parent)
    entry = audit.entry(rec.tenant_id, rec.entity, rec.id, "restore", actor_id, [{"field": "deleted_at", "before": deleted_at,
                                                                                  "after": None}])
    return [tx.put(rec), tx.put(entry)]


def purge_ops(rec: EntityRecord, actor_id: str) -> list[tx.Op]:
    if not rec.deleted_at:
        raise ValidationFailed("NOT_IN_RECYCLE_BIN")
    entry = audit.entry(rec.tenant_id, rec.entity, rec.id, "purge", actor_id, audit.diff(rec.values(), None))
    return [tx.delete(rec), tx.put(entry)]
