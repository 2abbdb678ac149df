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


def list_bin(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    p.require(MODULE, "list")
    items, nxt = query.page(Record, keys.recycle_bin(p.tenant_id), index="gsi2", limit=limit, cursor=cursor)
    return [out(r) for r in items if isinstance(r, (Record, store.EntityRecord))], nxt


def _load(p: Any, entity: str, record_id: str) -> tuple[Any, Record | store.EntityRecord]:
    d = registry.find(entity, p.tenant_id)
    if d is not None:
        if d.features.private or not d.features.recycle_bin:
            raise NotFound()
        return d, store.get(p.tenant_id, d.entity, record_id, d.name_key, include_deleted=True)
    cls = records.registry().get(entity.upper())
    if cls is None:
        raise NotFound()
    return cls, records.get(cls, p.tenant_id, record_id, include_deleted=True)


def restore(entity: str, record_id: str) -> dict[str, Any]:
    """Whoever could delete the record may restore it (module delete permission + write access)."""
    p = org.principal()
    kind, r = _load(p, entity, record_id)
    module = kind.MODULE if isinstance(kind, type) else kind.module
    if not p.can(MODULE, "manage"):
        p.require_record(module, "delete", r.owner_id, r.team, clock.now_iso())
    if isinstance(r, store.EntityRecord):
        engine.restore(kind, r, p)
    else:
        records.restore(r, p.user_id)
    return out(r)


def purge(entity: str, record_id: str) -> None:
    p = org.principal()
    p.require(MODULE, "manage")
    kind, r = _load(p, entity, record_id)
    if isinstance(r, store.EntityRecord):
        engine.purge(kind, r, p)
    else:
        records.purge(r, p.user_id)
