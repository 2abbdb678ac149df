"""Per-tenant, per-container caches of small, rarely changing data (the organisation,
dictionary codes). A value lives for a configured number of seconds; writes in this
container invalidate it at once, other containers see a change within the TTL."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TenantCache(Generic[T]):
    def __init__(self, load: Callable[[str], T], ttl_seconds: Callable[[], float]) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._values: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, *, fresh: bool = False) -> T:
        with self._lock:
            hit = self._values.get(tenant_id)
            if hit and not fresh and time.monotonic() - hit[0] < self._ttl():
                return hit[1]
        value = self._load(tenant_id)
        with self._lock:
            self._values[tenant_id] = (time.monotonic(), value)
        return value

    def invalidate(self, tenant_id: str) -> None:
        with self._lock:
            self._values.pop(tenant_id, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
