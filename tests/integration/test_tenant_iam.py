"""Tenant isolation in IAM, with the API's data access on tenant credentials: every table call a
tenant's request makes stays inside that tenant's keys (what the tenant data role's
``dynamodb:LeadingKeys`` condition enforces in AWS; tests/tenant_iam.py evaluates it here)."""
from __future__ import annotations

from chalicelib.core.settings import environment
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
