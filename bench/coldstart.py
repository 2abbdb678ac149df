"""Cold start: `import app` and the first request in a fresh interpreter.

Each sample is a new `python -c` process with the bench environment (it talks to the
bench's moto server). Inside it the child measures, with `time.process_time()` (CPU of
the whole process, all threads) and `time.perf_counter()` (wall):

1. `import app`                                   — counted in the budget;
2. building `chalice.test.Client` and its config  — test harness, reported, not counted
   (Lambda calls the app object directly);
3. the first request (GET /v1/health, or an authenticated GET /v1/customers) — counted;
4. the same request again                          — a warm reference.

Two variants: the first request is the public health check, or it is the first screen of
a signed-in sales rep (token verification, org snapshot Query, customer list Queries,
and the creation of PynamoDB's botocore client). The budget figure is
import + first authenticated request. `python -X importtime` ranks the imports.

Bytecode: children write and read .pyc files under a private PYTHONPYCACHEPREFIX (never
into the source tree), warmed by one discarded run, so the figures are those of an
installed package with compiled bytecode. One extra sample imports with an empty prefix
and writing disabled — every module compiled from source — the case of a package
shipped without .pyc files onto a read-only file system.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from typing import Any

from . import stats
from .stack import ROOT, child_environment

BUDGET_CPU_S = 0.5

CHILD = r"""
import json, os, sys, time
cpu, wall = time.process_time, time.perf_counter
HEAVY = ("boto3", "botocore", "pynamodb", "pydantic", "jwt", "cryptography", "aws_lambda_powertools", "aws_xray_sdk",
         "opensearchpy", "requests", "urllib3", "moto")
c0, w0 = cpu(), wall()
import app as app_module
c1, w1 = cpu(), wall()
modules_after_import = len(sys.modules)
heavy_after_import = sorted(m for m in HEAVY if m in sys.modules)
from chalice.test import Client
client = Client(app_module.app, stage_name="bench")
http = client.http
c2, w2 = cpu(), wall()
path = os.environ["BENCH_PATH"]
token = os.environ.get("BENCH_TOKEN")
headers = {"Authorization": "Bearer " + token} if token else {}
r1 = http.get(path, headers=headers)
c3, w3 = cpu(), wall()
r2 = http.get(path, headers=headers)
c4, w4 = cpu(), wall()
print(json.dumps({"import_cpu": c1 - c0, "import_wall": w1 - w0, "harness_cpu": c2 - c1, "harness_wall": w2 - w1,
                  "first_cpu": c3 - c2, "first_wall": w3 - w2, "second_cpu": c4 - c3, "second_wall": w4 - w3,
                  "status": [r1.status_code, r2.status_code], "modules_after_import": modules_after_import,
                  "heavy_after_import": heavy_after_import}))
"""


def _env(pycache: str, write_bytecode: bool = True) -> dict[str, str]:
    env = child_environment()
    env["PYTHONPYCACHEPREFIX"] = pycache
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run_child(path: str, token: str | None, pycache: str, write_bytecode: bool = True) -> dict[str, Any]:
    env = _env(pycache, write_bytecode)
    env["BENCH_PATH"] = path
    if token:
        env["BENCH_TOKEN"] = token
    else:
        env.pop("BENCH_TOKEN", None)
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"cold-start child failed: {out.stderr[-2000:]}")
    sample = json.loads(out.stdout.strip().splitlines()[-1])
    if any(code != 200 for code in sample["status"]):
        raise RuntimeError(f"cold-start child got HTTP {sample['status']} for {path}")
    return sample


def _variant(path: str, token: str | None, repetitions: int, pycache: str) -> dict[str, Any]:
    samples = [_run_child(path, token, pycache) for _ in range(repetitions)]
    med = {k: stats.median(s[k] for s in samples) for k in samples[0] if k.endswith(("_cpu", "_wall"))}
    return {
        "path": path,
        "authenticated": token is not None,
        "repetitions": repetitions,
        "median_s": {k: round(v, 4) for k, v in med.items()},
        "median_total_cpu_s": round(stats.median(s["import_cpu"] + s["first_cpu"] for s in samples), 4),
        "max_total_cpu_s": round(max(s["import_cpu"] + s["first_cpu"] for s in samples), 4),
        "median_total_wall_s": round(stats.median(s["import_wall"] + s["first_wall"] for s in samples), 4),
        "modules_after_import": samples[0]["modules_after_import"],
        "heavy_after_import": samples[0]["heavy_after_import"],
    }


def import_profile(pycache: str, top: int = 10) -> dict[str, Any]:
    """`python -X importtime -c "import app"`: top imports by cumulative and self time, and by package."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=ROOT, env=_env(pycache),
                         capture_output=True, text=True, timeout=120)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), (len(m.group(3)) - 1) // 2, m.group(4)))
    total_us = next((cum for _, cum, _, name in rows if name == "app"), sum(s for s, _, _, _ in rows))
    by_package: dict[str, int] = defaultdict(int)
    for self_us, _, _, name in rows:
        by_package[name.split(".")[0]] += self_us
    cumulative = sorted((r for r in rows if r[3] != "app"), key=lambda r: -r[1])[:top]
    parents = {}
    for i, (_, _, depth, name) in enumerate(rows):
        parents[name] = next((n for _, _, d, n in rows[i + 1:] if d < depth), None)
    own = sorted(rows, key=lambda r: -r[0])[:top]
    return {
        "note": "python -X importtime adds its own overhead; use for ranking, not for the budget",
        "total_ms": round(total_us / 1000, 1),
        "top_cumulative": [{"module": n, "cumulative_ms": round(c / 1000, 1), "self_ms": round(s / 1000, 1), "depth": d}
                           for s, c, d, n in cumulative],
        "top_self": [{"module": n, "self_ms": round(s / 1000, 1), "imported_by": parents.get(n)} for s, _, _, n in own],
        "self_by_package": [{"package": p, "self_ms": round(us / 1000, 1), "share": round(us / total_us, 3) if total_us else 0}
                            for p, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]],
    }


def measure(token: str, repetitions: int = 5) -> dict[str, Any]:
    """Both variants after one discarded warm-up child, then the no-bytecode sample."""
    pycache = tempfile.mkdtemp(prefix="crm-bench-pyc-")
    empty = tempfile.mkdtemp(prefix="crm-bench-nopyc-")
    try:
        _run_child("/v1/health", None, pycache)
        health = _variant("/v1/health", None, max(3, repetitions - 2), pycache)
        authed = _variant("/v1/customers", token, repetitions, pycache)
        profile = import_profile(pycache)
        source = _run_child("/v1/customers", token, empty, write_bytecode=False)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
        shutil.rmtree(empty, ignore_errors=True)
    m = authed["median_s"]
    total_cpu = authed["median_total_cpu_s"]
    source_cpu = source["import_cpu"] + source["first_cpu"]
    return {
        "budget_cpu_s": BUDGET_CPU_S,
        "health_first": health,
        "authenticated_first": authed,
        "budget_figure": {
            "definition": "median over runs of the CPU of `import app` + first authenticated request "
                          "(GET /v1/customers as a sales rep); the parts are medians of their own",
            "import_cpu_s": round(m["import_cpu"], 4),
            "first_request_cpu_s": round(m["first_cpu"], 4),
            "total_cpu_s": round(total_cpu, 4),
            "total_wall_s": authed["median_total_wall_s"],
            "harness_cpu_s_excluded": round(m["harness_cpu"], 4),
            "repetitions": authed["repetitions"],
            "meets_budget": total_cpu <= BUDGET_CPU_S,
        },
        "without_bytecode": {
            "definition": "one sample, every module compiled from source (no .pyc available or writable)",
            "import_cpu_s": round(source["import_cpu"], 4),
            "first_request_cpu_s": round(source["first_cpu"], 4),
            "total_cpu_s": round(source_cpu, 4),
            "repetitions": 1,
            "meets_budget": source_cpu <= BUDGET_CPU_S,
        },
        "import_profile": profile,
    }


def _object(n: int) -> dict[str, Any]:
    """A custom object of 8 fields of several types (what an admin typically defines)."""
    return {"key": f"bench_{n:02d}", "label": f"自定义{n:02d}", "title_field": "title", "fields": [
        {"key": "title", "label": "标题", "type": "text", "required": True, "searchable": True},
        {"key": "amount", "label": "金额", "type": "money"}, {"key": "due", "label": "到期", "type": "date"},
        {"key": "kind", "label": "类别", "type": "select", "options": [{"code": "a", "label": "甲"}, {"code": "b", "label": "乙"}]},
        {"key": "owner_note", "label": "备注", "type": "textarea", "searchable": True},
        {"key": "phone", "label": "电话", "type": "phone"}, {"key": "done", "label": "完成", "type": "boolean"},
        {"key": "rows", "label": "明细", "type": "table", "columns": [{"key": "item", "label": "项", "type": "text"},
                                                                    {"key": "qty", "label": "数量", "type": "number"}]}]}


def by_record_types(api: Any, token: str, repetitions: int = 5) -> dict[str, Any]:
    """Cold start (import + first request) of a super admin whose tenant has the standard record
    types and one custom object, then 30 record types in all: GET /v1/meta/records builds every
    type's definition the caller may see, GET /v1/objects/<key>/records serves one of them."""
    from chalicelib import manifest

    standard = len(manifest.entities())
    pycache = tempfile.mkdtemp(prefix="crm-bench-pyc-")
    out: dict[str, Any] = {"standard_types": standard}
    made, few, many = 0, standard + 1, max(30, standard + 2)
    try:
        _run_child("/v1/health", None, pycache)
        for total in (few, many):
            while standard + made < total:
                r = api.call("ceo", "POST", "/v1/objects", _object(made))
                if r.status_code != 201:
                    raise RuntimeError(f"bench object: HTTP {r.status_code} {r.body[:200]}")
                made += 1
            meta = _variant("/v1/meta/records", token, repetitions, pycache)
            one = _variant("/v1/objects/bench_00/records", token, repetitions, pycache)
            out["few" if total == few else "many"] = {"types": total, "meta_records": meta["median_s"] | {"total_cpu": meta["median_total_cpu_s"]},
                               "object_list": one["median_s"] | {"total_cpu": one["median_total_cpu_s"]}}
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    for view in ("meta_records", "object_list"):
        a, b = out["few"][view]["total_cpu"], out["many"][view]["total_cpu"]
        out[f"{view}_ratio_many_over_few"] = round(b / a, 3) if a else None
    return out
