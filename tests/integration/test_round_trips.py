"""The storage cost of a request is part of its behaviour: warm requests make the fewest
DynamoDB round trips their data needs (ARCHITECTURE.md §3, §10)."""
from __future__ import annotations

from contextlib import contextmanager

from botocore.client import BaseClient

#: What every signed-in request pays first: one conditional write to its tenant's rate-limit bucket
#: (core/ratelimit.py). The rest of each list is the storage the endpoint's data needs.
LIMIT = "UpdateItem"


@contextmanager
def dynamodb_calls():
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


def test_given_warm_container_when_creating_reading_listing_then_one_round_trip_each(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    body = {"name": "华为技术有限公司", "level": "A", "industry": "it", "source": "referral", "customer_type": "target"}
    api.call("POST", "/v1/customers", rep, {"name": "预热", "level": "B"})  # warms the org and dictionary caches
    with dynamodb_calls() as create:
        c = api.call("POST", "/v1/customers", rep, body, headers={"Idempotency-Key": "rt-1"}).data
    assert create == [LIMIT, "TransactWriteItems"]  # record + audit entry + idempotency marker, dictionary codes cached
    api.pump()  # the stream feeds the search index (not part of the request)
    with dynamodb_calls() as get:
        api.call("GET", f"/v1/customers/{c['id']}", rep)
    assert get == [LIMIT, "GetItem"]
    with dynamodb_calls() as rep_list:
        page = api.call("GET", "/v1/customers?q=%E5%8D%8E%E4%B8%BA&facets=level", rep)
    assert page.data["total"] == 1
    assert rep_list == [LIMIT]  # lists, search and facets come from the search index, not the table
    with dynamodb_calls() as update:
        api.call("PATCH", f"/v1/customers/{c['id']}", rep, {"remark": "x", "version": 1})
    assert update == [LIMIT, "GetItem", "TransactWriteItems"]  # read for permission + diff, then one transaction
