"""Table stream consumer: files of records purged from the recycle bin are deleted (S3 object and
item) once no record links them (chalicelib/files/purged.py).

The filter passes REMOVEs of business records (sk "#"); the handler keeps those whose old image
was in the recycle bin (a purge), not the expiry of TTL items. A failure reports that record
(ReportBatchItemFailures): Lambda retries from it, and the work is idempotent.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core.observability import flush, logger, metric
from chalicelib.files import purged

manifest.install()  # every module's record classes (the image of any record type reads back)


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    deleted = 0
    for r in event.get("Records", []):
        if r.get("eventName") != "REMOVE" or (r.get("userIdentity") or {}).get("type") == "Service":
            continue
        try:
            done = purged.purged((r.get("dynamodb") or {}).get("OldImage") or {})
        except Exception:  # noqa: BLE001 - retried from this record; the deletes are idempotent
            logger.exception("purged record's files failed", extra={"event_id": r.get("eventID")})
            flush()
            return {"batchItemFailures": [{"itemIdentifier": (r.get("dynamodb") or {}).get("SequenceNumber")}]}
        deleted += (done or {}).get("files", 0)
    if deleted:
        metric("files.purged.deleted", deleted)
    flush()
    return {"batchItemFailures": []}
