"""The stream indexer on real stream records read from moto, and the reindex command."""
from __future__ import annotations

import json

from chalicelib.core.settings import get_settings
from chalicelib.ports import client
from chalicelib.search.port import get_index
from functions import indexer, reindex
from functions.registry import by_name, matches


def stream_records() -> list[dict]:
    """Every record of the table's stream so far, in the Lambda event shape."""
    arn = client("dynamodb").describe_table(TableName=get_settings().table_name)["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams")
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            out += [json.loads(json.dumps(r, default=str)) for r in page["Records"]]
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return [r for r in out if matches(by_name("indexer").stream_filter, r)]


def names(api, token, q=""):
    r = api.call("GET", f"/v1/customers?q={q}", token)
    return sorted(i["name"] for i in r.data["items"])


def test_out_of_order_and_replayed_batches_keep_the_newest_version(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "第一版"}).data
    c = api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"name": "第二版", "version": c["version"]}).data
    api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"name": "第三版", "version": c["version"]})
    records = [r for r in stream_records() if r["dynamodb"]["Keys"]["pk"]["S"].endswith(c["id"])]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "MODIFY"]
    index = get_index()
    for batch in ([records[2]], list(reversed(records)), records, [records[0]]):  # newest first, then replays
        assert indexer.handler({"Records": batch}) == {"batchItemFailures": []}
    assert index.versions(sales_team["id"], "CUSTOMER") == {c["id"]: 3}
    assert names(api, rep) == ["第三版"]
    # within one batch only the newest operation per record is sent
    assert [op.version for op in indexer.operations(records)] == [3]


def test_soft_delete_leaves_the_index_and_an_older_replay_cannot_bring_it_back(api, sales_team):
    mgr = sales_team["tokens"]["manager"]
    c = api.call("POST", "/v1/customers", mgr, {"name": "将被删除"}).data
    assert names(api, mgr) == ["将被删除"]
    assert api.call("DELETE", f"/v1/customers/{c['id']}", mgr, headers={"If-Match": '"1"'}).status_code == 204
    assert names(api, mgr) == []
    insert = [r for r in stream_records() if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["pk"]["S"].endswith(c["id"])]
    indexer.handler({"Records": insert})
    assert names(api, mgr) == []
    # purged for good: the REMOVE record deletes (again) without error
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{c['id']}", sales_team["admin"]).status_code == 204
    assert api.pump() >= 1
    assert get_index().versions(sales_team["id"], "CUSTOMER") == {}


def test_items_that_are_not_searchable_records_are_ignored(api, sales_team):
    api.call("POST", "/v1/org/departments", sales_team["admin"], {"name": "新部门", "parent_id": sales_team["root"]})
    records = stream_records()
    assert records, "department and user items share the record key shape and reach the indexer"
    assert all(op.entity == "CUSTOMER" for op in indexer.operations(records))


def test_a_failing_engine_reports_the_batch_for_retry(api, sales_team, monkeypatch):
    api.call("POST", "/v1/customers", sales_team["tokens"]["rep1"], {"name": "重试"})
    records = [r for r in stream_records() if r["dynamodb"].get("NewImage", {}).get("entity", {}).get("S") == "CUSTOMER"]

    def broken(_ops):
        raise ConnectionError("engine down")

    monkeypatch.setattr(get_index(), "bulk", broken)
    out = indexer.handler({"Records": records})
    assert out == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}


def test_reindex_rebuilds_a_tenant_and_prunes_what_the_table_no_longer_has(api, sales_team, make_tenant):
    mgr = sales_team["tokens"]["manager"]
    for n in ("甲公司", "乙公司", "丙公司"):
        api.call("POST", "/v1/customers", mgr, {"name": n})
    other = make_tenant()
    api.call("POST", "/v1/customers", other["admin"], {"name": "别家公司"})
    before = names(api, mgr)
    index = get_index()
    index.drop_tenant(sales_team["id"])
    assert names(api, mgr) == []
    assert names(api, other["admin"]) == ["别家公司"]
    stats = reindex.reindex(sales_team["id"])
    assert stats["records"] == 3 and stats["indexed"] == 3
    assert names(api, mgr) == before
    again = reindex.reindex(sales_team["id"])  # a second run changes nothing
    assert again["indexed"] == 0 and again["skipped"] == 3
    assert names(api, other["admin"]) == ["别家公司"]
