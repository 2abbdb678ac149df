"""Where the AWS clients point: moto/AWS by default (what the tests use), a LocalStack through
localstack-client sessions when CRM_LOCALSTACK_URL is set."""
from __future__ import annotations

import sys

import pytest

from chalicelib import ports


@pytest.fixture()
def fresh_clients():
    from chalicelib.db.base import reset_connections

    ports.reset()
    reset_connections()
    yield
    ports.reset()
    reset_connections()  # no model or connection keeps an endpoint of this test


def test_given_no_localstack_when_a_client_is_built_then_it_is_plain_boto3_on_the_default_endpoint(fresh_clients, monkeypatch):
    monkeypatch.delenv("CRM_LOCALSTACK_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setitem(sys.modules, "localstack_client", None)  # importing it would fail: it is never needed
    monkeypatch.setitem(sys.modules, "localstack_client.session", None)
    assert ports.localstack_url() is None
    s3 = ports.client("s3")
    assert s3.meta.endpoint_url == f"https://s3.{s3.meta.region_name}.amazonaws.com"
    from chalicelib.db.base import Item

    assert Item.Meta.host is None  # PynamoDB: botocore's endpoint (moto intercepts it in the tests)


@pytest.mark.parametrize("url, endpoint", [("http://localhost:4566", "http://localhost:4566"),
                                           ("http://127.0.0.1:4599/", "http://127.0.0.1:4599"),
                                           ("localstack:4566", "http://localstack:4566")])
def test_given_a_localstack_url_when_clients_are_built_then_every_service_goes_there_through_localstack_client(
        fresh_clients, monkeypatch, url, endpoint):
    import localstack_client.session as ls

    made: list[str] = []
    real = ls.Session.client

    def spy(self, service_name, **kwargs):
        made.append(service_name)
        return real(self, service_name, **kwargs)

    monkeypatch.setattr(ls.Session, "client", spy)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("CRM_LOCALSTACK_URL", url)
    services = ["dynamodb", "dynamodbstreams", "s3", "events", "scheduler", "stepfunctions", "sqs", "ses", "cognito-idp"]
    for service in services:
        c = ports.client(service)
        assert c.meta.endpoint_url == endpoint, service
        assert c.meta.region_name == "ap-southeast-1"
    assert made == services
    # the signature options of presigned URLs still apply
    assert ports.client("s3", signature_version="s3v4").meta.config.signature_version == "s3v4"
    from chalicelib.db.base import Item, connection, reset_connections

    reset_connections()
    assert Item.Meta.host == url.rstrip("/")
    assert connection().host == url.rstrip("/")
    reset_connections()


def test_given_the_localstack_switch_when_the_local_stack_is_configured_then_no_moto_endpoint_is_set():
    import os

    from devstack import run

    saved = dict(os.environ)
    try:
        for name in ("AWS_ENDPOINT_URL", "CRM_LOCALSTACK_URL"):
            os.environ.pop(name, None)
        run.configure_env(5005, 8000)  # the default: the moto server
        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5005" and "CRM_LOCALSTACK_URL" not in os.environ
        run.configure_env(5005, 8000, "http://localhost:4566")
        assert os.environ["CRM_LOCALSTACK_URL"] == "http://localhost:4566"
        assert os.environ["AWS_ENDPOINT_URL"] == "http://localhost:4566"
    finally:
        os.environ.clear()
        os.environ.update(saved)
