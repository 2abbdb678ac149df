"""Files of purged records: when a record leaves the recycle bin for good, its attachments and the
files its values used lose that link; a file left with no link at all is deleted — its S3 object
and its item. Driven by the table stream (functions/purged_files.py): the REMOVE of a record that
was in the recycle bin is a purge, whichever module's record it was.

Idempotent: a replayed stream record finds the links gone and deletes nothing more.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core.observability import logger
from ..db import keys
from ..db.base import Item
from ..ports import files as storage
from .models import ATTACH, USE, File, FileLink, file_pk, link_sk


def _used_ids(value: Any) -> set[str]:
    """Ids of the stored file values ({id, sha256, …}) anywhere in a record's values."""
    if isinstance(value, dict):
        own = {value["id"]} if isinstance(value.get("id"), str) and "sha256" in value else set()
        return own.union(*(_used_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_used_ids(v) for v in value)) if value else set()
    return set()


def purged(image: dict[str, Any]) -> dict[str, int] | None:
    """The old image of a removed item -> {"links": …, "files": …} removed, or None when it was not
    a purged record (not a record, or not in the recycle bin: a hard delete of something else)."""
    if (image.get("sk") or {}).get("S") != keys.RECORD_SK or not (image.get("deleted_at") or {}).get("S"):
        return None
    rec = Item.from_raw_data(image)
    tenant_id, pk = rec.tenant_id, rec.pk
    parts = pk.split("#")
    if len(parts) < 4:
        return None
    entity, record_id = parts[2], parts[3]
    links: list[FileLink] = [x for x in Item.gsi3.query(pk, Item.gsi3sk.startswith(ATTACH)) if isinstance(x, FileLink)]
    values = [getattr(rec, "data", None), getattr(rec, "custom", None)]
    for fid in sorted(_used_ids([v for v in values if v])):
        try:
            link = FileLink.get(file_pk(tenant_id, fid), link_sk(USE, entity, record_id))
        except DoesNotExist:
            continue
        links.append(link)
    removed = {"links": 0, "files": 0}
    for link in links:
        link.delete()
        removed["links"] += 1
        if next(iter(Item.query(link.pk, Item.sk > keys.RECORD_SK, limit=1)), None) is not None:
            continue  # another record still uses the file
        try:
            f = File.get(link.pk, keys.RECORD_SK)
        except DoesNotExist:
            continue
        storage.delete_object(f.key)
        f.delete()
        removed["files"] += 1
    if removed["files"]:
        logger.info("files of a purged record deleted", extra={"tenant_id": tenant_id, "record": pk, **removed})
    return removed
