"""HTTP routes of custom fields (自定义字段)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "fields"


@route(bp, "/fields/{entity}", summary="Custom fields of an entity (e.g. customer)", tag=TAG, response=s.CustomFieldList)
def list_fields(req: ApiRequest, entity: str) -> dict:
    return {"items": service.list_fields(entity)}


@route(bp, "/fields/{entity}", "POST", summary="Add a custom field (admin)", tag=TAG, body=s.CustomFieldIn,
       response=s.CustomFieldOut, status=201)
def create_field(req: ApiRequest, entity: str) -> dict:
    return service.create(entity, req.body.model_dump())


@route(bp, "/fields/{entity}/{key}", "PATCH", summary="Change or deactivate a custom field (admin)", tag=TAG,
       body=s.CustomFieldPatch, response=s.CustomFieldOut, versioned_write=True)
def update_field(req: ApiRequest, entity: str, key: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update(entity, key, changes, req.expected_version(req.body.version))
