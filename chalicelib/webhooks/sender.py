"""One HTTP attempt: POST the body to the checked address, with a time limit, no redirects."""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .guard import Target

USER_AGENT = "CRM-Webhooks/1"
READ_LIMIT = 2048  # bytes of the answer read (what the log keeps of it is shorter)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


class _Pinned(http.client.HTTPSConnection):
    """An HTTP(S) connection to `address`, speaking to `host` (Host header, TLS server name and
    certificate check): the name is not looked up again after the SSRF check."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context or ssl.create_default_context())
        self._target = target

    def connect(self) -> None:
        sock = socket.create_connection((self._target.address, self._target.port), self.timeout)
        if self._target.scheme == "https":
            sock = self._context.wrap_socket(sock, server_hostname=self._target.host)
        self.sock = sock


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float,
         context: ssl.SSLContext | None = None) -> Outcome:
    started = time.perf_counter()
    conn = _Pinned(target, timeout, context)
    try:
        conn.request("POST", target.path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers})
        resp = conn.getresponse()
        resp.read(READ_LIMIT)
        code = resp.status
        error = None
        if 300 <= code < 400:
            error = f"redirect to {resp.getheader('Location') or '?'} not followed"
        elif not 200 <= code < 300:
            error = f"HTTP {code}"
    except TimeoutError:
        code, error = None, f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as e:
        code, error = None, f"{type(e).__name__}: {e}"[:300]
    finally:
        conn.close()
    return Outcome(code, int((time.perf_counter() - started) * 1000), error)
