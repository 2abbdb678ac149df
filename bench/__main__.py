"""`python -m bench` — run every measurement, print the report, write results.json / .md.

Order matters: cold start, per-endpoint round trips, API overhead and the approvals run
while the table holds only the demo company (moto walks the whole table on every GSI
Query); the list-page measurement then grows the tenant to ~1k and ~10k customers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="directory for results.json and results.md (default: bench/)")
    ap.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters for the authenticated cold start")
    ap.add_argument("--large", type=int, default=10000, help="customers in the tenant for the large list measurement")
    ap.add_argument("--search-large", type=int, default=100000, help="records for the large search measurement")
    ap.add_argument("--no-opensearch", action="store_true", help="measure search on the embedded engine only")
    ap.add_argument("--dashboard-records", type=int, default=100000, help="contracts and payments for the dashboard measurement")
    ap.add_argument("--import-rows", type=int, default=100000, help="customers in the import measurement's CSV")
    ap.add_argument("--export-records", type=int, default=100000, help="customers in the export measurement")
    ap.add_argument("--calendar-events", type=int, default=10000, help="events in the tenant for the calendar measurement")
    ap.add_argument("--latency-rounds", type=int, default=20, help="calls of each route in the local-stack latency measurement")
    ap.add_argument("--approval-runs", type=int, default=16,
                    help="approvals of the two-step flow (the longer flows run half as many)")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    from . import approvals, coldstart, dashboard, deals, endpoints, exports, imports, lifecycle, lists, overhead, report, search
    from . import webhooks as webhook_bench
    from .calls import RECORDER
    from .stack import Stack

    print("bench: starting moto server, resources and demo data …", file=sys.stderr, flush=True)
    stack = Stack.start()
    setup_seconds = time.perf_counter() - started
    try:
        from chalice.test import Client

        from app import app
        from chalicelib.core.settings import get_settings
        from devstack.demo import TENANT

        RECORDER.install()
        results: dict = {}
        print("bench: 1/6 cold start (fresh interpreters) …", file=sys.stderr, flush=True)
        results["cold_start"] = coldstart.measure(stack.token("rep1"), repetitions=args.cold_runs)
        with Client(app, stage_name="bench") as client:
            api = endpoints.ApiClient(stack, client.http)
            print("bench: 1/6 cold start with 5 and with 30 record types …", file=sys.stderr, flush=True)
            results["cold_start"]["by_record_types"] = coldstart.by_record_types(api, stack.token("ceo"),
                                                                                repetitions=args.cold_runs)
            print("bench: 2/6 round trips per endpoint …", file=sys.stderr, flush=True)
            results["round_trips"] = endpoints.run(stack, api)
            print("bench: 3/6 API overhead over the raw GetItem …", file=sys.stderr, flush=True)
            stack.start_api()
            try:
                results["overhead"] = overhead.run(stack, api)
            finally:
                stack.stop_api()
            print("bench: 4/6 approvals on Step Functions …", file=sys.stderr, flush=True)
            results["approvals"] = approvals.run(stack, api, runs=args.approval_runs)
            print("bench: 4b/6 customer lifecycle: 360 with 200 related, pool timer, concurrent claims …", file=sys.stderr, flush=True)
            results["lifecycle"] = lifecycle.run(stack, api)
            print(f"bench: 4c/6 deals: a contract from submit to approved, {deals.PAYERS} payments at once …", file=sys.stderr, flush=True)
            results["deals"] = deals.run(stack, api)
            print("bench: 4d/6 webhooks: event published -> signed request at a loopback receiver …", file=sys.stderr, flush=True)
            results["webhooks"] = webhook_bench.run(stack, api)
            print(f"bench: 5/6 list pages at ~1k and ~{args.large} customers …", file=sys.stderr, flush=True)
            results["lists"] = lists.run(api, stack.users, TENANT, sizes=(1000, args.large))
        print(f"bench: 5b/6 import of {args.import_rows} customers (CSV, duplicate checks on) …", file=sys.stderr, flush=True)
        results["import"] = imports.run(stack, args.import_rows)
        print(f"bench: 6/6 search: indexing and queries at 10k and {args.search_large} records …", file=sys.stderr, flush=True)
        results["search"] = search.run(sizes=(10000, args.search_large), opensearch=not args.no_opensearch)
        print(f"bench: 6b/6 dashboard of a director at {args.dashboard_records} contracts and payments …", file=sys.stderr, flush=True)
        results["dashboard"] = dashboard.run(args.dashboard_records, args.dashboard_records, opensearch=not args.no_opensearch)
        print(f"bench: 6c/6 exports of {args.export_records} customers to XLSX and CSV …", file=sys.stderr, flush=True)
        results["exports"] = exports.run(args.export_records)
        print("bench: 6d/6 bulk mail to 10,000 contacts (enqueue, send throughput) …", file=sys.stderr, flush=True)
        from . import mail as mail_bench

        results["mail"] = mail_bench.run_isolated()
        from . import calendar as calendar_bench

        print(f"bench: 6e/6 calendar: a department's week and conflict checks at {args.calendar_events} events …", file=sys.stderr, flush=True)
        results["calendar"] = calendar_bench.run(args.calendar_events)
        from . import latency

        print("bench: 6f/6 every API call on the local stack as make dev runs it (demo size) …", file=sys.stderr, flush=True)
        results["latency"] = latency.run(args.latency_rounds)
        results["meta"] = {
            "started": started_at,
            "platform": f"{platform.system()} {platform.machine()}",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "moto": _version("moto"), "boto3": _version("boto3"), "pynamodb": _version("pynamodb"), "chalice": _version("chalice"),
            "authz_cache_seconds": get_settings().authz_cache_seconds,
            "powertools_trace_disabled": os.environ.get("POWERTOOLS_TRACE_DISABLED", ""),
            "setup_seconds": round(setup_seconds, 1),
            "stack_timings_s": {k: round(v, 2) for k, v in stack.timings.items()},
            "loopback_only": True,
        }
    finally:
        RECORDER.uninstall()
        stack.stop()
    results["meta"]["total_seconds"] = round(time.perf_counter() - started, 1)
    results["findings"] = report.findings(results)

    args.out.mkdir(parents=True, exist_ok=True)
    ordered = {k: results[k] for k in ("meta", "cold_start", "round_trips", "lists", "overhead", "approvals", "lifecycle", "deals", "webhooks", "import",
                                       "search", "dashboard", "exports", "mail", "calendar", "latency", "findings") if k in results}
    (args.out / "results.json").write_text(json.dumps(ordered, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(report.markdown(results), encoding="utf-8")
    print(report.text(results))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
