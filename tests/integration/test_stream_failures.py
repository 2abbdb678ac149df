"""The local stream driver treats a consumer's failed records as the event source mapping does in AWS:
the rest of the batch applies, the failed record is retried and finally lands on the consumer's
on-failure queue (the queue the stack alarms on)."""
from __future__ import annotations

import json

import boto3

from chalicelib.core.settings import get_settings
from chalicelib.ports import client
from devstack.drivers import StreamDriver
from devstack.resources import stream_failure_queue
from functions.registry import FUNCTIONS, by_name
from functions.streams import STREAM_RETRY


def _stream_records() -> list[dict]:
    ddb = client("dynamodb")
    arn = ddb.describe_table(TableName=get_settings().table_name)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams")
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += [{**json.loads(json.dumps(r, default=str)), "eventSourceARN": arn}
                for r in streams.get_records(ShardIterator=it)["Records"]]
    return out


def _expire_log_entries(tenant_id: str, customer_ids: list[str]) -> list[dict]:
    """Delete the customers' log entries as DynamoDB's TTL would; their REMOVE records, marked as TTL's."""
    table = boto3.resource("dynamodb", region_name=get_settings().region).Table(get_settings().table_name)
    for cid in customer_ids:
        pk = f"T#{tenant_id}#LOG#CUSTOMER#{cid}"
        for item in table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": pk})["Items"]:
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    return [{**r, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
            for r in _stream_records() if r["eventName"] == "REMOVE"]


def _failure_messages(name: str) -> list[dict]:
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=stream_failure_queue(name))["QueueUrl"]
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_given_every_stream_consumer_when_resources_are_created_then_each_has_an_on_failure_queue(aws):
    sqs = client("sqs")
    for fn in FUNCTIONS:
        if fn.stream_filter is not None:
            assert sqs.get_queue_url(QueueName=stream_failure_queue(fn.name))["QueueUrl"]


def test_given_a_batch_with_one_failing_record_when_the_driver_delivers_it_then_the_rest_is_archived_and_it_lands_on_the_queue(
        api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    ids = [api.call("POST", "/v1/customers", rep, {"name": f"归档客户{i}"}).data["id"] for i in range(3)]
    records = _expire_log_entries(sales_team["id"], ids)
    assert len(records) == 3
    poison = records[1]
    del poison["dynamodb"]["OldImage"]["at"]  # an entry the archiver cannot place: it reports this record
    archiver, calls = by_name("audit_archiver"), []

    class Counting:
        name = archiver.name

        @staticmethod
        def load():
            def handler(event, context):
                calls.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
                return archiver.load()(event, context)
            return handler

    driver = StreamDriver()
    driver.deliver(Counting, records)

    s3 = client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=get_settings().archive_bucket).get("Contents", [])]
    assert len(keys) == 2  # the two good entries, once each (a retried batch overwrites)
    seq = poison["dynamodb"]["SequenceNumber"]
    assert calls.count([seq]) == 1 + STREAM_RETRY.max_retry_attempts  # retried alone after bisecting
    assert driver.failed == 1
    [message] = _failure_messages("audit_archiver")
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (seq, seq, 1)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["functionArn"].endswith(":function:audit_archiver")


def test_given_a_consumer_that_raises_when_the_driver_polls_then_the_other_consumers_still_get_the_batch(api, make_tenant,
                                                                                                         monkeypatch):
    import functions.record_timers as record_timers

    def broken(event, context):
        raise RuntimeError("scheduler down")

    monkeypatch.setattr(record_timers, "handler", broken)
    t = make_tenant()
    driver = StreamDriver()
    driver.run_once()
    api.call("POST", "/v1/customers", t["admin"], {"name": "流客户"})
    assert driver.run_once() > 0  # no exception escapes: the failure is the consumer's alone
    assert driver.failed >= 1
    assert _failure_messages("record_timers")
    found = api.call("GET", "/v1/customers?q=流客户", t["admin"]).data
    assert found["items"], found  # the indexer was fed the same batch
