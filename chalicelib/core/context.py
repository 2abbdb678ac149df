"""The request context: who is calling, for which tenant, in which language.

Set by the auth middleware for every request (and by functions/ for jobs), read by
services through `current()`. Services never parse headers themselves.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

from .i18n import DEFAULT_LOCALE


@dataclass
class RequestContext:
    tenant_id: str
    user_id: str
    locale: str = DEFAULT_LOCALE
    correlation_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    is_system: bool = False  # scheduled jobs and stream handlers act as the system


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("crm_ctx", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        from .errors import Unauthenticated

        raise Unauthenticated()
    return ctx


def maybe_current() -> RequestContext | None:
    return _current.get()


def set_current(ctx: RequestContext | None) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


class acting_as:
    """`with acting_as(ctx): ...` — run a block under another context (jobs, tests)."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self._token: contextvars.Token | None = None

    def __enter__(self) -> RequestContext:
        self._token = _current.set(self.ctx)
        return self.ctx

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _current.reset(self._token)


def locale() -> str:
    """The caller's language (zh-CN outside a request)."""
    ctx = _current.get()
    return ctx.locale if ctx else DEFAULT_LOCALE


def system_context(tenant_id: str, locale: str = DEFAULT_LOCALE) -> RequestContext:
    return RequestContext(tenant_id=tenant_id, user_id="system", locale=locale, is_system=True)
