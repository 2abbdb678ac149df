"""The local stack, started exactly as `make dev` starts it, on free loopback ports."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, body=None, headers: dict | None = None) -> requests.Response:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url + path, json=body, headers=h, timeout=30)

    def login(self, mobile: str, tenant: str = "demo", password: str = "Crm@2026!demo") -> str:
        r = self.call("POST", "/v1/auth/login", body={"tenant_id": tenant, "mobile": mobile, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["id_token"]

    @staticmethod
    def eventually(check, timeout: float = 5.0, every: float = 0.02):
        """The first truthy `check()` within `timeout` (the stack's drivers work on their own
        tick: the index, schedules and executions follow a write), else the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            got = check()
            if got or time.monotonic() > deadline:
                return got
            time.sleep(every)

    def platform_token(self) -> str:
        out = subprocess.run([sys.executable, "-m", "devstack.token", "--platform", "--api-port", self.env["CRM_API_PORT"]],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, check=True)
        return out.stdout.strip()


@pytest.fixture(scope="session")
def stack():
    api_port, moto_port = _free_port(), _free_port()
    workdir = tempfile.mkdtemp(prefix="crm-e2e-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "AWS_"))}
    env.update({"CRM_API_PORT": str(api_port), "CRM_MOTO_PORT": str(moto_port),
                "CRM_LOCAL_IDP_KEY_FILE": os.path.join(workdir, "idp-key.pem"), "PYTHONUNBUFFERED": "1",
                "CRM_SEARCH_FILE": os.path.join(workdir, "search.sqlite3"),
                # the suite (the fuzzer above all) calls faster than people and signs the demo users in
                # again and again: default limits it never reaches; test_rate_limits_local_stack.py gives
                # a tenant of its own a tiny one
                "CRM_RATE_LIMIT_PER_SECOND": "10000", "CRM_RATE_LIMIT_BURST": "100000", "CRM_SIGN_IN_PER_MINUTE": "10000",
                # a long-poll the fuzzer happens to make waits a second, not twenty
                "CRM_MESSAGES_POLL_MAX_WAIT_SECONDS": "1",
                "CRM_PASSWORD_COST": "4",  # the demo users and every sign-in hash a password: the cheap test cost
                # the demo's forgotten customers are recycled by their schedules this soon after start (make dev: 600 s)
                "CRM_DEMO_RECYCLE_AFTER_SECONDS": "20"})
    log = open(os.path.join(workdir, "stack.log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "devstack.run", "--api-port", str(api_port), "--moto-port", str(moto_port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"local stack exited: {Path(log.name).read_text()[-3000:]}")
            try:
                if requests.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"local stack did not start: {Path(log.name).read_text()[-3000:]}")
            time.sleep(0.5)
        yield Stack(url, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
