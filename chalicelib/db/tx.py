"""Transactions: every multi-item change goes through `write()`.

A change is a list of operations that must hold together (record + audit entry +
idempotency marker + counters). It is one TransactWriteItems call; a failed condition
is reported per operation so the caller can tell a stale version from a duplicate.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..core.errors import Conflict
from .base import Item, connection


@dataclass
class Op:
    kind: str  # put | update | delete | check
    model: Any
    condition: Any = None
    actions: list = field(default_factory=list)
    on_conflict: Callable[[], Exception] | None = None


def put(item: Item, condition: Any = None, on_conflict: Callable[[], Exception] | None = None) -> Op:
    return Op("put", item, condition, on_conflict=on_conflict)


def update(item: Item, actions: list, condition: Any = None, on_conflict: Callable[[], Exception] | None = None) -> Op:
    return Op("update", item, condition, actions, on_conflict=on_conflict)


def delete(item: Item, condition: Any = None, on_conflict: Callable[[], Exception] | None = None) -> Op:
    return Op("delete", item, condition, on_conflict=on_conflict)


def check(model_cls: type[Item], pk: str, sk: str, condition: Any, on_conflict: Callable[[], Exception] | None = None) -> Op:
    return Op("check", (model_cls, pk, sk), condition, on_conflict=on_conflict)


class Cancelled(Exception):
    """A transaction was cancelled; `failed` lists the indexes whose condition failed."""

    def __init__(self, failed: list[int], reasons: list[str | None]) -> None:
        self.failed = failed
        self.reasons = reasons
        super().__init__(f"transaction cancelled: {reasons}")


def write(ops: list[Op]) -> None:
    """Run the operations atomically (one round trip, or a single-item call for one op).

    A failed condition raises the op's `on_conflict()` error (default: 409 VERSION_CONFLICT).
    """
    ops = [o for o in ops if o is not None]
    if len(ops) == 1 and ops[0].kind != "check":
        _single(ops[0])
        return
    # PynamoDB sends condition checks, then deletes, then puts, then updates; cancellation
    # reasons come back in that order, so they are matched against the operations as sent.
    ops = [o for kind in ("check", "delete", "put", "update") for o in ops if o.kind == kind]
    try:
        _send(ops)
    except TransactWriteError as e:
        reasons = [getattr(r, "code", None) if r else None for r in (e.cancellation_reasons or [])]
        failed = [i for i, r in enumerate(reasons) if r == "ConditionalCheckFailed"]
        for i in failed:
            if ops[i].on_conflict:
                raise ops[i].on_conflict() from e
        if failed:
            raise Conflict() from e
        if any(r == "TransactionConflict" for r in reasons):
            raise Conflict() from e
        raise


def _single(op: Op) -> None:
    try:
        if op.kind == "put":
            op.model.save(condition=op.condition)
        elif op.kind == "update":
            op.model.update(actions=op.actions, condition=op.condition)
        else:
            op.model.delete(condition=op.condition)
    except (PutError, UpdateError, DeleteError) as e:
        if e.cause_response_code == "ConditionalCheckFailedException":
            raise (op.on_conflict() if op.on_conflict else Conflict()) from e
        raise


def _send(ops: list[Op]) -> None:
    """One TransactWriteItems of `ops`, in the order given (the order cancellation reasons come back in)."""
    with TransactWrite(connection=connection()) as tw:
        for op in ops:
            if op.kind == "put":
                tw.save(op.model, condition=op.condition)
            elif op.kind == "update":
                tw.update(op.model, actions=op.actions, condition=op.condition)
            elif op.kind == "delete":
                tw.delete(op.model, condition=op.condition)
            else:
                cls, pk, sk = op.model
                tw.condition_check(cls, pk, sk, condition=op.condition)


CONFLICT_ATTEMPTS = 5  # a transaction another one collided with (TransactionConflict) is sent again


def refused(ops: list[Op]) -> list[int]:
    """Run the operations atomically like `write()`, but answer instead of raising when conditions
    fail: the indexes (in `ops`) of the operations whose condition failed — then nothing was
    written; [] when everything was. A collision with another transaction is retried with a short
    jittered wait; any other failure raises. For callers that commit many independent claims
    together and drop the refused ones (an import's duplicate leases)."""
    import random
    import time

    if not ops:
        return []
    order = [i for kind in ("check", "delete", "put", "update") for i, o in enumerate(ops) if o.kind == kind]
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            _send([ops[i] for i in order])
            return []
        except TransactWriteError as e:
            reasons = [getattr(r, "code", None) if r else None for r in (e.cancellation_reasons or [])]
            failed = [order[i] for i, r in enumerate(reasons) if r == "ConditionalCheckFailed"]
            if failed:
                return sorted(failed)
            if not any(r == "TransactionConflict" for r in reasons) or attempt == CONFLICT_ATTEMPTS - 1:
                if any(r == "TransactionConflict" for r in reasons):
                    raise Conflict() from e
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise AssertionError("unreachable")
