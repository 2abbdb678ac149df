"""Domain exceptions and their one mapping to HTTP.

Services raise these; the route wrapper (core/api.py) turns them into
`{code, message, details}` with the status below, in the caller's language, plus the
error's `headers` (e.g. Retry-After on a 429).
"""
from __future__ import annotations

from typing import Any

from . import i18n


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"
    headers: dict[str, str] = {}  # read-only default; an error that sends headers sets its own

    def __init__(self, code: str | None = None, details: Any = None, **params: Any) -> None:
        self.code = code or self.code
        self.details = details
        self.params = params
        super().__init__(f"{self.code} {params}")

    def message(self, locale: str) -> str:
        return i18n.text(self.code, locale, **self.params)

    def body(self, locale: str) -> dict[str, Any]:
        return {"code": self.code, "message": self.message(locale), "details": self.details}


class Unauthenticated(DomainError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"

    def __init__(self, entity: str = "entity.record", **kw: Any) -> None:
        super().__init__(entity=entity, **kw)


class Conflict(DomainError):
    status = 409
    code = "VERSION_CONFLICT"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_FAILED"


class PreconditionRequired(DomainError):
    status = 428
    code = "PRECONDITION_REQUIRED"


class LimitExceeded(DomainError):
    """429. `retry_after` (whole seconds, at least 1) becomes the Retry-After header."""

    status = 429
    code = "RATE_LIMITED"

    def __init__(self, code: str | None = None, details: Any = None, *, retry_after: int | None = None, **params: Any) -> None:
        super().__init__(code, details, **params)
        if retry_after is not None:
            self.headers = {"Retry-After": str(max(1, int(retry_after)))}


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors -> [{field, type, message}] (message in English from pydantic)."""
    out = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        out.append({"field": loc, "type": e.get("type"), "message": e.get("msg")})
    return out


class Internal(DomainError):
    status = 500
    code = "INTERNAL"


class Unavailable(DomainError):
    status = 503
    code = "SEARCH_UNAVAILABLE"
