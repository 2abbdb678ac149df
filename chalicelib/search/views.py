"""Saved views (场景): named list settings (query, filters, sort, facets) per user, or shared.

Key design: personal views pk = T#<t>#VIEWS#<ENTITY>#U#<user>, shared views
pk = T#<t>#VIEWS#<ENTITY>#SHARED; sk = <view id>. Listing an entity's views = 2 Queries.
Anyone may keep personal views; publishing a shared view needs search:manage. A view is
applied under the request's own parameters (the request's filters are added to the view's;
its q, sort and facets win when given).
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute

from ..core import ids
from ..core.errors import Forbidden, NotFound, Problem, ValidationFailed
from ..core.permissions import Principal
from ..db import changes, keys
from ..db.base import Item, Versioned
from . import rules, schema

MODULE = "search"
MAX_VIEWS = 50


class SavedView(Versioned, discriminator="SAVED_VIEW"):
    id = UnicodeAttribute()
    entity = UnicodeAttribute()
    name = UnicodeAttribute()
    shared = BooleanAttribute(default=False)
    owner_id = UnicodeAttribute()
    settings = JSONAttribute(default=dict)  # {q, filters, sort, facets, scope}

    @staticmethod
    def partition(tenant_id: str, entity: str, user_id: str | None) -> str:
        return keys.k(tenant_id, "VIEWS", entity, *(("U", user_id) if user_id else ("SHARED",)))

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "shared": bool(self.shared), "settings": self.settings or {}}


def out(v: SavedView, p: Principal) -> dict[str, Any]:
    # entity: customer, obj_ad_order …
    return {"id": v.id, "entity": v.entity.lower(), "name": v.name, "shared": bool(v.shared), "owner_id": v.owner_id,
            **(v.settings or {}), "editable": _may_edit(v, p), "version": v.version, "updated_at": v.updated_at}


def _may_edit(v: SavedView, p: Principal) -> bool:
    return p.can(MODULE, "manage") if v.shared else v.owner_id == p.user_id


def _views(p: Principal, entity: str) -> list[SavedView]:
    out_: list[SavedView] = []
    for user in (p.user_id, None):
        out_ += [v for v in Item.query(SavedView.partition(p.tenant_id, entity, user)) if isinstance(v, SavedView)]
    return out_


def list_views(p: Principal, es: schema.EntitySchema) -> list[dict[str, Any]]:
    p.require(es.module, "list")
    return [out(v, p) for v in sorted(_views(p, es.record_entity), key=lambda v: (not v.shared, v.name))]


def _check_settings(p: Principal, es: schema.EntitySchema, settings: dict[str, Any]) -> None:
    """A view must be a valid list request for its author (unknown or unreadable fields fail now, not later)."""
    rules.translate_filters(p, es, settings.get("filters") or [])
    if settings.get("sort"):
        rules.index_field(p, es, settings["sort"].lstrip("-+"))
    for f in settings.get("facets") or []:
        rules.index_field(p, es, f)


def create(p: Principal, es: schema.EntitySchema, body: dict[str, Any]) -> dict[str, Any]:
    p.require(es.module, "list")
    if body.get("shared"):
        p.require(MODULE, "manage")
    settings = {k: body.get(k) for k in ("q", "filters", "sort", "facets", "scope") if body.get(k) is not None}
    _check_settings(p, es, settings)
    if len(_views(p, es.record_entity)) >= MAX_VIEWS:
        raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.views", max=MAX_VIEWS))
    v = SavedView(tenant_id=p.tenant_id, id=ids.new_id(), entity=es.record_entity, name=body["name"], shared=bool(body.get("shared")),
                  owner_id=p.user_id, settings=settings)
    v.pk, v.sk = SavedView.partition(p.tenant_id, es.record_entity, None if v.shared else p.user_id), v.id
    changes.stamp(v, p.user_id, new=True)
    changes.create(v, "saved_view", v.id, p.user_id)
    return out(v, p)


def get(p: Principal, es: schema.EntitySchema, view_id: str) -> SavedView:
    for user in (p.user_id, None):
        try:
            v = SavedView.get(SavedView.partition(p.tenant_id, es.record_entity, user), view_id)
        except SavedView.DoesNotExist:
            continue
        if isinstance(v, SavedView):
            return v
    raise NotFound("entity.saved_view")


def update(p: Principal, es: schema.EntitySchema, view_id: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    v = get(p, es, view_id)
    if not _may_edit(v, p):
        raise Forbidden(module="module.search", action="action.update", details={"module": MODULE, "action": "manage"})
    settings = dict(v.settings or {})
    for k in ("q", "filters", "sort", "facets", "scope"):
        if k in values:
            settings[k] = values.pop(k)
    settings = {k: val for k, val in settings.items() if val is not None}
    _check_settings(p, es, settings)
    values["settings"] = settings
    changes.save(v, "saved_view", v.id, p.user_id, values, expected)
    return out(v, p)


def delete(p: Principal, es: schema.EntitySchema, view_id: str, expected: int) -> None:
    v = get(p, es, view_id)
    if not _may_edit(v, p):
        raise Forbidden(module="module.search", action="action.delete", details={"module": MODULE, "action": "manage"})
    changes.delete(v, "saved_view", v.id, p.user_id, expected)


def merge(p: Principal, es: schema.EntitySchema, view_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The view's settings under the request's parameters."""
    settings = get(p, es, view_id).settings or {}
    merged = {**params}
    merged["filters"] = list(settings.get("filters") or []) + list(params.get("filters") or [])
    for k in ("q", "sort", "facets", "scope"):
        if not params.get(k) and settings.get(k):
            merged[k] = settings[k]
    return merged
