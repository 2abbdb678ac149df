"""devstack.moto_patches: TransactWriteItems on moto rolls back item by item, all or nothing,
with moto's own condition checks and cancellation reasons, in time that follows the
transaction and not the table; a Query answers as moto answers, in time that follows the
partition and not the table; the stream drops what its reader has read and nothing else; the
schedule driver learns of new schedules without listing them all."""
from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.core.settings import get_settings
from chalicelib.ports import client


def _table() -> str:
    return get_settings().table_name


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": _s(pk), "sk": _s(sk)}


def _put(pk: str, sk: str = "A", **attrs: str) -> dict[str, Any]:
    return {"Put": {"TableName": _table(), "Item": {**_key(pk, sk), **{k: _s(v) for k, v in attrs.items()}}}}


def _get(pk: str, sk: str = "A") -> dict[str, Any] | None:
    return client("dynamodb").get_item(TableName=_table(), Key=_key(pk, sk), ConsistentRead=True).get("Item")


def _gsi(index: str, pk: str) -> list[dict[str, Any]]:
    return client("dynamodb").query(TableName=_table(), IndexName=index, KeyConditionExpression="#p = :p",
                                    ExpressionAttributeNames={"#p": f"{index}pk"},
                                    ExpressionAttributeValues={":p": _s(pk)})["Items"]


class Stream:
    """One iterator on the table's stream, kept across writes (as a consumer would)."""

    def __init__(self) -> None:
        arn = client("dynamodb").describe_table(TableName=_table())["Table"]["LatestStreamArn"]
        self.streams = client("dynamodbstreams")
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]

    def read(self) -> list[tuple[str, str]]:
        out = self.streams.get_records(ShardIterator=self.it)
        self.it = out["NextShardIterator"]
        return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in out["Records"]]


def _moto_items() -> dict:
    """moto's storage of the table, as values (bucket per partition, item per sort key)."""
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.ports.workflow import LOCAL_ACCOUNT

    table = dynamodb_backends[LOCAL_ACCOUNT][get_settings().region].tables[_table()]
    return {h.value: {r.value: item.to_json() for r, item in bucket.items()} for h, bucket in table.items.items()}


@pytest.fixture()
def seeded(aws):
    ddb = client("dynamodb")
    ddb.put_item(TableName=_table(), Item={**_key("TX#a"), "n": {"N": "1"}, "gsi1pk": _s("G#a"), "gsi1sk": _s("1")})
    ddb.put_item(TableName=_table(), Item={**_key("TX#b"), "n": {"N": "1"}})
    ddb.put_item(TableName=_table(), Item={**_key("TX#d"), "n": {"N": "1"}})


def _update_a() -> dict[str, Any]:
    return {"Update": {"TableName": _table(), "Key": _key("TX#a"), "UpdateExpression": "SET n = n + :one, gsi1sk = :s",
                       "ConditionExpression": "n = :one", "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": _s("2")}}}


def _delete_b() -> dict[str, Any]:
    return {"Delete": {"TableName": _table(), "Key": _key("TX#b"), "ConditionExpression": "attribute_exists(pk)"}}


def test_given_one_failing_condition_when_transacting_then_no_item_changes_and_the_failing_index_is_reported(seeded):
    stream = Stream()
    before = _moto_items()
    failing = {"Put": {**_put("TX#d", n="x")["Put"], "ConditionExpression": "attribute_not_exists(pk)",
                       "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
    # the failing operation is in the middle: moto applies the ones after it too, then rolls all back
    items = [_put("TX#c", gsi1pk="G#c", gsi1sk="1"), failing, _update_a(), _delete_b(),
             {"ConditionCheck": {"TableName": _table(), "Key": _key("TX#new"), "ConditionExpression": "attribute_not_exists(pk)"}}]

    with pytest.raises(ClientError) as e:
        client("dynamodb").transact_write_items(TransactItems=items)

    assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None", "None", "None"]
    assert reasons[1]["Item"]["n"] == {"N": "1"}
    assert _moto_items() == before  # every item as it was, no partition left behind
    assert _get("TX#c") is None and _get("TX#b") is not None
    assert _get("TX#a")["n"] == {"N": "1"} and _get("TX#d")["n"] == {"N": "1"}
    assert [i["pk"]["S"] for i in _gsi("gsi1", "G#c")] == []
    assert [i["gsi1sk"]["S"] for i in _gsi("gsi1", "G#a")] == ["1"]
    assert stream.read() == []  # no record for the writes that were rolled back

    # the same stream iterator still sees what comes next (the shard was not swapped)
    client("dynamodb").put_item(TableName=_table(), Item=_key("TX#e"))
    assert stream.read() == [("INSERT", "TX#e")]


def test_given_two_operations_on_one_item_when_transacting_then_validation_error_and_nothing_changes(seeded):
    before = _moto_items()
    with pytest.raises(ClientError) as e:
        client("dynamodb").transact_write_items(TransactItems=[_put("TX#c"), _update_a(), _put("TX#a", n="x")])

    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert _moto_items() == before


def test_given_a_transaction_whose_conditions_hold_when_transacting_then_every_item_is_written_and_gsis_see_it(seeded):
    stream = Stream()
    client("dynamodb").transact_write_items(TransactItems=[
        _put("TX#c", gsi1pk="G#c", gsi1sk="1"), _update_a(), _delete_b(),
        {"ConditionCheck": {"TableName": _table(), "Key": _key("TX#d"), "ConditionExpression": "attribute_exists(pk)"}},
    ])

    assert _get("TX#c")["gsi1pk"] == _s("G#c")
    assert _get("TX#a")["n"] == {"N": "2"}
    assert _get("TX#b") is None
    assert [i["pk"]["S"] for i in _gsi("gsi1", "G#c")] == ["TX#c"]
    assert [i["gsi1sk"]["S"] for i in _gsi("gsi1", "G#a")] == ["2"]
    assert stream.read() == [("INSERT", "TX#c"), ("MODIFY", "TX#a"), ("REMOVE", "TX#b")]


def _transaction_seconds(rounds: int = 15) -> float:
    """Median time of a 3-item transaction that commits and one that is cancelled."""
    ddb, samples = client("dynamodb"), []
    for i in range(rounds):
        ok = [_put(f"TX#t{i}", n="1"), _put(f"TX#u{i}"),
              {"Update": {"TableName": _table(), "Key": _key("TX#a"), "UpdateExpression": "SET i = :i",
                          "ExpressionAttributeValues": {":i": _s(str(i))}}}]
        cancelled = [_put(f"TX#v{i}"), _put(f"TX#w{i}"),
                     {"ConditionCheck": {"TableName": _table(), "Key": _key("TX#b"), "ConditionExpression": "attribute_not_exists(pk)"}}]
        started = time.perf_counter()
        ddb.transact_write_items(TransactItems=ok)
        with pytest.raises(ClientError):
            ddb.transact_write_items(TransactItems=cancelled)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def test_given_a_large_table_when_transacting_then_a_transaction_takes_as_long_as_on_a_small_one(seeded):
    _transaction_seconds(3)  # warm-up
    small = _transaction_seconds()
    ddb = client("dynamodb")
    for k in range(0, 5000, 25):
        ddb.batch_write_item(RequestItems={_table(): [{"PutRequest": {"Item": {**_key(f"BULK#{n}"), "n": {"N": str(n)}}}}
                                                      for n in range(k, k + 25)]})
    large = _transaction_seconds()

    # moto's own rollback (a deep copy of the table per item) made this ~100x slower
    assert large < 2.5 * small, f"{large * 1000:.1f} ms with 5,000 items vs {small * 1000:.1f} ms with a few"


def test_given_a_table_without_sort_key_when_a_transaction_fails_then_its_items_are_as_before(aws):
    ddb = client("dynamodb")
    ddb.create_table(TableName="tx-hash-only", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="tx-hash-only", Item={"id": _s("a"), "n": {"N": "1"}})

    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "tx-hash-only", "Item": {"id": _s("b")}}},
            {"Update": {"TableName": "tx-hash-only", "Key": {"id": _s("a")}, "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Update": {"TableName": "tx-hash-only", "Key": {"id": _s("c")}, "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": _table(), "Key": _key("TX#none"), "ConditionExpression": "attribute_exists(pk)"}},
        ])

    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert ddb.scan(TableName="tx-hash-only")["Items"] == [{"id": _s("a"), "n": {"N": "1"}}]


def test_given_a_stream_read_all_day_then_moto_keeps_a_bounded_number_of_shard_iterators(aws, monkeypatch):
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from devstack import moto_patches
    from devstack.drivers import StreamDriver

    monkeypatch.setattr(moto_patches, "MAX_SHARD_ITERATORS", 50)
    driver = StreamDriver()
    for i in range(120):  # a tick of the local stack's stream driver, twice a second
        client("dynamodb").put_item(TableName=_table(), Item=_key(f"IT#{i}"))
        driver.run_once()
    settings = get_settings()
    held = len(dynamodbstreams_backends[aws_account()][settings.region].shard_iterators)
    assert 0 < held <= 50
    assert driver.delivered == 120  # the newest iterators still read the stream, every record once


def aws_account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


# ---- Query: narrowed to the partition, answers as moto's ----------------------------------

CMP = "q-compare"


def _compare_table() -> None:
    """A table with every shape of index the patch narrows: a global index with and without a
    sort key, and a local index."""
    attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "gs", "ls")]
    client("dynamodb").create_table(
        TableName=CMP, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "byg", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]},
            {"IndexName": "bygonly", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}],
        LocalSecondaryIndexes=[{"IndexName": "bylocal", "Projection": {"ProjectionType": "ALL"},
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                              {"AttributeName": "ls", "KeyType": "RANGE"}]}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})


def _item(pk: str, sk: str, g: str | None, gs: str | None, n: int) -> dict[str, Any]:
    item = {"pk": _s(pk), "sk": _s(sk), "ls": _s(f"{n % 7:02d}"), "n": {"N": str(n)}}
    if g is not None:
        item["g"] = _s(g)
    if gs is not None:
        item["gs"] = _s(gs)
    return item


def _write_history() -> None:
    """Puts, index keys moved and removed, deletes, a batch, transactions that commit and one
    that is cancelled: every way an item enters or leaves an index's partition."""
    ddb = client("dynamodb")
    for i in range(60):  # equal index sort keys on purpose: moto orders them by the table key
        ddb.put_item(TableName=CMP, Item=_item(f"p{i % 4}", f"s{i:03d}", f"v{i % 3}", f"k{i % 5}", i))
    ddb.batch_write_item(RequestItems={CMP: [{"PutRequest": {"Item": _item("p9", f"b{i}", "v1", "k0", i)}} for i in range(10)]})
    for i in range(0, 60, 7):
        ddb.update_item(TableName=CMP, Key=_key(f"p{i % 4}", f"s{i:03d}"), UpdateExpression="SET g = :g",
                        ExpressionAttributeValues={":g": _s("v2")})
    for i in range(1, 60, 11):
        ddb.update_item(TableName=CMP, Key=_key(f"p{i % 4}", f"s{i:03d}"), UpdateExpression="REMOVE gs")
    for i in range(2, 60, 13):
        ddb.delete_item(TableName=CMP, Key=_key(f"p{i % 4}", f"s{i:03d}"))
    ddb.update_item(TableName=CMP, Key=_key("p5", "new"), UpdateExpression="SET g = :g, gs = :k",
                    ExpressionAttributeValues={":g": _s("v0"), ":k": _s("k9")})  # an update that creates the item
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": CMP, "Item": _item("p1", "t1", "v0", "k1", 1)}},
        {"Update": {"TableName": CMP, "Key": _key("p0", "s004"), "UpdateExpression": "SET g = :g",
                    "ExpressionAttributeValues": {":g": _s("v9")}}},
        {"Delete": {"TableName": CMP, "Key": _key("p1", "s005")}}])
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": CMP, "Key": _key("p0", "s008"), "UpdateExpression": "SET g = :g",
                        "ExpressionAttributeValues": {":g": _s("v1")}}},
            {"Delete": {"TableName": CMP, "Key": _key("p1", "s009")}},
            {"Put": {"TableName": CMP, "Item": _item("p1", "t1", "v1", "k1", 2), "ConditionExpression": "attribute_not_exists(pk)"}}])


def _queries() -> list[dict[str, Any]]:
    g = {"KeyConditionExpression": "g = :g"}
    return [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": _s("p1")}},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "ExpressionAttributeValues": {":p": _s("p2"), ":s": _s("s01")},
         "ScanIndexForward": False},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": _s("p0")}, "Limit": 4},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": _s("p3")}, "Select": "COUNT"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": _s("nobody")}},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("v1")}},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("v2")}, "ScanIndexForward": False, "Limit": 3},
        {"IndexName": "byg", "KeyConditionExpression": "g = :g AND gs BETWEEN :a AND :b", "Limit": 5,
         "ExpressionAttributeValues": {":g": _s("v0"), ":a": _s("k1"), ":b": _s("k3")}},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("v1"), ":n": {"N": "20"}}, "FilterExpression": "n > :n",
         "Limit": 6, "ProjectionExpression": "pk, sk, n"},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("v0")}, "Select": "COUNT"},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("v9")}},
        {**g, "IndexName": "byg", "ExpressionAttributeValues": {":g": _s("none")}},
        {**g, "IndexName": "bygonly", "ExpressionAttributeValues": {":g": _s("v2")}, "Limit": 4},
        {**g, "IndexName": "bygonly", "ExpressionAttributeValues": {":g": _s("v1")}, "ScanIndexForward": False},
        {"IndexName": "bylocal", "KeyConditionExpression": "pk = :p AND ls > :l", "Limit": 3,
         "ExpressionAttributeValues": {":p": _s("p1"), ":l": _s("02")}},
        {"KeyConditions": {"g": {"AttributeValueList": [_s("v1")], "ComparisonOperator": "EQ"}}, "IndexName": "byg"},
    ]


def _all_pages(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a query, as moto answers it (ExclusiveStartKey from each LastEvaluatedKey)."""
    ddb, pages, start = client("dynamodb"), [], None
    while True:
        page = ddb.query(TableName=CMP, **query, **({"ExclusiveStartKey": start} if start else {}))
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def _answers(monkeypatch: pytest.MonkeyPatch, narrow: bool) -> list[list[dict[str, Any]]]:
    from devstack import moto_patches

    monkeypatch.setattr(moto_patches, "NARROW_QUERIES", narrow)
    return [_all_pages(q) for q in _queries()]


def test_given_writes_of_every_kind_when_querying_a_table_or_an_index_then_the_answers_are_moto_s_own(aws, monkeypatch):
    _compare_table()
    narrowed_before_writes = _answers(monkeypatch, True)  # builds the index maps before the writes: they must follow them
    _write_history()

    narrowed, unpatched = _answers(monkeypatch, True), _answers(monkeypatch, False)

    assert narrowed == unpatched
    assert narrowed_before_writes != narrowed
    assert any(len(pages) > 2 for pages in narrowed)  # pagination was exercised
    assert any(page.get("Count") for pages in narrowed for page in pages)


def _gsi_query_seconds(rounds: int = 15) -> float:
    """CPU seconds of the two queries (moto runs in this process): the best of `rounds`, so other work
    on a shared machine does not make the figure (wall time did)."""
    ddb, samples = client("dynamodb"), []
    for _ in range(rounds):
        started = time.process_time()
        ddb.query(TableName=_table(), IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                  ExpressionAttributeValues={":p": _s("G#a")}, Limit=20)
        ddb.query(TableName=_table(), KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": _s("TX#a")})
        samples.append(time.process_time() - started)
    return min(samples)


def test_given_a_large_table_when_querying_an_index_then_a_query_takes_as_long_as_on_a_small_one(seeded):
    _gsi_query_seconds(3)  # warm-up
    small = _gsi_query_seconds()
    ddb = client("dynamodb")
    for k in range(0, 5000, 25):
        ddb.batch_write_item(RequestItems={_table(): [
            {"PutRequest": {"Item": {**_key(f"BULK#{n}"), "gsi1pk": _s(f"G#{n % 50}"), "gsi1sk": _s(str(n))}}}
            for n in range(k, k + 25)]})
    large = _gsi_query_seconds()

    # moto sorted the whole table for every query: ~30x slower with 5,000 items
    assert large < 2.5 * small, f"{large * 1000:.1f} ms with 5,000 items vs {small * 1000:.1f} ms with a few"


# ---- the stream: what its reader has read goes -------------------------------------------

def _shard() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.ports.workflow import LOCAL_ACCOUNT

    return dynamodb_backends[LOCAL_ACCOUNT][get_settings().region].tables[_table()].stream_shard


def _stream_ids() -> tuple[str, str]:
    arn = client("dynamodb").describe_table(TableName=_table())["Table"]["LatestStreamArn"]
    return arn, client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]


def _read_from(position: dict[str, str]) -> list[tuple[str, str]]:
    arn, shard = _stream_ids()
    streams = client("dynamodbstreams")
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
    return [(r["dynamodb"]["SequenceNumber"], r["dynamodb"]["Keys"]["pk"]["S"])
            for r in streams.get_records(ShardIterator=it, Limit=1000)["Records"]]


def test_given_a_trimming_driver_then_every_record_is_delivered_once_and_moto_keeps_none_it_has_read(aws):
    from devstack.drivers import StreamDriver

    driver = StreamDriver(trim=True)
    driver.run_once()  # the resources' own writes
    seen: list[str] = []
    for round_ in range(3):
        for i in range(20):
            client("dynamodb").put_item(TableName=_table(), Item=_key(f"TRIM#{round_}-{i}"))
        assert driver.run_once() == 20
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in driver.last]
        assert len(_shard().items) == 0  # everything read is gone from moto
    client("dynamodb").put_item(TableName=_table(), Item=_key("TRIM#late"))

    assert seen == [f"TRIM#{r}-{i}" for r in range(3) for i in range(20)]
    assert driver.run_once() == 1 and driver.last[0]["dynamodb"]["Keys"]["pk"]["S"] == "TRIM#late"
    assert _read_from({"ShardIteratorType": "TRIM_HORIZON"}) == []  # read and trimmed as well
    client("dynamodb").put_item(TableName=_table(), Item=_key("TRIM#after"))
    (number, pk), = _read_from({"ShardIteratorType": "TRIM_HORIZON"})
    assert pk == "TRIM#after" and int(number) == int(driver.positions[_stream_ids()[1]]) + 1  # numbers go on


def test_given_records_not_read_yet_when_trimming_then_they_stay_readable_with_their_numbers(aws):
    from devstack.moto_patches import trim_stream

    arn, shard = _stream_ids()
    everything = _read_from({"ShardIteratorType": "TRIM_HORIZON"})
    for i in range(10):
        client("dynamodb").put_item(TableName=_table(), Item=_key(f"KEEP#{i}"))
    before = _read_from({"ShardIteratorType": "TRIM_HORIZON"})
    read_up_to = before[len(everything) + 3][0]  # a reader has read three of the new records

    assert trim_stream(arn, shard, read_up_to) == len(everything) + 4
    assert trim_stream(arn, shard, read_up_to) == 0  # nothing twice
    assert trim_stream(arn, "shardId-other", before[-1][0]) == 0  # not this stream's shard
    assert _read_from({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": read_up_to}) == before[len(everything) + 4:]
    assert _read_from({"ShardIteratorType": "TRIM_HORIZON"}) == before[len(everything) + 4:]

    # a cancelled transaction after a trim leaves no record, and the next write numbers on
    with pytest.raises(ClientError):
        client("dynamodb").transact_write_items(TransactItems=[_put("KEEP#tx"), {"ConditionCheck": {
            "TableName": _table(), "Key": _key("KEEP#none"), "ConditionExpression": "attribute_exists(pk)"}}])
    client("dynamodb").put_item(TableName=_table(), Item=_key("KEEP#next"))
    after = _read_from({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": before[-1][0]})
    assert after == [(str(int(before[-1][0]) + 1), "KEEP#next")]


# ---- Scheduler: the driver follows moto's feed of changes -----------------------------------

def _schedule(name: str, at: str) -> None:
    from chalicelib.ports import scheduler

    scheduler.upsert(name, datetime.fromisoformat(at), {"kind": "nothing", "tenant_id": "t"}, tz="UTC")


def _listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from devstack.drivers import ScheduleDriver

    calls: list[int] = []
    original = ScheduleDriver._list_all

    def counting(self, sched, group):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(self, sched, group)

    monkeypatch.setattr(ScheduleDriver, "_list_all", counting)
    return calls


def test_given_a_running_schedule_driver_then_it_sees_new_moved_and_deleted_schedules_without_listing_them_all(aws, monkeypatch):
    from chalicelib.ports import scheduler
    from devstack.drivers import ScheduleDriver

    listings = _listings(monkeypatch)
    _schedule("feed-old", "2099-01-01T00:00:00+00:00")
    driver = ScheduleDriver()
    assert driver.run_once() == 0 and len(listings) == 1  # the first tick lists

    _schedule("feed-due", "2000-01-01T00:00:00+00:00")
    _schedule("feed-later", "2099-01-01T00:00:00+00:00")
    _schedule("feed-moved", "2099-01-01T00:00:00+00:00")
    assert driver.run_once() == 1  # feed-due: fired (its target ignores the payload) and deleted
    _schedule("feed-moved", "2000-01-01T00:00:00+00:00")
    scheduler.delete("feed-later")
    assert driver.run_once() == 1
    assert driver.run_once() == 0

    assert len(listings) == 1
    assert set(driver._due) == {"feed-old"}
    assert 0 < driver.wait(0.25) <= 0.25


def test_given_a_feed_that_lost_track_when_the_driver_ticks_then_it_lists_the_schedules_again(aws, monkeypatch):
    from devstack import moto_patches
    from devstack.drivers import ScheduleDriver

    listings = _listings(monkeypatch)
    monkeypatch.setattr(moto_patches.ScheduleFeed, "KEEP", 3)
    driver = ScheduleDriver()
    driver.run_once()
    for i in range(5):  # more changes than the feed keeps
        _schedule(f"lost-{i}", "2099-01-01T00:00:00+00:00")
    driver.run_once()

    assert len(listings) == 2
    assert {f"lost-{i}" for i in range(5)} <= set(driver._due)


def test_given_the_moto_server_then_it_knows_its_services_without_reading_its_directory(monkeypatch):
    import os

    from moto import backends

    from devstack.moto_patches import patch_dynamodb

    patch_dynamodb()
    monkeypatch.setattr(os, "listdir", lambda *_: pytest.fail("listed moto's directory"))
    assert {"dynamodb", "scheduler", "stepfunctions"} <= set(backends.list_of_moto_modules())


def test_given_models_moto_dropped_then_they_are_freed_and_those_it_holds_are_still_tracked(aws):
    import gc
    import weakref

    from moto.dynamodb.models.dynamo_type import Item

    from devstack.drivers import StreamDriver

    driver = StreamDriver(trim=True)
    client("dynamodb").put_item(TableName=_table(), Item=_key("WEAK#kept"))
    record = weakref.ref(_shard().items[-1])
    for _ in range(3):  # each query copies its results
        client("dynamodb").query(TableName=_table(), KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": _s("WEAK#kept")})
    driver.run_once()  # read, delivered and trimmed
    gc.collect()

    assert record() is None
    kept = [i for i in Item.instances_tracked if i.hash_key.value == "WEAK#kept"]
    assert len(kept) == 1 and kept[0] is _stored_item("WEAK#kept")


def _stored_item(pk: str) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return _shard().table.items[DynamoType(_s(pk))][DynamoType(_s("A"))]


def test_given_a_queue_with_many_messages_when_sending_then_no_message_is_looked_at_and_the_counts_are_still_told(aws, monkeypatch):
    from moto.sqs.models import Message, sqs_backends

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="patch-many")["QueueUrl"]
    queue = sqs_backends["123456789012"][get_settings().region].queues["patch-many"]
    for i in range(2000):  # a backlog no one reads (added without the HTTP layer)
        m = Message(f"bulk{i}", "x")
        m.mark_sent()
        queue._messages.append(m)
    looked = {"n": 0}
    visible = Message.visible

    def counted(self):  # type: ignore[no-untyped-def]
        looked["n"] += 1
        return visible.fget(self)

    monkeypatch.setattr(Message, "visible", property(counted))
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"b{i}", "MessageBody": "x"} for i in range(10)])
    assert looked["n"] == 0  # moto's own send counted the 2,000 messages, each time
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == str(2000 + 5 + 10)  # GetQueueAttributes counts as before
    looked["n"] = 0
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    assert looked["n"] <= 3 * 2015  # one pass over the queue, not three more per message returned (its retention read)


def test_given_a_rule_with_a_queue_target_then_events_arrive_as_moto_renders_them_with_each_path_parsed_once(aws, monkeypatch):
    import json as json_

    import jsonpath_ng.ext

    events, sqs = client("events"), client("sqs")
    url = sqs.create_queue(QueueName="patch-rule")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="patch-rule", EventPattern=json_.dumps({"source": ["crm.test"]}))
    events.put_targets(Rule="patch-rule", Targets=[{"Id": "q", "Arn": arn}])
    parsed = {"n": 0}
    inner = jsonpath_ng.ext.parse.__wrapped__

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        parsed["n"] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(jsonpath_ng.ext, "parse", __import__("functools").lru_cache(maxsize=256)(counted))
    for i in range(3):
        events.put_events(Entries=[{"Source": "crm.test", "DetailType": "t", "Detail": json_.dumps({"i": i})} for _ in range(10)])
    bodies = [json_.loads(m["Body"]) for _ in range(3) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert len(bodies) == 30 and {b["source"] for b in bodies} == {"crm.test"}
    assert sorted({b["detail"]["i"] for b in bodies}) == [0, 1, 2]
    assert parsed["n"] <= 10  # each input path once, not once per event


def test_given_items_near_the_size_limit_and_conditions_sharing_a_text_then_moto_answers_as_before(aws):
    db = client("dynamodb")
    db.put_item(TableName=_table(), Item={**_key("SIZE#ok"), "blob": _s("x" * 300_000), "n": {"N": "1"}})
    with pytest.raises(ClientError) as too_big:
        db.put_item(TableName=_table(), Item={**_key("SIZE#big"), "a": _s("x" * 300_000), "b": _s("y" * 110_000)})
    assert "Item size has exceeded the maximum allowed size" in str(too_big.value)
    assert _get("SIZE#ok")["blob"]["S"] == "x" * 300_000 and _get("SIZE#big") is None
    # one condition text, different values: each put is judged by its own values
    text = "attribute_not_exists(pk) OR owner_id = :me"
    for owner, expect_ok in (("a", True), ("a", True), ("b", False)):
        put = {"TableName": _table(), "Item": {**_key("LEASE#1"), "owner_id": _s("a")}, "ConditionExpression": text,
               "ExpressionAttributeValues": {":me": _s(owner)}}
        if expect_ok:
            db.put_item(**put)
        else:
            with pytest.raises(ClientError) as refused:
                db.put_item(**put)
            assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_given_one_condition_with_other_values_when_writing_then_each_write_is_judged_by_its_own(aws):
    db = client("dynamodb")
    text = "attribute_not_exists(pk) OR expires < :now"
    db.put_item(TableName=_table(), Item={**_key("COND#1"), "expires": {"N": "100"}})
    for now, ok in (("50", False), ("150", True), ("50", False), ("150", True)):  # parsed once per (text, values)
        put = {"TableName": _table(), "Item": {**_key("COND#1"), "expires": {"N": "100"}}, "ConditionExpression": text,
               "ExpressionAttributeValues": {":now": {"N": now}}}
        if ok:
            db.put_item(**put)
        else:
            with pytest.raises(ClientError):
                db.put_item(**put)
    with pytest.raises(ClientError) as bad:  # moto's own validation still runs for a text it has parsed before
        db.put_item(TableName=_table(), Item=_key("COND#2"), ConditionExpression=text, ExpressionAttributeValues={})
    assert bad.value.response["Error"]["Code"] == "ValidationException"
    items = db.transact_write_items(TransactItems=[
        {"Put": {"TableName": _table(), "Item": _key(f"COND#T{i}"), "ConditionExpression": text,
                 "ExpressionAttributeValues": {":now": {"N": "1"}}}} for i in range(3)])
    assert items["ResponseMetadata"]["HTTPStatusCode"] == 200 and _get("COND#T2") is not None


def test_given_item_reads_then_answers_written_as_json_are_the_serializer_s_own_and_blobs_still_go_through_it(aws, monkeypatch):
    from devstack import moto_patches

    ddb, table = client("dynamodb"), _table()
    plain = {"pk": _s("PLAIN#1"), "sk": _s("A"), "name": _s("华为技术有限公司"), "n": {"N": "12.50"}, "ok": {"BOOL": True},
             "gone": {"NULL": True}, "tags": {"SS": ["甲", "乙"]}, "nums": {"NS": ["1", "2"]},
             "doc": {"M": {"a": {"L": [_s("x"), {"N": "3"}, {"M": {"b": {"BOOL": False}}}]}}}}
    blob = {"pk": _s("PLAIN#1"), "sk": _s("B"), "raw": {"B": b"\x00\xff\x10"}, "set": {"BS": [b"\x01", b"\x02"]}}
    for item in (plain, blob):
        ddb.put_item(TableName=table, Item=item)
    keys = [{"pk": _s("PLAIN#1"), "sk": _s("A")}, {"pk": _s("PLAIN#1"), "sk": _s("B")}]

    def reads() -> list[Any]:
        out = [ddb.get_item(TableName=table, Key=k, ConsistentRead=True)["Item"] for k in keys]
        out.append(ddb.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": _s("PLAIN#1")},
                             ConsistentRead=True)["Items"])
        got = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})["Responses"][table]
        out.append(sorted(got, key=lambda i: i["sk"]["S"]))
        out.append([r["Item"] for r in ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": k}} for k in keys])
                    ["Responses"]])
        return out

    seen: list[bool] = []
    judge = moto_patches._plain
    monkeypatch.setattr(moto_patches, "_plain", lambda v: seen.append(judge(v)) or seen[-1])
    as_json = reads()
    assert True in seen and False in seen  # the plain item's answers took the JSON path, those with blobs the serializer
    monkeypatch.setattr(moto_patches, "_READ_ANSWERS", frozenset())  # every answer through moto's serializer
    assert reads() == as_json
    assert as_json[0]["doc"] == plain["doc"] and as_json[1]["raw"] == {"B": b"\x00\xff\x10"}


def test_given_stream_reads_then_answers_written_as_json_are_the_serializer_s_own(aws, monkeypatch):
    from devstack import moto_patches

    ddb, table = client("dynamodb"), _table()
    ddb.put_item(TableName=table, Item={"pk": _s("STREAM#1"), "sk": _s("A"), "name": _s("华为"), "n": {"N": "1"},
                                        "doc": {"M": {"a": {"L": [_s("x"), {"NULL": True}]}}}})
    ddb.update_item(TableName=table, Key={"pk": _s("STREAM#1"), "sk": _s("A")}, UpdateExpression="SET #n = :v",
                    ExpressionAttributeNames={"#n": "name"}, ExpressionAttributeValues={":v": _s("华为技术")})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> list[dict[str, Any]]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return streams.get_records(ShardIterator=it)["Records"]

    seen: list[bool] = []
    judge = moto_patches._plain
    monkeypatch.setattr(moto_patches, "_plain", lambda v: seen.append(judge(v)) or seen[-1])
    as_json = records()
    assert seen and all(seen)  # written as JSON
    monkeypatch.setattr(moto_patches, "_STREAM_ANSWERS", frozenset())
    assert records() == as_json
    mine = [r for r in as_json if r["dynamodb"]["Keys"]["pk"] == _s("STREAM#1")]
    assert [r["eventName"] for r in mine] == ["INSERT", "MODIFY"]
    assert isinstance(mine[0]["dynamodb"]["ApproximateCreationDateTime"], datetime)
    assert mine[1]["dynamodb"]["NewImage"]["name"] == _s("华为技术") and mine[1]["dynamodb"]["OldImage"]["name"] == _s("华为")
