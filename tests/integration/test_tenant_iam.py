"""Tenant isolation in IAM, with the API's data access on tenant credentials: every table call a
tenant's request makes stays inside that tenant's keys (what the tenant data role's
``dynamodb:LeadingKeys`` condition enforces in AWS), and every S3 call inside the tenant's own
prefixes of the files bucket (the role's object grants); tests/tenant_iam.py evaluates both here."""
from __future__ import annotations

from chalicelib.core.settings import environment
from chalicelib.jobs import service as jobs
from tests.integration import test_imports as imports
from tests.integration import test_tenant_isolation as isolation
from tests.tenant_iam import LeadingKeysCheck

ROLE = "arn:aws:iam::123456789012:role/crm-test-tenant-data"


def test_given_tenant_credentials_when_two_tenants_use_every_route_then_no_table_call_leaves_its_tenant(
        api, make_tenant, upload, monkeypatch):
    check = LeadingKeysCheck(ROLE)
    check.install(monkeypatch)
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        isolation.test_given_two_tenants_when_b_calls_every_route_with_a_ids_then_nothing_of_a_is_read_or_changed(
            api, make_tenant, upload)

    assert check.signed > 150  # the routes ran on tenant credentials
    assert sorted(set((op, tuple(keys or ())) for _, op, keys in check.refused)) == []
    # the files routes' direct S3 calls (confirming an upload: HeadObject, CopyObject) ran on tenant credentials too
    assert {"HeadObject", "CopyObject"} <= {op for op, _, _ in check.s3_signed}
    assert check.s3_refused == []


def test_given_tenant_credentials_when_a_file_is_imported_and_its_rejected_rows_fetched_then_every_s3_call_stays_in_the_tenant_s_prefixes(
        api, sales_team, monkeypatch):
    rep = sales_team["tokens"]["rep1"]
    imports.reps_may_import(api, sales_team)
    check = LeadingKeysCheck(ROLE)
    check.install(monkeypatch)
    body = imports.csv_bytes([imports.HEAD, ["星辰科技", "13800001111", "", ""], ["", "13800001112", "", ""]])
    with environment(CRM_TENANT_ROLE_ARN=ROLE):  # the API's requests
        iid = imports.upload(api, rep, "customer", body)
        assert api.call("GET", f"/v1/imports/{iid}/mapping", rep).status_code == 200  # HeadObject + GetObject of the upload
        imports.start(api, rep, iid)
    jobs.run_queued()  # the jobs function: its own role (only the API gets CRM_TENANT_ROLE_ARN)
    with environment(CRM_TENANT_ROLE_ARN=ROLE):
        for fmt in ("csv", "xlsx"):  # the API writes the rejected rows, then signs their download
            r = api.call("GET", f"/v1/imports/{iid}/rejected?format={fmt}", rep)
            assert r.status_code == 200 and r.data["rows"] == 1, r.data

    signed = {(op, bucket, key.split("/")[2] if key.startswith("tenants/") else key.split("/")[0]) for op, bucket, key in check.s3_signed}
    assert {("HeadObject", "files", "imports"), ("GetObject", "files", "imports"), ("PutObject", "files", "imports")} <= signed
    assert check.s3_refused == []
    assert check.refused == [] and check.signed > 0


def test_the_s3_check_refuses_what_the_role_does_not_grant():
    """The stand-in for IAM is not vacuous: another tenant's folder, the archive bucket, a delete,
    a listing, a copy out of another tenant's uploads are refused."""
    from chalicelib.core.settings import get_settings
    from tests.tenant_iam import s3_allowed, s3_requests

    files, archive = get_settings().files_bucket, get_settings().archive_bucket
    assert s3_allowed("a", "s3:GetObject", files, "tenants/a/files/f1/x.pdf")
    assert s3_allowed("a", "s3:PutObject", files, "pending/tenants/a/files/f1")
    assert s3_allowed("a", "s3:GetObject", files, "tenants/a/exports/j1/x.xlsx")
    assert not s3_allowed("a", "s3:PutObject", files, "tenants/a/exports/j1/x.xlsx")  # the jobs function writes exports
    assert not s3_allowed("a", "s3:GetObject", files, "tenants/b/files/f1/x.pdf")
    assert not s3_allowed("a", "s3:GetObject", files, "tenants/a/other/x")
    assert not s3_allowed("a", "s3:GetObject", archive, "tenants/a/backups/b1/manifest.json")
    assert not s3_allowed("a", "s3:DeleteObject", files, "tenants/a/files/f1/x.pdf")
    assert not any(s3_allowed("a", *r) for r in s3_requests("ListObjectsV2", {"Bucket": files, "Prefix": "tenants/a/"}))
    copy = s3_requests("CopyObject", {"Bucket": files, "Key": "tenants/a/files/f1/x.pdf",
                                      "CopySource": f"{files}/pending/tenants/b/files/f1"})
    assert [s3_allowed("a", *r) for r in copy] == [True, False]
