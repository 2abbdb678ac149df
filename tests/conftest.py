"""Shared test fixtures: an in-process moto account with the table and every resource
created from the same definitions the stack uses, and an API client with real tokens."""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import uuid
from typing import Any

import pytest

_KEY_DIR = tempfile.mkdtemp(prefix="crm-test-idp-")
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "CRM_STAGE": "test",
    "CRM_REGION": "ap-southeast-1",
    "CRM_TABLE_NAME": "crm-test",
    "CRM_EVENT_BUS_NAME": "crm-test",
    "CRM_SCHEDULE_GROUP": "crm-test",
    "CRM_ARCHIVE_BUCKET": "crm-test-archive",
    "CRM_FILES_BUCKET": "crm-test-files",
    "CRM_IDENTITY_PROVIDER": "local",
    "CRM_LOCAL_IDP_KEY_FILE": os.path.join(_KEY_DIR, "idp-key.pem"),
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "CRM_SEARCH_FILE": os.path.join(_KEY_DIR, "search.sqlite3"),
    "CRM_SEARCH_INDEX_PREFIX": "crm-test",
    "CRM_CURSOR_SECRET": secrets.token_urlsafe(32),
    # Tests run faster than people and sign the same users in again and again: limits the suites
    # never reach (the rate-limit tests set their own, per tenant or with settings.environment).
    "CRM_RATE_LIMIT_PER_SECOND": "10000",
    "CRM_RATE_LIMIT_BURST": "100000",
    "CRM_RATE_LIMIT_LEASE": "1",  # every request writes its token: round-trip counts show the worst case
    "CRM_SIGN_IN_PER_MINUTE": "10000",
    # scrypt at N=2**4, not 2**14: every user a fixture creates and signs in hashes a password (60 ms each
    # at the production cost); hashes name their cost, and check_password follows what a hash says.
    "CRM_PASSWORD_COST": "4",
    # Fixtures sign users in with a password; the MFA tests require a second factor per tenant or by setting.
    "CRM_MFA_DEFAULT": "optional",
}
os.environ.update(TEST_ENV)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("CRM_OPENSEARCH_URL", None)
os.environ.pop("OPENSEARCH_URL", None)

# moto registers its botocore handler when imported: before any test builds a client. A client made outside
# mock_aws (an infrastructure test signing a URL) and cached by ports.client would otherwise lack it, and later
# tests' calls through it would leave for AWS.
import moto  # noqa: E402,F401,I001
from chalicelib import manifest  # noqa: E402 - after the test environment is set

manifest.install()  # every test process sees the manifest's modules, as app.py and each Lambda do


def reset_process_state() -> None:
    """Forget per-process caches that hold data. AWS clients stay: moto intercepts them at
    botocore's handler level, so one client serves every mock_aws context (and creating
    clients is most of a test's cost)."""
    from chalicelib.core import clock, ratelimit
    from chalicelib.core.settings import reset_settings
    from chalicelib.dictionaries import service as dictionaries
    from chalicelib.engine import family
    from chalicelib.fields import service as fields
    from chalicelib.org import service as org
    from chalicelib.search import port
    from chalicelib.signin import service as signin

    reset_settings()
    clock.reset()
    ratelimit.reset()
    org._cache.clear()
    dictionaries._cache.clear()
    fields._cache.clear()
    port.reset()
    signin.reset_caches()
    family.forget()


@pytest.fixture()
def aws():
    """A fresh moto account with the CRM resources (Step Functions execution on)."""
    from moto import mock_aws

    from devstack.moto_patches import patch_dynamodb

    patch_dynamodb()
    os.environ["CRM_SEARCH_FILE"] = os.path.join(tempfile.mkdtemp(prefix="crm-test-search-"), "search.sqlite3")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        reset_process_state()
        from devstack.resources import create_resources

        create_resources()
        yield
    reset_process_state()


class Api:
    """The Chalice app in-process, with helpers that speak like a client.

    As on the local stack, the table's stream feeds the stream consumers (the search
    indexer among them): here the stream is drained before a read that follows writes."""

    def __init__(self, client) -> None:
        from devstack.drivers import StreamDriver

        self.http = client.http
        self.stream = StreamDriver()
        self._written = False

    def pump(self) -> int:
        """Deliver every stream record written so far to the stream consumers."""
        self._written = False
        n = total = self.stream.run_once()
        while n:
            n = self.stream.run_once()
            total += n
        return total

    def call(self, method: str, path: str, token: str | None = None, body: Any = None, headers: dict | None = None):
        if method.upper() == "GET" and self._written:
            self.pump()
        elif method.upper() != "GET":
            self._written = True
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        fn = getattr(self.http, method.lower())
        kwargs = {"headers": h}
        if body is not None:
            kwargs["body"] = json.dumps(body, ensure_ascii=False)
        resp = fn(path, **kwargs)
        is_json = "json" in (resp.headers.get("Content-Type") or "application/json")
        resp.data = json.loads(resp.body) if resp.body and is_json else None
        return resp


@pytest.fixture()
def api(aws):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test") as client:
        yield Api(client)


def platform_token() -> str:
    from chalicelib.core.auth import issue_local_token

    return issue_local_token("", "operator", platform_admin=True)


@pytest.fixture()
def make_tenant(api):
    """Create a tenant through the platform API; returns its ids and the admin's token."""

    def make(tenant_id: str | None = None, mobile: str = "13800000000") -> dict[str, Any]:
        tenant_id = tenant_id or f"t{uuid.uuid4().hex[:8]}"
        r = api.call("POST", "/v1/platform/tenants", platform_token(), {
            "id": tenant_id, "name": f"{tenant_id} 有限公司", "admin_name": "管理员", "admin_mobile": mobile,
            "admin_password": "Passw0rd!2026"})
        assert r.status_code == 201, r.data
        login = api.call("POST", "/v1/auth/login", body={"tenant_id": tenant_id, "mobile": mobile, "password": "Passw0rd!2026"})
        assert login.status_code == 200, login.data
        return {"id": tenant_id, "admin_id": r.data["admin_user_id"], "root": r.data["top_department_id"],
                "admin": login.data["id_token"]}

    return make


@pytest.fixture()
def sales_team(api, make_tenant):
    """A tenant with a sales department: manager 王经理 with reps 李娜 and 张伟; 赵客服 in service."""
    t = make_tenant()
    admin = t["admin"]

    def dept(name: str) -> str:
        r = api.call("POST", "/v1/org/departments", admin, {"name": name, "parent_id": t["root"]})
        assert r.status_code == 201, r.data
        return r.data["id"]

    def user(name: str, mobile: str, dept_id: str, roles: list[str], supervisor: str | None = None) -> str:
        r = api.call("POST", "/v1/org/users", admin, {"name": name, "mobile": mobile, "department_id": dept_id,
                                                      "role_ids": roles, "supervisor_id": supervisor, "password": "Passw0rd!2026"})
        assert r.status_code == 201, r.data
        return r.data["id"]

    sales, service_dept = dept("销售部"), dept("客服部")
    manager = user("王经理", "13900000001", sales, ["sales_manager"])
    rep1 = user("李娜", "13900000002", sales, ["sales_rep"], manager)
    rep2 = user("张伟", "13900000003", sales, ["sales_rep"], manager)
    agent = user("赵客服", "13900000004", sales, ["service_agent"])

    def token(mobile: str) -> str:
        r = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": mobile, "password": "Passw0rd!2026"})
        assert r.status_code == 200, r.data
        return r.data["id_token"]

    return {**t, "sales": sales, "service": service_dept, "manager": manager, "rep1": rep1, "rep2": rep2, "agent": agent,
            "tokens": {"manager": token("13900000001"), "rep1": token("13900000002"), "rep2": token("13900000003"),
                       "agent": token("13900000004")}}


@pytest.fixture()
def upload(api):
    """Upload a file as a browser would: ask for the presigned PUT, send the bytes to S3 with the
    headers it names (moto intercepts the HTTP request in-process), then confirm."""
    import hashlib

    import requests

    def do(token: str, body: bytes = b"%PDF-1.7 contract", name: str = "合同.pdf", content_type: str = "application/pdf",
           confirm: bool = True) -> dict[str, Any]:
        r = api.call("POST", "/v1/files", token, {"name": name, "content_type": content_type, "size": len(body),
                                                  "sha256": hashlib.sha256(body).hexdigest()})
        assert r.status_code == 201, r.data
        put = requests.put(r.data["upload"]["url"], data=body, headers=r.data["upload"]["headers"], timeout=10)
        assert put.status_code == 200, put.text
        if not confirm:
            return r.data
        done = api.call("POST", f"/v1/files/{r.data['id']}/confirm", token)
        assert done.status_code == 200, done.data
        return done.data

    return do
