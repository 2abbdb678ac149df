"""API wall time over the raw storage call it wraps: GET /v1/customers/{id} vs GetItem.

All variants read the same item from the same moto server, interleaved round by round
(the order rotates every round) so that drift and background load hit them alike:

- raw       boto3 GetItem of the item (own client, eventually consistent like the app);
- pynamodb  `store.get(…)` — the app's storage layer, no HTTP, no auth;
- inproc    chalice.test.Client GET /v1/customers/{id} — the whole app, no HTTP server;
- http      the same request over HTTP/1.1 keep-alive to the local API server
            (`devstack.run.serve_api`, Chalice's LocalDevServer);
- health    GET /v1/health over HTTP — the HTTP server + routing floor (no token, no storage);
- verify    `auth.verify(token)` alone — the RS256 token check every request pays;
- ratelimit `ratelimit.charge(tenant)` alone — the conditional UpdateItem of the tenant's
            rate-limit bucket every signed-in request pays (part of inproc and http).

The API server's connections run with TCP_NODELAY (`devstack.run.serve_api`). A short
separate loop measures the same request with TCP_NODELAY switched off (Nagle on), to show
what it saves on keep-alive connections.

Ratios are of medians (and of p95s). Everything runs in one process (moto server thread,
API server thread, client), which is how `make dev` runs too.
"""
from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any

from . import stats
from .calls import RECORDER
from .endpoints import ApiClient
from .stack import LOOPBACK, Stack

BUDGET_RATIO = 1.5
ROUNDS = 150
WARMUP = 15
NAGLE_SAMPLES = 15


class KeepAlive:
    """One persistent HTTP/1.1 connection; reconnects (and counts it) if the server closes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reconnects = 0
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)

    def get(self, path: str, headers: dict[str, str]) -> int:
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return resp.status
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest):
                self.conn.close()
                self.conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
                self.reconnects += 1
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def close(self) -> None:
        self.conn.close()


def _as_make_dev_serves(stack: Stack, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """GET over a keep-alive connection whose server side keeps Nagle's algorithm on."""
    stack.set_nagle(True)
    conn = KeepAlive(stack.api_port)
    try:
        conn.get(path, headers)  # the connection's handler now exists, with Nagle on
        stack.set_nagle(False)
        samples = []
        for _ in range(NAGLE_SAMPLES):
            t = time.perf_counter()
            if conn.get(path, headers) != 200:
                raise RuntimeError("HTTP GET failed")
            samples.append(time.perf_counter() - t)
    finally:
        stack.set_nagle(False)
        conn.close()
    return stats.summary(samples)


def run(stack: Stack, api: ApiClient) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    from chalicelib.core import auth, ratelimit
    from chalicelib.core.settings import get_settings
    from chalicelib.engine import store
    from devstack.demo import TENANT

    created = api.call("rep1", "POST", "/v1/customers", {"name": "开销基准客户", "level": "A", "industry": "it"})
    if created.status_code != 201:
        raise RuntimeError(f"overhead fixture: HTTP {created.status_code}")
    customer_id = json.loads(created.body)["id"]
    token = api.tokens["rep1"]
    path = f"/v1/customers/{customer_id}"
    headers = {"Authorization": f"Bearer {token}"}
    s = get_settings()
    pk, sk = store.record_key(TENANT, "CUSTOMER", customer_id)
    raw_client = boto3.session.Session().client("dynamodb", region_name=s.region,
                                                config=Config(retries={"max_attempts": 3, "mode": "standard"}))
    conn = KeepAlive(stack.api_port)

    def raw() -> None:
        raw_client.get_item(TableName=s.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})

    def pynamodb() -> None:
        store.get(TENANT, "CUSTOMER", customer_id, "entity.customer")

    def inproc() -> None:
        if api.http.get(path, headers=headers).status_code != 200:
            raise RuntimeError("in-process GET failed")

    def over_http() -> None:
        if conn.get(path, headers) != 200:
            raise RuntimeError("HTTP GET failed")

    def health() -> None:
        if conn.get("/v1/health", {}) != 200:
            raise RuntimeError("HTTP health failed")

    def verify() -> None:
        auth.verify(token)

    def rate_limit() -> None:
        ratelimit.charge(TENANT)

    variants: dict[str, Callable[[], None]] = {"raw": raw, "pynamodb": pynamodb, "inproc": inproc, "http": over_http,
                                               "health": health, "verify": verify, "ratelimit": rate_limit}
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    refills = {n: 0 for n in names}
    try:
        for _ in range(WARMUP):
            for fn in variants.values():
                fn()
        started = time.perf_counter()
        for r in range(ROUNDS):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                with RECORDER.record() as rec:
                    t = time.perf_counter()
                    variants[name]()
                    samples[name].append(time.perf_counter() - t)
                if "Query" in rec.operations:
                    refills[name] += 1  # the org snapshot expired (CRM_AUTHZ_CACHE_SECONDS) and was reloaded
        loop_seconds = time.perf_counter() - started
        nagle = _as_make_dev_serves(stack, path, headers)
    finally:
        conn.close()

    summ = {n: stats.summary(v) for n, v in samples.items()}
    med, p95 = ({n: summ[n][k] for n in names} for k in ("median", "p95"))
    http_ratio = stats.ratio(med["http"], med["raw"])
    return {
        "endpoint": "GET /v1/customers/{id}",
        "rounds": ROUNDS, "warmup_rounds": WARMUP, "loop_seconds": round(loop_seconds, 1),
        "ms": summ,
        "ratios": {
            "http_vs_raw_median": http_ratio,
            "http_vs_raw_p95": stats.ratio(p95["http"], p95["raw"]),
            "inproc_vs_raw_median": stats.ratio(med["inproc"], med["raw"]),
            "inproc_vs_raw_p95": stats.ratio(p95["inproc"], p95["raw"]),
            "pynamodb_vs_raw_median": stats.ratio(med["pynamodb"], med["raw"]),
            "http_without_rate_limit_vs_raw_median": stats.ratio(med["http"] - med["ratelimit"], med["raw"]),
        },
        "breakdown_ms_median": {
            "raw_getitem": med["raw"],
            "pynamodb_layer": round(med["pynamodb"] - med["raw"], 3),
            "rate_limit_write": med["ratelimit"],
            "app_without_storage_inproc": round(med["inproc"] - med["pynamodb"] - med["ratelimit"], 3),
            "of_which_token_verify": med["verify"],
            "http_server_and_client": round(med["http"] - med["inproc"], 3),
            "http_health_floor": med["health"],
        },
        "http_with_nagle_ms": nagle,
        "org_snapshot_refills": refills,
        "http_reconnects": conn.reconnects,
        "budget_ratio": BUDGET_RATIO,
        "meets_budget": http_ratio <= BUDGET_RATIO,
        "in_process_meets_budget": stats.ratio(med["inproc"], med["raw"]) <= BUDGET_RATIO,
    }
