"""HTTP routes of print templates (打印模板). The prints themselves are routes of each printable
record type: GET /v1/<path>/{id}/pdf (engine/api.py). Schemas and the service load on first use:
the app's import (cold start) does not grow with printing."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..core.api import ApiRequest, Lazy, route

bp = Blueprint(__name__)
TAG = "printing"


def _schema(name: str) -> Lazy:
    def build() -> Any:
        from . import schemas

        return getattr(schemas, name)
    return Lazy(build)


@route(bp, "/print-templates/{entity}", summary="A record type's print template (打印模板), or its default when none is saved "
       "(printing:read)", tag=TAG, response=_schema("PrintTemplateOut"))
def get_template(req: ApiRequest, entity: str) -> dict:
    from . import service

    return service.get_template(entity)


@route(bp, "/print-templates/{entity}", "PUT", summary="Save a record type's print template: company header, title, fields "
       "in order, lines, terms (printing:manage)", tag=TAG, body=_schema("PrintTemplateIn"), response=_schema("PrintTemplateOut"))
def put_template(req: ApiRequest, entity: str) -> dict:
    from . import service

    b = req.body
    return service.put_template(entity, b.model_dump(exclude={"version"}), req.version_if_given(b.version))
