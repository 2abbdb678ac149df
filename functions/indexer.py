"""Table stream consumer: keeps the search index in step with the table.

Each stream record of a business record (sk "#", a searchable type) becomes one bulk
operation: INSERT/MODIFY -> index the new image (a soft-deleted record -> delete),
REMOVE (purge) -> delete. Operations carry the record version, so the engines apply
them idempotently: an older version never overwrites a newer one and a replayed batch
changes nothing. Within a batch only the newest operation per record is sent.

A failed bulk call reports the batch's first record as failed (ReportBatchItemFailures),
so Lambda retries the batch (bisecting it on repeated failure) and finally sends it to
the on-failure destination (infra/), while the shard moves on.
"""
from __future__ import annotations

from typing import Any

from chalicelib import manifest
from chalicelib.core.observability import flush, logger, metric
from chalicelib.db.base import Item
from chalicelib.engine import service as engine
from chalicelib.search.port import get_index
from chalicelib.search.query import IndexOp

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions


def _record(image: dict[str, Any] | None):
    """The engine record of a stream image, or None for items that are not records."""
    if not image or image.get("sk", {}).get("S") != "#" or image.get("type", {}).get("S") != "REC":
        return None
    return Item.from_raw_data(image)


def operations(records: list[dict[str, Any]]) -> list[IndexOp]:
    """Stream records -> the newest index operation per record."""
    newest: dict[tuple[str, str, str], IndexOp] = {}
    for r in records:
        ddb = r.get("dynamodb") or {}
        removed = r.get("eventName") == "REMOVE"
        rec = _record(ddb.get("OldImage") if removed else ddb.get("NewImage"))
        if rec is None:
            continue
        op = engine.index_op(rec, removed=removed)
        if op is None:
            continue
        key = (op.entity, op.tenant_id, op.id)
        if key not in newest or op.version >= newest[key].version:
            newest[key] = op
    return list(newest.values())


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    records = event.get("Records", [])
    try:
        ops = operations(records)
        counts = get_index().bulk(ops)
    except Exception:  # noqa: BLE001 - the whole batch is retried; operations are idempotent
        logger.exception("indexing failed", extra={"records": len(records)})
        first = (records[0].get("dynamodb") or {}).get("SequenceNumber") if records else None
        flush()
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    for name, n in counts.items():
        if n:
            metric(f"search.{name}", n)
    flush()
    return {"batchItemFailures": []}
