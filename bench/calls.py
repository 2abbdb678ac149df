"""Recording every AWS API call the process makes, with DynamoDB capacity estimates.

All botocore clients — PynamoDB's own connection, `chalicelib.ports.client()` and the
benchmark's raw client — send their requests through `BaseClient._make_api_call`, so
one wrapper around it sees every call exactly once (retries happen inside it; they are
reported through the response metadata's `RetryAttempts`).

Capacity: moto answers `ReturnConsumedCapacity` with fixed constants (0.5 or 1.0 whatever
the item size), and the app does not ask for it. The recorder therefore estimates
capacity units from the items each call actually sends or receives, with DynamoDB's
on-demand sizing rules:

- reads: ceil(bytes / 4 KB) per GetItem item, per BatchGetItem item, per Query page
  (sum of the page's items); eventually consistent reads cost half; a read that finds
  nothing still costs the minimum unit;
- writes: ceil(bytes / 1 KB) for the table plus the same again for every GSI whose key
  attributes the written item carries (all indexes project ALL);
- transactions cost twice the units of their parts (ConditionCheck counts as a write
  of 1 KB);
- UpdateItem / DeleteItem count 1 unit per item plus nothing for indexes, because the
  stored item is not visible to the caller — so writes are a lower bound.

Rate limits: the conditional write a container makes to its tenant's bucket per lease of tokens
(chalicelib/core/ratelimit.py) is kept apart (`rate_limit_writes`), so round trips and
operations stay those of the endpoint's data and the limiter's share is reported on its own.
A conditional write that fails raises inside the wrapper and is not recorded (the bench's
requests never race, so its limiter writes succeed).
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

INDEXES = ("gsi1", "gsi2", "gsi3", "gsi5")  # projection ALL: a write of an item with their keys writes them too


@dataclass
class Call:
    """One AWS API call as seen by the client."""

    service: str
    operation: str
    seconds: float
    rcu: float = 0.0
    wcu: float = 0.0
    retries: int = 0
    thread: str = ""
    rate_limit: bool = False  # the write to a rate-limit bucket


@dataclass
class Recording:
    """The calls made while a `Recorder.record()` block was open."""

    calls: list[Call] = field(default_factory=list)

    def dynamodb(self) -> list[Call]:
        """The endpoint's own DynamoDB calls (not the rate-limit write)."""
        return [c for c in self.calls if c.service == "dynamodb" and not c.rate_limit]

    @property
    def rate_limit_writes(self) -> int:
        return sum(1 for c in self.calls if c.rate_limit)

    def other(self) -> list[Call]:
        return [c for c in self.calls if c.service != "dynamodb"]

    @property
    def round_trips(self) -> int:
        return len(self.dynamodb())

    @property
    def operations(self) -> list[str]:
        return [c.operation for c in self.dynamodb()]

    @property
    def other_operations(self) -> list[str]:
        return [f"{c.service}.{c.operation}" for c in self.other()]

    @property
    def rcu(self) -> float:
        return sum(c.rcu for c in self.dynamodb())

    @property
    def wcu(self) -> float:
        return sum(c.wcu for c in self.dynamodb())

    @property
    def storage_seconds(self) -> float:
        return sum(c.seconds for c in self.dynamodb())

    @property
    def aws_seconds(self) -> float:
        """Time inside every AWS call (DynamoDB and the rest)."""
        return sum(c.seconds for c in self.calls)

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.calls)


class Recorder:
    """Wraps `botocore.client.BaseClient._make_api_call` for the life of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Recording] = []
        self._original = None

    def install(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            return
        original = BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict) -> dict:
            started = time.perf_counter()
            response = original(client, operation_name, api_params)
            seconds = time.perf_counter() - started
            service = client.meta.service_model.service_name
            recorder._add(service, operation_name, api_params, response, seconds)
            return response

        self._original = original
        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None

    def _add(self, service: str, operation: str, params: dict, response: dict, seconds: float) -> None:
        with self._lock:
            if not self._active:
                return
        rcu, wcu = estimate(operation, params, response) if service == "dynamodb" else (0.0, 0.0)
        retries = int((response or {}).get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
        call = Call(service, operation, seconds, rcu, wcu, retries, threading.current_thread().name,
                    rate_limit=service == "dynamodb" and _is_rate_limit(params))
        with self._lock:
            for rec in self._active:
                rec.calls.append(call)

    @contextmanager
    def record(self) -> Iterator[Recording]:
        """Collect the calls made (by any thread) until the block ends."""
        rec = Recording()
        with self._lock:
            self._active.append(rec)
        try:
            yield rec
        finally:
            with self._lock:
                self._active.remove(rec)


def _is_rate_limit(params: dict) -> bool:
    from chalicelib.db.buckets import SK

    return params.get("Key", {}).get("sk") == {"S": SK}


# ---- capacity estimates ----------------------------------------------------------------

def _value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode("utf-8"))
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if kind == "NS":
        return sum(_value_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item in DynamoDB JSON: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _write_units(item: dict[str, Any]) -> float:
    units = max(1, math.ceil(item_size(item) / 1024))
    indexed = sum(1 for i in INDEXES if f"{i}pk" in item and f"{i}sk" in item)
    return float(units * (1 + indexed))


def estimate(operation: str, params: dict, response: dict) -> tuple[float, float]:
    """(read units, write units) of one DynamoDB call, estimated from its items."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(response.get("Item")), consistent), 0.0
    if operation == "Query" or operation == "Scan":
        return _read_units(sum(item_size(i) for i in response.get("Items", [])), consistent), 0.0
    if operation == "BatchGetItem":
        total = 0.0
        for table, items in response.get("Responses", {}).items():
            table_consistent = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            total += sum(_read_units(item_size(i), table_consistent) for i in items)
        return total, 0.0
    if operation == "TransactGetItems":
        return sum(2 * _read_units(item_size(r.get("Item")), True) for r in response.get("Responses", [])), 0.0
    if operation == "PutItem":
        return 0.0, _write_units(params.get("Item", {}))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        total = 0.0
        for requests in params.get("RequestItems", {}).values():
            for r in requests:
                total += _write_units(r["PutRequest"]["Item"]) if "PutRequest" in r else 1.0
        return 0.0, total
    if operation == "TransactWriteItems":
        total = 0.0
        for part in params.get("TransactItems", []):
            total += 2 * (_write_units(part["Put"]["Item"]) if "Put" in part else 1.0)
        return 0.0, total
    return 0.0, 0.0


RECORDER = Recorder()
