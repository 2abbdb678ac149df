"""OpenAPI 3.1 document generated from the registered routes and their pydantic schemas."""
from __future__ import annotations

from collections import Counter
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from .api import ROUTES, resolve

REF = "#/components/schemas/{model}"
RETRY_AFTER = {"headers": {"Retry-After": {"description": "whole seconds until a request may succeed (core/ratelimit.py)",
                                          "schema": {"type": "integer", "minimum": 1}}}}

class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None

#: Every operation's error answers, all `ErrorBody`: its own and those the gateway or the framework give any route.
ERROR_RESPONSES = (
    ("400", "Bad request"), ("401", "Not signed in"), ("403", "Not allowed"),
    ("404", "Not found (the record, or no such route: ROUTE_NOT_FOUND)"),
    ("405", "Method not allowed (METHOD_NOT_ALLOWED; the Allow header lists the path's methods)"),
    ("409", "Version conflict"),
    ("413", "Request body over the limit (PAYLOAD_TOO_LARGE, 10 MB)"),
    ("415", "Unsupported Content-Type (UNSUPPORTED_MEDIA_TYPE; send application/json)"),
    ("422", "Validation failed"), ("428", "Version required"),
    ("429", "Too many requests (throttling, sign-in lock-out)"),
    ("500", "Internal error (INTERNAL; details.request_id names the request in the logs)"),
    ("503", "A backing service (search) is unavailable; retry"),
)


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models(a)]

def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter as a query string can carry it: there is no null in a query string (an
    optional parameter is left out instead), so `X | None` is documented as X."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(kept) != len(branches):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
    return schema


def _allows_null(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return True
    return any(_allows_null(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []) if isinstance(s, dict))


def _drop_impossible_defaults(node: Any) -> None:
    """PATCH fields that must not be null default to "unchanged" (None in Python); the
    document leaves such a default out instead of stating a null the type forbids."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node):
            del node["default"]
        for value in node.values():
            _drop_impossible_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_impossible_defaults(value)


def document(title: str = "CRM API", version: str = "1.0.0") -> dict[str, Any]:
    # every model once (by class, not by name: two modules may both have a `TransferIn`; pydantic then
    # names their schemas apart, and each route refers to its own)
    models: dict[tuple[type[BaseModel], str], None] = {}
    for spec in ROUTES.values():
        for m, mode in ((resolve(spec.body), "validation"), (resolve(spec.query), "validation")):
            if m is not None:
                models[(m, mode)] = None
        if spec.response is not None:
            for m in _models(resolve(spec.response)):
                models[(m, "serialization")] = None
    models[(ErrorBody, "serialization")] = None
    refs, defs = models_json_schema(list(models), ref_template=REF)
    schemas = defs.get("$defs", {})

    paths: dict[str, dict[str, Any]] = {}
    taken = Counter(f"{s.tag}_{s.name}" for s in ROUTES.values())
    for spec in sorted(ROUTES.values(), key=lambda s: (s.path, s.method)):
        op: dict[str, Any] = {
            "operationId": _operation_id(spec, taken),
            "summary": spec.summary,
            "tags": [spec.tag],
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in spec.path_params],
            "responses": {},
        }
        if spec.description:
            op["description"] = spec.description
        if spec.public:
            op["security"] = []
        if spec.query is not None:
            properties = spec.query.model_json_schema(ref_template=REF)["properties"]  # keeps bounds and patterns
            for name, f in spec.query.model_fields.items():
                schema = _query_schema({k: v for k, v in properties[f.alias or name].items() if k not in ("title", "description")})
                op["parameters"].append({"name": f.alias or name, "in": "query", "required": f.is_required(),
                                         "description": f.description or "", "schema": schema})
        if spec.idempotent_create:
            op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False,
                                     "description": "Same key + same body returns the first result; no duplicate is created",
                                     "schema": {"type": "string", "maxLength": 128}})
        if spec.versioned_write:
            without_body = spec.body is None
            op["parameters"].append({"name": "If-Match", "in": "header", "required": without_body,
                                     "description": 'The record version you read ("<n>", the ETag)'
                                                    + ("" if without_body else "; or send `version` in the body") + ". Stale -> 409",
                                     "schema": {"type": "string", "pattern": '^\\s*(W/)?"?\\d+"?\\s*$'}})
        if spec.body is not None:
            # a body without fields (NoBody: an action that takes no input) may be left out
            op["requestBody"] = {"required": bool(resolve(spec.body).model_fields),
                                 "content": {"application/json": {"schema": refs[(resolve(spec.body), "validation")]}}}
        ok: dict[str, Any] = {"description": "OK"}
        if spec.produces is not None:
            ok["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
        elif spec.response is not None:
            ok["content"] = {"application/json": {"schema": TypeAdapter(resolve(spec.response)).json_schema(ref_template=REF, mode="serialization")}}
        op["responses"][str(spec.status)] = ok
        err = {"content": {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}}
        for code, text in ERROR_RESPONSES:
            if code == "401" and spec.public and spec.tag == "system":
                continue  # health, the document and the JWKS never ask for credentials
            if code == "400" and spec.query is not None and "cursor" in spec.query.model_fields:
                text += "; INVALID_CURSOR: the cursor was not issued by the API for this listing, user and tenant, or has expired"
            op["responses"][code] = {"description": text, **err, **(RETRY_AFTER if code == "429" else {})}
        if spec.produces is not None:
            op["responses"]["406"] = {"description": f"NOT_ACCEPTABLE: the Accept header names neither {spec.produces} nor */*",
                                      **err}
        paths.setdefault(spec.path, {})[spec.method.lower()] = op

    doc = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Multi-tenant CRM. Every error, the gateway's included, is {code, message, details}; "
                                "messages follow Accept-Language (zh-CN, en)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
    }
    _drop_impossible_defaults(doc)
    return doc


def _operation_id(spec: Any, taken: Counter) -> str:
    """<tag>_<function>; where two routes would share one (two record types of one module), the
    first path segment tells them apart: payments_payment_plans_list_records."""
    plain_id = f"{spec.tag}_{spec.name}"
    if taken[plain_id] == 1:
        return plain_id
    segment = spec.path.removeprefix("/v1/").split("/")[0].replace("-", "_")
    return f"{spec.tag}_{segment}_{spec.name}"
