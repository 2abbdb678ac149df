"""The search-roles custom resource sets the domain's access policy when the domain lives in the data stack
(``infra/search_roles/handler.py``: ``DomainName`` + ``AccessPolicies``), offline."""
from __future__ import annotations

import json
from typing import Any

import pytest

from infra.search_roles import handler
from tests.infrastructure import test_search_roles
from tests.infrastructure.test_search_roles import ENDPOINT, MAPPINGS, ROLES, FakeContext, _event

network = test_search_roles.network  # the fake security API and CloudFormation (a fixture)

DOMAIN = "crm-dev"
DOMAIN_ARN = "arn:aws:es:ap-southeast-1:123456789012:domain/crm-dev"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/api"},
     "Action": ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"], "Resource": f"{DOMAIN_ARN}/*"},
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/master"},
     "Action": ["es:ESHttpPut", "es:ESHttpDelete"], "Resource": f"{DOMAIN_ARN}/_plugins/_security/api/*"},
]}


class FakeOpenSearch:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_domain_config(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        return {}


@pytest.fixture
def opensearch(monkeypatch: pytest.MonkeyPatch) -> FakeOpenSearch:
    fake = FakeOpenSearch()
    monkeypatch.setattr(handler, "_opensearch", lambda: fake)
    return fake


def _with_policy(request_type: str, **extra: Any) -> dict[str, Any]:
    event = _event(request_type, **extra)
    event["ResourceProperties"].update({"DomainName": DOMAIN, "AccessPolicies": POLICY})
    return event


def test_given_an_access_policy_when_created_then_the_domain_gets_it_before_the_roles_are_put(network, opensearch):
    handler.handler(_with_policy("Create"), FakeContext())

    assert [(u["DomainName"], json.loads(u["AccessPolicies"])) for u in opensearch.updates] == [(DOMAIN, POLICY)]
    assert ("PUT", "roles/crm-dev-search-reader") in network.requests()
    assert network.cloudformation[-1]["Status"] == "SUCCESS"


def test_given_an_access_policy_when_deleted_then_only_the_master_statement_is_left(network, opensearch):
    handler.handler(_with_policy("Delete", PhysicalResourceId=f"{ENDPOINT}/security-roles"), FakeContext())

    left = json.loads(opensearch.updates[-1]["AccessPolicies"])["Statement"]
    assert left == [POLICY["Statement"][1]]
    assert network.cloudformation[-1]["Status"] == "SUCCESS"


def test_given_the_update_is_refused_when_created_then_cloudformation_hears_failed(network, monkeypatch):
    class Refusing:
        def update_domain_config(self, **kwargs: Any) -> None:
            raise RuntimeError("AccessDenied")

    monkeypatch.setattr(handler, "_opensearch", lambda: Refusing())
    handler.handler(_with_policy("Create"), FakeContext())

    assert network.cloudformation[-1]["Status"] == "FAILED" and "AccessDenied" in network.cloudformation[-1]["Reason"]


def test_given_no_access_policy_when_created_then_the_domain_config_is_not_touched(network, opensearch):
    handler.handler(_event("Create", roles=ROLES, mappings=MAPPINGS), FakeContext())

    assert opensearch.updates == []


def test_given_a_changed_access_policy_when_updated_then_the_domain_gets_the_new_one(network, opensearch):
    old = {"Endpoint": ENDPOINT, "Roles": ROLES, "Mappings": MAPPINGS, "DomainName": DOMAIN, "AccessPolicies": POLICY}
    reader = {**POLICY["Statement"][0], "Principal": {"AWS": ["arn:aws:iam::123456789012:role/api",
                                                              "arn:aws:iam::123456789012:role/inbound-mail"]}}
    changed = {**POLICY, "Statement": [reader, POLICY["Statement"][1]]}
    event = _with_policy("Update", PhysicalResourceId=f"{ENDPOINT}/security-roles", OldResourceProperties=old)
    event["ResourceProperties"]["AccessPolicies"] = changed

    handler.handler(event, FakeContext())

    assert [json.loads(u["AccessPolicies"]) for u in opensearch.updates] == [changed]
    assert network.cloudformation[-1]["Status"] == "SUCCESS"
