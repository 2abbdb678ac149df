"""The table stream drives functions: TTL-expired operation-log entries are archived to S3."""
from __future__ import annotations

import json

import boto3

from chalicelib.core.settings import get_settings
from chalicelib.ports import client
from devstack.drivers import StreamDriver
from functions.registry import by_name, matches


def _stream_records() -> list[dict]:
    """Every record on the table's stream so far, in the Lambda event shape."""
    ddb = client("dynamodb")
    arn = ddb.describe_table(TableName=get_settings().table_name)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams")
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out += [json.loads(json.dumps(r, default=str)) for r in streams.get_records(ShardIterator=it)["Records"]]
    return out


def test_given_audit_entry_expired_by_ttl_when_stream_delivers_it_then_archived_to_tenant_prefix(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "归档客户"}).data
    entry = api.call("GET", f"/v1/records/customer/{c['id']}/logs", rep).data["items"][0]
    # DynamoDB's TTL deletes the entry: moto cannot expire items, so delete it and mark the
    # stream record the way TTL deletions are marked (userIdentity of the DynamoDB service).
    table = boto3.resource("dynamodb", region_name=get_settings().region).Table(get_settings().table_name)
    pk = f"T#{sales_team['id']}#LOG#CUSTOMER#{c['id']}"
    item = table.query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": pk})["Items"][0]
    table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    removes = [r for r in _stream_records() if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    ttl_record = {**removes[0], "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    user_delete = removes[0]

    archiver = by_name("audit_archiver")
    assert matches(archiver.stream_filter, ttl_record)
    assert not matches(archiver.stream_filter, user_delete)  # a user's delete is not an expiry
    assert archiver.load()({"Records": [user_delete, ttl_record]}, None) == {"batchItemFailures": []}

    s3 = client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=get_settings().archive_bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"tenants/{sales_team['id']}/audit/")
    body = json.loads(s3.get_object(Bucket=get_settings().archive_bucket, Key=keys[0])["Body"].read())
    assert body["record_id"] == c["id"] and body["action"] == entry["action"] == "create"
    # replaying the batch overwrites the same object instead of duplicating it
    archiver.load()({"Records": [ttl_record]}, None)
    assert len(s3.list_objects_v2(Bucket=get_settings().archive_bucket)["Contents"]) == 1


def test_given_stream_driver_when_polling_then_it_reads_each_change_once(api, make_tenant):
    driver = StreamDriver()
    assert driver.run_once() == 0  # nothing has changed yet
    t = make_tenant()
    assert driver.run_once() > 0  # the tenant's creation
    assert driver.run_once() == 0
    api.call("POST", "/v1/customers", t["admin"], {"name": "流客户"})
    assert driver.run_once() > 0
    # the rate-limit bucket and the owner's customer count change with it
    changed = [r for r in driver.last if r["dynamodb"]["Keys"]["sk"]["S"] not in ("RATE", "COUNT")]
    assert len(changed) == 3  # the customer, its audit entry and the lease of its name (a block rule: duplicates/service.py)
