"""The OpenSearch adapter: the same `SearchRequest` semantics as the embedded engine.

One index per entity (`<prefix>-customer`, …), shared by all tenants: every document
carries `tenant_id` (also the routing key) and every query filters on it. Analysis
mirrors analysis.py: standard tokenizer after turning everything but letters and digits
into spaces, cjk_width + lowercase, CJK bigrams (with unigrams at index time only);
prefix fields keep one normalised term with edge n-grams; `.norm` sub-fields hold what an
exact match compares. Custom fields map through dynamic templates on their slot names.

Writes use external versioning (the record version), so an older operation never
overwrites a newer one and a replay is a harmless conflict; `index.gc_deletes` keeps
delete tombstones 25 h, longer than a DynamoDB stream record lives.

opensearch-py is imported here only, and this module only when OPENSEARCH_URL is set,
so the API's cold start does not pay for it in the embedded configuration. In AWS the
requests are signed with SigV4 (service `es`); on loopback they are plain HTTP.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from ..core.settings import get_settings
from . import analysis, schema
from .query import (
    ANY,
    Aggregation,
    Bucket,
    EntityQuery,
    Filter,
    Hit,
    IndexOp,
    SearchRequest,
    SearchResult,
    default_sort,
    empty,
    period_label,
    sorted_buckets,
)
from .values import facet_key, highlight

_CJK = "\\u3040-\\u30ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uac00-\\ud7af\\uf900-\\ufaff"
ANALYSIS = {
    "char_filter": {
        "crm_words": {"type": "pattern_replace", "pattern": "[^\\p{L}\\p{N}]+", "replacement": " "},
        "crm_prefix_chars": {"type": "pattern_replace", "pattern": f"[^0-9A-Za-z{_CJK}]+", "replacement": ""},
    },
    "filter": {
        "crm_bigrams_index": {"type": "cjk_bigram", "output_unigrams": True},
        "crm_bigrams_search": {"type": "cjk_bigram", "output_unigrams": False},
        "crm_prefix_grams": {"type": "edge_ngram", "min_gram": 2, "max_gram": analysis.MAX_PREFIX},
        "crm_prefix_cut": {"type": "truncate", "length": analysis.MAX_PREFIX},
    },
    "analyzer": {
        "crm_text": {"type": "custom", "char_filter": ["crm_words"], "tokenizer": "standard",
                     "filter": ["cjk_width", "lowercase", "crm_bigrams_index"]},
        "crm_text_search": {"type": "custom", "char_filter": ["crm_words"], "tokenizer": "standard",
                            "filter": ["cjk_width", "lowercase", "crm_bigrams_search"]},
        "crm_prefix": {"type": "custom", "char_filter": ["crm_prefix_chars"], "tokenizer": "keyword",
                       "filter": ["lowercase", "crm_prefix_cut", "crm_prefix_grams"]},
        "crm_prefix_search": {"type": "custom", "char_filter": ["crm_prefix_chars"], "tokenizer": "keyword",
                              "filter": ["lowercase", "crm_prefix_cut"]},
    },
    "normalizer": {
        "crm_norm": {"type": "custom", "filter": ["cjk_width", "lowercase", "trim"]},
        "crm_prefix_norm": {"type": "custom", "char_filter": ["crm_prefix_chars"], "filter": ["lowercase"]},
    },
}
_DATE = {"type": "date", "format": "strict_date_optional_time||epoch_millis"}
FIELD_MAPPING = {
    schema.TEXT: {"type": "text", "analyzer": "crm_text", "search_analyzer": "crm_text_search",
                  "fields": {"kw": {"type": "keyword", "ignore_above": 1024},
                             "norm": {"type": "keyword", "normalizer": "crm_norm", "ignore_above": 1024}}},
    schema.PREFIX: {"type": "keyword", "ignore_above": 256,
                    "fields": {"pfx": {"type": "text", "analyzer": "crm_prefix", "search_analyzer": "crm_prefix_search"},
                               "norm": {"type": "keyword", "normalizer": "crm_prefix_norm"}}},
    schema.KEYWORD: {"type": "keyword", "ignore_above": 1024},
    schema.NUMBER: {"type": "double"},
    schema.DATE: _DATE,
    schema.BOOLEAN: {"type": "boolean"},
}


def mapping(es: schema.EntitySchema) -> dict[str, Any]:
    props: dict[str, Any] = {f: FIELD_MAPPING[k] for f, k in es.fields.items()}
    props.update({f: FIELD_MAPPING[schema.KEYWORD] for f in sorted(es.dup_fields)})  # 查重 keys
    props.update({
        "tenant_id": {"type": "keyword"},
        "team": {"type": "nested", "properties": {"user_id": {"type": "keyword"}, "access": {"type": "keyword"}, "until": _DATE}},
        "source": {"type": "object", "enabled": False},
    })
    templates = [{f"custom_{kind}": {"match": f"cf_{letter}*", "match_pattern": "simple", "mapping": FIELD_MAPPING[kind]}}
                 for kind, letter in schema.SLOT_LETTER.items()]
    templates.append({"custom_multi_keyword": {"match": f"cf_{schema.MULTI_LETTER}*", "match_pattern": "simple",
                                               "mapping": FIELD_MAPPING[schema.KEYWORD]}})
    return {"dynamic": True, "dynamic_templates": templates, "properties": props}


SETTINGS = {"number_of_shards": 1, "max_result_window": 10000, "gc_deletes": "25h", "refresh_interval": "1s", "analysis": ANALYSIS}


def index_settings(replicas: str) -> dict[str, Any]:
    """Index settings; `replicas` "2" fixes the count, "0-1" expands with the cluster."""
    extra = {"auto_expand_replicas": replicas} if "-" in replicas else {"number_of_replicas": int(replicas)}
    return {**SETTINGS, **extra}


def _sortable(kind: str, field: str) -> str:
    return f"{field}.kw" if kind == schema.TEXT else field


def _wildcard_escape(value: str) -> str:
    return "".join("\\" + ch if ch in "\\*?" else ch for ch in value)


class OpenSearchIndex:
    name = "opensearch"

    def __init__(self, url: str, prefix: str, region: str) -> None:
        self.url = url.rstrip("/")
        self.prefix = prefix
        self.region = region
        self._client = None
        self._ensured = False
        self._lock = threading.Lock()

    # ---- plumbing ---------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            from opensearchpy import OpenSearch, Urllib3HttpConnection

            parsed = urlparse(self.url)
            kwargs: dict[str, Any] = {}
            if parsed.scheme == "https" and parsed.hostname not in ("127.0.0.1", "localhost"):
                import boto3
                from opensearchpy import Urllib3AWSV4SignerAuth

                kwargs["http_auth"] = Urllib3AWSV4SignerAuth(boto3.Session().get_credentials(), self.region, "es")
            self._client = OpenSearch(hosts=[self.url], use_ssl=parsed.scheme == "https", verify_certs=parsed.scheme == "https",
                                      connection_class=Urllib3HttpConnection, timeout=10, max_retries=2, retry_on_timeout=True,
                                      **kwargs)
        return self._client

    def index_name(self, entity: str) -> str:
        return f"{self.prefix}-{schema.get(entity).index}"

    def _entity_of(self, index: str) -> str:
        return next(e for e in schema.schemas() if self.index_name(e) == index)

    def ensure(self) -> None:
        """Create missing indices; add new fields to existing ones (mappings only grow)."""
        with self._lock:
            for entity, es in schema.schemas().items():
                name = self.index_name(entity)
                if self.client.indices.exists(index=name):
                    self.client.indices.put_mapping(index=name, body={"properties": mapping(es)["properties"]})
                else:
                    settings = index_settings(get_settings().search_replicas)
                    self.client.indices.create(index=name, body={"settings": {"index": settings}, "mappings": mapping(es)},
                                               params={"ignore": 400})
            self._ensured = True

    def refresh(self) -> None:
        self.client.indices.refresh(index=f"{self.prefix}-*")

    # ---- writes -----------------------------------------------------------------------
    def bulk(self, ops: list[IndexOp]) -> dict[str, int]:
        counts = {"indexed": 0, "deleted": 0, "skipped": 0}
        if not ops:
            return counts
        if not self._ensured:
            self.ensure()
        body: list[dict[str, Any]] = []
        for op in ops:
            meta = {"_index": self.index_name(op.entity), "_id": f"{op.tenant_id}.{op.id}", "routing": op.tenant_id,
                    "version": op.version, "version_type": "external_gte" if op.replace and op.action == "index" else "external"}
            if op.action == "delete":
                body.append({"delete": meta})
            else:
                doc = op.document or {}
                body += [{"index": meta}, {**doc.get("values", {}), "tenant_id": op.tenant_id, "team": doc.get("team", []),
                                           "source": doc.get("source", {})}]
        out = self.client.bulk(body=body)
        errors = []
        for item in out["items"]:
            action, res = next(iter(item.items()))
            status = res.get("status", 500)
            if status == 409:
                counts["skipped"] += 1
            elif action == "delete" and status in (200, 404):
                counts["deleted"] += 1
            elif status in (200, 201):
                counts["indexed"] += 1
            else:
                errors.append(res.get("error"))
        if errors:
            raise RuntimeError(f"OpenSearch bulk failed for {len(errors)} operations: {errors[:3]}")
        return counts

    def drop_tenant(self, tenant_id: str) -> None:
        """Delete the tenant's documents (scan + versioned bulk deletes: no reindex module needed)."""
        for entity in schema.schemas():
            ops = [IndexOp("delete", entity, tenant_id, i, v + 1) for i, v in self.versions(tenant_id, entity).items()]
            for start in range(0, len(ops), 1000):
                self.bulk(ops[start:start + 1000])
        self.refresh()

    def versions(self, tenant_id: str, entity: str) -> dict[str, int]:
        from opensearchpy import helpers

        hits = helpers.scan(self.client, index=self.index_name(entity), routing=tenant_id, version=True, _source=False,
                            query={"query": {"term": {"tenant_id": tenant_id}}}, ignore_unavailable=True)
        return {h["_id"].split(".", 1)[1]: h["_version"] for h in hits}

    # ---- queries ----------------------------------------------------------------------
    def _scope(self, eq: EntityQuery, req: SearchRequest) -> dict[str, Any]:
        s = eq.scope
        should: list[dict[str, Any]] = []
        if not s.only_team:
            should.append({"match_all": {}} if s.owners is None else {"terms": {"owner_id": sorted(s.owners)}})
        if s.team_user and not s.only_owners:
            should.append({"nested": {"path": "team", "query": {"bool": {"filter": [
                {"term": {"team.user_id": s.team_user}},
                {"bool": {"should": [{"range": {"team.until": {"gt": s.now}}},
                                     {"bool": {"must_not": {"exists": {"field": "team.until"}}}}], "minimum_should_match": 1}},
            ]}}}})
        return {"bool": {"filter": [{"term": {"_index": self.index_name(eq.entity)}},
                                    {"bool": {"should": should or [{"match_none": {}}], "minimum_should_match": 1}},
                                    *(self._filter(req, f) for f in eq.filters)]}}

    def _filter(self, req: SearchRequest, f: Filter) -> dict[str, Any]:
        if f.op == ANY:
            return {"bool": {"should": [self._filter(req, g) for g in f.value] or [{"match_none": {}}], "minimum_should_match": 1}}
        kind = req.kind(f.field)
        field = _sortable(kind, f.field)
        if f.op == "exists":
            return {"exists": {"field": f.field}}
        if f.op == "missing":
            return {"bool": {"must_not": {"exists": {"field": f.field}}}}
        if f.op == "eq":
            return {"term": {field: f.value}}
        if f.op == "in":
            return {"terms": {field: list(f.value)}}
        if f.op == "contains":
            return {"wildcard": {field: {"value": f"*{_wildcard_escape(str(f.value))}*", "case_insensitive": True}}}
        if f.op == "range":
            return {"range": {field: dict(f.value or {})}}
        raise ValueError(f"unknown operator {f.op}")

    def _text(self, req: SearchRequest, text: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        text_fields, prefix_fields, exact_fields = (req.readable(a) for a in ("text_fields", "prefix_fields", "exact_fields"))
        should: list[dict[str, Any]] = []
        if text_fields and analysis.query_tokens(text):
            should.append({"multi_match": {"query": text, "type": "cross_fields", "operator": "and", "fields": text_fields}})
        term = analysis.prefix_term(text)
        if len(term) >= 2:
            should += [{"term": {f"{f}.pfx": term}} for f in prefix_fields]
        if not should:
            return None, None
        norms = sorted({analysis.normalize(text).strip(), term})
        exact = [{"terms": {f"{f}.norm": norms}} for f in exact_fields]
        boost = {"constant_score": {"filter": {"bool": {"should": exact}}, "boost": 10000}} if exact else None
        return {"bool": {"should": should, "minimum_should_match": 1}}, boost

    def search(self, req: SearchRequest) -> SearchResult:
        return self.search_many([req])[0]

    def search_many(self, reqs: list[SearchRequest]) -> list[SearchResult]:
        """Several requests in one round trip (_msearch), each answered as `search` would."""
        plans: list[tuple[str, dict[str, Any]] | SearchResult] = []
        for req in reqs:
            if not req.entities:
                plans.append(SearchResult([], 0))
                continue
            planned = self._plan(req)
            plans.append(planned if planned is not None else empty(req))
        asked = [(i, p) for i, p in enumerate(plans) if isinstance(p, tuple)]
        out: list[SearchResult] = [p if isinstance(p, SearchResult) else SearchResult([], 0) for p in plans]
        if not asked:
            return out
        if len(asked) == 1:
            i, (indices, body) = asked[0]
            answers = [self.client.search(index=indices, body=body, routing=reqs[i].tenant_id,
                                          params={"ignore_unavailable": "true"})]
        else:
            lines: list[dict[str, Any]] = []
            for i, (indices, body) in asked:
                lines += [{"index": indices, "routing": reqs[i].tenant_id, "ignore_unavailable": True}, body]
            answers = []
            for r in self.client.msearch(body=lines)["responses"]:
                if "error" in r:
                    raise RuntimeError(f"OpenSearch msearch failed: {r['error']}")
                answers.append(r)
        for (i, (indices, body)), res in zip(asked, answers, strict=True):
            out[i] = self._result(reqs[i], indices, body, res)
        return out

    def _plan(self, req: SearchRequest) -> tuple[str, dict[str, Any]] | None:
        """The indices and the body of one request (None: nothing can match its text)."""
        text = req.text.strip()
        filters: list[dict[str, Any]] = [{"term": {"tenant_id": req.tenant_id}},
                                         {"bool": {"should": [self._scope(e, req) for e in req.entities], "minimum_should_match": 1}}]
        filters += [self._filter(req, f) for f in req.filters]
        query: dict[str, Any] = {"bool": {"filter": filters}}
        if text:
            must, boost = self._text(req, text)
            if must is None:
                return None
            query["bool"]["must"] = [must]
            if boost:
                query["bool"]["should"] = [boost]
        field, direction = default_sort(req)[0]
        body: dict[str, Any] = {"query": query, "size": max(1, req.limit) + 1, "track_total_hits": True, "_source": ["source"]}
        if req.figures_only:
            body.update({"size": 0, "track_total_hits": False})
        elif field == "_score":
            offset = int(req.after[1]) if req.after and req.after[0] == "@offset" else 0
            body["from"] = offset
            body["sort"] = [{"_score": "desc"}, {"id": "asc"}]
        else:
            kind = req.kind(field)
            body["sort"] = [{_sortable(kind, field): {"order": direction, "missing": "_last", "unmapped_type": "keyword"}},
                            {"id": "asc"}]
            if req.after:
                body["search_after"] = req.after
        aggs: dict[str, Any] = {}
        for f in req.facets:
            aggs[f"f_{f}"] = {"terms": {"field": _sortable(req.kind(f), f), "size": req.facet_size,
                                        "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        if req.entity_counts:
            aggs["_entities"] = {"terms": {"field": "_index", "size": 50}}
        for name, agg in req.aggregations.items():
            aggs[f"a_{name}"] = self._narrowed(req, agg, self._composite(req, agg))
        if aggs:
            body["aggs"] = aggs
        return ",".join(self.index_name(e.entity) for e in req.entities), body

    def _result(self, req: SearchRequest, indices: str, body: dict[str, Any], res: dict[str, Any]) -> SearchResult:
        text = req.text.strip()
        field = default_sort(req)[0][0]
        raw = res["hits"]["hits"]
        limit = max(1, req.limit)
        more = len(raw) > limit and not req.figures_only
        hits = []
        for h in raw[:limit] if not req.figures_only else []:
            entity = self._entity_of(h["_index"])
            src = h["_source"]["source"]
            hl = {}
            if req.highlight and text:
                eq = next(e for e in req.entities if e.entity == entity)
                hl = highlight(src, list(eq.text_fields) + list(eq.prefix_fields), text)
            hits.append(Hit(entity, src["id"], src, hl, h.get("sort", [])))
        if field == "_score":
            after = ["@offset", body.get("from", 0) + limit] if more else None
        else:
            after = hits[-1].sort if more and hits else None
        a = res.get("aggregations", {})
        facets = {f: [(facet_key(req.kind(f), b["key"]), b["doc_count"]) for b in a.get(f"f_{f}", {}).get("buckets", [])]
                  for f in req.facets}
        counts = {}
        if req.entity_counts:
            per = {b["key"]: b["doc_count"] for b in a.get("_entities", {}).get("buckets", [])}
            counts = {e.entity: per.get(self.index_name(e.entity), 0) for e in req.entities}
        aggregations = {name: self._buckets(req, agg, self._inner(agg, a.get(f"a_{name}", {})), indices, body["query"])
                        for name, agg in req.aggregations.items()}
        total = 0 if req.figures_only else res["hits"]["total"]["value"]
        return SearchResult(hits, total, facets, counts, after, aggregations)

    # ---- aggregations: one composite aggregation each (grouped counts and sums) -----------------------
    def _composite(self, req: SearchRequest, agg: Aggregation, after: dict[str, Any] | None = None) -> dict[str, Any]:
        if any(req.is_multi(f) for f in agg.by):
            raise ValueError("aggregations group by single-valued fields only")
        sources: list[dict[str, Any]] = [{f"k{i}": {"terms": {"field": _sortable(req.kind(f), f), "missing_bucket": True}}}
                                         for i, f in enumerate(agg.by)]
        if agg.period:
            sources.append({"period": {"date_histogram": {"field": agg.date_field, "calendar_interval": agg.period,
                                                          "time_zone": agg.utc_offset, "missing_bucket": True}}})
        if not sources:  # one bucket for everything the request matches
            sources.append({"all": {"terms": {"field": "tenant_id"}}})
        composite: dict[str, Any] = {"size": min(agg.size, 1000), "sources": sources}
        if after:
            composite["after"] = after
        return {"composite": composite, "aggs": {f"s{i}": {"sum": {"field": f}} for i, f in enumerate(agg.sums)}}

    def _narrowed(self, req: SearchRequest, agg: Aggregation, inner: dict[str, Any]) -> dict[str, Any]:
        """An aggregation with conditions of its own: its composite under a filter aggregation."""
        if not agg.filters:
            return inner
        return {"filter": {"bool": {"filter": [self._filter(req, f) for f in agg.filters]}}, "aggs": {"c": inner}}

    @staticmethod
    def _inner(agg: Aggregation, answer: dict[str, Any]) -> dict[str, Any]:
        return answer.get("c", {}) if agg.filters else answer

    def _buckets(self, req: SearchRequest, agg: Aggregation, first: dict[str, Any], indices: str, query: dict[str, Any]) -> list[Bucket]:
        """The composite's buckets, page after page (its after_key) until `agg.size` are read."""
        if agg.filters:  # the next pages ask for the narrowed documents directly
            query = {"bool": {"filter": [query, *(self._filter(req, f) for f in agg.filters)]}}
        out: list[Bucket] = []
        page = first
        while True:
            for b in page.get("buckets", []):
                key = {f: facet_key(req.kind(f), b["key"].get(f"k{i}")) for i, f in enumerate(agg.by)}
                if agg.period:
                    ms = b["key"].get("period")
                    key["period"] = None if ms is None else self._period(agg, ms)
                out.append(Bucket(key, b["doc_count"], {f: round(b.get(f"s{i}", {}).get("value") or 0.0, 6)
                                                         for i, f in enumerate(agg.sums)}))
            after = page.get("after_key")
            if not after or len(out) >= agg.size or len(page.get("buckets", [])) < min(agg.size, 1000):
                return sorted_buckets(out, agg)
            res = self.client.search(index=indices, body={"size": 0, "query": query, "aggs": {"a": self._composite(req, agg, after)}},
                                     routing=req.tenant_id, params={"ignore_unavailable": "true"})
            page = res.get("aggregations", {}).get("a", {})

    @staticmethod
    def _period(agg: Aggregation, millis: float) -> str:
        sign = -1 if agg.utc_offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(agg.utc_offset[1:3]), minutes=int(agg.utc_offset[4:6])))
        at = datetime.fromtimestamp(millis / 1000, zone)
        return period_label(agg.period or "day", at.year, at.month, at.day)
