"""Tenant-scoped credentials: the table's second wall of tenant isolation, in IAM.

With ``CRM_TENANT_ROLE_ARN`` set (the API in AWS, infra/components/tenant_access.py), every
DynamoDB call made while a request of tenant T is being served is signed with credentials of
the tenant data role, assumed with the session tag ``tenant=T``. That role may touch an item
only when every partition key of the call (``dynamodb:LeadingKeys``: the table's ``pk`` for item
calls, the index's partition key for a Query on an index) matches ``T#<T>#*``. An API bug that
builds a key with another tenant, or with none, is refused by DynamoDB instead of answered.

- The same goes for S3 calls (the files port: confirming, copying, reading and writing objects under
  ``tenants/<T>/…`` and ``pending/tenants/<T>/…``), which the role allows only under the tenant's
  own prefixes; presigned URLs keep the function's role (a URL must outlive no session).
- Credentials are obtained with STS AssumeRole (+ Tags) once per tenant and container, cached
  until ``REFRESH_MARGIN_SECONDS`` before they expire, then renewed; one assume per tenant at a
  time (other threads of the same tenant wait for it, other tenants do not).
- They are applied per call, not per client: the PynamoDB models and the transaction
  connection keep one botocore client each, and a ``before-sign`` handler on it hands the
  signer the current tenant's credentials (``request_credentials``). Nothing is rebuilt per
  request; the cost of a cached hit is a dictionary lookup (README, "Tenant isolation in IAM").
- Outside a request (no tenant in the context), with the setting unset (local stack, tests),
  and inside ``platform()`` the function's own role signs, as before. ``platform()`` is for the
  operations that are not one tenant's by design: the tenant directory, backups by id,
  provisioning, cross-tenant jobs.
"""
from __future__ import annotations

import contextvars
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..core.context import maybe_current
from ..core.settings import get_settings

#: The session tag the tenant data role's policy reads (``${aws:PrincipalTag/tenant}``).
TENANT_TAG = "tenant"
#: Lifetime asked of STS. A role assumed from a Lambda role is role chaining: at most one hour.
SESSION_SECONDS = 3600
#: Renew this long before the credentials expire (a request started just before must finish).
REFRESH_MARGIN_SECONDS = 300

_platform: contextvars.ContextVar[bool] = contextvars.ContextVar("crm_platform_credentials", default=False)


@contextmanager
def platform() -> Iterator[None]:
    """Run a block with the function's own role: operations across tenants or on platform keys
    (``PLATFORM#…``), which the tenant data role cannot reach on purpose."""
    token = _platform.set(True)
    try:
        yield
    finally:
        _platform.reset(token)


def in_platform() -> bool:
    return _platform.get()


@dataclass(frozen=True)
class _Entry:
    credentials: Any  # botocore.credentials.Credentials
    expires_at: float  # epoch seconds


def session_name(tenant_id: str) -> str:
    """An AssumeRole session name (``[\\w+=,.@-]{2,64}``) naming the tenant, for CloudTrail."""
    return ("tenant-" + re.sub(r"[^\w+=,.@-]", "-", tenant_id))[:64]


class TenantCredentials:
    """Credentials of the tenant data role, per tenant, cached until shortly before they expire.

    `sts` is a function returning an STS client (the function role's); `clock` gives epoch seconds.
    Thread-safe: a hit reads one dictionary entry without a lock; a miss takes the tenant's lock,
    so a tenant's credentials are assumed once however many threads ask at the same moment.
    """

    def __init__(self, role_arn: str, *, sts: Callable[[], Any] | None = None, clock: Callable[[], float] = time.time,
                 margin_seconds: float = REFRESH_MARGIN_SECONDS, duration_seconds: int = SESSION_SECONDS) -> None:
        self.role_arn = role_arn
        self._sts = sts or _sts_client
        self._clock = clock
        self._margin = margin_seconds
        self._duration = duration_seconds
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self.assumed = 0  # AssumeRole calls made (tests, metrics)

    def get(self, tenant_id: str) -> Any:
        entry = self._entries.get(tenant_id)
        if entry is not None and entry.expires_at - self._margin > self._clock():
            return entry.credentials
        with self._lock(tenant_id):
            entry = self._entries.get(tenant_id)
            if entry is None or entry.expires_at - self._margin <= self._clock():
                entry = self._assume(tenant_id)
                self._entries[tenant_id] = entry
            return entry.credentials

    def forget(self, tenant_id: str | None = None) -> None:
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)

    def _lock(self, tenant_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def _assume(self, tenant_id: str) -> _Entry:
        from botocore.credentials import Credentials

        response = self._sts().assume_role(
            RoleArn=self.role_arn, RoleSessionName=session_name(tenant_id), DurationSeconds=self._duration,
            Tags=[{"Key": TENANT_TAG, "Value": tenant_id}])
        self.assumed += 1
        c = response["Credentials"]
        expiration = c["Expiration"]
        expires_at = expiration.timestamp() if hasattr(expiration, "timestamp") else float(expiration)
        return _Entry(Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], method="assume-role"), expires_at)


def _sts_client() -> Any:
    from ..ports import client

    return client("sts")


_caches: dict[str, TenantCredentials] = {}
_caches_lock = threading.Lock()


def cache(role_arn: str) -> TenantCredentials:
    """The container's cache of `role_arn`'s credentials."""
    found = _caches.get(role_arn)
    if found is None:
        with _caches_lock:
            found = _caches.setdefault(role_arn, TenantCredentials(role_arn))
    return found


def reset() -> None:
    """Forget every cached credential (tests switch back ends; a SnapStart restore)."""
    with _caches_lock:
        _caches.clear()


def current() -> Any | None:
    """The credentials DynamoDB and S3 calls are signed with now: the current tenant's, or None for the
    function's own role (setting unset, no tenant in the context, or inside ``platform()``)."""
    role_arn = get_settings().tenant_role_arn
    if not role_arn or _platform.get():
        return None
    ctx = maybe_current()
    if ctx is None or not ctx.tenant_id:
        return None
    return cache(role_arn).get(ctx.tenant_id)


def _before_sign(request: Any, **_: Any) -> None:
    if request.context.get("is_presign_request"):
        return  # a presigned URL outlives no session: it keeps the function's role
    credentials = current()
    if credentials is not None:
        request.context.setdefault("signing", {})["request_credentials"] = credentials


def scope_connection(connection: Any) -> None:
    """Make a PynamoDB ``Connection``'s client sign with `current()` credentials, when the setting is on.
    With it off the client is left alone (and not created before its first call: PynamoDB builds it
    lazily, and a bad endpoint must fail on the call that uses it, not on every lookup of the connection)."""
    if get_settings().tenant_role_arn:
        scope_client(connection.client)


_MARK = "_crm_tenant_credentials"

#: The services whose calls on a tenant's request touch tenant data, and so are signed with the
#: tenant's credentials: the table (pk ``T#<tenant>#…``) and the buckets (keys ``tenants/<tenant>/…``).
TENANT_SCOPED_SERVICES = frozenset({"dynamodb", "s3"})


def scope_client(client: Any) -> Any:
    """Make `client` (a botocore client of one of `TENANT_SCOPED_SERVICES`) sign each call with
    `current()` credentials; presigned URLs keep the function's role. Idempotent and cheap: called
    on every model operation and every client the ports hand out."""
    if not getattr(client, _MARK, False):
        client.meta.events.register(f"before-sign.{client.meta.service_model.service_id.hyphenize()}", _before_sign)
        setattr(client, _MARK, True)
    return client
