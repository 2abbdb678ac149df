"""Lists, filters, facets and global search for every module, within the caller's rights.

The engine's list endpoints call `list_page(schema, params, present)`; global search calls
`global_search(...)`. Everything that limits what a caller sees goes into the engine
query (query.py), built by rules.py from the one permissions API:
- tenant: always;
- data scope: the owners `visible_owners()` allows, plus records whose team grants the
  caller access and has not expired;
- field rules: a text query looks only at fields the caller may read unmasked; filters,
  sort and facets on hidden or masked fields are refused (a filter would reveal them).

Consistency: lists and search are served from the index, which follows the table through
the DynamoDB stream (about a second behind; on the local stack within one driver tick).
GET of one record reads the table and is always current.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ..core import pagination
from ..core.errors import DomainError, Problem, Unavailable, ValidationFailed, detail
from ..core.observability import logger
from ..core.permissions import Principal
from ..core.settings import get_settings
from . import rules, schema, views
from .port import get_index
from .query import Aggregation, Bucket, EntityQuery, Filter, Scope, SearchRequest, SearchResult

# ---- cursors ----------------------------------------------------------------------------
# A list's cursor is the engine's search_after (or ["@offset", n] under relevance order), signed
# by core/pagination.py and bound to the list's fingerprint: record type, text, filters (scope
# and saved view included), sort. The values are checked against the sort before an engine sees
# them: each engine binds them into its query (SQL parameters, OpenSearch search_after).

#: Relevance-ordered pages (offsets) reach the first 10,000 hits on every engine: OpenSearch
#: refuses from + size beyond index.max_result_window (10,000), and a page is at most 100 + 1.
MAX_OFFSET = 10_000 - 101
_LONG = 2**63  # OpenSearch long / SQLite INTEGER range
_MAX_TEXT = 4096


def _check_after(value: Any, es: schema.EntitySchema, field: str) -> list[Any]:
    """A cursor's search_after for a list sorted by `field`: ["@offset", n] for relevance, else
    [sort value of the last hit (of the field's kind, or null = missing), its id]."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("not a position")
    v, tie = value
    if field == "_score":
        if v != "@offset" or type(tie) is not int or not 0 < tie <= MAX_OFFSET:
            raise ValueError("not an offset")
        return value
    if not isinstance(tie, str) or not 0 < len(tie) <= 200:
        raise ValueError("not a record id")
    if v is None:
        return value
    kind = es.kind(field)
    if kind in (schema.NUMBER, schema.DATE):
        ok = (type(v) is int and -_LONG <= v < _LONG) or (type(v) is float and not math.isnan(v))
    elif kind == schema.BOOLEAN:  # embedded: "true"/"false"; OpenSearch: 1/0
        ok = v in ("true", "false") or (type(v) in (int, bool) and v in (0, 1))
    else:
        ok = isinstance(v, str) and len(v) <= _MAX_TEXT
    if not ok:
        raise ValueError("not a sort value")
    return value


def _next_cursor(after: list[Any] | None, listing: str) -> str | None:
    if not after or (after[0] == "@offset" and after[1] > MAX_OFFSET):
        return None
    return pagination.encode(after, listing)


# ---- running queries --------------------------------------------------------------------
@contextmanager
def _engine_errors() -> Iterator[None]:
    """An engine failure is a 503, not a 500; a filter the engine refuses is a 422."""
    try:
        yield
    except DomainError:
        raise
    except ValueError:
        raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.engine")) from None
    except Exception:
        logger.exception("search engine failed")
        raise Unavailable() from None


def run(req: SearchRequest) -> SearchResult:
    """Run a request on the configured engine."""
    with _engine_errors():
        return get_index().search(req)


def run_many(reqs: list[SearchRequest]) -> list[SearchResult]:
    """Several requests in one engine call (see `run`)."""
    with _engine_errors():
        return get_index().search_many(reqs)


def list_page(p: Principal, entity: str | schema.EntitySchema, params: dict[str, Any],
              present: Callable[[dict[str, Any], Principal], dict[str, Any]]) -> dict[str, Any]:  # noqa: C901 - one place that reads every list parameter
    """One page of a module list: {items, next_cursor, total, facets}.

    params: q, filters [{field, op, value}], sort ("-created_at"), limit, cursor, facets
    [field…], scope (visible | mine | team), view (saved view id, merged under the params)."""
    es = entity if isinstance(entity, schema.EntitySchema) else schema.get(entity)
    params, filters = _scoped(p, es, params)
    sort: list[tuple[str, str]] = []
    if params.get("sort"):
        name = params["sort"].lstrip("-+")
        target = rules.index_field(p, es, name)
        if target in es.multi:
            raise ValidationFailed("UNKNOWN_FILTER_FIELD", field=name, details={"field": name, "reason": "multi-valued"})
        sort = [(target, "desc" if params["sort"].startswith("-") else "asc")]
    facets_api = list(dict.fromkeys(params.get("facets") or []))
    if len(facets_api) > rules.MAX_FACETS:
        raise ValidationFailed("INVALID_FILTER", reason=Problem("filter.facets", max=rules.MAX_FACETS),
                               details=[detail("facets", "length", "field.max_items", max=rules.MAX_FACETS)])
    facets = [rules.index_field(p, es, f) for f in facets_api]
    q = (params.get("q") or "").strip()[:100]
    listing = "search|" + pagination.fingerprint([es.name, q, [f.__dict__ for f in filters], sort, params.get("scope"),
                                                  sorted(params["owners"]) if params.get("owners") is not None else None])
    order = sort[0][0] if sort else ("_score" if q else "created_at")  # query.default_sort
    after = pagination.decode(params.get("cursor"), listing, lambda value: _check_after(value, es, order))
    req = SearchRequest(p.tenant_id, [_entity_query(p, es, params)], q, filters, sort,
                        int(params.get("limit") or get_settings().page_size_default), after, facets, highlight=bool(q))
    res = run(req)
    slots = rules.slot_names(p, es) if q else {}
    names = dict(zip(facets, facets_api, strict=True))
    return {
        "items": [{**present(h.source, p), **({"highlight": _named(h.highlight, slots)} if h.highlight else {})}
                  for h in res.hits],
        "next_cursor": _next_cursor(res.after, listing),
        "total": res.total,
        "facets": {names[f]: [{"value": k, "count": n} for k, n in buckets] for f, buckets in res.facets.items()},
    }


def _scoped(p: Principal, es: schema.EntitySchema, params: dict[str, Any]) -> tuple[dict[str, Any], list[Filter]]:
    """The list parameters with the saved view merged in, and their filters as the caller may use them."""
    p.require(es.module, "list")
    if params.get("view"):
        params = views.merge(p, es, params["view"], params)
    # `conditions`: engine Filters a service built on fields it checked (never request input: the
    # list and selection queries have no such parameter), e.g. the dashboard's owners and periods
    return params, [*rules.translate_filters(p, es, params.get("filters") or []), *rules.scoped_filters(es, p),
                    *(params.get("conditions") or [])]


def _entity_query(p: Principal, es: schema.EntitySchema, params: dict[str, Any]) -> EntityQuery:
    """The caller's scope of the list (visible | mine | team); `owners` (a set a service computed,
    never request input) narrows it to the records those owners hold within it — owners only, no
    team grants: "my department's" are the records its people own."""
    eq = rules.entity_query(p, es, params.get("scope") or "visible")
    owners = params.get("owners")
    if owners is None:
        return eq
    allowed = eq.scope.owners if not eq.scope.only_team else frozenset()
    narrowed = frozenset(owners) if allowed is None else allowed & frozenset(owners)
    return replace(eq, scope=Scope(narrowed, None, eq.scope.now, only_owners=True))


def aggregate(p: Principal, entity: str | schema.EntitySchema, params: dict[str, Any],
              aggregations: dict[str, Aggregation]) -> dict[str, list[Bucket]]:
    """Grouped counts and sums over what the caller's list with these parameters (q, filters, view,
    scope) would show — data scope and field rules included: every field grouped or summed must be
    one the caller may filter on (hidden and masked fields are refused, as for facets)."""
    return aggregate_many(p, [(entity, params, aggregations)])[0]


Figures = tuple[str | schema.EntitySchema, dict[str, Any], dict[str, Aggregation]]


def aggregate_many(p: Principal, asked: list[Figures]) -> list[dict[str, list[Bucket]]]:
    """`aggregate` for several record types (or parameter sets) in one engine call (OpenSearch:
    one _msearch). Each aggregation's own `filters` are engine Filters a service built on fields
    it has checked the caller may read (`rules.index_field`), like the `conditions` parameter."""
    reqs, backs = [], []
    for entity, params, aggregations in asked:
        es = entity if isinstance(entity, schema.EntitySchema) else schema.get(entity)
        params, filters = _scoped(p, es, params)
        named = {}
        for name, agg in aggregations.items():
            fields = [*agg.by, *agg.sums, *([agg.date_field] if agg.date_field else [])]
            targets = {f: rules.index_field(p, es, f) for f in fields}
            named[name] = replace(agg, by=tuple(targets[f] for f in agg.by), sums=tuple(targets[f] for f in agg.sums),
                                  date_field=targets[agg.date_field] if agg.date_field else None)
        q = (params.get("q") or "").strip()[:100]
        reqs.append(SearchRequest(p.tenant_id, [_entity_query(p, es, params)], q, filters, limit=1,
                                  aggregations=named, figures_only=True))
        backs.append({target: api for api, target in ((f, rules.index_field(p, es, f)) for agg in aggregations.values()
                                                      for f in [*agg.by, *agg.sums])})
    found = run_many(reqs)
    return [{name: [Bucket({back.get(k, k): v for k, v in b.key.items()}, b.count, {back.get(k, k): v for k, v in b.sums.items()})
                    for b in buckets] for name, buckets in res.aggregations.items()}
            for res, back in zip(found, backs, strict=True)]


def _named(highlight: dict[str, str], slots: dict[str, str]) -> dict[str, str]:
    """Highlights keyed by the API's field names (slots become custom.<key> or the object's field)."""
    return {slots.get(k, k): v for k, v in highlight.items()}


Card = Callable[[schema.EntitySchema, dict[str, Any], Principal], dict[str, Any]]


def global_search(p: Principal, q: str, types: list[str] | None, limit: int, card: Card,
                  extra: list[schema.EntitySchema] | None = None) -> dict[str, Any]:
    """One search box over every record type the caller may list (standard, plus `extra`: the
    tenant's custom objects): groups of hits with counts.

    `card(schema, source, principal)` summarises one hit ({title, subtitle, …}, field rules applied)."""
    q = q.strip()[:100]
    groups = []
    for es in [*schema.standard().values(), *(extra or [])]:
        if types and es.name not in types:
            continue
        if not p.can(es.module, "list"):
            continue
        res = run(SearchRequest(p.tenant_id, [rules.entity_query(p, es)], q, filters=rules.scoped_filters(es, p), limit=limit, highlight=True))
        slots = rules.slot_names(p, es)
        groups.append({"type": es.name, "total": res.total,
                       "hits": [{"type": es.name, "id": h.id, **card(es, h.source, p), "highlight": _named(h.highlight, slots)}
                                for h in res.hits]})
    return {"q": q, "total": sum(g["total"] for g in groups), "groups": groups}
