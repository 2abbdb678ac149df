"""The engine-neutral query both adapters execute (and the result they return).

Services build a `SearchRequest` from the caller's permissions and the API parameters;
the adapters translate it into SQL (embedded) or the OpenSearch query DSL. Everything that
decides *which* documents a caller may see is in here, as data, so that both engines
apply it inside the query: tenant, entity, data scope (owners + record team grants that
have not expired), filters, and the fields a text query may look at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import schema

OPS = ("eq", "in", "range", "exists", "missing", "contains")
ANY = "any"  # built by services only (never from request parameters): one of several conditions


@dataclass(frozen=True)
class Filter:
    field: str  # index field: built-in name or custom slot (cf_n1)
    op: str  # eq | in | range | exists | missing | contains | any
    value: Any = None  # eq: scalar; in: list; range: {"gte"/"gt"/"lte"/"lt": v}; contains: str; any: tuple of Filters


def any_of(*filters: Filter) -> Filter:
    """A condition that holds when one of `filters` does."""
    return Filter("", ANY, tuple(filters))


@dataclass(frozen=True)
class Scope:
    """Who may see what in one entity: owners (None = every owner) plus team grants."""

    owners: frozenset[str] | None
    team_user: str | None = None  # records whose team grants this user read/write …
    now: str = ""  # … with `until` after this instant (ISO, UTC)
    only_owners: bool = False  # "mine": owners only, no team grants
    only_team: bool = False  # "shared with me": team grants only


@dataclass(frozen=True)
class EntityQuery:
    entity: str
    scope: Scope
    text_fields: tuple[str, ...] = ()  # readable full-text fields (field rules applied)
    prefix_fields: tuple[str, ...] = ()  # readable prefix fields
    exact_fields: tuple[str, ...] = ()  # readable fields where an exact hit ranks first
    filters: tuple[Filter, ...] = ()  # conditions for this entity's documents only (SearchRequest.filters: every entity's)


PERIODS = ("day", "month", "quarter", "year")


@dataclass(frozen=True)
class Aggregation:
    """Grouped figures over the documents a request matches (its scope, filters and text apply):
    one bucket per combination of the values of `by` (single-valued fields) and, with `period`,
    the calendar period of the date field `date_field` at `utc_offset` — each with its document
    count and the sums of the number fields `sums`. Buckets come sorted by key (missing values
    first); at most `size` of them. `filters` narrow this aggregation only (on top of the
    request's scope, filters and text), so one request answers several questions about one
    record type (new this period, open now, due this week …)."""

    by: tuple[str, ...] = ()
    date_field: str | None = None
    period: str | None = None  # day | month | quarter | year
    utc_offset: str = "+08:00"
    sums: tuple[str, ...] = ()
    size: int = 1000
    filters: tuple[Filter, ...] = ()


@dataclass
class Bucket:
    key: dict[str, Any]  # by-field -> value, "period" -> "2026-03-05" | "2026-03" | "2026-Q1" | "2026"
    count: int
    sums: dict[str, float]


def period_label(period: str, year: int, month: int, day: int) -> str:
    """The one spelling of a calendar period both engines report."""
    if period == "day":
        return f"{year:04d}-{month:02d}-{day:02d}"
    if period == "month":
        return f"{year:04d}-{month:02d}"
    if period == "quarter":
        return f"{year:04d}-Q{(month - 1) // 3 + 1}"
    return f"{year:04d}"


def sorted_buckets(buckets: list[Bucket], agg: Aggregation) -> list[Bucket]:
    names = [*agg.by, *(["period"] if agg.period else [])]
    return sorted(buckets, key=lambda b: [(b.key.get(n) is not None, b.key.get(n) if b.key.get(n) is not None else 0)
                                          for n in names])[:agg.size]


@dataclass
class SearchRequest:
    tenant_id: str
    entities: list[EntityQuery]
    text: str = ""
    filters: list[Filter] = field(default_factory=list)  # apply to every entity
    sort: list[tuple[str, str]] = field(default_factory=list)  # (field, asc|desc); empty = relevance or newest
    limit: int = 20
    after: list[Any] | None = None  # cursor: sort values of the last hit, or ["@offset", n]
    facets: list[str] = field(default_factory=list)
    facet_size: int = 20
    entity_counts: bool = False  # counts per entity (global search)
    highlight: bool = False
    aggregations: dict[str, Aggregation] = field(default_factory=dict)  # name -> grouped counts and sums
    figures_only: bool = False  # aggregations (and facets) only: no hits, no total (0)

    # ---- what both engines ask of a request ------------------------------------------
    def kind(self, field: str) -> str:
        """The kind (schema.TEXT …) of an index field across the request's entities."""
        kinds = {schema.get(e.entity).kind(field) for e in self.entities} - {None}
        if not kinds:
            raise ValueError(f"unknown field {field}")
        return kinds.pop()

    def is_multi(self, field: str) -> bool:
        return any(schema.get(e.entity).is_multi(field) for e in self.entities)

    def readable(self, attr: str) -> list[str]:
        """text_fields / prefix_fields / exact_fields of every entity, sorted, once each."""
        return sorted({f for e in self.entities for f in getattr(e, attr)})


@dataclass
class Hit:
    entity: str
    id: str
    source: dict[str, Any]
    highlight: dict[str, str] = field(default_factory=dict)
    sort: list[Any] = field(default_factory=list)


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    entity_counts: dict[str, int] = field(default_factory=dict)
    after: list[Any] | None = None  # pass back as SearchRequest.after for the next page
    aggregations: dict[str, list[Bucket]] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexOp:
    """One bulk operation: index (document) or delete, both carrying the record version."""

    action: str  # index | delete
    entity: str
    tenant_id: str
    id: str
    version: int
    document: dict[str, Any] | None = None  # index: source + index fields
    # index: may replace a document of the same version (a reindex after documents gained fields, e.g. the
    # duplicate keys: same record version, new document); an older version never replaces a newer one
    replace: bool = False


def empty(req: SearchRequest) -> SearchResult:
    """The answer to a request nothing can match (a text without a searchable term)."""
    return SearchResult([], 0, {f: [] for f in req.facets}, {e.entity: 0 for e in req.entities} if req.entity_counts else {},
                        None, {name: [] for name in req.aggregations})


def default_sort(req: SearchRequest) -> list[tuple[str, str]]:
    """Relevance when there is text and no sort, else the given sort, else newest first."""
    if req.sort:
        return list(req.sort)
    return [("_score", "desc")] if req.text.strip() else [("created_at", "desc")]
