"""Hand-written records (reminders, applications): the item pattern the record engine
(engine/store.py) generalises; new record types are engine definitions, not subclasses.

Key design (any Record subclass, ENTITY = e.g. REMINDER):
- pk = T#<t>#<ENTITY>#<id>, sk = "#"                      -> get by id: one GetItem.
- gsi1pk = T#<t>#<ENTITY>#OWNER#<owner>, gsi1sk = <created>#<id>  -> an owner's records.
- gsi2pk = T#<t>#<ENTITY>, gsi2sk = <created>#<id>      -> all records of the tenant.
- deleted: gsi1 removed, gsi2pk = T#<t>#BIN, gsi2sk = <deleted>#<ENTITY>#<id> -> recycle bin
  (PRIVATE types: gsi2pk = T#<t>#BIN#<owner>, the owner's own bin).
- the record team (相关团队) lives in the record's `team` attribute, so one GetItem answers
  every permission question about it; "records shared with me" is a search-index query.

Every write here is one transaction with its audit entry (and idempotency marker).
"""
from __future__ import annotations

import json
from typing import Any, ClassVar

from pynamodb.attributes import JSONAttribute, UnicodeAttribute

from ..core import clock, ids
from ..core.errors import NotFound, ValidationFailed
from . import audit, changes, keys, tx
from .base import Versioned, plain

_REGISTRY: dict[str, type["Record"]] = {}
_ON_RESTORE: dict[str, Any] = {}


def install(classes: list[type["Record"]], on_restore: dict[str, Any] | None = None) -> None:
    """The hand-written record classes of the manifest's modules (recycle bin, references) and
    what each needs re-created when it comes back from the bin."""
    _REGISTRY.clear()
    _REGISTRY.update({c.ENTITY: c for c in classes})
    _ON_RESTORE.clear()
    _ON_RESTORE.update(on_restore or {})


def registry() -> dict[str, type["Record"]]:
    return dict(_REGISTRY)


class Record(Versioned):
    """Base of business records. Subclasses set ENTITY, MODULE, NAME_KEY and FIELDS."""

    ENTITY: ClassVar[str] = ""
    MODULE: ClassVar[str] = ""
    NAME_KEY: ClassVar[str] = "entity.record"
    FIELDS: ClassVar[tuple[str, ...]] = ()
    PRIVATE: ClassVar[bool] = False  # only the owner sees it: deleted into the owner's own bin, never the tenant's

    id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    deleted_at = UnicodeAttribute(null=True)
    deleted_by = UnicodeAttribute(null=True)
    team = JSONAttribute(default=dict)  # {user_id: {"access": "read"|"write", "until": iso|None}}
    custom = JSONAttribute(default=dict)

    # ---- keys -------------------------------------------------------------------------
    @classmethod
    def key(cls, tenant_id: str, record_id: str) -> tuple[str, str]:
        return keys.record_pk(tenant_id, cls.ENTITY, record_id), keys.RECORD_SK

    def set_live_keys(self) -> None:
        order = f"{self.created_at}#{self.id}"
        self.gsi1pk = keys.owner_list(self.tenant_id, self.ENTITY, self.owner_id)
        self.gsi1sk = order
        self.gsi2pk = keys.tenant_list(self.tenant_id, self.ENTITY)
        self.gsi2sk = order

    def set_bin_keys(self) -> None:
        self.gsi1pk = None
        self.gsi1sk = None
        self.gsi2pk = keys.k(self.tenant_id, "BIN", self.owner_id) if self.PRIVATE else keys.recycle_bin(self.tenant_id)
        self.gsi2sk = f"{self.deleted_at}#{self.ENTITY}#{self.id}"

    # ---- values -----------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The business fields, owner, custom values and team as plain values (what the audit log compares)."""
        data = {name: plain(getattr(self, name)) for name in self.FIELDS}
        data["owner_id"] = self.owner_id
        if self.custom:
            data["custom"] = plain(self.custom)
        if self.team:
            data["team"] = plain(self.team)  # a team change is a change (audited, written)
        return data


def new(cls: type[Record], tenant_id: str, actor_id: str, owner_id: str, **fields: Any) -> Record:
    at = clock.now_iso()
    rec = cls(tenant_id=tenant_id, id=ids.new_id(), owner_id=owner_id, created_at=at, created_by=actor_id,
              updated_at=at, updated_by=actor_id, team={}, **fields)
    rec.pk, rec.sk = cls.key(tenant_id, rec.id)
    rec.set_live_keys()
    return rec


def get(cls: type[Record], tenant_id: str, record_id: str, *, include_deleted: bool = False) -> Record:
    pk, sk = cls.key(tenant_id, record_id)
    try:
        rec = cls.get(pk, sk)
    except cls.DoesNotExist:
        raise NotFound(cls.NAME_KEY) from None
    if not isinstance(rec, cls) or rec.tenant_id != tenant_id or (rec.deleted_at and not include_deleted):
        raise NotFound(cls.NAME_KEY)
    return rec


def batch_get(cls: type[Record], tenant_id: str, record_ids: list[str]) -> list[Record]:
    if not record_ids:
        return []
    found = {r.id: r for r in cls.batch_get([cls.key(tenant_id, i) for i in record_ids])}
    return [found[i] for i in record_ids if i in found and not found[i].deleted_at]


def create(rec: Record, actor_id: str, *, extra: list[tx.Op] | None = None, note: str | None = None) -> Record:
    changes.create(rec, rec.ENTITY, rec.id, actor_id, extra=extra, note=note)
    return rec


def update(rec: Record, actor_id: str, values: dict[str, Any], expected_version: int | None, *,
           action: str = "update", extra: list[tx.Op] | None = None, note: str | None = None) -> Record:
    """Apply `values` (field -> value); write only if something changed. Version-checked."""
    prepare = rec.set_live_keys if "owner_id" in values else None
    changes.save(rec, rec.ENTITY, rec.id, actor_id, values, expected_version, action=action, extra=extra, note=note, prepare=prepare)
    return rec


def soft_delete(rec: Record, actor_id: str, expected_version: int | None) -> Record:
    changes.check_version(rec, expected_version)
    rec.deleted_at = clock.now_iso()
    rec.deleted_by = actor_id
    rec.set_bin_keys()
    entry = audit.entry(rec.tenant_id, rec.ENTITY, rec.id, "delete", actor_id, [{"field": "deleted_at", "before": None, "after": rec.deleted_at}])
    tx.write([tx.put(rec), tx.put(entry)])
    return rec


def restore(rec: Record, actor_id: str) -> Record:
    if not rec.deleted_at:
        raise ValidationFailed("NOT_IN_RECYCLE_BIN")
    deleted_at = rec.deleted_at
    rec.deleted_at = None
    rec.deleted_by = None
    rec.set_live_keys()
    entry = audit.entry(rec.tenant_id, rec.ENTITY, rec.id, "restore", actor_id, [{"field": "deleted_at", "before": deleted_at, "after": None}])
    tx.write([tx.put(rec), tx.put(entry)])
    hook = _ON_RESTORE.get(rec.ENTITY)
    if hook:
        hook(rec)
    return rec


def purge(rec: Record, actor_id: str) -> None:
    """Remove a record from the recycle bin for good (its audit log stays until TTL)."""
    if not rec.deleted_at:
        raise ValidationFailed("NOT_IN_RECYCLE_BIN")
    entry = audit.entry(rec.tenant_id, rec.ENTITY, rec.id, "purge", actor_id, audit.diff(rec.values(), None))
    tx.write([tx.delete(rec), tx.put(entry)])


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
