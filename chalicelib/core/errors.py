"""Domain exceptions and their one mapping to HTTP.

Services raise these; the route wrapper (core/api.py) turns them into
`{code, message, details}` with the status below, in the caller's language, plus the
error's `headers` (e.g. Retry-After on a 429). Answers our code does not build (Chalice's
own 400/405/415/500, the local gateway's, API Gateway's gateway responses) carry the error
of their status, `for_status()`.
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
        return i18n.text(self.code, locale, **_rendered(self.params, locale))

    def body(self, locale: str) -> dict[str, Any]:
        return {"code": self.code, "message": self.message(locale), "details": self.details}

    def with_status(self, status: int) -> DomainError:
        """The same error under another HTTP status (the status of an answer being reshaped)."""
        self.status = status
        return self


class InvalidCursor(DomainError):
    """A page cursor the API did not issue for this listing, caller and tenant (or one past its expiry)."""

    status = 400
    code = "INVALID_CURSOR"


class Unauthenticated(DomainError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """403. FORBIDDEN names the module and the action refused, by their i18n keys (`module.<name>`,
    `action.<name>`, as Principal.require does); a bare name is taken as such a key, so the message
    never shows a raw identifier. Without them the message is the plain "not allowed"."""

    status = 403
    code = "FORBIDDEN"

    def __init__(self, code: str | None = None, details: Any = None, **params: Any) -> None:
        for name in ("module", "action"):
            value = params.get(name)
            if isinstance(value, str) and not value.startswith(f"{name}."):
                params[name] = f"{name}.{value}"
        super().__init__(code, details, **params)

    def message(self, locale: str) -> str:
        if self.code == "FORBIDDEN" and not {"module", "action"} <= self.params.keys():
            return i18n.text("FORBIDDEN_ANY", locale)
        return super().message(locale)


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"

    def __init__(self, entity: str = "entity.record", **kw: Any) -> None:
        super().__init__(entity=entity, **kw)

    def message(self, locale: str) -> str:
        entity = self.params.get("entity")
        if isinstance(entity, str) and not entity.startswith(i18n.NAMED) and entity in i18n.MESSAGES:
            # a module's own name key (mail.unsubscribe_link): its text, not the key
            return i18n.text(self.code, locale, **{**_rendered(self.params, locale), "entity": i18n.text(entity, locale)})
        return super().message(locale)


class Conflict(DomainError):
    status = 409
    code = "VERSION_CONFLICT"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_FAILED"


class NotAcceptable(DomainError):
    """406: the Accept header names no media type the route answers with (a PDF route asked for JSON)."""

    status = 406
    code = "NOT_ACCEPTABLE"


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


class Problem(ValueError):
    """One bad input value, told by an i18n key: raise it from pydantic validators and service
    checks; the message is rendered in the caller's language (never pydantic's English).
    A list parameter holds i18n keys, rendered and joined in that language."""

    def __init__(self, key: str, kind: str = "invalid", **params: Any) -> None:
        self.key, self.kind, self.params = key, kind, params
        super().__init__(self.message("en"))

    def message(self, locale: str) -> str:
        return i18n.text(self.key, locale, **_rendered(self.params, locale))


def _rendered(params: dict[str, Any], locale: str) -> dict[str, Any]:
    """Message parameters in `locale`: a Problem is rendered, a list of i18n keys joined."""
    sep = ", " if locale == "en" else "、"
    return {k: v.message(locale) if isinstance(v, Problem) else
            sep.join(i18n.text(x, locale) for x in v) if isinstance(v, (list, tuple)) else v for k, v in params.items()}


def detail(field: str, kind: str, key: str, **params: Any) -> dict[str, Any]:
    """One entry of `details`, in the caller's language."""
    from .context import locale

    return {"field": field, "type": kind, "message": Problem(key, kind, **params).message(locale())}


def invalid(field: str, kind: str, key: str, **params: Any) -> ValidationFailed:
    """A 422 naming one field."""
    return ValidationFailed(details=[detail(field, kind, key, **params)])


# pydantic error type -> (i18n key, {message parameter: pydantic context key})
_PYDANTIC: dict[str, tuple[str, dict[str, str]]] = {
    "missing": ("field.missing", {}),
    "extra_forbidden": ("field.unknown", {}),
    "string_too_short": ("field.min_length", {"min": "min_length"}),
    "string_too_long": ("field.max_length", {"max": "max_length"}),
    "string_pattern_mismatch": ("field.pattern", {}),
    "too_short": ("field.min_items", {"min": "min_length"}),
    "too_long": ("field.max_items", {"max": "max_length"}),
    "greater_than": ("field.gt", {"min": "gt"}),
    "greater_than_equal": ("field.min", {"min": "ge"}),
    "less_than": ("field.lt", {"max": "lt"}),
    "less_than_equal": ("field.max", {"max": "le"}),
    "multiple_of": ("field.multiple_of", {"step": "multiple_of"}),
    "literal_error": ("field.option", {}),
    "enum": ("field.option", {}),
    "union_tag_invalid": ("field.option", {}),
    "union_tag_not_found": ("field.option", {}),
    "int_from_float": ("field.integer", {}),
    "finite_number": ("field.number_range", {}),
    "timezone_aware": ("field.datetime", {}),
    "timezone_naive": ("field.datetime", {}),
    "json_invalid": ("field.json", {}),
    "json_type": ("field.json", {}),
    "none_required": ("field.null", {}),
    "not_null": ("field.not_null", {}),
}
# families of pydantic error types by prefix
_PREFIXES = (("datetime_", "field.datetime"), ("date_", "field.date"), ("time_", "field.time"), ("int_", "field.integer"),
             ("float_", "field.number"), ("decimal_", "field.number"), ("bool_", "field.boolean"), ("string_", "field.text"),
             ("bytes_", "field.text"), ("url_", "field.url"), ("uuid_", "field.pattern"), ("list_", "field.list"),
             ("tuple_", "field.list"), ("set_", "field.list"), ("frozen_set_", "field.list"), ("iterable_", "field.list"),
             ("dict_", "field.object"), ("model_", "field.object"), ("dataclass_", "field.object"), ("mapping_", "field.object"))


def _shown(v: Any) -> Any:
    """A bound as a person writes it: 1, not 1.0."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def field_errors(errors: list[dict[str, Any]], locale: str) -> list[dict[str, Any]]:
    """pydantic errors -> [{field, type, message}], the message in `locale` (pydantic's own
    English text never reaches a caller: a validator raises `Problem` with an i18n key)."""
    out = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        kind = str(e.get("type") or "invalid")
        ctx = e.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, Problem):
            out.append({"field": loc, "type": cause.kind, "message": cause.message(locale)})
            continue
        key, names = _PYDANTIC.get(kind, ("", {}))
        if not key:
            key = next((k for prefix, k in _PREFIXES if kind.startswith(prefix)), "field.invalid")
        params = {name: _shown(ctx.get(source)) for name, source in names.items()}
        out.append({"field": loc, "type": kind, "message": i18n.text(key, locale, **params)})
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
    400: DomainError, 401: Unauthenticated, 403: RequestForbidden, 404: RouteNotFound, 405: MethodNotAllowed, 406: NotAcceptable,
    411: LengthRequired,
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
