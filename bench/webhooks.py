"""Webhooks: delivery latency from event publication to the receiver, on the local stack.

An admin of the demo company registers a webhook for `customers.customer.created` pointing at a
receiver on loopback (an http.server in a thread of the bench); RUNS customers are created one after
another through the API, and each delivery's latency is measured from the moment the create returned
(the event was published inside that request) to the moment the receiver had read the signed request.
The bus driver polls the webhooks queue as on `make dev` (every 0.25 s: the figure is mostly the
polling interval), and again every 0.02 s, which leaves the cost of the delivery itself: SQS receive,
one Query of the tenant's webhooks, loading the record as the webhook's owner, writing the delivery,
signing and POSTing. In AWS an SQS event source polls continuously (long polling): the second
figure is the closer one.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import stats
from .endpoints import ApiClient
from .stack import Stack

RUNS = 20
INTERVALS = (0.25, 0.02)  # make dev's driver interval, and a near-continuous poll


class _Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}  # customer id -> time.perf_counter() on arrival
        self.event = threading.Condition()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.perf_counter()
                self.send_response(204)
                self.end_headers()
                record = (json.loads(body).get("data") or {}).get("record") or {}
                with me.event:
                    me.arrived[record.get("id", "")] = at
                    me.event.notify_all()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/crm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, record_id: str, timeout: float = 10.0) -> float | None:
        with self.event:
            self.event.wait_for(lambda: record_id in self.arrived, timeout)
            return self.arrived.get(record_id)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _bus_loop(interval: float, stop: threading.Event) -> threading.Thread:
    from devstack.drivers import BusDriver

    def loop() -> None:
        driver = BusDriver()
        while not stop.is_set():
            driver.run_once()
            stop.wait(interval)

    t = threading.Thread(target=loop, name="bench-bus", daemon=True)
    t.start()
    return t


def run(stack: Stack, api: ApiClient, runs: int = RUNS) -> dict[str, Any]:
    receiver = _Receiver()
    out: dict[str, Any] = {"runs": runs, "intervals": {}}
    try:
        r = api.call("admin", "POST", "/v1/webhooks", {"url": receiver.url, "events": ["customers.customer.created"],
                                                       "description": "bench"})
        if r.status_code != 201:
            raise RuntimeError(f"webhooks bench: register answered HTTP {r.status_code} {r.body[:300]!r}")
        hook = json.loads(r.body)
        for interval in INTERVALS:
            stop = threading.Event()
            thread = _bus_loop(interval, stop)
            latencies, lost = [], 0
            try:
                for i in range(runs):
                    made = api.call("rep1", "POST", "/v1/customers", {"name": f"推送基准客户{interval}-{i}"})
                    published = time.perf_counter()
                    cid = json.loads(made.body)["id"]
                    arrived = receiver.wait_for(cid)
                    if arrived is None:
                        lost += 1
                    else:
                        latencies.append(arrived - published)
            finally:
                stop.set()
                thread.join(5)
            out["intervals"][str(interval)] = {"ms": stats.summary(latencies), "lost": lost}
        api.call("admin", "DELETE", f"/v1/webhooks/{hook['id']}", headers={"If-Match": f'"{hook["version"]}"'})
    finally:
        receiver.stop()
    return out


def text(w: dict[str, Any]) -> str:
    parts = [f"bus polled every {k} s: p50 {stats.fmt_ms(v['ms']['median'])}, p95 {stats.fmt_ms(v['ms']['p95'])}"
             + (f", {v['lost']} lost" if v["lost"] else "") for k, v in w["intervals"].items()]
    return f"5d. Webhooks: event published → signed request at the receiver ({w['runs']} each)\n   " + "\n   ".join(parts) + "\n"


def rows(w: dict[str, Any]) -> str:
    cells = "; ".join(f"bus polled every {k} s: **p50 {stats.fmt_ms(v['ms']['median'])}**, p95 {stats.fmt_ms(v['ms']['p95'])}"
                      for k, v in w["intervals"].items())
    return f"| Webhook delivery latency, publication → receiver (reported) | {cells} | {w['runs']} | reported |"


def main() -> None:
    """`python -m bench.webhooks`: this measurement alone, on a fresh bench stack."""
    from chalice.test import Client

    from app import app

    stack = Stack.start()
    try:
        with Client(app, stage_name="bench") as client:
            print(text(run(stack, ApiClient(stack, client.http))))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
