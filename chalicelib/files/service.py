"""Files: presigned uploads checked on confirmation, presigned downloads, and the links that say
where a file is used (attachments of records, field values, form applications, approval comments).

The rules:
- Anyone signed in may upload (content type from `CRM_FILE_CONTENT_TYPES`, at most
  `CRM_FILE_MAX_BYTES`, with the SHA-256 of the bytes). A file is usable only after its uploader
  confirms it: the object exists with the declared size and SHA-256 (ports/files.py).
- A file can be put on a record (field value, attachment, form, approval comment) only by the
  user who uploaded it (`usable()`); values a record already holds stay valid for its other editors.
- A file can be read (metadata, download) by its uploader and by whoever may read a record it is
  linked to — the check of that record type, installed by the manifest (`install_readers()`).
- Everything is tenant-scoped: another tenant's id is never found (404), and so is a file the
  caller may not read (no existence oracle).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, ids
from ..core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import audit, changes, keys, query, tx
from ..db.base import Item
from ..engine import fieldtypes
from ..org import service as org
from ..ports import files as storage
from .models import ATTACH, USE, File, FileLink, file_pk, link_sk, uploads_pk

PENDING_TTL = timedelta(days=2)  # the bucket deletes pending objects after 1 day; the item follows a day later
MAX_LINKS_CHECKED = 50
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

# ---- who may read a linked record (installed by the manifest) -----------------------------------
_readers: dict[str, Callable[[str], None]] = {}  # entity (lower) -> check(record id), raises when not allowed
_fallback: list[Callable[[str, str], bool]] = []  # (entity, record id) -> True when checked (custom objects)


def install_readers(checks: Mapping[str, Callable[[str], None]], fallback: Callable[[str, str], bool] | None = None) -> None:
    _readers.clear()
    _readers.update({k.lower(): v for k, v in checks.items()})
    _fallback[:] = [fallback] if fallback else []


def _may_read_record(entity: str, record_id: str) -> bool:
    entity = entity.lower()
    try:
        check = _readers.get(entity)
        if check is not None:
            check(record_id)
            return True
        return any(f(entity, record_id) for f in _fallback)
    except (NotFound, Forbidden):
        return False


# ---- values ---------------------------------------------------------------------------------------
def meta(f: File) -> dict[str, Any]:
    """What records, forms and approval comments store about a file."""
    return {"id": f.id, "name": f.name, "size": int(f.size), "content_type": f.content_type, "sha256": f.sha256}


def out(f: File) -> dict[str, Any]:
    return {**meta(f), "status": f.status, "created_at": f.created_at, "created_by": f.created_by, "uploaded_at": f.uploaded_at,
            "version": f.version}


def _sha256(value: str) -> tuple[str, str] | None:
    """(hex, base64) of a SHA-256 given in either form."""
    value = value.strip()
    if _HEX.match(value):
        raw = bytes.fromhex(value)
    else:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 32:
            return None
    return raw.hex(), base64.b64encode(raw).decode()


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def allowed_types() -> set[str]:
    return {t.strip().lower() for t in get_settings().file_content_types.split(",") if t.strip()}


def _clean_name(name: str) -> str:
    return re.split(r"[\\/]", name.strip())[-1].strip()[:200]


def _load(tenant_id: str, file_id: str) -> File:
    f = query.one(File, file_pk(tenant_id, file_id), keys.RECORD_SK, "entity.file")
    if f.tenant_id != tenant_id:
        raise NotFound("entity.file")
    return f  # type: ignore[return-value]


# ---- uploading --------------------------------------------------------------------------------------
def create(body: dict[str, Any]) -> dict[str, Any]:
    """A pending file and the presigned PUT that uploads it."""
    p = org.principal()
    s = get_settings()
    name = _clean_name(body["name"])
    content_type = body["content_type"].strip().lower()
    errors = []
    if not name:
        errors.append(fieldtypes.error("name", "missing", "file.name"))
    if content_type not in allowed_types():
        errors.append(fieldtypes.error("content_type", "option", "file.content_type"))
    if body["size"] > s.file_max_bytes:
        errors.append(fieldtypes.error("size", "range", "file.too_large", max=_human(s.file_max_bytes)))
    digest = _sha256(body["sha256"])
    if digest is None:
        errors.append(fieldtypes.error("sha256", "format", "file.sha256"))
    if errors:
        raise ValidationFailed(details=errors)
    assert digest is not None
    fid = ids.new_id()
    now = clock.now()
    f = File(pk=file_pk(p.tenant_id, fid), sk=keys.RECORD_SK, tenant_id=p.tenant_id, id=fid, name=name, content_type=content_type,
             size=int(body["size"]), sha256=digest[0], status="pending", key=storage.file_key(p.tenant_id, fid, name),
             expires_at=now + PENDING_TTL)
    changes.stamp(f, p.user_id, new=True)
    f.gsi1pk, f.gsi1sk = uploads_pk(p.tenant_id, p.user_id), f"{f.created_at}#{fid}"
    changes.create(f, "file", fid, p.user_id)
    seconds = s.file_upload_url_minutes * 60
    url, headers = storage.presign_upload(storage.pending_key(p.tenant_id, fid), content_type, int(f.size), digest[1], seconds)
    metric("files.file.created")
    return {**out(f), "upload": {"url": url, "method": "PUT", "headers": headers,
                                 "expires_at": clock.iso(now + timedelta(seconds=seconds))}}


def _human(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n} B"


def confirm(file_id: str) -> dict[str, Any]:
    """The uploader says the upload is done: the object must exist with the declared size and
    SHA-256; the file then moves to its final key and becomes usable. Confirming twice is fine."""
    p = org.principal()
    f = _load(p.tenant_id, file_id)
    if f.created_by != p.user_id:
        raise NotFound("entity.file")
    if f.status == "uploaded":
        return out(f)
    source = storage.pending_key(p.tenant_id, f.id)
    found = storage.head(source)
    if found is None:
        raise ValidationFailed("FILE_NOT_UPLOADED")
    if found["size"] != int(f.size):
        raise ValidationFailed("FILE_SIZE_MISMATCH", expected=int(f.size), actual=found["size"])
    declared = _b64(f.sha256)
    if found["sha256"] is not None and found["sha256"] != declared:
        raise ValidationFailed("FILE_CHECKSUM_MISMATCH")
    if storage.promote(source, f.key) != declared:
        raise ValidationFailed("FILE_CHECKSUM_MISMATCH")
    try:
        changes.save(f, "file", f.id, p.user_id, {"status": "uploaded", "uploaded_at": clock.now_iso(), "expires_at": None}, f.version)
    except Conflict:
        f = _load(p.tenant_id, file_id)  # a concurrent confirmation won
        if f.status != "uploaded":
            raise
    metric("files.file.uploaded")
    return out(f)


def mine(limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    items, nxt = query.page(File, uploads_pk(p.tenant_id, p.user_id), index="gsi1", limit=limit, cursor=cursor)
    return {"items": [out(f) for f in items if isinstance(f, File)], "next_cursor": nxt}


# ---- reading ----------------------------------------------------------------------------------------
def _readable(p: Principal, file_id: str) -> File:
    """The file, when the caller uploaded it or may read a record it is linked to; else 404."""
    f = _load(p.tenant_id, file_id)
    if f.created_by == p.user_id:
        return f
    if f.status == "uploaded":
        # the file's partition: its links (ATTACH#…, USE#…) sort after the file item ("#")
        for link in Item.query(f.pk, Item.sk > keys.RECORD_SK, limit=MAX_LINKS_CHECKED):
            if isinstance(link, FileLink) and _may_read_record(link.entity, link.record_id):
                return f
    raise NotFound("entity.file")


def get(file_id: str) -> dict[str, Any]:
    p = org.principal()
    return out(_readable(p, file_id))


def _download(f: File | FileLink, key: str) -> tuple[str, str]:
    minutes = get_settings().file_download_url_minutes
    url = storage.presign_download(key, f.name, f.content_type, minutes * 60)
    return url, clock.iso(clock.now() + timedelta(minutes=minutes))


def download(file_id: str) -> dict[str, Any]:
    p = org.principal()
    f = _readable(p, file_id)
    if f.status != "uploaded":
        raise Conflict("FILE_NOT_CONFIRMED")
    url, expires = _download(f, f.key)
    metric("files.file.downloaded")
    return {"url": url, "expires_at": expires, "name": f.name, "content_type": f.content_type, "size": int(f.size)}


# ---- what other modules call ----------------------------------------------------------------------
def ref_id(ref: Any) -> str | None:
    """The file id of a field value: an id, or {"id": …} (the stored shape)."""
    value = ref.get("id") if isinstance(ref, Mapping) else ref
    return value if isinstance(value, str) and value else None


def usable(tenant_id: str, user_id: str, ref: Any) -> dict[str, Any] | None:
    """The file's metadata {id, name, size, content_type, sha256} when `ref` names a confirmed file
    that `user_id` uploaded in `tenant_id`; else None."""
    file_id = ref_id(ref)
    if file_id is None or len(file_id) > 64:
        return None
    try:
        f = File.get(file_pk(tenant_id, file_id), keys.RECORD_SK)
    except DoesNotExist:
        return None
    if not isinstance(f, File) or f.tenant_id != tenant_id or f.created_by != user_id or f.status != "uploaded":
        return None
    return meta(f)


def link_ops(tenant_id: str, entity: str, record_id: str, before: Iterable[str], after: Iterable[str], actor: str) -> list[tx.Op]:
    """The writes that keep a record's "uses" of files (field values, form data, comments) in step:
    a link for each file it now holds, none for the ones it dropped. Join the record's transaction."""
    old, new = set(before), set(after)
    now = clock.now_iso()
    ops: list[tx.Op] = []
    for fid in sorted(new - old):
        ops.append(tx.put(FileLink(pk=file_pk(tenant_id, fid), sk=link_sk(USE, entity, record_id), tenant_id=tenant_id, file_id=fid,
                                   entity=entity.upper(), record_id=record_id, kind="use", created_at=now, created_by=actor)))
    for fid in sorted(old - new):
        ops.append(tx.delete(FileLink(pk=file_pk(tenant_id, fid), sk=link_sk(USE, entity, record_id), tenant_id=tenant_id,
                                      file_id=fid, entity=entity.upper(), record_id=record_id, kind="use", created_at=now,
                                      created_by=actor)))
    return ops


def file_ids(values: Iterable[Any]) -> set[str]:
    """The ids of stored file values ([{id, …}])."""
    return {i for v in values if (i := ref_id(v))}


# ---- attachments (engine/attachments.py applies the record's rules) --------------------------------
def attachment_out(link: FileLink, *, with_url: bool = True) -> dict[str, Any]:
    item = {"file_id": link.file_id, "name": link.name, "size": int(link.size or 0), "content_type": link.content_type,
            "sha256": link.sha256, "attached_at": link.created_at, "attached_by": link.created_by}
    if with_url:
        key = storage.file_key(link.tenant_id, link.file_id, link.name or "")
        item["download_url"], item["download_expires_at"] = _download(link, key)
    return item


def attach_ops(tenant_id: str, entity: str, record_id: str, file: dict[str, Any], actor: str) -> tuple[FileLink, list[tx.Op]]:
    """The attachment link of a usable file, and its operation-log entry on the record."""
    now = clock.now_iso()
    link = FileLink(pk=file_pk(tenant_id, file["id"]), sk=link_sk(ATTACH, entity, record_id), tenant_id=tenant_id,
                    file_id=file["id"], entity=entity.upper(), record_id=record_id, kind="attachment", name=file["name"],
                    content_type=file["content_type"], size=file["size"], sha256=file["sha256"], created_at=now, created_by=actor,
                    gsi3pk=keys.record_pk(tenant_id, entity, record_id), gsi3sk=f"{ATTACH}{now}#{file['id']}")
    entry = audit.entry(tenant_id, entity, record_id, "attach", actor,
                        [{"field": "attachments", "before": None, "after": {"id": file["id"], "name": file["name"]}}], file["name"])
    return link, [tx.put(link, condition=FileLink.pk.does_not_exist(), on_conflict=lambda: Conflict("FILE_ALREADY_ATTACHED")),
                  tx.put(entry)]


def detach_ops(tenant_id: str, entity: str, record_id: str, file_id: str, actor: str) -> tuple[FileLink, list[tx.Op]]:
    try:
        link = FileLink.get(file_pk(tenant_id, file_id), link_sk(ATTACH, entity, record_id))
    except DoesNotExist:
        raise NotFound("entity.attachment") from None
    if not isinstance(link, FileLink) or link.tenant_id != tenant_id:
        raise NotFound("entity.attachment")
    entry = audit.entry(tenant_id, entity, record_id, "detach", actor,
                        [{"field": "attachments", "before": {"id": link.file_id, "name": link.name}, "after": None}], link.name)
    return link, [tx.delete(link, condition=FileLink.pk.exists(), on_conflict=lambda: NotFound("entity.attachment")),
                  tx.put(entry)]


def attachments(tenant_id: str, entity: str, record_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """A record's attachments, newest first, each with a download link (one Query on gsi3)."""
    items, nxt = query.page(FileLink, keys.record_pk(tenant_id, entity, record_id), index="gsi3", limit=limit, cursor=cursor,
                            range_condition=Item.gsi3sk.startswith(ATTACH))
    return {"items": [attachment_out(link) for link in items if isinstance(link, FileLink)], "next_cursor": nxt}



def save_bytes(tenant_id: str, user_id: str, name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A file written by the server itself (an inbound mail's attachment), confirmed at once and usable
    by `user_id` like a file they uploaded: {id, name, size, content_type, sha256}."""
    import io

    name = _clean_name(name) or "file"
    content_type = (content_type or "application/octet-stream").strip().lower()[:100]
    fid = ids.new_id()
    f = File(pk=file_pk(tenant_id, fid), sk=keys.RECORD_SK, tenant_id=tenant_id, id=fid, name=name, content_type=content_type,
             size=len(data), sha256=hashlib.sha256(data).hexdigest(), status="uploaded",
             key=storage.file_key(tenant_id, fid, name), uploaded_at=clock.now_iso())
    storage.upload(f.key, io.BytesIO(data), content_type)
    changes.stamp(f, user_id, new=True)
    f.gsi1pk, f.gsi1sk = uploads_pk(tenant_id, user_id), f"{f.created_at}#{fid}"
    changes.create(f, "file", fid, user_id)
    metric("files.file.uploaded")
    return meta(f)
