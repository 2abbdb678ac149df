"""The search-roles custom resource handler (``infra/search_roles/handler.py``), offline.

The security API and CloudFormation's response URL are replaced by a fake ``urlopen``; the
requests it receives are what the domain and CloudFormation would receive.
"""
from __future__ import annotations

import io
import json
import urllib.error
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.search_roles import handler

ENDPOINT = "search-crm-dev-abc.ap-southeast-1.es.amazonaws.com"
RESPONSE_URL = "https://cloudformation-custom-resource-response.example/answer?X-Amz-Signature=x"
WRITER_ARN = "arn:aws:iam::123456789012:role/indexer"
READER_ARN = "arn:aws:iam::123456789012:role/api"
ROLES = {
    "crm-dev-search-writer": {"cluster_permissions": ["cluster_composite_ops"],
                              "index_permissions": [{"index_patterns": ["crm-dev-*"], "allowed_actions": ["crud"]}]},
    "crm-dev-search-reader": {"cluster_permissions": ["cluster_composite_ops_ro"],
                              "index_permissions": [{"index_patterns": ["crm-dev-*"], "allowed_actions": ["read"]}]},
}
MAPPINGS = {"crm-dev-search-writer": [WRITER_ARN], "crm-dev-search-reader": [READER_ARN]}


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class FakeNetwork:
    """The domain's security API (answers scripted per method + path, else 200) and CloudFormation."""

    answers: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    cloudformation: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request, timeout=None):
        if request.full_url == RESPONSE_URL:
            self.cloudformation.append(json.loads(request.data))
            return _Response(200)
        url = urlsplit(request.full_url)
        assert url.scheme == "https" and url.netloc == ENDPOINT
        path = url.path.removeprefix("/_plugins/_security/api/")
        body = json.loads(request.data) if request.data else None
        self.calls.append((request.get_method(), path, dict(request.header_items()), body))
        scripted = self.answers.get((request.get_method(), path), [])
        status = scripted.pop(0) if scripted else 200
        if status >= 400:
            raise urllib.error.HTTPError(request.full_url, status, "error", None, io.BytesIO(b'{"status":"error"}'))
        return _Response(status)

    def requests(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _, _ in self.calls]


@dataclass
class FakeContext:
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> FakeNetwork:
    fake = FakeNetwork()
    monkeypatch.setattr(handler.urllib.request, "urlopen", fake)
    monkeypatch.setattr(handler.time, "sleep", lambda seconds: None)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    return fake


def _event(request_type: str, roles: dict[str, Any] = ROLES, mappings: dict[str, Any] = MAPPINGS, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": "arn:aws:cloudformation:ap-southeast-1:123456789012:stack/crm-dev/1",
        "RequestId": "request-1",
        "LogicalResourceId": "SearchRoles",
        "ResourceType": "Custom::SearchRoles",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:…", "Endpoint": ENDPOINT, "Roles": roles, "Mappings": mappings},
        **extra,
    }


def test_given_create_when_handled_then_roles_then_mappings_are_put_signed_and_cloudformation_hears_success(network):
    handler.handler(_event("Create"), FakeContext())

    assert network.requests() == [
        ("PUT", "roles/crm-dev-search-writer"), ("PUT", "roles/crm-dev-search-reader"),
        ("PUT", "rolesmapping/crm-dev-search-writer"), ("PUT", "rolesmapping/crm-dev-search-reader"),
    ]
    assert network.calls[0][3] == ROLES["crm-dev-search-writer"]
    assert network.calls[2][3] == {"backend_roles": [WRITER_ARN], "hosts": [], "users": []}
    for _, _, headers, _ in network.calls:
        assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/ap-southeast-1/es/aws4_request" in headers["Authorization"]
    assert [(r["Status"], r["PhysicalResourceId"], r["RequestId"]) for r in network.cloudformation] == [
        ("SUCCESS", f"{ENDPOINT}/security-roles", "request-1")]


def test_given_security_api_rejects_a_role_when_created_then_cloudformation_hears_failed_with_the_reason(network):
    network.answers[("PUT", "roles/crm-dev-search-reader")] = [400]

    handler.handler(_event("Create"), FakeContext())

    [answer] = network.cloudformation
    assert answer["Status"] == "FAILED"
    assert "roles/crm-dev-search-reader -> 400" in answer["Reason"]
    assert ("PUT", "rolesmapping/crm-dev-search-writer") not in network.requests()


def test_given_new_domain_answers_403_at_first_when_created_then_the_request_is_retried(network):
    network.answers[("PUT", "roles/crm-dev-search-writer")] = [403, 503]

    handler.handler(_event("Create"), FakeContext())

    assert network.requests().count(("PUT", "roles/crm-dev-search-writer")) == 3
    assert network.cloudformation[0]["Status"] == "SUCCESS"


def test_given_security_api_keeps_failing_when_time_runs_out_then_cloudformation_still_hears_failed(network):
    network.answers[("PUT", "roles/crm-dev-search-writer")] = [503] * 1000

    handler.handler(_event("Create"), FakeContext(remaining_ms=(handler.RESPONSE_MARGIN_SECONDS + 10) * 1000))

    [answer] = network.cloudformation
    assert answer["Status"] == "FAILED" and "gave up" in answer["Reason"]


def test_given_delete_when_handled_then_mappings_then_roles_go_and_missing_ones_do_not_fail(network):
    network.answers[("DELETE", "rolesmapping/crm-dev-search-reader")] = [404]
    network.answers[("DELETE", "roles/crm-dev-search-writer")] = [400]

    handler.handler(_event("Delete", PhysicalResourceId=f"{ENDPOINT}/security-roles"), FakeContext())

    assert network.requests() == [
        ("DELETE", "rolesmapping/crm-dev-search-writer"), ("DELETE", "rolesmapping/crm-dev-search-reader"),
        ("DELETE", "roles/crm-dev-search-writer"), ("DELETE", "roles/crm-dev-search-reader"),
    ]
    assert [(r["Status"], r["PhysicalResourceId"]) for r in network.cloudformation] == [
        ("SUCCESS", f"{ENDPOINT}/security-roles")]


def test_given_update_dropping_a_role_when_handled_then_the_dropped_role_is_deleted(network):
    roles = {"crm-dev-search-writer": ROLES["crm-dev-search-writer"]}
    mappings = {"crm-dev-search-writer": [WRITER_ARN]}
    old = _event("Create")["ResourceProperties"]

    handler.handler(_event("Update", roles, mappings, OldResourceProperties=old,
                           PhysicalResourceId=f"{ENDPOINT}/security-roles"), FakeContext())

    assert network.requests() == [
        ("PUT", "roles/crm-dev-search-writer"), ("PUT", "rolesmapping/crm-dev-search-writer"),
        ("DELETE", "rolesmapping/crm-dev-search-reader"), ("DELETE", "roles/crm-dev-search-reader"),
    ]
    assert network.cloudformation[0]["Status"] == "SUCCESS"


def test_given_mapping_for_an_undefined_role_when_created_then_nothing_is_sent_and_it_fails(network):
    handler.handler(_event("Create", mappings={"crm-dev-search-admin": [WRITER_ARN]}), FakeContext())

    assert network.requests() == []
    assert network.cloudformation[0]["Status"] == "FAILED"
