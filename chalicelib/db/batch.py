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

BATCH = 25  # DynamoDB's limit of items per BatchWriteItem call
ATTEMPTS = 8  # calls for one batch before its unprocessed items are given up on
BASE_WAIT = 0.05  # seconds; doubled each attempt (full jitter), at most MAX_WAIT
MAX_WAIT = 2.0


class Unprocessed(Exception):
    """Items DynamoDB still had not written after ATTEMPTS calls (nothing is known of the rest)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        super().__init__(f"{len(items)} items left unprocessed by BatchWriteItem")


def put_all(items: Iterable[Item]) -> int:
    """Put every item (a new versioned item gets version 1, as a conditional put would give it);
    returns how many calls it took."""
    calls = 0
    pending: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Versioned) and item.version is None:
            item.version = 1
        pending.append(item.serialize())
        if len(pending) == BATCH:
            calls += _write(pending)
            pending = []
    if pending:
        calls += _write(pending)
    return calls


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
