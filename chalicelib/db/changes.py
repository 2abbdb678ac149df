"""Writing versioned items with their operation-log entry: the one way every module
creates, changes and deletes an item (records, departments, users, roles, settings).

Each function is one transaction: the item (with its version condition, which PynamoDB
adds for `version`) + the audit entry + any extra operations that must hold together.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import clock
from ..core.errors import Conflict
from . import audit, tx
from .base import Versioned


def check_version(item: Versioned, expected: int | None) -> None:
    """A clear 409 before writing; the write's own condition still guards the race."""
    if expected is not None and item.version != expected:
        raise Conflict(details={"current_version": item.version, "your_version": expected})


def stamp(item: Versioned, actor: str, *, new: bool = False) -> None:
    at = clock.now_iso()
    if new:
        item.created_at, item.created_by = at, actor
    item.updated_at, item.updated_by = at, actor


def create(item: Versioned, entity: str, record_id: str, actor: str, *, on_conflict: Callable[[], Exception] | None = None,
           extra: list[tx.Op] | None = None, note: str | None = None) -> None:
    tx.write([*create_ops(item, entity, record_id, actor, on_conflict=on_conflict, note=note), *(extra or [])])


def create_ops(item: Versioned, entity: str, record_id: str, actor: str, *, on_conflict: Callable[[], Exception] | None = None,
               note: str | None = None) -> list[tx.Op]:
    """The writes of `create()` without running them (to join another transaction)."""
    entry = audit.entry(item.tenant_id, entity, record_id, "create", actor, audit.diff(None, item.values()), note)
    return [tx.put(item, condition=Versioned.pk.does_not_exist(), on_conflict=on_conflict), tx.put(entry)]


def save(item: Versioned, entity: str, record_id: str, actor: str, changes: dict[str, Any], expected: int | None, *,
         action: str = "update", extra: list[tx.Op] | None = None, note: str | None = None,
         prepare: Callable[[], None] | None = None) -> bool:
    """Apply `changes`, then write item + audit if anything changed. True if written.

    `prepare` runs after the changes are applied (e.g. to move index keys with the owner)."""
    ops = save_ops(item, entity, record_id, actor, changes, expected, action=action, note=note, prepare=prepare)
    if not ops and not extra:
        return False
    tx.write([*(ops or [tx.put(item)]), *(extra or [])])
    return True


def save_ops(item: Versioned, entity: str, record_id: str, actor: str, changes: dict[str, Any], expected: int | None, *,
             action: str = "update", note: str | None = None, prepare: Callable[[], None] | None = None) -> list[tx.Op]:
    """The writes of `save()` without running them (to join another transaction); [] if nothing changed."""
    check_version(item, expected)
    before = item.values()
    for name, value in changes.items():
        setattr(item, name, value)
    if prepare:
        prepare()
    delta = audit.diff(before, item.values())
    if not delta:
        return []
    stamp(item, actor)
    return [tx.put(item), tx.put(audit.entry(item.tenant_id, entity, record_id, action, actor, delta, note))]


def delete(item: Versioned, entity: str, record_id: str, actor: str, expected: int | None) -> None:
    """Hard delete (settings and org items; business records are soft-deleted instead)."""
    check_version(item, expected)
    tx.write([tx.delete(item), tx.put(audit.entry(item.tenant_id, entity, record_id, "delete", actor, audit.diff(item.values(), None)))])
