"""The SearchIndex port and the choice of engine.

Both adapters implement:
    ensure()                          create indices / tables (idempotent)
    bulk(ops: list[IndexOp]) -> dict  index/delete, idempotent by id + version
    search(req: SearchRequest) -> SearchResult
    search_many(reqs: list[SearchRequest]) -> list[SearchResult]   one round trip (OpenSearch
                                      _msearch; embedded: one read snapshot), results in order
    versions(tenant_id, entity) -> {id: version}   (reindex uses it to prune)
    drop_tenant(tenant_id)            remove a tenant's documents
    refresh()                         make writes visible to searches now
Configuration picks the engine: CRM_OPENSEARCH_URL (or OPENSEARCH_URL) set -> OpenSearch,
else the embedded engine in CRM_SEARCH_FILE.
"""
from __future__ import annotations

import threading
from typing import Any, Protocol

from ..core.settings import get_settings
from .query import IndexOp, SearchRequest, SearchResult


class SearchIndex(Protocol):
    name: str

    def ensure(self) -> None: ...
    def bulk(self, ops: list[IndexOp]) -> dict[str, int]: ...
    def search(self, req: SearchRequest) -> SearchResult: ...
    def search_many(self, reqs: list[SearchRequest]) -> list[SearchResult]: ...
    def versions(self, tenant_id: str, entity: str) -> dict[str, int]: ...
    def drop_tenant(self, tenant_id: str) -> None: ...
    def refresh(self) -> None: ...


_lock = threading.Lock()
_index: tuple[tuple[Any, ...], SearchIndex] | None = None


def get_index() -> SearchIndex:
    """The configured engine, created once per process (per configuration)."""
    global _index
    s = get_settings()
    key = (s.opensearch_url, s.search_index_prefix, s.search_file, s.region)
    with _lock:
        if _index is None or _index[0] != key:
            if s.opensearch_url:
                from .opensearch import OpenSearchIndex

                engine: SearchIndex = OpenSearchIndex(s.opensearch_url, s.search_index_prefix, s.region)
            else:
                from .embedded import EmbeddedIndex

                engine = EmbeddedIndex(s.search_file)
            _index = (key, engine)
        return _index[1]


def reset() -> None:
    global _index
    with _lock:
        _index = None
