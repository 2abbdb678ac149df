"""Recycle bin: soft-deleted records of every module; restore (with their team and
permissions, which never left the item, and whatever the record type's on_restore hook
re-creates) or purge for good (admins). Private record types (a user's reminders) never
enter the tenant-wide bin."""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..core.errors import NotFound
from ..core.permissions import Principal
from ..db import keys, query, records
from ..db.records import Record
from ..engine import registry, store, visibility
from ..engine import service as engine
from ..org import service as org

MODULE = "recyclebin"


BIN_READS = 10  # Queries one page may take when most deleted records are not the caller's to restore


def out(r: Record | store.EntityRecord, p: Principal) -> dict[str, Any]:
    if isinstance(r, store.EntityRecord):
        d = registry.find(r.entity, r.tenant_id)
        name = visibility.title(p, d, (r.data or {}).get(d.title_field)) if d else None
        return {"entity": r.entity.lower(), "id": r.id, "name": name, "owner_id": r.owner_id, "deleted_at": r.deleted_at,
                "deleted_by": r.deleted_by, "version": r.version, "merged_into": r.merged_into}
    return {"entity": r.ENTITY.lower(), "id": r.id, "name": getattr(r, "name", None), "owner_id": r.owner_id,
            "deleted_at": r.deleted_at, "deleted_by": r.deleted_by, "version": r.version}


def _module(kind: Any) -> str:
    return kind.MODULE if isinstance(kind, type) else kind.module


def _kind(tenant_id: str, r: Record | store.EntityRecord) -> Any:
    return registry.find(r.entity, tenant_id) if isinstance(r, store.EntityRecord) else r


def _restorable(p: Principal, r: Record | store.EntityRecord, now: str) -> bool:
    """Whoever could delete the record may find it in the bin and restore it: the type's delete
    permission and write access to the record (its owner within their data scope, or a team grant)."""
    kind = _kind(p.tenant_id, r)
    if kind is None or _private(kind):
        return False
    return p.can(_module(kind), "delete") and p.record_access(_module(kind), r.owner_id, r.team, now) == "write"


def list_bin(limit: int, cursor: str | None, mine: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """The tenant's bin: all of it for recycle-bin admins; for everyone else the deleted records
    they could restore (types they may delete, within their data scope). With `mine`, the caller's
    own bin of private records (reminders)."""
    p = org.principal()
    if mine:
        items, nxt = query.page(Record, store.bin_partition(p.tenant_id, p.user_id), index="gsi2", limit=limit, cursor=cursor)
        return [out(r, p) for r in items if isinstance(r, (Record, store.EntityRecord))], nxt
    everything = p.can(MODULE, "list")
    if not everything and not any(p.can(d.module, "delete") for d in registry.every(p.tenant_id)):
        p.require(MODULE, "list")
    now, rows, nxt = clock.now_iso(), [], cursor
    for _ in range(BIN_READS):  # a page of what the caller may restore, continuing where the last read stopped
        items, nxt = query.page(Record, keys.recycle_bin(p.tenant_id), index="gsi2", limit=limit - len(rows), cursor=nxt)
        rows += [out(r, p) for r in items if isinstance(r, (Record, store.EntityRecord)) and (everything or _restorable(p, r, now))]
        if len(rows) >= limit or nxt is None:
            break
    return rows, nxt


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
    if not _private(kind) and not p.can(MODULE, "manage"):
        p.require_record(_module(kind), "delete", r.owner_id, r.team, clock.now_iso(),
                         kind.NAME_KEY if isinstance(kind, type) else kind.name_key)
    if isinstance(r, store.EntityRecord):
        engine.restore(kind, r, p)
    else:
        records.restore(r, p.user_id)
    return out(r, p)


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
