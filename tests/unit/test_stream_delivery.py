"""functions/streams.py: a stream consumer's partial batch failures are retried, bisected and finally
given up on to the on-failure destination, as the event source mappings in infra/ are configured."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.streams import STREAM_RETRY, StreamRetryPolicy, deliver, failure_message, first_failure


def _records(n: int, start: int = 100) -> list[dict]:
    now = datetime.now(UTC).timestamp()
    return [{"eventID": str(i), "eventSourceARN": "arn:stream",
             "dynamodb": {"SequenceNumber": str(start + i), "ApproximateCreationDateTime": now}} for i in range(n)]


class Recorder:
    """A consumer that applies every record but `poison` and reports it (per-record failures)."""

    def __init__(self, poison: set[str], whole_batch: bool = False) -> None:
        self.poison, self.whole_batch = poison, whole_batch
        self.applied: list[str] = []
        self.calls: list[list[str]] = []

    def __call__(self, event, _context):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.calls.append(seqs)
        bad = [s for s in seqs if s in self.poison]
        if self.whole_batch and bad:  # the indexer's way: one bulk call, the batch's first record reported
            return {"batchItemFailures": [{"itemIdentifier": seqs[0]}]}
        self.applied += [s for s in seqs if s not in self.poison]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}


def test_given_one_failing_record_when_delivered_then_the_rest_apply_and_it_is_retried_then_given_up():
    records = _records(8)
    consumer, given_up = Recorder({"104"}), []
    deliver(consumer, records, lambda rs, cond, n: given_up.append(([r["dynamodb"]["SequenceNumber"] for r in rs], cond, n)))
    assert set(consumer.applied) == {str(s) for s in range(100, 108)} - {"104"}
    # bisected down to the record alone, which is then tried once and retried max_retry_attempts times
    assert consumer.calls.count(["104"]) == 1 + STREAM_RETRY.max_retry_attempts
    assert [(seqs, cond) for seqs, cond, _ in given_up] == [(["104"], "RetryAttemptsExhausted")]
    assert consumer.applied.count("105") >= 1 and consumer.calls[0] == [str(s) for s in range(100, 108)]


def test_given_a_consumer_that_fails_whole_batches_when_delivered_then_bisecting_isolates_the_poison_record():
    records = _records(16)
    consumer, given_up = Recorder({"109"}, whole_batch=True), []
    deliver(consumer, records, lambda rs, cond, n: given_up.append([r["dynamodb"]["SequenceNumber"] for r in rs]))
    assert given_up == [["109"]]
    assert set(consumer.applied) == {str(s) for s in range(100, 116)} - {"109"}


def test_given_an_exception_or_unknown_identifier_when_reported_then_the_whole_batch_fails():
    records = _records(3)
    assert first_failure(records, {"batchItemFailures": [{"itemIdentifier": "nope"}]}) == 0
    assert first_failure(records, {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}) == 1
    assert first_failure(records, {"batchItemFailures": []}) is None
    assert first_failure(records, None) is None

    calls, given_up = [], []

    def broken(event, _context):
        calls.append(len(event["Records"]))
        raise RuntimeError("down")

    deliver(broken, records, lambda rs, cond, n: given_up.append(len(rs)),
            policy=StreamRetryPolicy(bisect_on_error=False, max_retry_attempts=2))
    assert calls == [3, 3, 3] and given_up == [3]


def test_given_records_older_than_the_maximum_age_when_delivered_then_they_skip_the_consumer():
    records = _records(3)
    records[0]["dynamodb"]["ApproximateCreationDateTime"] = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    consumer, given_up = Recorder(set()), []
    deliver(consumer, records, lambda rs, cond, n: given_up.append((len(rs), cond)))
    assert given_up == [(1, "RecordAgeExceeded")] and consumer.applied == ["101", "102"]


def test_given_a_given_up_range_when_described_then_it_is_lambdas_on_failure_message():
    records = _records(2)
    msg = failure_message(records, "RetryAttemptsExhausted", 6, "arn:fn")
    info = msg["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"], info["streamArn"]) == \
        ("100", "101", 2, "arn:stream")
    assert msg["requestContext"] == {"functionArn": "arn:fn", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6}
