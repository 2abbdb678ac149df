"""HTTP routes of global search (全文检索) and saved views (场景)."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.errors import NotFound
from ..engine import registry
from ..engine import service as engine
from ..org import service as org
from . import schema, service, views

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "search"


def _schema(entity: str) -> schema.EntitySchema:
    """A list's schema by record type name: a standard one, or one of the caller's tenant's custom objects."""
    d = registry.find(entity, org.principal().tenant_id)
    if d is None:
        raise NotFound("entity.saved_view")
    return engine.search_schema(d)


@route(bp, "/search", summary="Global search over every record type I may list (grouped, highlighted)", tag=TAG,
       query=s.SearchQuery, response=s.SearchOut)
def global_search(req: ApiRequest) -> dict:
    q = req.query
    types = [t.strip() for t in (q.types or "").split(",") if t.strip()] or None
    p = org.principal()
    objects = registry.custom(p.tenant_id)
    return service.global_search(p, q.q, types, q.limit, _card, [engine.search_schema(d) for d in objects])


def _card(es: schema.EntitySchema, src: dict, p) -> dict:
    d = registry.find(es.name, p.tenant_id)
    return engine.card(d, src, p) if d else {}


@route(bp, "/views/{entity}", summary="My and shared saved views (场景) of a list", tag=TAG, response=s.ViewList)
def list_views(req: ApiRequest, entity: str) -> dict:
    return {"items": views.list_views(org.principal(), _schema(entity))}


@route(bp, "/views/{entity}", "POST", summary="Save a view (personal, or shared with search:manage)", tag=TAG, body=s.ViewIn,
       response=s.ViewOut, status=201)
def create_view(req: ApiRequest, entity: str) -> dict:
    return views.create(org.principal(), _schema(entity), req.body.model_dump(mode="json", exclude_none=True))


@route(bp, "/views/{entity}/{view_id}", "PATCH", summary="Change a saved view", tag=TAG, body=s.ViewPatch, response=s.ViewOut,
       versioned_write=True)
def update_view(req: ApiRequest, entity: str, view_id: str) -> dict:
    values = req.body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    return views.update(org.principal(), _schema(entity), view_id, values, req.expected_version(req.body.version))


@route(bp, "/views/{entity}/{view_id}", "DELETE", summary="Delete a saved view", tag=TAG, status=204, versioned_write=True)
def delete_view(req: ApiRequest, entity: str, view_id: str) -> None:
    views.delete(org.principal(), _schema(entity), view_id, req.expected_version())
