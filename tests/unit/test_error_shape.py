"""One error shape: the answers Chalice builds itself leave the middleware as {code, message, details}.

Each test runs a small Chalice app with the API's middleware, so the answer comes from
Chalice's own code path (405, 415, the binary Accept check, its 500 and debug trace)."""
from __future__ import annotations

import json

import pytest
from chalice import Chalice, Response
from chalice.app import error_response as chalice_error_response
from chalice.test import Client

from chalicelib.core import errors, i18n
from chalicelib.core.api import conform, error_response
from chalicelib.core.middleware import http


def _app(debug: bool = False) -> Chalice:
    app = Chalice(app_name="shape")
    app.debug = debug
    app.register_middleware(http, "http")

    @app.route("/things", methods=["GET"], content_types=["application/json"], cors=True)
    def things() -> dict:
        return {"ok": True}

    @app.route("/bytes")
    def octets() -> Response:
        return Response(body=b"\x00\x01", headers={"Content-Type": "application/octet-stream"})

    @app.route("/crash")
    def crash() -> dict:
        raise RuntimeError("secret detail of the defect")

    return app


def _body(r) -> dict:
    assert r.headers["Content-Type"].startswith("application/json")
    body = json.loads(r.body)
    assert set(body) == {"code", "message", "details"}, body
    return body


def test_given_method_the_route_lacks_when_called_then_405_in_our_shape_keeping_allow():
    with Client(_app()) as c:
        r = c.http.request("DELETE", "/things", headers={"Accept-Language": "en"})
    body = _body(r)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert body == {"code": "METHOD_NOT_ALLOWED", "message": i18n.text("METHOD_NOT_ALLOWED", "en"), "details": None}


def test_given_other_content_type_when_posting_then_415_in_our_shape_without_quoting_it():
    with Client(_app()) as c:
        r = c.http.get("/things", headers={"Content-Type": "text/x-evil<script>"})
    body = _body(r)
    assert r.status_code == 415 and body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert body["message"] == i18n.text("UNSUPPORTED_MEDIA_TYPE", "zh-CN")  # no Accept-Language: 简体中文
    assert "evil" not in r.body.decode()
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # the route's CORS headers stay


def test_given_binary_answer_and_json_accept_when_called_then_400_in_our_shape():
    with Client(_app()) as c:
        r = c.http.get("/bytes", headers={"Accept": "application/json", "Accept-Language": "en"})
    assert r.status_code == 400 and _body(r)["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("debug", [False, True])
def test_given_exception_outside_our_route_wrapper_when_called_then_500_with_request_id_and_no_trace(debug):
    with Client(_app(debug=debug)) as c:
        r = c.http.get("/crash", headers={"X-Correlation-Id": "corr-500", "Accept-Language": "en"})
    body = _body(r)
    assert r.status_code == 500 and body["code"] == "INTERNAL"
    assert body["details"] == {"request_id": "corr-500"} and "corr-500" in body["message"]
    assert "secret detail" not in r.body.decode() and "Traceback" not in r.body.decode()


def test_given_middleware_defect_when_called_then_500_in_our_shape(monkeypatch):
    from chalicelib.core import middleware

    def broken(*_args):
        raise KeyError("claims")

    monkeypatch.setattr(middleware, "_serve", broken)
    with Client(_app()) as c:
        r = c.http.get("/things")
    body = _body(r)
    assert r.status_code == 500 and body["code"] == "INTERNAL"
    assert body["details"]["request_id"] == r.headers["X-Correlation-Id"]


def test_given_answer_already_in_our_shape_when_conformed_then_unchanged():
    ours = error_response(errors.NotFound(entity="entity.customer"), "en")
    assert conform(ours, "zh-CN") is ours
    ok = Response(body={"Code": "not an error"}, status_code=200)
    assert conform(ok, "en") is ok


@pytest.mark.parametrize("status,code", [(400, "BAD_REQUEST"), (403, "REQUEST_FORBIDDEN"), (404, "ROUTE_NOT_FOUND"),
                                         (405, "METHOD_NOT_ALLOWED"), (413, "PAYLOAD_TOO_LARGE"),
                                         (415, "UNSUPPORTED_MEDIA_TYPE"), (418, "BAD_REQUEST"), (429, "RATE_LIMITED"),
                                         (500, "INTERNAL"), (502, "INTERNAL"), (504, "TIMEOUT")])
def test_given_chalice_error_of_a_status_when_conformed_then_the_status_stays_with_our_code(status, code):
    out = conform(chalice_error_response("Unsupported: Authorization=secret", "Whatever", status), "en", "rid-1")
    body = json.loads(out.body)
    assert out.status_code == status and body["code"] == code and "secret" not in out.body
    assert body["message"] == i18n.text(code, "en", request_id="rid-1")
