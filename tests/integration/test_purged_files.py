"""Files of records purged from the recycle bin: deleted (object and item) once no record links them."""
from __future__ import annotations

import boto3

from chalicelib.core.settings import get_settings


def _objects(tenant: str) -> set[str]:
    s3 = boto3.client("s3", region_name=get_settings().region)
    listed = s3.list_objects_v2(Bucket=get_settings().files_bucket, Prefix=f"tenants/{tenant}/files/")
    return {o["Key"] for o in listed.get("Contents", [])}


def _binned_and_purged(api, admin: str, token: str, customer_id: str) -> None:
    c = api.call("GET", f"/v1/customers/{customer_id}", token).data
    assert api.call("DELETE", f"/v1/customers/{customer_id}", admin, headers={"If-Match": f'"{c["version"]}"'}).status_code == 204
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{customer_id}", admin).status_code == 204
    api.pump()  # the stream delivers the purge to its consumers


def test_given_attachments_of_a_purged_record_when_the_stream_delivers_the_purge_then_their_objects_are_deleted(
        api, sales_team, upload):
    t, rep = sales_team, sales_team["tokens"]["rep1"]
    only = upload(rep, b"%PDF only here", "报价.pdf")
    shared = upload(rep, b"%PDF on two records", "合同.pdf")
    kept = api.call("POST", "/v1/customers", rep, {"name": "留下的客户"}).data
    gone = api.call("POST", "/v1/customers", rep, {"name": "要彻底删除的客户"}).data
    for file_id in (only["id"], shared["id"]):
        assert api.call("POST", f"/v1/customers/{gone['id']}/attachments", rep, {"file_id": file_id}).status_code == 201
    assert api.call("POST", f"/v1/customers/{kept['id']}/attachments", rep, {"file_id": shared["id"]}).status_code == 201
    assert len(_objects(t["id"])) == 2

    # in the recycle bin the files stay (the record may come back)
    c = api.call("GET", f"/v1/customers/{gone['id']}", rep).data
    assert api.call("DELETE", f"/v1/customers/{gone['id']}", t["admin"], headers={"If-Match": f'"{c["version"]}"'}).status_code == 204
    api.pump()
    assert len(_objects(t["id"])) == 2

    assert api.call("DELETE", f"/v1/recycle-bin/customer/{gone['id']}", t["admin"]).status_code == 204
    api.pump()
    left = _objects(t["id"])
    assert len(left) == 1 and f"/files/{shared['id']}/" in next(iter(left))  # still attached to the other customer
    assert api.call("GET", f"/v1/files/{only['id']}", rep).status_code == 404
    still = api.call("GET", f"/v1/customers/{kept['id']}/attachments", rep).data["items"]
    assert [a["file_id"] for a in still] == [shared["id"]]

    # the last record that held it goes too: so does the file
    _binned_and_purged(api, t["admin"], rep, kept["id"])
    assert _objects(t["id"]) == set()
    assert api.call("GET", f"/v1/files/{shared['id']}", rep).status_code == 404


def test_given_a_purge_replayed_by_the_stream_when_handled_again_then_nothing_more_happens(api, sales_team, upload):
    from functions import purged_files

    rep = sales_team["tokens"]["rep1"]
    f = upload(rep, b"%PDF once", "一次.pdf")
    c = api.call("POST", "/v1/customers", rep, {"name": "重放客户"}).data
    api.call("POST", f"/v1/customers/{c['id']}/attachments", rep, {"file_id": f["id"]})
    api.pump()
    c = api.call("GET", f"/v1/customers/{c['id']}", rep).data
    api.call("DELETE", f"/v1/customers/{c['id']}", sales_team["admin"], headers={"If-Match": f'"{c["version"]}"'})
    api.pump()
    binned = api.call("GET", "/v1/recycle-bin?limit=5", sales_team["admin"]).data["items"]
    assert binned
    from chalicelib.db.base import Item
    from chalicelib.db.keys import record_pk

    image = Item.get(record_pk(sales_team["id"], "CUSTOMER", c["id"]), "#").serialize()
    assert api.call("DELETE", f"/v1/recycle-bin/customer/{c['id']}", sales_team["admin"]).status_code == 204
    api.pump()
    assert _objects(sales_team["id"]) == set()
    replay = {"Records": [{"eventName": "REMOVE", "dynamodb": {"OldImage": image, "SequenceNumber": "1"}}]}
    assert purged_files.handler(replay) == {"batchItemFailures": []}
    # a TTL expiry is not a purge: never handled
    ttl = {"Records": [{"eventName": "REMOVE", "userIdentity": {"type": "Service"}, "dynamodb": {"OldImage": image}}]}
    assert purged_files.handler(ttl) == {"batchItemFailures": []}
