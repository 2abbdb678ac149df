"""HTTP routes of quotes beyond the engine's (the standard routes, submit and print included, come from it)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, route
from ..engine import models
from . import schemas as s
from . import service
from .entity import QUOTE

bp = Blueprint(__name__)
TAG = "quotes"


@route(bp, "/quotes/{quote_id}/send", "POST", summary="Send a draft quote to the customer (发送); above the discount threshold "
       "only once approved", tag=TAG, body=s.VersionIn, response=models.lazy_out(QUOTE), versioned_write=True)
def send(req: ApiRequest, quote_id: str) -> dict:
    return service.send(quote_id, req.expected_version(req.body.version))


@route(bp, "/quotes/{quote_id}/accept", "POST", summary="The customer accepted a sent quote (接受)", tag=TAG, body=s.AnswerIn,
       response=models.lazy_out(QUOTE), versioned_write=True)
def accept(req: ApiRequest, quote_id: str) -> dict:
    return service.answer(quote_id, True, req.body.note, req.expected_version(req.body.version))


@route(bp, "/quotes/{quote_id}/decline", "POST", summary="The customer declined a sent quote (拒绝)", tag=TAG, body=s.AnswerIn,
       response=models.lazy_out(QUOTE), versioned_write=True)
def decline(req: ApiRequest, quote_id: str) -> dict:
    return service.answer(quote_id, False, req.body.note, req.expected_version(req.body.version))


@route(bp, "/quotes/{quote_id}/convert", "POST", summary="Convert an accepted quote into a draft contract (转合同)", tag=TAG,
       body=s.ConvertIn, response=s.ConvertOut, status=201, versioned_write=True)
def convert(req: ApiRequest, quote_id: str) -> dict:
    b = req.body
    return service.convert(quote_id, b.model_dump(exclude={"version"}), req.expected_version(b.version))
