"""HTTP routes of numbering rules (编号规则)."""
from __future__ import annotations

import re

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.errors import invalid
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "numbering"


def _key(rule_key: str) -> str:
    from .schemas import RULE_KEY

    if not re.match(RULE_KEY, rule_key):
        raise invalid("rule_key", "pattern", "field.key_pattern")
    return rule_key


@route(bp, "/numbering-rules", summary="Numbering rules", tag=TAG, response=s.RuleList)
def list_rules(req: ApiRequest) -> dict:
    return {"items": service.list_rules()}


@route(bp, "/numbering-rules/{rule_key}", "PUT", summary="Create or change a numbering rule", tag=TAG, body=s.RuleIn,
       response=s.RuleOut, versioned_write=True)
def put_rule(req: ApiRequest, rule_key: str) -> dict:
    body = req.body.model_dump(exclude={"version"})
    expected = req.body.version if req.body.version is not None else (
        req.expected_version() if req.headers.get("if-match") else None)
    return service.put_rule(_key(rule_key), body, expected)


@route(bp, "/numbering-rules/{rule_key}/next", "POST", summary="Draw the next number (admin; modules draw their own)", tag=TAG,
       response=s.NumberOut, status=201)
def next_number(req: ApiRequest, rule_key: str) -> dict:
    return service.next_number(_key(rule_key))
