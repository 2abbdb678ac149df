"""Rate limits per tenant and per sign-in mobile (core/ratelimit.py, db/buckets.py): token
buckets in the table, taken with conditional writes, under concurrency, on a clock the tests
move instead of sleeping."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core import clock
from chalicelib.core.settings import environment
from chalicelib.db import buckets
from tests.conftest import platform_token
from tests.integration.test_round_trips import LIMIT, dynamodb_calls


def _limit(api, tenant_id: str, rate_limit: dict | None):
    current = api.call("GET", "/v1/platform/tenants?limit=100", platform_token()).data["items"]
    version = next(t["version"] for t in current if t["id"] == tenant_id)
    return api.call("PATCH", f"/v1/platform/tenants/{tenant_id}", platform_token(), {"rate_limit": rate_limit, "version": version})


def _me(api, token: str, headers: dict | None = None):
    return api.call("GET", "/v1/me", token, headers=headers)


@pytest.fixture()
def small(api, make_tenant):
    """A tenant of its own with a bucket of 5 refilled at one request per second, on a frozen clock."""
    t = make_tenant()
    r = _limit(api, t["id"], {"per_second": 1, "burst": 5})
    assert r.status_code == 200, r.data
    assert r.data["rate_limit"] == {"per_second": 1.0, "burst": 5}
    clock.freeze()
    return t


def test_given_frozen_clock_when_30_requests_race_then_exactly_the_burst_passes_and_the_rest_get_429_with_retry_after(
        api, small):
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: _me(api, small["admin"]), range(30)))
    assert sorted(r.status_code for r in answers).count(200) == 5
    refused = [r for r in answers if r.status_code != 200]
    assert len(refused) == 25 and {r.status_code for r in refused} == {429}
    for r in refused:
        assert r.headers["Retry-After"] == "1"  # one token is back a second later
        assert r.data == {"code": "RATE_LIMITED", "message": "请求过于频繁，请稍后再试", "details": {"retry_after_seconds": 1}}
    en = _me(api, small["admin"], {"Accept-Language": "en"})
    assert en.status_code == 429 and en.data["message"] == "Too many requests; please try again shortly"


def test_given_an_empty_bucket_when_the_clock_moves_then_tokens_come_back_at_the_rate_up_to_the_burst(api, small):
    assert [_me(api, small["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]
    clock.travel(1)
    assert [_me(api, small["admin"]).status_code for _ in range(2)] == [200, 429]
    clock.travel(2.5)  # two and a half tokens: two requests, and the next token in half a second
    assert [_me(api, small["admin"]).status_code for _ in range(2)] == [200, 200]
    refused = _me(api, small["admin"])
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"  # 0.5 s, rounded up to whole seconds
    clock.travel(3600)  # a long quiet spell fills the bucket, no more
    assert [_me(api, small["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]


def test_given_one_tenant_over_its_limit_then_another_tenant_with_the_same_limit_still_gets_its_own_burst(api, small, make_tenant):
    assert [_me(api, small["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]
    other = make_tenant()
    assert _limit(api, other["id"], {"per_second": 1, "burst": 5}).status_code == 200
    assert [_me(api, other["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]
    defaults = make_tenant()  # the product defaults (the test environment's: never reached here)
    assert all(_me(api, defaults["admin"]).status_code == 200 for _ in range(20))


def test_given_a_tenant_limit_when_changed_by_the_platform_then_the_next_request_follows_it(api, small):
    assert [_me(api, small["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]
    raised = _limit(api, small["id"], {"per_second": 1, "burst": 8})
    assert raised.status_code == 200 and raised.data["rate_limit"]["burst"] == 8
    assert [_me(api, small["admin"]).status_code for _ in range(4)] == [200] * 3 + [429]  # 3 more fit in a bucket of 8
    back = _limit(api, small["id"], None)
    assert back.status_code == 200 and back.data["rate_limit"] is None
    assert all(_me(api, small["admin"]).status_code == 200 for _ in range(20))
    tenant = api.call("GET", "/v1/tenant", small["admin"]).data
    assert tenant["rate_limit"] is None


def test_given_a_new_tenant_with_its_own_limit_then_it_applies_from_the_first_request(api):
    r = api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "tiny-co", "name": "小微公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": "Passw0rd!2026",
        "rate_limit": {"per_second": 0.5, "burst": 2}})
    assert r.status_code == 201 and r.data["tenant"]["rate_limit"] == {"per_second": 0.5, "burst": 2}
    clock.freeze()
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": "tiny-co", "mobile": "13800000000", "password": "Passw0rd!2026"})
    codes = [_me(api, token.data["id_token"]) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert codes[-1].headers["Retry-After"] == "2"  # one token every 2 s


def test_given_a_slow_limit_owed_when_raised_then_what_is_owed_is_recounted_in_the_new_rate(api, make_tenant):
    t = make_tenant()
    assert _limit(api, t["id"], {"per_second": 0.1, "burst": 3}).status_code == 200  # one every 10 s
    clock.freeze()
    codes = [_me(api, t["admin"]) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429] and codes[-1].headers["Retry-After"] == "10"
    assert _limit(api, t["id"], {"per_second": 10, "burst": 2}).status_code == 200  # one every 0.1 s
    # three tokens owed, at most a whole bucket (2) in the new rate: empty for one more tenth of a second, not 10 s
    refused = _me(api, t["admin"])
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.travel(0.1)
    assert [_me(api, t["admin"]).status_code for _ in range(2)] == [200, 429]
    clock.travel(0.2)
    assert [_me(api, t["admin"]).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("rate_limit", [{"per_second": 0, "burst": 5}, {"per_second": 1, "burst": 0}, {"per_second": 1},
                                        {"per_second": 20000, "burst": 5}, {"per_second": 1, "burst": 5, "window": 60},
                                        {"per_second": "fast", "burst": 5}])
def test_given_an_invalid_limit_when_set_then_422_and_nothing_changes(api, make_tenant, rate_limit):
    t = make_tenant()
    r = _limit(api, t["id"], rate_limit)
    assert r.status_code == 422 and r.data["code"] == "VALIDATION_FAILED"
    assert r.data["details"][0]["field"].startswith("rate_limit")
    assert api.call("GET", "/v1/tenant", t["admin"]).data["rate_limit"] is None


def test_given_a_tenant_admin_or_an_unknown_tenant_when_setting_limits_then_403_or_404(api, make_tenant):
    t = make_tenant()
    own = api.call("PATCH", f"/v1/platform/tenants/{t['id']}", t["admin"], {"rate_limit": {"per_second": 1000, "burst": 5000},
                                                                          "version": 1})
    assert own.status_code == 403
    for unknown in ("nobody", "x%23y"):
        r = api.call("PATCH", f"/v1/platform/tenants/{unknown}", platform_token(), {"name": "x", "version": 1})
        assert r.status_code == 404 and r.data["code"] == "NOT_FOUND"


def test_given_requests_without_a_valid_token_then_they_take_no_tokens_of_the_tenant(api, small):
    forged = small["admin"][:-4] + ("AAAA" if not small["admin"].endswith("AAAA") else "BBBB")
    assert all(_me(api, forged).status_code == 401 for _ in range(10))
    assert [_me(api, small["admin"]).status_code for _ in range(6)] == [200] * 5 + [429]


def test_given_warm_container_then_a_request_costs_one_update_and_a_known_refusal_costs_none(api, small):
    _me(api, small["admin"])  # warms the org snapshot and the tenant's limit
    with dynamodb_calls() as granted:
        assert _me(api, small["admin"]).status_code == 200
    assert granted == [LIMIT]  # GET /v1/me reads the cached organisation: the bucket is its only call
    for _ in range(3):
        _me(api, small["admin"])
    with dynamodb_calls() as refused:
        assert _me(api, small["admin"]).status_code == 429
    assert refused == []  # this container saw the bucket empty: refused without a call


@pytest.mark.parametrize("error", [EndpointConnectionError(endpoint_url="https://dynamodb"),
                                   ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem")])
def test_given_the_table_unreachable_or_busy_when_charging_then_the_request_is_let_through(api, small, monkeypatch, error):
    def unavailable(*args, **kwargs):
        raise error

    monkeypatch.setattr(buckets, "take", unavailable)
    assert all(_me(api, small["admin"]).status_code == 200 for _ in range(8))


def test_given_the_table_refusing_the_write_when_charging_then_the_request_fails_rather_than_goes_unlimited(
        api, small, monkeypatch):
    def invalid(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ValidationException"}}, "UpdateItem")

    monkeypatch.setattr(buckets, "take", invalid)
    r = _me(api, small["admin"])
    assert r.status_code == 500 and r.data["code"] == "INTERNAL"


def test_given_sign_in_limit_when_one_mobile_tries_too_often_then_429_known_or_unknown_and_other_mobiles_unaffected(
        api, make_tenant):
    t = make_tenant(mobile="13811110000")
    clock.freeze()

    def sign_in(mobile: str, password: str = "Wrong-Pass1!"):
        return api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": mobile, "password": password})

    with environment(CRM_SIGN_IN_PER_MINUTE="3"):
        assert [sign_in("13999990000").status_code for _ in range(4)] == [401, 401, 401, 429]  # a number nobody has
        refused = sign_in("13999990000")
        assert refused.status_code == 429 and refused.data["code"] == "RATE_LIMITED"
        assert refused.headers["Retry-After"] == "20"  # 3 per minute: one every 20 s
        assert [sign_in("13811110000", "Passw0rd!2026").status_code for _ in range(4)] == [200, 200, 200, 429]  # even the right one
        assert sign_in("13811110001").status_code == 401  # another number has its own bucket
        clock.travel(20)
        assert [sign_in("13999990000").status_code for _ in range(2)] == [401, 429]


def test_given_many_containers_racing_on_one_bucket_then_exactly_burst_tokens_are_taken(aws):
    """Storage level, as from separate containers: no shared hint (or a stale one), one frozen instant."""
    now, interval, burst = 1_700_000_000_000_000, 250_000, 7
    pk = "T#race#RATE#API"

    def take(i: int) -> buckets.Taken:
        hint = None if i % 3 else buckets.State(now - 10 * interval, interval)  # a third believe the bucket is full
        return buckets.take("race", pk, interval_us=interval, burst=burst, now_us=now, hint=hint)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(take, range(40)))
    assert sum(r.granted for r in results) == burst
    assert all(1 <= r.writes <= 2 for r in results)  # a wrong guess costs one more write, never a read
    stored = buckets.RateBucket.get(pk, buckets.SK, consistent_read=True)
    assert (stored.full_at, stored.interval) == (now + burst * interval, interval)
    refused = [r for r in results if not r.granted]
    assert {r.wait_us for r in refused} == {interval}  # the next token is one interval away
    later = buckets.take("race", pk, interval_us=interval, burst=burst, now_us=now + interval, hint=None)
    assert later.granted and not buckets.take("race", pk, interval_us=interval, burst=burst, now_us=now + interval).granted


def test_given_a_container_with_no_hint_when_taking_then_it_creates_then_drains_the_bucket(aws):
    pk, now = "T#solo#RATE#API", 1_700_000_000_000_000
    first = buckets.take("solo", pk, interval_us=1_000_000, burst=2, now_us=now)
    assert first.granted and first.writes == 1 and first.state == buckets.State(now + 1_000_000, 1_000_000)
    second = buckets.take("solo", pk, interval_us=1_000_000, burst=2, now_us=now, hint=None)  # guesses "full": wrong
    assert second.granted and second.writes == 2 and second.state.full_at == now + 2_000_000
    third = buckets.take("solo", pk, interval_us=1_000_000, burst=2, now_us=now, hint=second.state)
    assert not third.granted and third.writes == 0 and third.wait_us == 1_000_000


def test_given_containers_leasing_several_tokens_at_once_then_together_they_never_take_more_than_the_bucket(aws):
    now, interval, burst = 1_700_000_000_000_000, 100_000, 25
    pk = "T#lease#RATE#API"

    def take(i: int) -> buckets.Taken:
        return buckets.take("lease", pk, interval_us=interval, burst=burst, now_us=now, hint=None, want=1 + i % 4)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(take, range(40)))
    granted = [r for r in results if r.granted]
    assert sum(r.count for r in granted) == burst  # every token once, none twice
    assert all(1 <= r.count <= 1 + i % 4 for i, r in enumerate(results) if r.granted)
    stored = buckets.RateBucket.get(pk, buckets.SK, consistent_read=True)
    assert stored.full_at == now + burst * interval


@pytest.fixture()
def leases():
    with environment(CRM_RATE_LIMIT_LEASE="10"):
        yield


def test_given_a_large_bucket_then_a_container_writes_once_per_lease_and_stops_exactly_at_the_burst(api, make_tenant, leases):
    t = make_tenant()
    assert _limit(api, t["id"], {"per_second": 10, "burst": 100}).status_code == 200
    clock.freeze()
    _me(api, t["admin"])  # warm: the organisation and the tenant's limit are cached, a first lease is taken
    with dynamodb_calls() as calls:
        answers = [_me(api, t["admin"]).status_code for _ in range(120)]
    assert answers.count(200) == 99 and set(answers[99:]) == {429}  # 100 tokens in all, the warm-up's included
    assert calls.count(LIMIT) == 9  # one write per lease of burst/10 (the warm-up's lease held the first 9)
    clock.travel(1.1)  # 11 tokens back at 10 per second
    later = [_me(api, t["admin"]).status_code for _ in range(15)]
    assert later.count(200) == 11


def test_given_a_lease_not_used_in_time_then_it_is_dropped_and_the_bucket_decides_again(api, make_tenant, leases):
    from chalicelib.core import ratelimit

    t = make_tenant()
    assert _limit(api, t["id"], {"per_second": 10, "burst": 100}).status_code == 200
    clock.freeze()
    _me(api, t["admin"])  # takes a lease of 10: 9 held
    with dynamodb_calls() as held:
        assert _me(api, t["admin"]).status_code == 200
    assert held == []
    clock.travel(ratelimit.LEASE_SECONDS + 0.1)
    with dynamodb_calls() as expired:
        assert _me(api, t["admin"]).status_code == 200
    assert expired == [LIMIT]
