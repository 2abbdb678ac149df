"""Rate limits (PLAT-9): a token bucket per tenant, and one per mobile number for sign-in.

What a request costs:
- every request of a signed-in tenant user takes 1 token from its tenant's bucket, whatever
  the route and whatever the answer (`charge`, called by the middleware once the token and
  the session are checked, so an unauthenticated request never spends a tenant's tokens);
- sign-in (POST /v1/auth/login) takes 1 token from the bucket of the tenant + mobile number
  it names, whether that account exists or not (`charge_sign_in`, called by the login);
- public routes (health, OpenAPI document, JWKS) and platform operators' routes take none:
  API Gateway's stage throttling (infra/components/api.py) is their guard, and every
  tenant's.

Limits: the tenant's own (`rate_limit`, set by platform operators; the manifest wires the
lookup in with `configure`), else CRM_RATE_LIMIT_PER_SECOND and CRM_RATE_LIMIT_BURST;
sign-in CRM_SIGN_IN_PER_MINUTE per mobile (a bucket of that many, refilled over a minute).
A tenant's own limit is cached per container for CRM_SETTINGS_CACHE_SECONDS: a change
applies at once in the container that made it, everywhere else within that time.

Over the limit: LimitExceeded — 429 RATE_LIMITED with Retry-After (whole seconds until a
token is back, also in details.retry_after_seconds); a refused request writes nothing.

Cost: a container takes a tenant's tokens a few at a time (a lease of burst/10, at most
CRM_RATE_LIMIT_LEASE, used within LEASE_SECONDS or dropped): one conditional UpdateItem (db/buckets.py)
per lease, guided by the last state this container saw of the bucket, a second one when
another container took tokens meanwhile, none for a refusal this container already knows
about. Every request still spends a token taken from the bucket, so callers together never
get more than it allows; a lease only moves a token's use up to LEASE_SECONDS after it was
taken, and tokens a container leaves unused are lost (the limit errs low, never high). Small
buckets (burst < 20) and sign-in buckets are taken one token at a time. If the table is unreachable or throttles
the request is let through (logged, metric `ratelimit.unavailable`): the stage throttling
still holds. Any other error is a bug and fails the request.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..db import buckets, keys
from . import clock
from .cache import TenantCache
from .errors import Internal, LimitExceeded
from .observability import logger, metric
from .settings import get_settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_HINTS = 10_000  # buckets whose last state a container remembers (sign-in buckets are per mobile)
#: The table is busy or down (after botocore's retries): the request goes on, the stage throttling still holds.
_BUSY = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError",
         "ServiceUnavailable"}


@dataclass(frozen=True)
class Limit:
    per_second: float  # tokens gained per second: the sustained rate
    burst: int  # bucket size: requests at once after a quiet spell


LimitSource = Callable[[str], "Limit | None"]  # tenant id -> the tenant's own limit, or None (the defaults)
_source: LimitSource | None = None
_own: TenantCache[Limit | None] = TenantCache(lambda tenant_id: _source(tenant_id) if _source else None,
                                             lambda: get_settings().settings_cache_seconds)
_hints: dict[str, buckets.State] = {}  # bucket pk -> its state as this container saw it last
LEASE_SECONDS = 1.0
_leases: dict[str, tuple[int, int]] = {}  # bucket pk -> (tokens this container holds, usable until: epoch µs)


def configure(source: LimitSource) -> None:
    """Where tenants' own limits come from (the tenants module, wired by the manifest)."""
    global _source
    _source = source
    _own.clear()


def forget(tenant_id: str) -> None:
    """The tenant's limit changed: read it again on its next request."""
    _own.invalidate(tenant_id)


def reset() -> None:
    """Forget everything cached in this process (tests)."""
    _own.clear()
    _hints.clear()
    _leases.clear()


def default_limit() -> Limit:
    s = get_settings()
    return Limit(s.rate_limit_per_second, s.rate_limit_burst)


def tenant_limit(tenant_id: str) -> Limit:
    return _own.get(tenant_id) or default_limit()


def charge(tenant_id: str) -> None:
    """Take one token of the tenant's bucket, or raise LimitExceeded (429 + Retry-After)."""
    limit = tenant_limit(tenant_id)
    _take(tenant_id, "API", keys.rate_bucket(tenant_id, "API"), limit, lease=max(1, min(get_settings().rate_limit_lease, limit.burst // 10)))


def charge_sign_in(tenant_id: str, mobile: str) -> None:
    """Take one token of the sign-in bucket of this tenant + mobile (known or not), or raise LimitExceeded."""
    n = get_settings().sign_in_per_minute
    _take(tenant_id, "SIGNIN", keys.rate_bucket(tenant_id, "SIGNIN", mobile), Limit(n / 60, n))


def _take(tenant_id: str, kind: str, pk: str, limit: Limit, lease: int = 1) -> None:
    now_us = (clock.now() - _EPOCH) // timedelta(microseconds=1)
    held, until = _leases.get(pk, (0, 0))
    if held > 0 and now_us < until:  # a token this container already took
        _leases[pk] = (held - 1, until)
        return
    interval_us = max(1, round(1_000_000 / limit.per_second))
    try:
        taken = buckets.take(tenant_id, pk, interval_us=interval_us, burst=limit.burst, now_us=now_us, hint=_hints.get(pk),
                             want=lease)
    except Exception as e:
        if _unavailable(e):
            logger.warning("rate limit not checked: the table did not answer", exc_info=True)
            metric("ratelimit.unavailable")
            return
        # anything else is a bug: fail rather than go unlimited, in our error shape (this runs in
        # the middleware, before the route wrapper that maps other bugs)
        logger.exception("rate limit check failed")
        raise Internal(request_id=logger.get_correlation_id() or "") from e
    if taken.state is not None:
        if len(_hints) >= _MAX_HINTS:
            _hints.clear()
        _hints[pk] = taken.state
    if taken.granted and taken.count > 1:
        if len(_leases) >= _MAX_HINTS:
            _leases.clear()
        _leases[pk] = (taken.count - 1, now_us + int(LEASE_SECONDS * 1_000_000))
    if not taken.granted:
        metric("ratelimit.refused")
        seconds = max(1, math.ceil(taken.wait_us / 1_000_000))
        # the request's log line is written before the middleware binds the tenant: name it here (not the mobile)
        logger.info("rate limited", extra={"limited_tenant": tenant_id, "bucket": kind, "retry_after": seconds})
        raise LimitExceeded(retry_after=seconds, details={"retry_after_seconds": seconds})


def _unavailable(e: Exception) -> bool:
    if isinstance(e, ClientError):
        return e.response.get("Error", {}).get("Code") in _BUSY
    return isinstance(e, (BotoConnectionError, HTTPClientError))
