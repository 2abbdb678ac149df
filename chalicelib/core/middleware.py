"""The HTTP middleware: correlation id, authentication, request context, access log.

Only routes declared `public=True` (health, OpenAPI, JWKS, local login) are served
without a valid token; everything else answers 401 with a clear body. Every answer leaves
in the one error shape `{code, message, details}`: Chalice's own error answers (405, 415,
its 500) are reshaped here (core/api.py `conform`).
"""
from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import auth, context, cors, i18n, ids, ratelimit, session
from .api import ROUTES, conform, error_response
from .errors import DomainError, Forbidden, Internal, Unauthenticated
from .observability import annotate, bind, flush, logger

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a client's id is echoed into logs and headers only if it is this


def http(event: Any, get_response: Callable[[Any], Any]) -> Any:
    started = time.perf_counter()
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    offered = headers.get("x-correlation-id", "")
    correlation_id = (offered if _SAFE_ID.fullmatch(offered) else "") or (event.context or {}).get("requestId") or ids.new_id()
    locale = i18n.pick_locale(headers.get("accept-language"))
    logger.remove_keys(["tenant_id", "user_id"])
    bind(correlation_id=correlation_id)
    try:
        response = _serve(event, get_response, headers, locale, correlation_id)
    except Exception:  # a defect outside the route wrapper (which catches its own): a clean 500, not Chalice's
        response = _crashed(event, locale, correlation_id)
    response = conform(response, locale, correlation_id)
    response.headers["X-Correlation-Id"] = correlation_id
    response = cors.fit(response, headers.get("origin"))
    try:
        logger.info("request", extra={"method": event.method, "route": event.path, "status": response.status_code,
                                      "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        flush()
    except Exception:  # metrics that cannot be written are a defect too
        response = _crashed(event, locale, correlation_id)
        response.headers["X-Correlation-Id"] = correlation_id
    return response


def _serve(event: Any, get_response: Callable[[Any], Any], headers: dict[str, str], locale: str, correlation_id: str) -> Any:
    """Authenticate, set the request context, run the route."""
    spec = ROUTES.get((event.path, event.method))
    token = None
    try:
        if spec is not None and not spec.public:
            authz = headers.get("authorization", "")
            if not authz.lower().startswith("bearer ") or not authz[7:].strip():
                raise Unauthenticated()
            claims = auth.verify(authz[7:].strip())
            is_platform_route = spec.tag == "platform"
            if is_platform_route != claims.platform_admin:
                raise Forbidden("TENANT_ONLY" if claims.platform_admin else "PLATFORM_ONLY")
            ctx = context.RequestContext(tenant_id=claims.tenant_id, user_id=claims.user_id, locale=locale,
                                         correlation_id=correlation_id, claims=claims.raw)
            if not claims.platform_admin:
                session.check(ctx.tenant_id, ctx.user_id, claims.issued_at, claims.amr)
                ratelimit.charge(ctx.tenant_id)
            else:
                session.check_platform(ctx.tenant_id, ctx.user_id, claims.issued_at)
        else:
            ctx = context.RequestContext(tenant_id="", user_id="", locale=locale, correlation_id=correlation_id)
        bind(ctx.tenant_id, ctx.user_id)
        token = context.set_current(ctx)
        annotate(tenant_id=ctx.tenant_id or "-", route=event.path)
        if spec is not None and spec.tag == "platform":
            # platform operators act across tenants: their routes keep the function's role, not a tenant's
            from ..db.credentials import platform

            with platform():
                return get_response(event)
        return get_response(event)
    except DomainError as e:
        return error_response(e, locale)
    finally:
        if token is not None:
            context.reset(token)


def _crashed(event: Any, locale: str, correlation_id: str) -> Any:
    logger.error("unhandled error", extra={"route": getattr(event, "path", "?"), "trace": traceback.format_exc()})
    return error_response(Internal(request_id=correlation_id), locale)
