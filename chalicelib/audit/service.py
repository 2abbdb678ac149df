"""Reading the operation log: per record (whoever may read the record) and tenant-wide
(admins: audit:list). Entries are written by db/records and the services themselves."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import clock
from ..db import audit, keys, query
from ..db.audit import AuditEntry
from ..org import service as org

MODULE = "audit"


# log entity -> who may read its log besides audit admins (installed from the manifest)
_access: dict[str, Callable[[str], None]] = {}
_fallback: list[Callable[[str, str], bool]] = []  # (entity, record id) -> True if it checked (custom objects)


_shaper: list[Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]]] = []  # field rules on logged values


def install_access(access: dict[str, Callable[[str], None]], fallback: Callable[[str, str], bool] | None = None,
                   shaper: Callable[[str, list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> None:
    """Who may read a record's log besides audit admins, and how the caller's field rules apply
    to the values a log entry holds (hidden fields absent, masked ones masked)."""
    _access.clear()
    _access.update(access)
    _fallback[:] = [fallback] if fallback else []
    _shaper[:] = [shaper] if shaper else []


def _shaped(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for e in entries:
        for shape in _shaper:
            e["changes"] = shape(e["entity"], e["changes"])
    return entries


def access_entities() -> list[str]:
    return sorted(_access)


def record_log(entity: str, record_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    entity = entity.lower()
    if not p.can(MODULE, "list"):
        check = _access.get(entity)
        if check is not None:
            check(record_id)
        elif not any(f(entity, record_id) for f in _fallback):
            p.require(MODULE, "list")
    # always the caller's own tenant partition: another tenant's id finds nothing
    items, nxt = query.page(AuditEntry, audit.log_pk(p.tenant_id, entity, record_id), limit=limit, cursor=cursor)
    return _shaped([audit.as_dict(e) for e in items]), nxt


def tenant_log(month: str | None, user_id: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    p.require(MODULE, "list")
    if user_id:
        partition, index = keys.k(p.tenant_id, "AUDIT", "USER", user_id), "gsi1"
    else:
        partition, index = keys.k(p.tenant_id, "AUDIT", month or clock.now_iso()[:7]), "gsi2"
    items, nxt = query.page(AuditEntry, partition, index=index, limit=limit, cursor=cursor)
    return _shaped([audit.as_dict(e) for e in items]), nxt
