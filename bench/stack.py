"""The local stack the benchmark runs against, started and stopped by the benchmark.

`prepare_environment()` makes the process hermetic before anything reads settings: every
AWS_*, CRM_* and POWERTOOLS_* variable inherited from the shell is dropped (so nothing can
reach a real account), the bench's own table / bus / key file are set, and `devstack.run.configure_env`
fills in the rest for a moto server and an API server on free loopback ports.
"""
from __future__ import annotations

import contextlib
import functools
import http.client
import io
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A currently unused TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def prepare_environment(moto_port: int, api_port: int, key_dir: str) -> dict[str, str]:
    """Set this process's environment for the bench stack; returns the variables set."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "CRM_", "POWERTOOLS_")) or name == "BOTO_CONFIG":
            del os.environ[name]
    os.environ.update({
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "CRM_STAGE": "bench",
        "CRM_TABLE_NAME": "crm-bench",
        "CRM_EVENT_BUS_NAME": "crm-bench",
        "CRM_SCHEDULE_GROUP": "crm-bench",
        "CRM_ARCHIVE_BUCKET": "crm-bench-archive",
        "CRM_LOCAL_IDP_KEY_FILE": os.path.join(key_dir, "idp-key.pem"),
        "CRM_SEARCH_FILE": os.path.join(key_dir, "search.sqlite3"),
        # the bench calls far faster than people: limits it never reaches (a request's rate-limit
        # write costs the same whatever the limit)
        "CRM_RATE_LIMIT_PER_SECOND": "10000",
        "CRM_RATE_LIMIT_BURST": "100000",
        "CRM_SIGN_IN_PER_MINUTE": "10000",
    })
    from devstack.run import configure_env

    configure_env(moto_port, api_port)
    from chalicelib.core.settings import reset_settings

    reset_settings()
    return {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "CRM_", "POWERTOOLS_"))}


def child_environment() -> dict[str, str]:
    """The environment for fresh interpreters that talk to the same stack."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@dataclass
class Stack:
    """A running moto server with the resources and the demo company; optional API server."""

    moto_port: int
    api_port: int
    key_dir: str
    env: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _moto: Any = None
    _api: Any = None

    @classmethod
    def start(cls) -> "Stack":
        stack = cls(moto_port=free_port(), api_port=free_port(), key_dir=tempfile.mkdtemp(prefix="crm-bench-"))
        stack.env = prepare_environment(stack.moto_port, stack.api_port, stack.key_dir)
        try:
            stack._start_moto()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _start_moto(self) -> None:
        from devstack.run import start_moto

        t = time.perf_counter()
        self._moto = start_moto(self.moto_port)
        self.timings["moto_start_s"] = time.perf_counter() - t

        from devstack.resources import create_resources

        t = time.perf_counter()
        create_resources()
        self.timings["create_resources_s"] = time.perf_counter() - t

        from devstack.demo import seed

        t = time.perf_counter()
        seeded = seed()
        self.timings["seed_demo_s"] = time.perf_counter() - t
        if not seeded.get("created"):
            raise RuntimeError("the demo tenant already existed on a fresh moto server")
        self.users = seeded["users"]

    # ---- API server (chalice local) ------------------------------------------------------
    def start_api(self) -> None:
        """Serve the API on loopback with `devstack.run.serve_api` (quiet, TCP_NODELAY), as `make dev` does."""
        from devstack.run import serve_api

        banner = io.StringIO()
        with contextlib.redirect_stdout(banner):  # LocalDevServer prints "Serving on …"
            self._api = serve_api(self.api_port, quiet=True)
            deadline = time.monotonic() + 10
            while not self._api_healthy():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the local API server on port {self.api_port} did not become healthy")
                time.sleep(0.05)

    def _api_healthy(self) -> bool:
        conn = http.client.HTTPConnection(LOOPBACK, self.api_port, timeout=2)
        try:
            conn.request("GET", "/v1/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def set_nagle(self, enabled: bool) -> None:
        """Switch TCP_NODELAY off (Nagle on) or back on, for new connections: shows what it saves."""
        current = self._api.server.RequestHandlerClass
        handler = current.func
        if handler.disable_nagle_algorithm == (not enabled):
            return
        variant = type(handler.__name__, (handler,), {"disable_nagle_algorithm": not enabled})
        self._api.server.RequestHandlerClass = functools.partial(variant, *current.args, **current.keywords)

    def stop_api(self) -> None:
        if self._api is not None:
            try:
                self._api.shutdown()
                self._api.server.server_close()
            finally:
                self._api = None

    # ---- tokens --------------------------------------------------------------------------
    def token(self, user_key: str) -> str:
        """A local-IdP id token for one demo user (as POST /v1/auth/login would issue)."""
        from chalicelib.core.auth import issue_local_token
        from devstack.demo import TENANT

        return issue_local_token(TENANT, self.users[user_key])

    def stop(self) -> None:
        try:
            self.stop_api()
        finally:
            try:
                if self._moto is not None:
                    self._moto.stop()
                    self._moto = None
            finally:
                shutil.rmtree(self.key_dir, ignore_errors=True)


def json_body(resp: Any) -> Any:
    """The parsed body of a chalice.test response (None when empty)."""
    return json.loads(resp.body) if resp.body else None
