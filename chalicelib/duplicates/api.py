"""HTTP routes of duplicate rules (查重规则) and the duplicate check (merge routes are generated
per record type: engine/api.py)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import rules, service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "duplicates"


@route(bp, "/duplicate-rules", summary="Duplicate rules (查重规则): kinds, record types, warn or block", tag=TAG,
       response=s.DuplicateRulesOut)
def get_rules(req: ApiRequest) -> dict:
    return rules.get()


@route(bp, "/duplicate-rules", "PUT", summary="Replace the duplicate rules (admins)", tag=TAG, body=s.DuplicateRulesIn,
       response=s.DuplicateRulesOut, versioned_write=True)
def put_rules(req: ApiRequest) -> dict:
    body = req.body
    expected = body.version if body.version is not None else (req.expected_version() if req.headers.get("if-match") else None)
    return rules.put([r.model_dump() for r in body.rules], expected)


@route(bp, "/duplicates/check", "POST", summary="Check a form's values for duplicates (index: about a second behind)",
       tag=TAG, body=s.DuplicateCheckIn, response=s.DuplicateCheckOut)
def check(req: ApiRequest) -> dict:
    b = req.body
    return service.check_form(b.entity, b.values, b.exclude_id)
