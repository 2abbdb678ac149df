"""HTTP routes of lead conversion (the lead's own routes come from the engine)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "leads"


@route(bp, "/leads/conversion-mapping", summary="How a lead's fields become the customer's and the contact's (线索转化映射)",
       tag=TAG, response=s.MappingOut)
def get_mapping(req: ApiRequest) -> dict:
    return service.get_mapping()


@route(bp, "/leads/conversion-mapping", "PUT", summary="Set the conversion mapping (admins), custom fields included", tag=TAG,
       body=s.MappingIn, response=s.MappingOut)
def put_mapping(req: ApiRequest) -> dict:
    b = req.body
    return service.put_mapping(b.model_dump(), req.version_if_given(b.version))


@route(bp, "/leads/{lead_id}/convert", "POST", summary="Convert a lead to a customer and a contact (转化为客户), in one change",
       tag=TAG, body=s.ConvertIn, response=s.ConvertOut)
def convert(req: ApiRequest, lead_id: str) -> dict:
    return service.convert(lead_id, req.body.model_dump())


@route(bp, "/leads/convert", "POST", summary="Convert several leads; each succeeds or fails on its own", tag=TAG,
       body=s.BulkConvertIn, response=s.BulkConvertOut)
def convert_many(req: ApiRequest) -> dict:
    b = req.body
    return service.convert_many(b.ids, {"contact": b.contact, "owner_id": b.owner_id})
