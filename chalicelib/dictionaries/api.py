"""HTTP routes of dictionaries (数据字典)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.errors import invalid
from . import regions, service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "dictionaries"


def _type(dict_type: str) -> str:
    import re

    from .schemas import TYPE_PATTERN

    if not re.match(TYPE_PATTERN, dict_type):
        raise invalid("type", "pattern", "field.key_pattern")
    return dict_type


@route(bp, "/regions", summary="行政区划 (省/市/区县, shipped with the product): the regions under ?parent=, provinces first",
       tag=TAG, query=s.RegionQuery, response=s.RegionList)
def list_regions(req: ApiRequest) -> dict:
    service.require_signed_in()
    return {"items": regions.children(req.query.parent)}


@route(bp, "/dictionaries", summary="All dictionary items, or one dictionary (?type=)", tag=TAG, query=s.DictQuery, response=s.DictItemList)
def list_items(req: ApiRequest) -> dict:
    return {"items": service.list_items(req.query.type)}


@route(bp, "/dictionary-types", summary="Dictionary types: the built-in ones and those the tenant's admins defined", tag=TAG,
       response=s.DictTypeList)
def list_types(req: ApiRequest) -> dict:
    return {"items": service.list_types()}


@route(bp, "/dictionary-types", "POST", summary="Define a new dictionary type (admin); then add its items", tag=TAG,
       body=s.DictTypeIn, response=s.DictTypeOut, status=201)
def define_type(req: ApiRequest) -> dict:
    return service.define_type(req.body.model_dump())


@route(bp, "/dictionaries/{dict_type}", "POST", summary="Add an item to a dictionary (a built-in or defined type; others: 404)",
       tag=TAG, body=s.DictItemIn,
       response=s.DictItemOut, status=201)
def create_item(req: ApiRequest, dict_type: str) -> dict:
    return service.create(_type(dict_type), req.body.model_dump())


@route(bp, "/dictionaries/{dict_type}/{code}", "PATCH", summary="Change an item", tag=TAG, body=s.DictItemPatch,
       response=s.DictItemOut, versioned_write=True)
def update_item(req: ApiRequest, dict_type: str, code: str) -> dict:
    changes = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.update(_type(dict_type), code, changes, req.expected_version(req.body.version))


@route(bp, "/dictionaries/{dict_type}/{code}", "DELETE", summary="Remove an item", tag=TAG, status=204, versioned_write=True)
def delete_item(req: ApiRequest, dict_type: str, code: str) -> None:
    service.delete(_type(dict_type), code, req.expected_version())
