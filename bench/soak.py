"""`python -m bench.soak [calls]` (`make soak`) — does the local stack run all day?

Starts the stack exactly as `make dev` does (devstack.run, demo data, drivers) on free loopback
ports, then makes `calls` (default 5,000) mixed API calls as the demo's rep and her supervisor:
customers created, listed, searched, read and edited, follow-ups, leave requests submitted and
approved (one approval per ten calls: 500 in a run of 5,000), reminders due a few seconds later.
It reports the stack's resident memory (the process and its children) over time, the median
latency of the first and the last 500 calls, and how late the reminders reached the inbox.

Targets (issue: the local stack runs all day): peak RSS ≤ 1 GB, last-500 p50 ≤ 1.2 × first-500
p50, every reminder within 2 s of its time.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Crm@2026!demo"
REP, SUPERVISOR = "13800000004", "13800000003"
WINDOW = 500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    pids = [pid]
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    pids += [int(x) for x in out.split()]
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS")), 0)
        except FileNotFoundError:
            continue
    return total / 1024


class Client:
    def __init__(self, url: str) -> None:
        self.url, self.http = url, requests.Session()

    def login(self, mobile: str) -> dict[str, str]:
        r = self.http.post(self.url + "/v1/auth/login", json={"tenant_id": "demo", "mobile": mobile, "password": PASSWORD},
                           timeout=30)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['id_token']}"}

    def call(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> requests.Response:
        return self.http.request(method, self.url + path, json=body, headers=headers, timeout=60)


@contextlib.contextmanager
def local_stack(name: str) -> Iterator[tuple[str, int]]:
    """The stack as `make dev` starts it (devstack.run: moto server, demo data, drivers, the API on
    loopback), on free ports, with rate limits the bench never reaches; yields the API's URL and the
    stack's process id. Its output goes to .local/<name>-stack.log."""
    api_port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "AWS_"))}
    env.update({"CRM_RATE_LIMIT_PER_SECOND": "10000", "CRM_RATE_LIMIT_BURST": "100000", "CRM_SIGN_IN_PER_MINUTE": "10000",
                "PYTHONUNBUFFERED": "1"})
    (ROOT / ".local").mkdir(exist_ok=True)
    log_path = ROOT / ".local" / f"{name}-stack.log"
    log = open(log_path, "w")  # noqa: SIM115 - the stack's own output, for a failed run
    proc = subprocess.Popen([sys.executable, "-m", "devstack.run", "--api-port", str(api_port), "--moto-port", str(moto_port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{api_port}"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the local stack exited; see {log_path}")
            try:
                if requests.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() - started > 180:
                raise RuntimeError("the local stack did not come up")
            time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run(calls: int) -> dict[str, Any]:
    with local_stack("soak") as (url, pid):
        return _soak(Client(url), pid, calls)


def _soak(c: Client, pid: int, calls: int) -> dict[str, Any]:  # noqa: C901 - one loop that reads as the scenario
    rep, boss = c.login(REP), c.login(SUPERVISOR)
    form = next(f["id"] for f in c.call("GET", "/v1/forms", rep).json()["items"] if f["code"] == "leave" and f["enabled"])
    latencies: list[float] = []
    memory: list[tuple[int, float]] = [(0, rss_mb(pid))]
    errors: dict[str, int] = {}
    reminders: dict[str, datetime] = {}
    state: dict[str, Any] = {}
    leave = {"leave_type": "annual", "start": "2026-04-01T09:00:00+08:00", "end": "2026-04-01T18:00:00+08:00", "days": 1,
             "reason": "soak"}

    def step(i: int) -> requests.Response:
        k = i % 10
        if k == 0:
            r = c.call("POST", "/v1/customers", rep, {"name": f"浸泡测试客户{i}", "level": "B", "mobile": f"137{i:08d}"})
            state["customer"] = r.json()
            return r
        if k == 1:
            return c.call("GET", "/v1/customers?limit=20", rep)
        if k == 2:
            cust = state["customer"]
            r = c.call("PATCH", f"/v1/customers/{cust['id']}", rep, {"remark": f"第 {i} 次修改", "version": cust["version"]})
            state["customer"] = r.json() if r.ok else cust
            return r
        if k == 3:
            return c.call("POST", "/v1/followups", rep, {"about": {"entity": "customer", "id": state["customer"]["id"]},
                                                         "type": "call", "content": f"电话沟通 {i}"})
        if k == 4:
            return c.call("GET", "/v1/customers?q=%E6%B5%B8%E6%B3%A1&limit=20", rep)  # q=浸泡
        if k == 5:
            r = c.call("POST", "/v1/applications", rep, {"form_id": form, "data": leave})
            state["instance"] = r.json().get("instance_id")
            return r
        if k == 6:
            return c.call("POST", f"/v1/approvals/{state['instance']}/approve", boss, {"comment": "同意"})
        if k == 7:
            due = datetime.now(UTC) + timedelta(seconds=3)
            r = c.call("POST", "/v1/reminders", rep, {"title": f"浸泡提醒 {i}", "remind_at": due.isoformat()})
            if r.ok:
                reminders[f"提醒：浸泡提醒 {i}"] = due
            return r
        if k == 8:
            return c.call("GET", f"/v1/customers/{state['customer']['id']}/related", rep)
        return c.call("GET", "/v1/notifications/unread-count", rep)

    for i in range(calls):
        t = time.perf_counter()
        r = step(i)
        latencies.append(time.perf_counter() - t)
        if r.status_code >= 400:
            errors[f"{r.request.method} {r.status_code}"] = errors.get(f"{r.request.method} {r.status_code}", 0) + 1
        if (i + 1) % 250 == 0:
            memory.append((i + 1, rss_mb(pid)))
            print(f"soak: {i + 1} calls, RSS {memory[-1][1]:.0f} MB, p50 of the last {WINDOW} "
                  f"{statistics.median(latencies[-WINDOW:]) * 1000:.1f} ms", file=sys.stderr, flush=True)
    time.sleep(5)  # the last reminders come due
    late = _lateness(c, rep, reminders)
    first, last = statistics.median(latencies[:WINDOW]), statistics.median(latencies[-WINDOW:])
    peak = max(m for _, m in memory)
    return {
        "calls": calls, "errors": errors,
        "rss_mb": [{"after_calls": n, "mb": round(m)} for n, m in memory], "peak_rss_mb": round(peak),
        "p50_ms": {"first": round(first * 1000, 1), "last": round(last * 1000, 1)}, "p50_ratio": round(last / first, 2),
        "reminders": late,
        "meets": {"rss_1gb": peak <= 1024, "p50_ratio_1_2": last / first <= 1.2,
                  "reminders_2s": late["delivered"] == late["made"] and late["max_s"] is not None and late["max_s"] <= 2},
    }


def _lateness(c: Client, rep: dict[str, str], made: dict[str, datetime]) -> dict[str, Any]:
    """How long after its time each reminder was in the inbox (the notification's creation time)."""
    seen: dict[str, float] = {}
    cursor = None
    while True:
        page = c.call("GET", "/v1/notifications?limit=100" + (f"&cursor={cursor}" if cursor else ""), rep).json()
        for n in page["items"]:
            if n["title"] in made and n["kind"] == "reminder":
                created = datetime.fromisoformat(n["created_at"].replace("Z", "+00:00"))
                seen[n["title"]] = (created - made[n["title"]]).total_seconds()
        cursor = page.get("next_cursor")
        if not cursor:
            break
    values = sorted(seen.values())
    return {"made": len(made), "delivered": len(seen), "median_s": round(statistics.median(values), 2) if values else None,
            "max_s": round(values[-1], 2) if values else None}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    calls = int(args[0]) if args else 5000
    result = run(calls)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "soak.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0 if all(result["meets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
