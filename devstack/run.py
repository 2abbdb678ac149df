"""`make dev`: the whole product on this machine, no Docker.

Starts a moto server (Step Functions execution on) on loopback, creates every resource
from the stack's own definitions, seeds the demo company, runs the local drivers, and
serves the API with Chalice's local server. Ctrl-C stops everything.

    python -m devstack.run [--api-port 8000] [--moto-port 5005] [--no-demo]
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure_env(moto_port: int, api_port: int) -> None:
    """Environment of the local stack (explicit values in the environment win)."""
    defaults = {
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "ap-southeast-1",
        "CRM_STAGE": "local", "CRM_REGION": "ap-southeast-1", "CRM_TABLE_NAME": "crm-local",
        "CRM_IDENTITY_PROVIDER": "local", "CRM_LOCAL_IDP_KEY_FILE": str(ROOT / ".local" / "idp-key.pem"),
        "CRM_JWT_ISSUER": f"http://127.0.0.1:{api_port}/local-idp",
        "CRM_SEARCH_FILE": str(ROOT / ".local" / "search-local.sqlite3"),
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
        # page cursors are signed per run: the moto server starts empty, so no cursor outlives its data
        "CRM_CURSOR_SECRET": secrets.token_urlsafe(32),
    }
    for k, v in defaults.items():
        os.environ.setdefault(k, v)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"


def fresh_search_index() -> None:
    """The moto server starts empty every time, so the embedded index must too (a file left
    by the last run would list records that no longer exist)."""
    if not os.environ.get("CRM_OPENSEARCH_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(os.environ["CRM_SEARCH_FILE"] + suffix).unlink(missing_ok=True)


def start_moto(port: int):
    import logging

    from moto.server import ThreadedMotoServer

    from devstack.moto_patches import patch_dynamodb

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    patch_dynamodb()
    # Step Functions tasks that call AWS (aws-sdk:dynamodb:updateItem, events:putEvents) run
    # inside this process and reach moto at http://localhost:{MOTO_PORT} (moto.settings
    # moto_server_port(), default 5000): point them at this server.
    os.environ["MOTO_PORT"] = str(port)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    import json
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/config", method="POST",
                                 data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    return server


def serve_api(port: int, quiet: bool = False):
    """Chalice's local server on loopback, threaded.

    Its connections run with TCP_NODELAY: the server writes headers and body separately,
    and with Nagle's algorithm on every keep-alive response waited ~40 ms for the
    client's delayed ACK."""
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer

    from app import app

    class Handler(ChaliceRequestHandler):
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            if not quiet:
                super().log_message(format, *args)

    config = Config.create(chalice_stage="local", app_name="crm", chalice_app=app, lambda_timeout=30)
    server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=Handler)
    thread = threading.Thread(target=server.serve_forever, name="crm-api", daemon=True)
    thread.start()
    return server


def banner(api_port: int, demo: dict | None) -> str:
    from devstack.demo import APPLICANT, APPROVER, BY_KEY, PASSWORD, TENANT, USERS

    url = f"http://127.0.0.1:{api_port}"
    lines = [
        "", "CRM local stack is up", f"  API:      {url}/v1   (OpenAPI: {url}/openapi.json)",
        f"  Search:   {os.environ.get('CRM_OPENSEARCH_URL') or 'embedded engine, ' + os.environ.get('CRM_SEARCH_FILE', '')}",
        f"  Tenant:   {TENANT}    password of every demo user: {PASSWORD}", "  Demo users (mobile -> name, role):",
    ]
    for _, name, mobile, _, roles, _, _ in USERS:
        lines.append(f"    {mobile}  {name}  {', '.join(roles)}")
    if demo is not None:
        approver, applicant = BY_KEY[APPROVER], BY_KEY[APPLICANT]
        lines.append(f"  Approvals: sign in as {approver[2]} ({approver[1]}) to approve {applicant[1]}'s pending 请假 "
                     f"(GET /v1/approvals?box=pending); forms 请假/费用报销 and the 合同审批 flow are ready")
    lines += [
        "  Get a token:",
        f"    curl -s -X POST {url}/v1/auth/login -H 'Content-Type: application/json' \\",
        f"      -d '{{\"tenant_id\":\"{TENANT}\",\"mobile\":\"13800000004\",\"password\":\"{PASSWORD}\"}}'",
        "  then send it as 'Authorization: Bearer <id_token>'.  Ctrl-C stops the stack.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api-port", type=int, default=int(os.environ.get("CRM_API_PORT", 8000)))
    ap.add_argument("--moto-port", type=int, default=int(os.environ.get("CRM_MOTO_PORT", 5005)))
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--driver-interval", type=float, default=0.25)
    ap.add_argument("--opensearch", action="store_true",
                    help="search with a real OpenSearch node (devstack/opensearch.py) instead of the embedded engine")
    args = ap.parse_args(argv)

    configure_env(args.moto_port, args.api_port)
    sys.path.insert(0, str(ROOT))
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: every thread's stack to stderr
    node = None
    if args.opensearch:
        from devstack import opensearch

        node = opensearch.start()
        os.environ["CRM_OPENSEARCH_URL"] = node.url
    fresh_search_index()
    moto = start_moto(args.moto_port)
    from devstack.drivers import DriverLoop
    from devstack.resources import create_resources

    create_resources()
    demo = None
    if not args.no_demo:
        from devstack.demo import seed

        demo = seed()
    drivers = DriverLoop(args.driver_interval)
    drivers.start()
    api = serve_api(args.api_port)
    print(banner(args.api_port, demo), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set():
        time.sleep(0.2)
    drivers.stop()
    api.shutdown()
    moto.stop()
    if node:
        node.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
