"""Domain exceptions and their one mapping to HTTP.

Services raise these; the route wrapper (core/api.py) turns them into
`{code, message, details}` with the status below, in the caller's language. Answers our
code does not build (Chalice's own 400/405/415/500, the local gateway's, API Gateway's
gateway responses) carry the error of their status, `for_status()`.
"""
from __future__ import annotations

from typing import Any

from . import i18n


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, code: str | None = None, details: Any = None, **params: Any) -> None:
        self.code = code or self.code
        self.details = details
        self.params = params
        super().__init__(f"{self.code} {params}")

    def message(self, locale: str) -> str:
        return i18n.text(self.code, locale, **self.params)

    def body(self, locale: str) -> dict[str, Any]:
        return {"code": self.code, "message": self.message(locale), "details": self.details}

    def with_status(self, status: int) -> DomainError:
        """The same error under another HTTP status (the status of an answer being reshaped)."""
        self.status = status
        return self


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
    status = 429
    code = "RATE_LIMITED"


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors -> [{field, type, message}] (message in English from pydantic)."""
    out = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        out.append({"field": loc, "type": e.get("type"), "message": e.get("msg")})
    return out


class Internal(DomainError):
    """A defect: the message and details name the request id (the correlation id of the logs), never the cause."""

    status = 500
    code = "INTERNAL"

    def __init__(self, request_id: str = "") -> None:
        super().__init__(details={"request_id": request_id}, request_id=request_id)


class Timeout(Internal):
    status = 504
    code = "TIMEOUT"


class Unavailable(DomainError):
    status = 503
    code = "SEARCH_UNAVAILABLE"


class RequestForbidden(DomainError):
    """Refused before any route ran (API Gateway: resource policy, WAF, API key); a route's refusal is Forbidden."""

    status = 403
    code = "REQUEST_FORBIDDEN"


class RouteNotFound(DomainError):
    status = 404
    code = "ROUTE_NOT_FOUND"


class MethodNotAllowed(DomainError):
    status = 405
    code = "METHOD_NOT_ALLOWED"


class LengthRequired(DomainError):
    status = 411
    code = "LENGTH_REQUIRED"


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UriTooLong(DomainError):
    status = 414
    code = "URI_TOO_LONG"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class HeadersTooLarge(DomainError):
    status = 431
    code = "HEADERS_TOO_LARGE"


_BY_STATUS: dict[int, type[DomainError]] = {
    400: DomainError, 401: Unauthenticated, 403: RequestForbidden, 404: RouteNotFound, 405: MethodNotAllowed, 411: LengthRequired,
    413: PayloadTooLarge, 414: UriTooLong, 415: UnsupportedMediaType, 429: LimitExceeded, 431: HeadersTooLarge,
}


def for_status(status: int, request_id: str = "") -> DomainError:
    """The error an answer of this status carries when our code did not build it.

    Only the status is kept: the body it replaces may quote the request (Chalice's 415
    names the Content-Type, its 405 the method). Statuses without an error of their own
    keep the status under the general code of their class (BAD_REQUEST, INTERNAL)."""
    if status == 504:
        return Timeout(request_id=request_id)
    if status >= 500 and status not in (501, 505):  # not implemented, HTTP version: the request's fault
        return Internal(request_id=request_id).with_status(status)
    cls = _BY_STATUS.get(status)
    return cls() if cls is not None else DomainError().with_status(status)
