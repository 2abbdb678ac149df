"""Tenant-scoped credentials (chalicelib/db/credentials.py): the cache, and which credentials sign a call."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from chalicelib.core import context
from chalicelib.core.settings import environment
from chalicelib.db import credentials
from chalicelib.db.base import reset_connections
from tests.tenant_iam import leading_keys

ROLE = "arn:aws:iam::123456789012:role/crm-test-tenant-data"


class FakeSts:
    """assume_role answers credentials named after the call; `gate` can hold the first call."""

    def __init__(self, lifetime: float = 3600, clock=lambda: 1_000_000.0, gate: threading.Event | None = None) -> None:
        self.calls: list[dict] = []
        self.lifetime, self.clock, self.gate = lifetime, clock, gate
        self.entered = threading.Event()

    def assume_role(self, **kwargs):
        self.calls.append(kwargs)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(5)
        n = len(self.calls)
        return {"Credentials": {"AccessKeyId": f"ASIA{n}", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": datetime.fromtimestamp(self.clock() + self.lifetime, UTC)}}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_given_a_tenant_when_asked_twice_then_sts_is_called_once_with_the_tenant_session_tag():
    sts = FakeSts()
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=Clock())

    first, second = cache.get("acme"), cache.get("acme")

    assert first is second and first.access_key == "ASIA1"
    assert len(sts.calls) == 1
    call = sts.calls[0]
    assert call["RoleArn"] == ROLE
    assert call["Tags"] == [{"Key": "tenant", "Value": "acme"}]
    assert call["RoleSessionName"] == "tenant-acme"
    assert call["DurationSeconds"] == credentials.SESSION_SECONDS


def test_given_two_tenants_then_each_has_its_own_credentials():
    sts = FakeSts()
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=Clock())

    a, b = cache.get("a"), cache.get("b")

    assert a.access_key != b.access_key
    assert [c["Tags"][0]["Value"] for c in sts.calls] == ["a", "b"]
    assert cache.get("a") is a


def test_given_credentials_near_expiry_when_asked_then_they_are_renewed_before_they_expire():
    clock = Clock()
    sts = FakeSts(clock=clock)
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=clock)
    first = cache.get("acme")

    clock.now += 3600 - credentials.REFRESH_MARGIN_SECONDS - 1  # still outside the margin
    assert cache.get("acme") is first
    clock.now += 2  # inside the margin: renewed although not expired yet
    renewed = cache.get("acme")

    assert renewed is not first and renewed.access_key == "ASIA2"
    assert len(sts.calls) == 2


def test_given_many_threads_of_one_tenant_on_a_cold_cache_then_one_assume_serves_them_all():
    gate = threading.Event()
    sts = FakeSts(gate=gate)
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=Clock())
    got: list = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("acme"))) for _ in range(8)]
    for t in threads:
        t.start()
    assert sts.entered.wait(5)  # the first thread is inside AssumeRole, the others wait for its lock
    gate.set()
    for t in threads:
        t.join(5)

    assert len(got) == 8 and len({id(c) for c in got}) == 1
    assert len(sts.calls) == 1


def test_given_one_tenant_assuming_then_another_tenant_is_not_held_up():
    gate = threading.Event()
    sts = FakeSts(gate=gate)
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=Clock())
    slow = threading.Thread(target=lambda: cache.get("slow"))
    slow.start()
    assert sts.entered.wait(5)
    cache._entries["fast"] = credentials._Entry(object(), 2_000_000.0)  # already cached

    assert cache.get("fast") is cache._entries["fast"].credentials  # answered while "slow" holds its own lock
    gate.set()
    slow.join(5)


def test_session_names_are_valid_for_sts():
    assert credentials.session_name("t-1_a") == "tenant-t-1_a"
    assert credentials.session_name("租户 x") == "tenant-租户-x"  # \w is Unicode; STS accepts the name's characters
    assert len(credentials.session_name("x" * 100)) == 64


# ---- which credentials sign a DynamoDB call ------------------------------------------------------
@pytest.fixture()
def signed_with(aws):
    """The access key of every DynamoDB request the models send, in order."""
    keys: list[str] = []

    def capture(request, **_):
        keys.append(request.headers["Authorization"].decode().split("Credential=")[1].split("/")[0]
                    if isinstance(request.headers["Authorization"], bytes)
                    else request.headers["Authorization"].split("Credential=")[1].split("/")[0])

    reset_connections()
    from chalicelib.db.base import Item, connection

    for client in (Item._get_connection().connection.client, connection().client):
        client.meta.events.register_last("before-send.dynamodb", capture)
    yield keys
    for client in (Item._get_connection().connection.client, connection().client):
        client.meta.events.unregister("before-send.dynamodb", capture)
    reset_connections()


def _read(tenant: str) -> None:
    from chalicelib.db.base import Item

    list(Item.query(f"T#{tenant}#CUSTOMER#1"))


def test_given_the_setting_when_a_tenant_request_reads_the_table_then_it_signs_with_that_tenant_s_assumed_credentials(signed_with):
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")):
            _read("acme")
        with context.acting_as(context.RequestContext(tenant_id="globex", user_id="u2")):
            _read("globex")
        with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")):
            _read("acme")
        cache = credentials.cache(ROLE)
        acme, globex = cache.get("acme").access_key, cache.get("globex").access_key

    assert acme != globex and acme.startswith("ASIA")  # moto's STS answered AssumeRole
    assert signed_with == [acme, globex, acme]
    assert cache.assumed == 2


def test_given_the_setting_when_platform_or_no_tenant_then_the_function_role_signs(signed_with):
    import os

    own = os.environ["AWS_ACCESS_KEY_ID"]
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        _read("acme")  # no request context
        with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")):
            with credentials.platform():
                _read("other")
        with context.acting_as(context.RequestContext(tenant_id="", user_id="")):  # a public route (sign-in)
            _read("acme")

    assert signed_with == [own, own, own]


def test_given_no_setting_then_every_call_signs_with_the_function_role_and_sts_is_never_called(signed_with):
    import os

    with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")):
        _read("acme")
        from chalicelib.db import tx
        from chalicelib.db.base import connection

        assert tx is not None
        connection().client.describe_table(TableName=os.environ["CRM_TABLE_NAME"])

    assert signed_with == [os.environ["AWS_ACCESS_KEY_ID"]] * 2
    assert credentials._caches == {}


def test_given_a_cached_tenant_the_per_call_overhead_is_a_lookup():
    """The cache hit path (what every DynamoDB call of a request pays): measured, bounded loosely."""
    sts = FakeSts()
    cache = credentials.TenantCredentials(ROLE, sts=lambda: sts, clock=Clock())
    cache.get("acme")
    n = 20000
    started = time.perf_counter()
    for _ in range(n):
        cache.get("acme")
    per_call = (time.perf_counter() - started) / n
    assert len(sts.calls) == 1
    assert per_call < 20e-6, per_call  # well under a microsecond here; signing one request costs tens of µs


# ---- the leading keys the policy evaluates (the simulator of tests/tenant_iam.py) -----------------
def test_leading_keys_of_a_query_on_an_index_are_the_index_partition_key_value():
    params = {"IndexName": "gsi2", "KeyConditionExpression": "#0 = :0 AND begins_with (#1, :1)",
              "ExpressionAttributeNames": {"#0": "gsi2pk", "#1": "gsi2sk"},
              "ExpressionAttributeValues": {":0": {"S": "T#a#CUSTOMER"}, ":1": {"S": "2026"}}}
    assert leading_keys("Query", params) == ["T#a#CUSTOMER"]
    assert leading_keys("TransactWriteItems", {"TransactItems": [
        {"Put": {"Item": {"pk": {"S": "T#a#X"}}}}, {"ConditionCheck": {"Key": {"pk": {"S": "T#a#Y"}}}}]}) == ["T#a#X", "T#a#Y"]
    assert leading_keys("Scan", {}) is None


# ---- which credentials sign an S3 call (the files port) ------------------------------------------
@pytest.fixture()
def s3_signed_with(aws):
    """(operation, access key) of every S3 request the files port sends, in order."""
    from chalicelib.ports import files

    sent: list[tuple[str, str]] = []

    def capture(request, operation_name=None, event_name="", **_):
        auth = request.headers["Authorization"]
        auth = auth.decode() if isinstance(auth, bytes) else auth
        sent.append((event_name.rsplit(".", 1)[-1], auth.split("Credential=")[1].split("/")[0]))

    client = files._s3()
    client.meta.events.register_last("before-send.s3", capture)
    yield sent
    client.meta.events.unregister("before-send.s3", capture)


def _function_key() -> str:
    """The access key of the function's own role: the files port's client's (whatever the environment said
    when that client was built, which earlier tests in the same process may have changed since)."""
    from chalicelib.ports import files

    return files._s3()._request_signer._credentials.access_key


def test_given_the_setting_when_a_tenant_request_uses_the_files_port_then_s3_signs_with_the_tenant_s_credentials(s3_signed_with):
    """Direct calls and the worker threads of a multipart transfer alike; presigned URLs keep the function role."""
    import io

    from boto3.s3.transfer import TransferConfig

    from chalicelib.ports import files

    key = files.tenant_key("acme", "imports", "i1", "big.csv")
    body = b"x" * (TransferConfig().multipart_threshold + 1)  # two parts, sent by the transfer's worker threads
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")):
            files.upload(key, io.BytesIO(body), "text/csv")
            assert files.head(key)["size"] == len(body)
            out = io.BytesIO()
            files.download(key, out)
            url = files.presign_download(key, "big.csv", "text/csv", 60)
        acme = credentials.cache(ROLE).get("acme").access_key

    assert out.getvalue() == body
    operations = {op for op, _ in s3_signed_with}
    assert {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "HeadObject", "GetObject"} <= operations
    assert {k for _, k in s3_signed_with} == {acme}
    assert _function_key() in url and acme not in url


def test_given_platform_or_no_tenant_then_s3_signs_with_the_function_role(s3_signed_with):

    from chalicelib.ports import files

    key = files.tenant_key("acme", "files", "f1", "a.txt")
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        files.head(key)  # no request context
        with context.acting_as(context.RequestContext(tenant_id="acme", user_id="u1")), credentials.platform():
            files.head(key)

    assert [k for _, k in s3_signed_with] == [_function_key()] * 2
