"""Table stream consumer: the Scheduler schedules of record types' timers follow their records.

Each stream record of a business record (sk "#") whose type declares timers (a customer's pool
recycling and its warning) compares the moments its old and new images say; a moved moment
deletes the old moment's schedule and creates the new one's (engine/due.py `follow`). Soft
deletes and restores are changes like any other (a record in the recycle bin has no timers);
a purge removes them.

Idempotent: a replayed record repeats the same delete and upsert. A failure reports that
record (ReportBatchItemFailures), so Lambda retries from it, and in the end the batch goes to
the on-failure destination (infra/) while the shard moves on.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core import context
from chalicelib.core.observability import flush, logger, metric
from chalicelib.db.base import Item
from chalicelib.engine import due, registry

manifest.install()  # this Lambda sees every module's record types, their hooks and timers


def _record(image: dict[str, Any] | None):
    if not image or image.get("sk", {}).get("S") != "#" or image.get("type", {}).get("S") != "REC":
        return None
    return Item.from_raw_data(image)


def follow(record: dict[str, Any]) -> int:
    """One stream record -> its timers' Scheduler calls (how many)."""
    ddb = record.get("dynamodb") or {}
    old, new = _record(ddb.get("OldImage")), _record(ddb.get("NewImage"))
    rec = new or old
    if rec is None:
        return 0
    d = registry.find(rec.entity, rec.tenant_id)
    if d is None or not d.timers:
        return 0
    with context.acting_as(context.system_context(rec.tenant_id)):
        return due.follow(d, rec.tenant_id, rec.id, due.live_values(old), due.live_values(new))


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    calls = 0
    for r in event.get("Records", []):
        try:
            calls += follow(r)
        except Exception:  # noqa: BLE001 - retried from this record; the calls are idempotent
            logger.exception("timer schedules failed", extra={"event_id": r.get("eventID")})
            flush()
            return {"batchItemFailures": [{"itemIdentifier": (r.get("dynamodb") or {}).get("SequenceNumber")}]}
    if calls:
        metric("records.timers.scheduler_calls", calls)
    flush()
    return {"batchItemFailures": []}
