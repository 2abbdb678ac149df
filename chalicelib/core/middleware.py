"""The HTTP middleware: correlation id, authentication, request context, access log.

Only routes declared `public=True` (health, OpenAPI, JWKS, local login) are served
without a valid token; everything else answers 401 with a clear body.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from . import auth, context, i18n, ids, ratelimit, session
from .api import ROUTES, error_response
from .errors import DomainError, Forbidden, Unauthenticated
from .observability import annotate, bind, flush, logger

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a client's id is echoed into logs and headers only if it is this


def http(event: Any, get_response: Callable[[Any], Any]) -> Any:
    started = time.perf_counter()
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    offered = headers.get("x-correlation-id", "")
    correlation_id = (offered if _SAFE_ID.fullmatch(offered) else "") or (event.context or {}).get("requestId") or ids.new_id()
    locale = i18n.pick_locale(headers.get("accept-language"))
    spec = ROUTES.get((event.path, event.method))
    logger.remove_keys(["tenant_id", "user_id"])
    bind(correlation_id=correlation_id)
    ctx = None
    token = None
    try:
        if spec is not None and not spec.public:
            authz = headers.get("authorization", "")
            if not authz.lower().startswith("bearer ") or not authz[7:].strip():
                raise Unauthenticated()
            claims = auth.verify(authz[7:].strip())
            is_platform_route = spec.tag == "platform"
            if is_platform_route != claims.platform_admin:
                raise Forbidden(module=spec.tag, action=spec.method)
            ctx = context.RequestContext(tenant_id=claims.tenant_id, user_id=claims.user_id, locale=locale,
                                         correlation_id=correlation_id, claims=claims.raw)
            if not claims.platform_admin:
                session.check(ctx.tenant_id, ctx.user_id, claims.issued_at)
                ratelimit.charge(ctx.tenant_id)
        else:
            ctx = context.RequestContext(tenant_id="", user_id="", locale=locale, correlation_id=correlation_id)
        bind(ctx.tenant_id, ctx.user_id)
        token = context.set_current(ctx)
        annotate(tenant_id=ctx.tenant_id or "-", route=event.path)
        response = get_response(event)
    except DomainError as e:
        response = error_response(e, locale)
    finally:
        if token is not None:
            context.reset(token)
    response.headers["X-Correlation-Id"] = correlation_id
    logger.info("request", extra={"method": event.method, "route": event.path, "status": response.status_code,
                                  "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    flush()
    return response

