"""Attachments (附件) of every record type, standard and custom: the one place their rules live.

Attaching needs update access to the record and a file the caller uploaded and confirmed;
listing needs read access; removing needs update access. Each attach/detach is one
transaction: the link on the record's gsi3 collection (files/models.py), its operation-log
entry ("attach" / "detach") and a check that the record is still live. Events:
`<module>.<entity>.attached` / `.detached` with the file id (never its content or name).
"""
from __future__ import annotations

from typing import Any

from ..core.errors import NotFound
from ..db import tx
from ..files import service as files
from ..org import service as org
from . import service, store
from .definition import EntityDef


def _live(d: EntityDef, rec: store.EntityRecord) -> tx.Op:
    live = store.EntityRecord.pk.exists() & store.EntityRecord.deleted_at.does_not_exist()
    return tx.check(store.EntityRecord, rec.pk, rec.sk, live, on_conflict=lambda: NotFound(d.name_key))


def attach(d: EntityDef, record_id: str, file_id: str) -> dict[str, Any]:
    p = org.principal()
    rec = service.load(d, p, record_id, "update")
    file = files.usable(p.tenant_id, p.user_id, file_id)
    if file is None:
        raise NotFound("entity.file")  # another tenant's, someone else's, unconfirmed or unknown: the same answer
    link, ops = files.attach_ops(p.tenant_id, d.entity, rec.id, file, p.user_id)
    tx.write([*ops, _live(d, rec)])
    service.publish(d, "attached", rec, p.user_id, file_id=file["id"])
    return files.attachment_out(link)


def list_attachments(d: EntityDef, record_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    rec = service.load(d, p, record_id, "read")
    return files.attachments(p.tenant_id, d.entity, rec.id, limit, cursor)


def detach(d: EntityDef, record_id: str, file_id: str) -> None:
    p = org.principal()
    rec = service.load(d, p, record_id, "update")
    _, ops = files.detach_ops(p.tenant_id, d.entity, rec.id, file_id, p.user_id)
    tx.write([*ops, _live(d, rec)])
    service.publish(d, "detached", rec, p.user_id, file_id=file_id)
