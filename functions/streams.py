"""How a table stream batch is delivered to a consumer, and what happens to the records it fails.

One policy for both places a stream consumer runs: infra/ sets it on every event source mapping
(``FunctionResponseTypes: ReportBatchItemFailures``, ``BisectBatchOnFunctionError``,
``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``, an SQS on-failure destination), and
devstack's StreamDriver applies it with `deliver`, so a failing record behaves the same locally:

- the consumer returns ``{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}, …]}``; the records
  before the lowest reported one are done (checkpointed), the batch is retried from that one on;
- an exception, or an identifier that names no record of the batch, fails the whole batch;
- a failing batch of more than one record is split in two before it is retried (bisect; splitting does
  not use up retries); a single failing record is retried `max_retry_attempts` times;
- then its range goes to the on-failure destination (a message describing the batch, as Lambda sends it:
  the records themselves stay on the stream for 24 hours) and the shard moves on;
- a record older than `max_record_age_seconds` is not delivered at all, and goes the same way.

Consumers must therefore be idempotent: the records after a failed one are delivered again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class StreamRetryPolicy:
    batch_size: int = 100
    bisect_on_error: bool = True
    max_retry_attempts: int = 5
    max_record_age_seconds: int = 24 * 3600


#: Every stream consumer's policy (functions/registry.py: the functions with a stream_filter).
STREAM_RETRY = StreamRetryPolicy()

Handler = Callable[[dict[str, Any], Any], Any]
#: Called with the records given up on and why ("RetryAttemptsExhausted", "RecordAgeExceeded").
OnFailure = Callable[[list[dict[str, Any]], str, int], None]


def sequence_number(record: dict[str, Any]) -> str | None:
    return (record.get("dynamodb") or {}).get("SequenceNumber")


def first_failure(records: list[dict[str, Any]], result: Any) -> int | None:
    """The index of the first record to retry, from a consumer's result; None when all succeeded."""
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return None
    index = {sequence_number(r): i for i, r in enumerate(records)}
    positions = [index.get(f.get("itemIdentifier")) if isinstance(f, dict) else None for f in failures]
    if any(p is None for p in positions):  # an unknown or empty identifier fails the whole batch
        return 0
    return min(positions)


def _age_seconds(record: dict[str, Any], now: datetime) -> float:
    created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if created is None:
        return 0.0
    try:
        when = datetime.fromtimestamp(float(created), tz=UTC)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(str(created))
        except ValueError:
            return 0.0
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return (now - when).total_seconds()


def deliver(handler: Handler, records: list[dict[str, Any]], on_failure: OnFailure, *,
            policy: StreamRetryPolicy = STREAM_RETRY, now: datetime | None = None,
            log: Callable[[str, dict[str, Any]], None] | None = None) -> int:
    """Deliver `records` (in stream order) to `handler` in batches under `policy`; hand what it gives up
    on to `on_failure`. Returns how many invocations it took."""
    now = now or datetime.now(UTC)
    fresh, stale = [], []
    for r in records:
        (fresh if _age_seconds(r, now) <= policy.max_record_age_seconds else stale).append(r)
    if stale:
        on_failure(stale, "RecordAgeExceeded", 0)
    invocations = 0

    def attempt(batch: list[dict[str, Any]], retries_left: int, invoked: int) -> None:
        nonlocal invocations
        invocations += 1
        try:
            result = handler({"Records": batch}, None)
        except Exception as exc:  # noqa: BLE001 - an unhandled error fails the whole batch, as in Lambda
            if log:
                log("stream consumer raised", {"error": repr(exc), "records": len(batch)})
            result = {"batchItemFailures": [{"itemIdentifier": None}]}
        start = first_failure(batch, result)
        if start is None:
            return
        rest = batch[start:]
        if policy.bisect_on_error and len(rest) > 1:
            middle = len(rest) // 2
            attempt(rest[:middle], retries_left, invoked + 1)
            attempt(rest[middle:], retries_left, invoked + 1)
        elif retries_left > 0:
            attempt(rest, retries_left - 1, invoked + 1)
        else:
            on_failure(rest, "RetryAttemptsExhausted", invoked + 1)

    for i in range(0, len(fresh), policy.batch_size):
        attempt(fresh[i:i + policy.batch_size], policy.max_retry_attempts, 0)
    return invocations


def failure_message(records: list[dict[str, Any]], condition: str, invocations: int, function_arn: str,
                    now: datetime | None = None) -> dict[str, Any]:
    """The on-failure destination's message for a given-up range (the shape Lambda sends for a DynamoDB stream)."""
    first, last = records[0], records[-1]
    when = (now or datetime.now(UTC)).isoformat()
    return {
        "requestContext": {"functionArn": function_arn, "condition": condition, "approximateInvokeCount": invocations},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": when,
        "DDBStreamBatchInfo": {
            "startSequenceNumber": sequence_number(first),
            "endSequenceNumber": sequence_number(last),
            "approximateArrivalOfFirstRecord": str((first.get("dynamodb") or {}).get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": str((last.get("dynamodb") or {}).get("ApproximateCreationDateTime")),
            "batchSize": len(records),
            "streamArn": first.get("eventSourceARN"),
        },
    }
