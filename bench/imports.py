"""Import of N customers (default 100,000) from a CSV with duplicate checks on, as a user would:
POST /v1/imports, the presigned PUT to the bench's moto server, then the import job run in this
in a process of its own (a fresh interpreter, as a Lambda is: the moto server lives in the bench's
process and holds the table in memory), invocation after invocation (what functions/jobs.py does
per queued event) until it ends.

Reported: wall time (upload, then the job), rows/s, the counts, the invocations it took, the job
process's CPU time and its peak memory: its high-water mark (VmHWM) and the resident set sampled
every second, given at each quarter of the run (flat = no growth per row). Goals (ARCHITECTURE.md §10): ≤ 5 minutes and ≤ 512 MB for 100,000 rows.

The rows are new customers (unique names, mobiles and e-mails) imported by the CEO (全部) into the
demo company, which the list measurement grew to ~10k customers: every chunk asks the search
index for its duplicate keys, the default rules' leases are taken, the limits' counters written.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

GOAL_SECONDS = 300
GOAL_MB = 512
MARK = "import-bench-job: "  # the job process's figures, among the metrics it prints


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (VmRSS), or its high-water mark (VmHWM: the peak of this process
    image — unlike ru_maxrss, which on Linux keeps the peak of the parent that forked it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Peak:
    def __init__(self) -> None:
        self.peak = _rss_mb()
        self.samples: list[float] = []  # the resident set every second: flat after the first chunks = no growth per row
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.1):
            rss = _rss_mb()
            self.peak = max(self.peak, rss)
            n += 1
            if n % 10 == 0:
                self.samples.append(rss)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def write_csv(path: str, rows: int, prefix: str) -> int:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        f.write("客户名称,手机,邮箱,客户级别,所属行业,备注\n")
        for i in range(rows):
            f.write(f"{prefix}{i:06d},137{i:08d},imp{i}@bench.cn,B（普通客户）,制造业,导入基准第{i}行\n")
    return os.path.getsize(path)


def run(stack: Any, rows: int = 100_000, user: str = "ceo") -> dict[str, Any]:
    import requests

    from chalicelib.core import context
    from chalicelib.imports import service
    from devstack.demo import TENANT

    from .stack import child_environment

    prefix = f"导入基准{int(time.time()) % 100000:05d}-"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "customers.csv")
        size = write_csv(path, rows, prefix)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        ctx = context.RequestContext(tenant_id=TENANT, user_id=stack.users[user], locale="zh-CN")
        started = time.perf_counter()
        with context.acting_as(ctx):
            created = service.create("customer", "客户导入基准.csv", size, digest.hexdigest(), "csv")
            with open(path, "rb") as f:
                put = requests.put(created["upload"]["url"], data=f, headers=created["upload"]["headers"], timeout=600)
            put.raise_for_status()
            uploaded = time.perf_counter()
            job = service.start(created["id"], None, "skip", False)
        job_started, server_cpu = time.perf_counter(), time.process_time()
        child = subprocess.run([sys.executable, "-m", "bench.imports", "--job", TENANT, job["job_id"]], env=child_environment(),
                               capture_output=True, text=True, timeout=6 * 3600)
        ended, server_cpu = time.perf_counter(), time.process_time() - server_cpu
        if child.returncode != 0:
            raise RuntimeError(f"import bench: the job process failed: {child.stderr[-2000:]}")
        worker = json.loads(next(line for line in child.stdout.splitlines() if line.startswith(MARK))[len(MARK):])
        with context.acting_as(ctx):
            shown = service.get(created["id"])
    job_seconds = ended - job_started
    result = shown.get("result") or {}
    return {
        "rows": rows, "file_mb": round(size / 1e6, 1), "status": shown["status"], "error": shown.get("error"),
        "counts": {k: result.get(k) for k in ("created", "overwritten", "skipped", "rejected")},
        "invocations": worker["invocations"], "job_cpu_s": worker["cpu_s"],
        "server_cpu_s": round(server_cpu, 1),  # this process during the job: the moto server's threads
        "upload_s": round(uploaded - started, 2), "job_s": round(job_seconds, 1), "wall_s": round(ended - started, 1),
        "rows_per_s": round(rows / job_seconds, 1) if job_seconds else None,
        "rss_before_mb": worker["rss_before_mb"], "rss_peak_mb": worker["rss_peak_mb"], "rss_quarters_mb": worker["rss_quarters_mb"],
        "goal_s": GOAL_SECONDS, "goal_mb": GOAL_MB,
        "meets_time": ended - started <= GOAL_SECONDS * rows / 100_000,
        "meets_memory": worker["rss_peak_mb"] <= GOAL_MB,
    }


def text(r: dict[str, Any]) -> str:
    if "rows" not in r:
        return f"6. Import of 100,000 customers: {r.get('status')}"
    c = r["counts"]
    return (f"6. Import of {r['rows']:,} customers (CSV {r['file_mb']} MB, duplicate checks on): {r['status']} — "
            f"{r['wall_s']} s wall (upload {r['upload_s']} s, job {r['job_s']} s in {r['invocations']} invocation(s)), "
            f"{r['rows_per_s']} rows/s; created {c['created']}, skipped {c['skipped']}, rejected {c['rejected']}; "
            f"the job process's peak RSS {r['rss_peak_mb']} MB (after imports {r['rss_before_mb']} MB; at each quarter of the run "
            f"{r['rss_quarters_mb']} MB), CPU {r['job_cpu_s']} s (the local moto server's {r['server_cpu_s']} s); "
            f"goals ≤ {r['goal_s']} s per 100,000 rows and ≤ {r['goal_mb']} MB")


def row(r: dict[str, Any]) -> str:
    from .stats import verdict

    if "rows" not in r:
        return f"| Import 100,000 customers ≤ 5 min | {r.get('status')} | — | n/a |"
    return (f"| Import {r['rows']:,} customers ≤ 5 min / 100k, ≤ 512 MB | {r['wall_s']} s, {r['rows_per_s']} rows/s, "
            f"peak RSS {r['rss_peak_mb']} MB | {r['invocations']} invocation(s) | "
            f"{verdict(bool(r['meets_time'] and r['meets_memory']))} |")


def job_process(tenant_id: str, job_id: str) -> dict[str, Any]:
    """The process running the job (a fresh interpreter, as a Lambda is): invocations until it ends."""
    import resource

    from chalicelib import manifest

    manifest.install()
    from chalicelib.jobs import service as jobs

    before = _rss_mb()
    invocations, status = 0, None
    with _Peak() as peak:
        while True:
            status = jobs.run(tenant_id, job_id)
            invocations += 1
            if status in (None, "succeeded", "failed", "cancelled"):
                break
    usage = resource.getrusage(resource.RUSAGE_SELF)
    quarters = [round(peak.samples[min(len(peak.samples) - 1, len(peak.samples) * q // 4)], 1) for q in (1, 2, 3, 4)] \
        if peak.samples else []
    return {"status": status, "invocations": invocations, "rss_before_mb": round(before, 1), "rss_quarters_mb": quarters,
            "rss_peak_mb": round(max(peak.peak, _rss_mb("VmHWM")), 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.imports --rows 10000`: this measurement alone, on a stack of its own."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--job", nargs=2, metavar=("TENANT", "JOB_ID"), help="(internal) run one job in this process")
    args = ap.parse_args(argv)
    if args.job:
        print(MARK + json.dumps(job_process(*args.job)), flush=True)
        return 0
    from .stack import Stack

    stack = Stack.start()
    try:
        r = run(stack, args.rows)
    finally:
        stack.stop()
    print(json.dumps(r, indent=2, ensure_ascii=False))
    print(text(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
