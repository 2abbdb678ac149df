"""Unconditional writes of many items: BatchWriteItem, 25 items a call, the items DynamoDB left
unprocessed (throttling, a partition busy) sent again after a growing, jittered wait.

For items no one else can be writing — an import's records under ids only that import derives,
and their operation-log entries (see imports/runner.py for why that holds) — where a transaction
would only add its conditions' and two-phase commit's cost. Anything that must be checked (a
lease, a unique value, a counter within a limit) goes through `tx`.
"""
from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from .base import Item, Versioned
from .serial import serialized

BATCH = 25  # DynamoDB's limit of items per BatchWriteItem call
ATTEMPTS = 8  # calls for one batch before its unprocessed items are given up on
BASE_WAIT = 0.05  # seconds; doubled each attempt (full jitter), at most MAX_WAIT
MAX_WAIT = 2.0


class Unprocessed(Exception):
    """Items DynamoDB still had not written after ATTEMPTS calls (nothing is known of the rest)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        super().__init__(f"{len(items)} items left unprocessed by BatchWriteItem")


def put_all(items: Iterable[Item], workers: int = 1) -> int:
    """Put every item (a new versioned item gets version 1, as a conditional put would give it);
    returns how many calls it took. `workers` > 1: that many calls in flight at once (the items
    are independent: their order does not matter)."""
    batches: list[list[dict[str, Any]]] = [[]]
    for item in items:
        if isinstance(item, Versioned) and item.version is None:
            item.version = 1
        if len(batches[-1]) == BATCH:
            batches.append([])
        batches[-1].append(serialized(item))
    batches = [b for b in batches if b]
    if workers <= 1 or len(batches) <= 1:
        return sum(_write(b) for b in batches)
    return sum(in_parallel(_write, batches, workers))


def in_parallel(fn: Any, args: list[Any], workers: int) -> list[Any]:
    """fn(a) for each a, `workers` at a time in threads that see the caller's context; results in order."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    ctx = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=min(workers, len(args))) as pool:
        return list(pool.map(lambda a: ctx.copy().run(fn, a), args))


def _write(items: list[dict[str, Any]]) -> int:
    conn = Item._get_connection()  # the table's connection (it knows the table's key schema)
    table = Item.Meta.table_name
    calls = 0
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(MAX_WAIT, BASE_WAIT * 2 ** attempt)))
        out = conn.batch_write_item(put_items=items) or {}
        calls += 1
        left = (out.get("UnprocessedItems") or {}).get(table) or []
        if not left:
            return calls
        items = [r["PutRequest"]["Item"] for r in left if "PutRequest" in r]
    raise Unprocessed(items)
