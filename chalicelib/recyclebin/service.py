"""Recycle bin: soft-deleted records of every module; restore (with their team and
permissions, which never left the item) or purge for good (admins)."""
from __future__ import annotations

from typing import Any

from ..core import clock
from ..core.errors import NotFound
from ..db import keys, query, records
from ..db.records import Record
from ..org import service as org

MODULE = "recyclebin"


def _cls(entity: str) -> type[Record]:
    cls = records.registry().get(entity.upper())
    if cls is None:
        raise NotFound()
    return cls


def out(r: Record) -> dict[str, Any]:
    return {"entity": r.ENTITY.lower(), "id": r.id, "name": getattr(r, "name", None), "owner_id": r.owner_id,
            "deleted_at": r.deleted_at, "deleted_by": r.deleted_by, "version": r.version}


def list_bin(limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    p.require(MODULE, "list")
    items, nxt = query.page(Record, keys.recycle_bin(p.tenant_id), index="gsi2", limit=limit, cursor=cursor)
    return [out(r) for r in items if isinstance(r, Record)], nxt


def restore(entity: str, record_id: str) -> dict[str, Any]:
    """Whoever could delete the record may restore it (module delete permission + write access)."""
    p = org.principal()
    cls = _cls(entity)
    r = records.get(cls, p.tenant_id, record_id, include_deleted=True)
    if not p.can(MODULE, "manage"):
        p.require_record(cls.MODULE, "delete", r.owner_id, r.team, clock.now_iso())
    records.restore(r, p.user_id)
    return out(r)


def purge(entity: str, record_id: str) -> None:
    p = org.principal()
    p.require(MODULE, "manage")
    cls = _cls(entity)
    r = records.get(cls, p.tenant_id, record_id, include_deleted=True)
    records.purge(r, p.user_id)
