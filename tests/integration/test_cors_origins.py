"""The API answers CORS for the configured origins only (CRM_CORS_ORIGINS; infra: the web_origins context)."""
from __future__ import annotations

from chalicelib.core import cors
from chalicelib.core.settings import environment

ORIGINS = "https://app.example.com,https://admin.example.com"


def _get(api, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    return api.call("GET", "/v1/me", headers=headers)


def test_given_configured_origins_when_a_listed_origin_calls_then_it_is_echoed_and_varies(api):
    with environment(CRM_CORS_ORIGINS=ORIGINS):
        for origin in ("https://app.example.com", "https://admin.example.com"):
            r = _get(api, origin)
            assert r.headers["Access-Control-Allow-Origin"] == origin
            assert r.headers["Vary"] == "Origin"
            assert "X-Correlation-Id" in r.headers["Access-Control-Expose-Headers"]


def test_given_configured_origins_when_another_origin_calls_then_no_cors_header_is_sent(api):
    with environment(CRM_CORS_ORIGINS=ORIGINS):
        for origin in ("https://evil.example.net", None):
            r = _get(api, origin)
            assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers
            assert r.status_code == 401  # the answer itself is unchanged: CORS only decides what a browser page may read


def test_given_no_configuration_when_any_origin_calls_then_every_origin_is_allowed(api):
    r = _get(api, "https://anywhere.example.org")
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_given_configured_origins_when_routes_are_declared_then_preflights_name_the_first_origin():
    with environment(CRM_CORS_ORIGINS=ORIGINS):
        config = cors.route_config()
        assert config.allow_origin == "https://app.example.com"
        assert "Idempotency-Key" in config.allow_headers and "Authorization" in config.allow_headers
    assert cors.route_config().allow_origin == "*"
