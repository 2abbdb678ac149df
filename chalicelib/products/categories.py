"""The tenant's product category tree (产品分类, any depth): read by everyone who may read products,
replaced whole by admins (products:manage) at the version they read (If-Match or `version`).

A save is refused (422, every problem listed) when two categories share an id, a parent is not in
the tree, parents form a cycle, two siblings share a name, or a category that products still use
(live or in the recycle bin, so a restored product finds its category) is left out. Products keep `category_path` (root … their category, products/entity.py); a save
that moves categories re-derives the paths of the products under them before it answers.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import ids
from ..core.cache import TenantCache
from ..core.errors import ValidationFailed, detail
from ..core.observability import metric
from ..core.settings import get_settings
from ..db import changes, keys, query
from ..db.base import plain
from ..engine import store
from ..org import service as org
from .models import ProductCategories

MODULE = "products"
PAGE = 100


def stored(tenant_id: str) -> tuple[list[dict[str, Any]], int]:
    """(categories, version); ([], 0) before the first save."""
    try:
        item = ProductCategories.get(*ProductCategories.key(tenant_id))
    except DoesNotExist:
        return [], 0
    return list(plain(item.categories) or []), int(item.version)


_cache: TenantCache[dict[str, dict[str, Any]]] = TenantCache(
    lambda t: {c["id"]: c for c in stored(t)[0]}, lambda: get_settings().settings_cache_seconds)


def _by_id(tenant_id: str, category_id: str) -> dict[str, dict[str, Any]]:
    """The tenant's categories by id, read again once when `category_id` is not among them (a
    category added a moment ago in another container)."""
    found = _cache.get(tenant_id)
    if category_id not in found:
        found = _cache.get(tenant_id, fresh=True)
    return found


def exists(tenant_id: str, category_id: str) -> bool:
    return category_id in _by_id(tenant_id, category_id)


def path(by_id: Mapping[str, Mapping[str, Any]], category_id: str) -> list[str]:
    """The ids from the root down to the category (a checked tree has no cycles)."""
    out: list[str] = []
    at: str | None = category_id
    while at is not None and at in by_id and at not in out:
        out.append(at)
        at = by_id[at].get("parent_id")
    return out[::-1]


def derive(dv: Any) -> dict[str, Any]:
    """The engine's derive hook: the product's category path (None clears it)."""
    category = dv.data.get("category")
    if not category:
        return {"category_path": None}
    return {"category_path": path(_by_id(dv.tenant_id, str(category)), str(category)) or [str(category)]}


def _nodes(categories: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The flat list in tree order (parents before children, siblings by sort_order then name), each
    with its depth and path, and the nested tree."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for c in categories:
        children.setdefault(c.get("parent_id"), []).append(c)
    out: list[dict[str, Any]] = []

    def walk(parent: str | None, trail: list[str]) -> list[dict[str, Any]]:
        nested = []
        for c in sorted(children.get(parent, []), key=lambda c: (c.get("sort_order") or 0, c["name"])):
            node = {"id": c["id"], "name": c["name"], "name_en": c.get("name_en"), "parent_id": c.get("parent_id"),
                    "sort_order": c.get("sort_order") or 0, "depth": len(trail), "path": [*trail, c["id"]]}
            out.append(node)
            nested.append({**node, "children": walk(c["id"], node["path"])})
        return nested

    tree = walk(None, [])
    return out, tree


def _out(categories: list[dict[str, Any]], version: int) -> dict[str, Any]:
    flat, tree = _nodes(categories)
    return {"categories": flat, "tree": tree, "version": version}


def get_tree() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    return _out(*stored(p.tenant_id))


def _problems(categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    given = Counter(c["id"] for c in categories)
    problems += [detail(f"categories.{i}.id", "duplicate", "product.category_id_twice", id=c["id"])
                 for i, c in enumerate(categories) if given[c["id"]] > 1]
    by_id = {c["id"]: c for c in categories}
    for i, c in enumerate(categories):
        parent = c.get("parent_id")
        if parent is None:
            continue
        if parent not in by_id:
            problems.append(detail(f"categories.{i}.parent_id", "not_found", "product.category_parent_unknown", id=parent))
            continue
        seen, at = {c["id"]}, parent
        while at is not None and at in by_id:
            if at in seen:
                problems.append(detail(f"categories.{i}.parent_id", "cycle", "product.category_cycle", name=c["name"]))
                break
            seen.add(at)
            at = by_id[at].get("parent_id")
    names = Counter((c.get("parent_id"), c["name"]) for c in categories)
    problems += [detail(f"categories.{i}.name", "duplicate", "product.category_name_twice", name=c["name"])
                 for i, c in enumerate(categories) if names[(c.get("parent_id"), c["name"])] > 1]
    return problems


def _products(tenant_id: str, *, binned: bool = False) -> list[store.EntityRecord]:
    """Every live product of the tenant (one walk over the tenant's index partition), or every
    product in its recycle bin (a walk over the bin, keeping products)."""
    from .entity import PRODUCT

    partition = store.bin_partition(tenant_id) if binned else keys.tenant_list(tenant_id, PRODUCT.entity)
    only = store.EntityRecord.entity == PRODUCT.entity if binned else None
    out, cursor = [], None
    while True:
        items, cursor = query.page(store.EntityRecord, partition, index="gsi2", limit=PAGE, cursor=cursor, filter_condition=only)
        out += [r for r in items if isinstance(r, store.EntityRecord) and bool(r.deleted_at) == binned
                and r.entity == PRODUCT.entity]
        if not cursor:
            return out


def put_tree(categories: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the tree (products:manage). A category without an id gets one (its children need
    one to name it: give new categories ids of your own when they have children)."""
    from ..engine import service as engine
    from .entity import PRODUCT

    p = org.principal()
    p.require(MODULE, "manage")
    categories = [{**c, "id": c.get("id") or ids.new_id()} for c in categories]
    problems = _problems(categories)
    if problems:
        raise ValidationFailed(details=problems)
    before, _ = stored(p.tenant_id)
    old, new = {c["id"]: c for c in before}, {c["id"]: c for c in categories}
    products = _products(p.tenant_id) if before else []  # no tree before: no product has a category
    used = Counter(str(plain(r.data or {}).get("category")) for r in products if (r.data or {}).get("category"))
    if set(old) - set(new):  # a product restored from the recycle bin must find its category too
        used_or_binned = used + Counter(str(plain(r.data or {}).get("category"))
                                        for r in _products(p.tenant_id, binned=True) if (r.data or {}).get("category"))
    else:
        used_or_binned = used
    gone = [(old[c]["name"], n) for c, n in used_or_binned.items() if c not in new and c in old]
    if gone:
        name, count = sorted(gone)[0]
        raise ValidationFailed("PRODUCT_CATEGORY_IN_USE", name=name, count=count,
                               details=[detail("categories", "in_use", "product.category_in_use", name=n, count=k)
                                        for n, k in sorted(gone)])
    item = changes.put_setting(ProductCategories, ProductCategories.key(p.tenant_id), p.tenant_id, p.user_id,
                               "product_categories", "tree", {"categories": categories}, expected)
    _cache.invalidate(p.tenant_id)
    moved = [c for c in used if path(old, c) != path(new, c)]
    if moved:  # the products under a moved category take their new path (few: a catalogue, not a ledger)
        for rec in products:
            if str(plain(rec.data or {}).get("category")) in moved:
                engine.rederive_one(PRODUCT, p.tenant_id, rec.id, "category_tree")
        metric("products.category_paths.moved", len(moved))
    return _out(categories, int(item.version))
