"""Recycle bin: soft-deleted records of every module; restore (with their team and
permissions, which never left the item, and whatever the record type's on_restore hook
re-creates) or purge for good (admins). Private record types (a user's reminders) never
enter the tenant-wide bin."""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..core.errors import NotFound
from ..db import keys, query, records
from ..db.base import plain
from ..db.records import Record
from ..engine import registry, store
from ..engine import service as engine
from ..org import service as org

MODULE = "recyclebin"


def out(r: Record | store.EntityRecord) -> dict[str, Any]:
    if isinstance(r, store.EntityRecord):
        d = registry.find(r.entity, r.tenant_id)
        name = plain((r.data or {}).get(d.title_field)) if d else None
        return {"entity": r.entity.lower(), "id": r.id, "name": name, "owner_id": r.owner_id, "deleted_at": r.deleted_at,
                "deleted_by": r.deleted_by, "version": r.version}
    return {"entity": r.ENTITY.lower(), "id": r.id, "name": getattr(r, "name", None), "owner_id": r.owner_id,
            "deleted_at": r.deleted_at, "deleted_by": r.deleted_by, "version": r.version}


def list_bin(limit: int, cursor: str | None, mine: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """The tenant's bin (admins), or with `mine` the caller's own bin of private records (reminders)."""
    p = org.principal()
    if mine:
        partition = store.bin_partition(p.tenant_id, p.user_id)
    else:
        p.require(MODULE, "list")
        partition = keys.recycle_bin(p.tenant_id)
    items, nxt = query.page(Record, partition, index="gsi2", limit=limit, cursor=cursor)
    return [out(r) for r in items if isinstance(r, (Record, store.EntityRecord))], nxt


def _private(kind: Any) -> bool:
    return bool(kind.PRIVATE) if isinstance(kind, type) else kind.features.private


def _load(p: Any, entity: str, record_id: str) -> tuple[Any, Record | store.EntityRecord]:
    """A deleted record the caller may see in a bin; a private one only for its owner (404 for
    everyone else, admins included: it never was in the tenant's bin)."""
    d = registry.find(entity, p.tenant_id)
    if d is not None:
        if not d.features.recycle_bin:
            raise NotFound()
        kind, r = d, store.get(p.tenant_id, d.entity, record_id, d.name_key, include_deleted=True)
    else:
        cls = records.registry().get(entity.upper())
        if cls is None:
            raise NotFound()
        kind, r = cls, records.get(cls, p.tenant_id, record_id, include_deleted=True)
    if _private(kind) and r.owner_id != p.user_id:
        raise NotFound(kind.NAME_KEY if isinstance(kind, type) else kind.name_key)
    return kind, r


def restore(entity: str, record_id: str) -> dict[str, Any]:
    """Whoever could delete the record may restore it (module delete permission + write access);
    a private record, its owner."""
    p = org.principal()
    kind, r = _load(p, entity, record_id)
    module = kind.MODULE if isinstance(kind, type) else kind.module
    if not _private(kind) and not p.can(MODULE, "manage"):
        p.require_record(module, "delete", r.owner_id, r.team, clock.now_iso(),
                         kind.NAME_KEY if isinstance(kind, type) else kind.name_key)
    if isinstance(r, store.EntityRecord):
        engine.restore(kind, r, p)
    else:
        records.restore(r, p.user_id)
    return out(r)


def purge(entity: str, record_id: str) -> None:
    """For good: admins from the tenant's bin, owners from their own bin."""
    p = org.principal()
    kind, r = _load(p, entity, record_id)
    if not _private(kind):
        p.require(MODULE, "manage")
    if isinstance(r, store.EntityRecord):
        engine.purge(kind, r, p)
    else:
        records.purge(r, p.user_id)
