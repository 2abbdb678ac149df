"""Rebuild one tenant's search index from the table.

    python -m functions.reindex <tenant_id> [--drop] [--rewrite]
        (or invoke the Lambda with {"tenant_id": …, "rewrite": true})

Reads every live record of every searchable entity (the tenant partition of gsi2, page by
page) and bulk-indexes it with its version; documents whose record is gone or in the
recycle bin are deleted. Safe while the stream indexer runs: both write by version, so
whichever is newer wins. --drop first removes everything the index holds for the tenant.
--rewrite also replaces documents the index holds at the record's current version: after a
release that puts more into documents (e.g. the duplicate keys dup_company, dup_phone … of
record types that declare duplicate checks), existing documents get it without --drop's gap.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from chalicelib import manifest
from chalicelib.core.observability import flush, logger
from chalicelib.db import keys, query
from chalicelib.engine import registry
from chalicelib.engine import service as engine
from chalicelib.engine.store import EntityRecord
from chalicelib.search import schema
from chalicelib.search.port import get_index
from chalicelib.search.query import IndexOp

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions

BATCH = 500


def reindex(tenant_id: str, *, drop: bool = False, rewrite: bool = False) -> dict[str, Any]:
    index = get_index()
    started = time.perf_counter()
    if drop:
        index.drop_tenant(tenant_id)
    totals = {"indexed": 0, "deleted": 0, "skipped": 0, "records": 0}
    # what the index holds before the scan: a record the stream indexes meanwhile is not pruned
    before = {entity: index.versions(tenant_id, entity) for entity in schema.schemas()}
    live: dict[str, set[str]] = {}  # index entity (CUSTOMER, OBJECT …) -> ids that exist
    for d in registry.every(tenant_id, include_hidden=True):
        seen = live.setdefault(engine.search_schema(d).entity, set())
        cursor = None
        while True:
            items, cursor = query.page(EntityRecord, keys.tenant_list(tenant_id, d.entity), index="gsi2", limit=BATCH, cursor=cursor)
            recs = [r for r in items if isinstance(r, EntityRecord) and r.entity == d.entity]
            seen |= {r.id for r in recs}
            ops = [op for r in recs if (op := engine.index_op(r)) is not None]
            for k, v in index.bulk([dataclasses.replace(op, replace=True) for op in ops] if rewrite else ops).items():
                totals[k] += v
            totals["records"] += len(recs)
            if not cursor:
                break
    for entity, versions in before.items():
        ids = live.get(entity, set())
        stale = [IndexOp("delete", entity, tenant_id, i, v + 1) for i, v in versions.items() if i not in ids]
        for k, v in index.bulk(stale).items():
            totals[k] += v
    index.refresh()
    totals["seconds"] = round(time.perf_counter() - started, 3)
    logger.info("reindexed", extra={"tenant_id": tenant_id, **totals})
    return totals


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    try:
        return reindex(event["tenant_id"], drop=bool(event.get("drop")), rewrite=bool(event.get("rewrite")))
    finally:
        flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rebuild one tenant's search index from the table")
    ap.add_argument("tenant_id")
    ap.add_argument("--drop", action="store_true", help="remove the tenant's documents first")
    ap.add_argument("--rewrite", action="store_true", help="also replace documents of the records' current versions")
    args = ap.parse_args(argv)
    print(reindex(args.tenant_id, drop=args.drop, rewrite=args.rewrite))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
