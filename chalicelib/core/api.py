"""The one way to declare an HTTP route.

`route()` registers a Chalice route and records its contract (body, query, response,
status, auth) for the OpenAPI document. The wrapper parses and validates input with the
pydantic schemas, calls the handler, serialises the response schema, adds the ETag of
versioned records, and maps every DomainError to `{code, message, details}` in the
caller's language. Handlers stay a few lines: parse -> one service call -> result.
`conform()` gives the answers Chalice builds itself the same shape.
"""
from __future__ import annotations

import functools
import json
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from . import context, cors, i18n
from .errors import DomainError, Internal, PreconditionRequired, ValidationFailed, detail, field_errors, for_status, invalid

PREFIX = "/v1"


class Lazy:
    """A model built when it is first needed (generated record-type models: cold start stays flat)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._value: Any = None

    def get(self) -> Any:
        if self._value is None:
            self._value = self._build()
        return self._value

    def __getattr__(self, name: str) -> Any:
        """The model's own attributes (model_fields, model_validate …): a lazy query model reads as the model."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get(), name)


    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.get()(*args, **kwargs)


def resolve(model: Any) -> Any:
    return model.get() if isinstance(model, Lazy) else model


class LazyModels:
    """A module of pydantic models imported when one of them is first needed: an API module writes
    `s = LazyModels(f"{__package__}.schemas")` and names `s.ChangeIn` in its routes as it would the
    module's class (each a Lazy). Building every module's models at import cost the API's cold start
    most of its budget's margin; a model is built with its route's first request or the OpenAPI document."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._lazy: dict[str, Lazy] = {}

    def __getattr__(self, name: str) -> Lazy:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._lazy:
            import importlib

            module = self._module
            self._lazy[name] = Lazy(lambda: getattr(importlib.import_module(module), name))
        return self._lazy[name]


@dataclass
class RouteSpec:
    path: str
    method: str
    name: str
    summary: str
    tag: str
    body: Any = None  # a pydantic model, or Lazy(...) of one
    query: Any = None  # a pydantic model, or Lazy(...) of one
    response: Any = None
    status: int = 200
    public: bool = False
    idempotent_create: bool = False
    versioned_write: bool = False
    description: str = ""
    path_params: list[str] = field(default_factory=list)
    produces: str | None = None  # a binary answer's media type (application/pdf) instead of JSON


ROUTES: dict[tuple[str, str], RouteSpec] = {}


@dataclass
class ApiRequest:
    """What a handler gets: validated body/query plus the headers that carry semantics."""

    body: Any
    query: Any
    headers: dict[str, str]
    raw_query: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key") or None

    def expected_version(self, body_version: int | None = None) -> int:
        """The version the client last saw: If-Match (ETag "<n>" or W/"<n>") or body.version."""
        raw = self.headers.get("if-match")
        if raw:
            m = re.fullmatch(r'\s*(?:W/)?"?(\d+)"?\s*', raw)
            if not m:
                raise invalid("If-Match", "format", "field.if_match")
            return int(m.group(1))
        if body_version is not None:
            return body_version
        raise PreconditionRequired()

    def version_if_given(self, body_version: int | None = None) -> int | None:
        """The version the client read, when it sent one (a first write of a settings item needs none)."""
        if self.headers.get("if-match") or body_version is not None:
            return self.expected_version(body_version)
        return None


def error_response(err: DomainError, locale: str) -> Response:
    return Response(status_code=err.status, body=json.dumps(err.body(locale), ensure_ascii=False),
                    headers={"Content-Type": "application/json; charset=utf-8", **err.headers})


def conform(response: Response, locale: str, request_id: str = "") -> Response:
    """An error answer that is not `{code, message, details}` -> the error of its status.

    Chalice answers some requests before or after our route wrapper: 405 `{Code, Message}`
    (with Allow) for a method the route lacks, 415 for another Content-Type, 400 when a
    binary response meets an Accept that does not name it, 500 (or, in debug mode, a stack
    trace) for an exception outside the wrapper. Only the status and the headers survive
    (Allow, CORS): the old body may quote the request."""
    if response.status_code < 400 or _is_error_body(response.body):
        return response
    out = error_response(for_status(response.status_code, request_id), locale)
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            out.headers[name] = value
    return out


def _is_error_body(body: Any) -> bool:
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and body.keys() == {"code", "message", "details"}


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    h = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    body = "" if payload is None else json.dumps(payload, ensure_ascii=False, default=str)
    return Response(status_code=status, body=body, headers=h)


def _dump(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_dump(r) for r in result]
    return result


def route(bp: Blueprint, path: str, method: str = "GET", *, summary: str, tag: str, body: Any = None,
          query: Any = None, response: Any = None, status: int = 200, public: bool = False,
          idempotent_create: bool = False, versioned_write: bool = False, description: str = "",
          produces: str | None = None) -> Callable:
    full = PREFIX + path if not path.startswith("/.well-known") and not path.startswith("/openapi") else path

    def deco(fn: Callable) -> Callable:
        spec = RouteSpec(path=full, method=method, name=fn.__name__, summary=summary, tag=tag, body=body, query=query,
                         response=response, status=status, public=public, idempotent_create=idempotent_create,
                         versioned_write=versioned_write, description=description or (fn.__doc__ or "").strip(),
                         path_params=re.findall(r"{(\w+)}", full), produces=produces)
        ROUTES[(full, method)] = spec

        @functools.wraps(fn)
        def view(**params: str) -> Response:
            return _run(bp, spec, fn, params)

        view.__name__ = f"{tag}_{fn.__name__}"
        bp.route(full, methods=[method], cors=cors.route_config(), content_types=["application/json", "application/json; charset=utf-8"])(view)
        return fn

    return deco


def _run(bp: Blueprint, spec: RouteSpec, fn: Callable, params: dict[str, str]) -> Response:
    req = bp.current_request
    headers = {k.lower(): v for k, v in (req.headers or {}).items()}
    ctx = context.maybe_current()
    locale = ctx.locale if ctx else i18n.pick_locale(headers.get("accept-language"))
    try:
        body = None
        if spec.body is not None:
            try:
                raw = req.json_body if req.raw_body else {}
            except Exception:  # chalice raises BadRequestError on invalid JSON
                raise ValidationFailed("INVALID_JSON") from None
            try:
                body = resolve(spec.body).model_validate(raw if raw is not None else {})
            except ValidationError as e:
                raise ValidationFailed(details=field_errors(e.errors(), locale)) from None
        given = req.query_params or {}
        repeated = sorted(k for k in given if len(given.getlist(k)) > 1) if hasattr(given, "getlist") else []
        if repeated:
            raise ValidationFailed(details=[detail(k, "repeated", "field.repeated") for k in repeated])
        raw_query = dict(given)
        query_model = resolve(spec.query)
        known = {f.alias or name for name, f in query_model.model_fields.items()} if query_model is not None else set()
        unknown = sorted(k for k in raw_query if k not in known)  # a misspelt filter must not silently list everything
        if unknown:
            raise ValidationFailed(details=[detail(k, "extra_forbidden", "field.unknown") for k in unknown])
        query = None
        if query_model is not None:
            try:
                query = query_model.model_validate(raw_query)
            except ValidationError as e:
                raise ValidationFailed(details=field_errors(e.errors(), locale)) from None
        result = fn(ApiRequest(body=body, query=query, headers=headers, raw_query=raw_query), **params)
        if isinstance(result, Response):
            return result
        payload = _dump(result)
        extra = {}
        if isinstance(payload, dict) and isinstance(payload.get("version"), int):
            extra["ETag"] = f'"{payload["version"]}"'
        return json_response(spec.status if payload is not None else 204, payload, extra)
    except DomainError as e:
        return error_response(e, locale)
    except Exception:  # the one place that turns a bug into a clean 500
        from .observability import logger

        request_id = (ctx.correlation_id if ctx else "") or (req.context or {}).get("requestId", "")
        logger.error("unhandled error", extra={"route": spec.path, "trace": traceback.format_exc()})
        return error_response(Internal(request_id=request_id), locale)


def accepts(accept: str | None, media: str) -> bool:
    """The request takes a binary answer of `media`: its Accept names it or */* (what Chalice and API
    Gateway need to pass bytes; a missing Accept does not), without q=0."""
    for part in (accept or "").split(","):
        named, *params = (x.strip().lower() for x in part.split(";"))
        refused = any(x.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for x in params)
        if named in (media, "*/*") and not refused:
            return True
    return False
