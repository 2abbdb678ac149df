"""Structured logs: every request line carries tenant, user and correlation id."""
from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager


@contextmanager
def json_logs():
    """The API's log lines, formatted exactly as Powertools writes them in Lambda."""
    from chalicelib.core.observability import logger

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel("INFO")
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel("WARNING")
        lines += [json.loads(x) for x in buf.getvalue().splitlines() if x.startswith("{")]


def test_given_request_with_correlation_id_when_logged_then_json_line_has_tenant_user_and_id(api, make_tenant):
    t = make_tenant()
    with json_logs() as lines:
        r = api.call("GET", "/v1/me", t["admin"], headers={"X-Correlation-Id": "corr-123"})
    assert r.headers["X-Correlation-Id"] == "corr-123"
    line = [x for x in lines if x.get("message") == "request"][-1]
    assert line["correlation_id"] == "corr-123"
    assert line["tenant_id"] == t["id"] and line["user_id"] == t["admin_id"]
    assert line["status"] == 200 and line["route"] == "/v1/me" and line["service"] == "crm"


def test_given_unauthenticated_request_when_logged_then_no_tenant_and_generated_correlation_id(api):
    with json_logs() as lines:
        r = api.call("GET", "/v1/customers")
    line = [x for x in lines if x.get("message") == "request"][-1]
    assert line["status"] == 401 and line["correlation_id"] == r.headers["X-Correlation-Id"]
    assert not line.get("tenant_id") and not line.get("user_id")


def test_given_unsafe_correlation_id_when_sent_then_replaced_not_echoed(api):
    r = api.call("GET", "/v1/health", headers={"X-Correlation-Id": "x\" injected=1 " + "y" * 300})
    assert r.headers["X-Correlation-Id"] != "" and "injected" not in r.headers["X-Correlation-Id"]
    assert len(r.headers["X-Correlation-Id"]) <= 128
