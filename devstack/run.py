"""`make dev`: the whole product on this machine, no Docker.

Starts a moto server (Step Functions execution on) on loopback, creates every resource
from the stack's own definitions, seeds the demo company, runs the local drivers, and
serves the API with Chalice's local server. Ctrl-C stops everything.

    python -m devstack.run [--api-port 8000] [--moto-port 5005] [--no-demo] [--localstack URL]

With --localstack (or CRM_LOCALSTACK_URL; `make dev LOCALSTACK=http://localhost:4566`) no moto
server starts: the resources are created in that LocalStack and every client comes from
localstack-client sessions (chalicelib/ports); the moto-only patches are not applied.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def configure_env(moto_port: int, api_port: int, localstack: str | None = None) -> None:
    """Environment of the local stack (explicit values in the environment win)."""
    defaults = {
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "ap-southeast-1",
        "CRM_STAGE": "local", "CRM_REGION": "ap-southeast-1", "CRM_TABLE_NAME": "crm-local",
        "CRM_IDENTITY_PROVIDER": "local", "CRM_LOCAL_IDP_KEY_FILE": str(ROOT / ".local" / "idp-key.pem"),
        "CRM_JWT_ISSUER": f"http://127.0.0.1:{api_port}/local-idp",
        "CRM_MFA_DEFAULT": "optional",  # tenants made on the local stack sign in with a password until their admin requires MFA
        "CRM_SEARCH_FILE": str(ROOT / ".local" / "search-local.sqlite3"),
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
        # page cursors are signed per run: the moto server starts empty, so no cursor outlives its data
        "CRM_CURSOR_SECRET": secrets.token_urlsafe(32),
        # webhooks point at receivers on this machine only (in AWS the SSRF guard refuses loopback, allows public https)
        "CRM_WEBHOOK_ALLOW_LOOPBACK": "true", "CRM_WEBHOOK_LOOPBACK_ONLY": "true",
    }
    for k, v in defaults.items():
        os.environ.setdefault(k, v)
    if localstack:  # LocalStack instead of moto: one endpoint for every service (localstack-client reads it too)
        os.environ["CRM_LOCALSTACK_URL"] = localstack
        os.environ["AWS_ENDPOINT_URL"] = localstack
        return
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"


def fresh_search_index() -> None:
    """The moto server starts empty every time, so the embedded index must too (a file left
    by the last run would list records that no longer exist)."""
    if not os.environ.get("CRM_OPENSEARCH_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(os.environ["CRM_SEARCH_FILE"] + suffix).unlink(missing_ok=True)


def _keep_alive_handler() -> type:
    """moto's request handler with HTTP/1.1 keep-alive, as AWS endpoints keep connections.

    Werkzeug's server answers every request with `Connection: close` (http.server cannot tell where
    an unread request body ends) and, after each response, reads whatever the socket holds: with
    keep-alive that would swallow the client's next request. Here a request with a Content-Length
    is read whole before moto sees it (moto reads it whole anyway), werkzeug's after-response read
    gets an empty stream, and the connection stays open; anything else (a chunked body, an
    HTTP/1.0 client, a body shorter than announced) is answered and closed as before. Responses
    without a Content-Length go chunked (werkzeug does so under HTTP/1.1). TCP_NODELAY: werkzeug
    writes headers and body separately, which Nagle's algorithm would hold back for the
    client's delayed ACK on a kept connection."""
    import io

    from moto.server import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        _keep = False

        def run_wsgi(self) -> None:
            self._keep = False
            socket_input = self.rfile
            try:
                super().run_wsgi()
            finally:
                self.rfile = socket_input
            if not self._keep:
                self.close_connection = True

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            if self.request_version != "HTTP/1.1":
                self.protocol_version = "HTTP/1.0"  # no chunked responses to a client that cannot read them
                return environ
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return environ
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return environ
            if length < 0:
                return environ
            body = self.rfile.read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if len(body) == length:
                self.rfile = io.BytesIO()  # what werkzeug drains after the response: the socket keeps the next request
                self._keep = True
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            if self._keep and keyword.lower() == "connection" and value.lower() == "close":
                return
            super().send_header(keyword, value)

    return KeepAliveHandler


def refuse_expired_links(app: Any, now: Any = None) -> Any:
    """WSGI: a presigned request (SigV4's X-Amz-Date and X-Amz-Expires, or SigV2's Expires) past its expiry is refused
    as S3 refuses it — 403 AccessDenied "Request has expired" — instead of being served: moto checks
    neither the signature nor the expiry of a presigned URL, so on the local stack a link would work
    forever. (The signature stays unchecked.) `now`: the clock, for tests."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs

    clock_ = now or (lambda: datetime.now(UTC))

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING", "")
        if "Expires=" in query:
            params = parse_qs(query)
            try:
                if "X-Amz-Expires" in params:  # SigV4 (what the app signs with): signed at X-Amz-Date, valid so many seconds
                    signed = datetime.strptime(params["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                    expires = signed + timedelta(seconds=int(params["X-Amz-Expires"][0]))
                elif "AWSAccessKeyId" in params:  # SigV2 query auth: Expires is the moment itself
                    expires = datetime.fromtimestamp(int(params["Expires"][0]), UTC)
                else:
                    return app(environ, start_response)
            except (KeyError, ValueError, OverflowError, OSError):
                return app(environ, start_response)
            if clock_() > expires:
                body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                        "<Message>Request has expired</Message>"
                        f"<Expires>{expires:%Y-%m-%dT%H:%M:%SZ}</Expires></Error>").encode()
                start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
                return [body]
        return app(environ, start_response)

    return wrapped


def _keep_alive_server(base: type) -> type:
    """moto's ThreadedMotoServer serving with `_keep_alive_handler()`, expired presigned links refused."""
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    handler = _keep_alive_handler()

    class Server(base):
        def _server_entry(self) -> None:
            app = refuse_expired_links(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=handler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server


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

    server = _keep_alive_server(ThreadedMotoServer)(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    import json
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/config", method="POST",
                                 data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    return server


def _server_class() -> type:
    from chalice.local import ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        # socketserver listens with a backlog of 5: a burst of new connections (twenty clients at once)
        # overflows it and the dropped SYNs are retried a second later
        request_queue_size = 128

    return Server


def serve_api(port: int, quiet: bool = False):
    """Chalice's local server on loopback, threaded.

    Its connections run with TCP_NODELAY: the server writes headers and body separately,
    and with Nagle's algorithm on every keep-alive response waited ~40 ms for the
    client's delayed ACK.

    What API Gateway answers before the Lambda runs (an unknown route, a body over its
    limit, any method) is answered here in the API's error shape, as the stack's gateway
    responses do in AWS (infra/components/api.py), instead of Chalice's 403 (which quotes
    the caller's Authorization header) or http.server's HTML pages."""
    from chalice.config import Config
    from chalice.local import ChaliceRequestHandler, LocalDevServer, LocalGatewayException, RouteMatcher

    from app import app
    from chalicelib.core import i18n, ids
    from chalicelib.core.api import error_response
    from chalicelib.core.errors import DomainError, Internal, LengthRequired, PayloadTooLarge, RouteNotFound, for_status
    from chalicelib.core.settings import get_settings

    routes = RouteMatcher(list(app.routes))
    max_bytes = get_settings().max_request_bytes

    class Handler(ChaliceRequestHandler):
        disable_nagle_algorithm = True

        def __getattr__(self, name: str) -> Any:
            # http.server answers a method it has no do_<METHOD> for (TRACE, CONNECT, PROPFIND, …) with a
            # 501 page of its own; API Gateway takes any method to the route (405 when the route lacks it).
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

        def handle_expect_100(self) -> bool:
            return not self._refused_body() and super().handle_expect_100()

        def _generic_handle(self) -> None:
            if self._refused_body():
                return
            try:
                routes.match_route(self.path)
            except ValueError:
                self._parse_payload()  # read (at most max_bytes) so the connection can serve the next request
                self._send_error(RouteNotFound())
                return
            try:
                super()._generic_handle()
            except (ConnectionError, TimeoutError):
                raise
            except Exception:  # a defect between the socket and the app (which answers its own): a 500, not a dropped connection
                self.log_error("unhandled error: %s", traceback.format_exc())
                self._send_error(Internal(request_id=ids.new_id()), close=True)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def _refused_body(self) -> bool:
            """Answer a body that will not be read (413 over the limit, 411 chunked, 400 a bad
            Content-Length) and close the connection; False when the body may be read."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._send_error(LengthRequired(), close=True)
                return True
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._send_error(DomainError(), close=True)
                return True
            if length > max_bytes:
                self._send_error(PayloadTooLarge(details={"max_bytes": max_bytes}), close=True)
                return True
            return False

        def _send_error_response(self, error: LocalGatewayException) -> None:
            self._send_error(for_status(error.CODE, ids.new_id()))  # the local gateway's own answers (authorizers)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's answers to a request it cannot parse (request line, headers, version)
            self.log_error("code %d, message %s", code, message)
            self._send_error(for_status(int(code), ids.new_id()), close=True)

        def _send_error(self, err: DomainError, close: bool = False) -> None:
            headers = getattr(self, "headers", None)
            response = error_response(err, i18n.pick_locale(headers.get("Accept-Language") if headers else None))
            out = response.to_dict()
            if close:
                self.close_connection = True
                out["headers"]["Connection"] = "close"
            self._send_http_response(err.status, out["headers"], out["body"])

        def _send_http_response_with_body(self, code: int, headers: dict, body: str | bytes) -> None:
            if self.command != "HEAD":
                return super()._send_http_response_with_body(code, headers, body)
            # a HEAD answer has the headers of the full one and no body (RFC 9110 §9.3.2)
            self.send_response(code)
            self.send_header("Content-Length", str(len(body.encode() if isinstance(body, str) else body)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            if not quiet:
                super().log_message(format, *args)

    config = Config.create(chalice_stage="local", app_name="crm", chalice_app=app, lambda_timeout=30)
    _Server = _server_class()
    server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=Handler, server_cls=_Server)
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
    ap.add_argument("--localstack", default=os.environ.get("CRM_LOCALSTACK_URL") or None, metavar="URL",
                    help="use a running LocalStack (e.g. http://localhost:4566) instead of starting a moto server")
    ap.add_argument("--driver-interval", type=float, default=0.25)
    ap.add_argument("--opensearch", action="store_true",
                    help="search with a real OpenSearch node (devstack/opensearch.py) instead of the embedded engine")
    args = ap.parse_args(argv)

    configure_env(args.moto_port, args.api_port, args.localstack)
    sys.path.insert(0, str(ROOT))
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: every thread's stack to stderr
    node = None
    if args.opensearch:
        from devstack import opensearch

        node = opensearch.start()
        os.environ["CRM_OPENSEARCH_URL"] = node.url
    fresh_search_index()
    moto = None if args.localstack else start_moto(args.moto_port)
    from devstack.drivers import DriverLoop
    from devstack.resources import create_resources

    create_resources()
    demo = None
    if not args.no_demo:
        from devstack.demo import seed

        demo = seed()
    from chalicelib import manifest
    from chalicelib.engine import family

    manifest.install()
    family.backfill_all()  # records written before the family index (gsi5) get its keys: each 360 is one Query
    drivers = DriverLoop(args.driver_interval)
    drivers.catch_up()  # the demo is indexed (and its schedules armed) before the first request
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
    if moto is not None:
        moto.stop()
    if node:
        node.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
