"""Exports (导出): wall time and peak memory of exporting a tenant's customers to XLSX and CSV,
at a tenth of the records and at all of them (ARCHITECTURE.md §10: exports stream — the peak
must not grow with the file).

The customers are generated in memory and bulk-indexed straight into the embedded engine (an
export reads only the index: its rows are the list's search hits as engine.present shows them).
The export runs as the job does (exports.service.write_records into a temporary file): search
pages of 500 with search_after, each row shaped by the caller's field rules (a masked mobile)
and written at once. Peak memory is the process's resident set sampled every 5 ms during the
export, above what it held just before. Also measured: reading the XLSX back with openpyxl
(read-only, what imports use) and, when installed, python-calamine.
"""
from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from typing import Any

TENANT = "bench-exports"
OWNERS = [f"u{i:03d}" for i in range(50)]


def _principal():
    from chalicelib.core.permissions import FieldAccess, OrgSnapshot, OrgUser, Principal, Role, Scope

    role = Role("exporter", actions={"customers": frozenset({"list", "read", "export"})}, scopes={"customers": Scope.ALL},
                fields={"customers": {"mobile": FieldAccess.MASKED}})
    users = {u: OrgUser(u, "d1", role_ids=("exporter",) if i == 0 else ()) for i, u in enumerate(OWNERS)}
    return Principal(TENANT, OWNERS[0], OrgSnapshot(TENANT, {"d1": None}, users, {"exporter": role}))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Peak:
    """The largest resident set seen while the block runs, sampled every 5 ms."""

    def __enter__(self) -> "_Peak":
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def above_mb(self) -> float:
        return round((self.peak - self.base) / 2**20, 1)


def _export(p, fmt: str) -> dict[str, Any]:
    from chalicelib.engine import registry
    from chalicelib.exports import service

    d = registry.find("customer")
    with tempfile.TemporaryFile() as f, _Peak() as peak:
        t, c = time.perf_counter(), time.process_time()
        rows = service.write_records(f, p, d, service.selection(None, None), fmt, "zh-CN")
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        size = f.tell()
    return {"rows": rows, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "rows_per_second": int(rows / wall),
            "file_mb": round(size / 2**20, 1), "peak_rss_above_start_mb": peak.above_mb}


def _read_back(p) -> dict[str, Any]:
    """Reading the XLSX of the last export: openpyxl read-only vs python-calamine (when installed)."""
    from chalicelib.engine import registry
    from chalicelib.exports import service
    from chalicelib.tabular import sheets

    out: dict[str, Any] = {}
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as f:
        service.write_records(f, p, registry.find("customer"), service.selection(None, None), "xlsx", "zh-CN")
        f.flush()
        with open(f.name, "rb") as src, _Peak() as peak:
            t = time.perf_counter()
            n = sum(1 for _ in sheets.read_rows(src, "xlsx"))
            out["openpyxl_read_only"] = {"rows": n, "seconds": round(time.perf_counter() - t, 2),
                                         "peak_rss_above_start_mb": peak.above_mb}
        try:
            from python_calamine import CalamineWorkbook
        except ImportError:
            out["python_calamine"] = "not installed"
        else:
            with _Peak() as peak:
                t = time.perf_counter()
                wb = CalamineWorkbook.from_path(f.name)
                n = sum(1 for _ in wb.get_sheet_by_index(0).iter_rows())
                out["python_calamine"] = {"rows": n, "seconds": round(time.perf_counter() - t, 2),
                                          "peak_rss_above_start_mb": peak.above_mb}
    return out


def run(records: int = 100_000) -> dict[str, Any]:
    """Exports at records/10 and at records (embedded engine)."""
    from chalicelib.core.settings import environment
    from chalicelib.dictionaries import service as dictionaries
    from chalicelib.search import port

    workdir = tempfile.mkdtemp(prefix="crm-bench-exports-")
    dictionaries.seed(TENANT, OWNERS[0])  # codes are shown by their names
    p = _principal()
    results: dict[str, Any] = {"engine": "embedded", "viewer": "全部 scope, mobile masked", "sizes": {}}
    try:
        with environment(CRM_SEARCH_FILE=f"{workdir}/search.sqlite3", CRM_OPENSEARCH_URL=None, OPENSEARCH_URL=None):
            port.reset()
            engine = port.get_index()
            engine.ensure()
            engine.drop_tenant(TENANT)
            seeded = 0
            for size in sorted({max(1, records // 10), records}):
                seconds = _seed_more(engine, seeded, size)
                seeded = size
                results["sizes"][str(size)] = {"seed_seconds": round(seconds, 1), "xlsx": _export(p, "xlsx"),
                                               "csv": _export(p, "csv")}
            results["read_back_xlsx"] = _read_back(p)
    finally:
        port.reset()
    small, large = (results["sizes"][k] for k in sorted(results["sizes"], key=int)) if len(results["sizes"]) == 2 else \
        (next(iter(results["sizes"].values())),) * 2
    results["memory_grows_with_rows"] = large["xlsx"]["peak_rss_above_start_mb"] > 2 * small["xlsx"]["peak_rss_above_start_mb"] + 20
    return results


def _seed_more(engine, have: int, want: int) -> float:
    """Index customers number `have` … `want`-1 (the smaller size's records stay)."""
    if want <= have:
        return 0.0
    started = time.perf_counter()
    _seed_range(engine, have, want)
    return time.perf_counter() - started


def _seed_range(engine, start: int, stop: int) -> None:
    from datetime import timedelta

    from chalicelib.core import clock
    from chalicelib.engine import store
    from chalicelib.search import documents

    rng = random.Random(start)
    levels, industries = ("A", "B", "C"), ("it", "manufacturing", "finance", "education", "retail")
    now = clock.now().replace(microsecond=0)
    batch = []
    for i in range(start, stop):
        owner = OWNERS[i % len(OWNERS)]
        at = clock.iso(now - timedelta(seconds=rng.randint(0, 400 * 86400)))
        rec = store.EntityRecord(tenant_id=TENANT, entity="CUSTOMER", id=f"cu{i:07d}", owner_id=owner, custom={}, team={},
                                 data={"name": f"导出客户 {i:06d} 有限公司", "level": levels[i % 3], "industry": industries[i % 5],
                                       "customer_type": "target", "source": "web", "mobile": f"139{i:08d}",
                                       "region": "上海市/浦东新区", "address": f"张江路 {i} 号", "deal_status": "none", "locked": False,
                                       "credit_limit": str(rng.randint(1, 9999) * 100), "tags": ["重点", "华东"]},
                                 created_at=at, created_by=owner, updated_at=at, updated_by=owner)
        rec.version = 1
        batch.append(documents.index_op(rec, {}))
        if len(batch) == 2000:
            engine.bulk(batch)
            batch = []
    if batch:
        engine.bulk(batch)
    engine.refresh()


if __name__ == "__main__":  # python -m bench.exports [--records=N]: this measurement alone
    import json
    import sys

    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: settings, manifest installed

    with mock_aws():  # dictionaries and custom fields are read from a fresh table
        from devstack.resources import create_resources

        create_resources()
        n = int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--records=")), "100000"))
        print(json.dumps(run(n), indent=2, ensure_ascii=False))
