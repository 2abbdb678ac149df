"""Make moto's DynamoDB behave like DynamoDB under concurrency.

DynamoDB applies each request atomically. moto's in-memory tables are plain dicts that
concurrent requests (threads of the moto server, or of a test) can corrupt mid-request
(e.g. TransactWriteItems deep-copies a table while another thread writes to it). Running
one DynamoDB request at a time restores request-level atomicity; races *between*
requests — the ones our conditions and transactions must handle — still happen.
"""
from __future__ import annotations

import functools
import threading

_lock = threading.RLock()
_applied = False


def serialize_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self):  # type: ignore[no-untyped-def]
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True
