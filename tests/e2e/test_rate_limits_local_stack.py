"""Rate limits over HTTP on the local stack: a tenant of its own (the suite shares the stack and
the demo company), given a tiny limit by the platform, gets 429 with Retry-After and our error body."""
from __future__ import annotations

TENANT, ADMIN, PASSWORD = "ratelimit-e2e", "13700000001", "Limit@2026!safe"


def test_given_a_tenant_with_a_tiny_limit_when_it_calls_too_often_then_429_with_retry_after_until_the_platform_lifts_it(stack):
    platform = stack.platform_token()
    created = stack.call("POST", "/v1/platform/tenants", platform, {
        "id": TENANT, "name": "限流测试公司", "admin_name": "管理员", "admin_mobile": ADMIN, "admin_password": PASSWORD,
        "rate_limit": {"per_second": 0.05, "burst": 3}})  # three requests, then one every 20 s
    assert created.status_code == 201, created.text
    assert created.json()["tenant"]["rate_limit"] == {"per_second": 0.05, "burst": 3}
    token = stack.login(ADMIN, tenant=TENANT, password=PASSWORD)

    answers = [stack.call("GET", "/v1/me", token, headers={"Accept-Language": "en"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429], answers[-1].text
    refused = answers[-1]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 20
    assert refused.headers["Content-Type"].startswith("application/json")
    assert refused.json() == {"code": "RATE_LIMITED", "message": "Too many requests; please try again shortly",
                              "details": {"retry_after_seconds": retry_after}}
    assert refused.headers["X-Correlation-Id"]

    demo = stack.login("13800000004")  # another tenant is not slowed down
    assert stack.call("GET", "/v1/me", demo).status_code == 200

    lifted = stack.call("PATCH", f"/v1/platform/tenants/{TENANT}", platform,
                        {"rate_limit": None, "version": created.json()["tenant"]["version"]})
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["rate_limit"] is None
    assert stack.call("GET", "/v1/me", token).status_code == 200  # the product defaults again, at once
