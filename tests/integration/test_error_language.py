"""Every validation error in one language: bad bodies sent to every POST/PATCH/PUT route and bad
query strings to every list, in zh-CN and in en. A zh-CN answer carries no English (none of
pydantic's texts), an en answer no Chinese, and each detail names its field."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.conftest import platform_token

PYDANTIC = ("Input should", "Field required", "Extra inputs", "Value error", "String should", "valid integer", "valid number",
            "could not convert", "Assertion failed", "should be", "Unable to parse")
LITERALS = {"true", "false", "JSON", "http", "https", "If", "Match", "SHA", "Base"}  # what a client types, not English
CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")


def english_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", message) if w not in LITERALS]


def _bad_bodies(model) -> list:
    names = list(getattr(model, "model_fields", {}))
    return [
        {},
        {"zz_unknown": 1},
        [],
        {n: {"x": [1]} for n in names},
        {n: -1 for n in names},
        {n: "x" * 3000 for n in names},
        {n: "2026-13-45T99:00" for n in names},
        {n: [{"zz": None}] for n in names},
        {n: None for n in names},
    ]


def _routes(methods: tuple[str, ...], with_what: str):
    from app import app  # noqa: F401 - registers every route
    from chalicelib.core.api import ROUTES

    return sorted((path, method) for (path, method), spec in ROUTES.items()
                  if method in methods and getattr(spec, with_what) is not None)


def _check(r, locale: str, where: str) -> int:
    """The answer's details and message are in `locale` only; returns the number of details checked."""
    data = r.data if isinstance(r.data, dict) else {}
    details = data.get("details") if isinstance(data.get("details"), list) else []
    texts = [d["message"] for d in details] + ([data["message"]] if data.get("message") else [])
    for d in details:
        assert isinstance(d.get("field"), str) and d.get("type") and d.get("message"), (where, d)
    for text in texts:
        assert not any(p in text for p in PYDANTIC), (where, locale, text)
        if locale == "zh-CN":
            assert not english_words(text), (where, text)
        else:
            assert not CJK.search(text), (where, text)
    return len(details)


@pytest.fixture()
def callers(api, make_tenant):
    t = make_tenant()
    return {"tenant": t["admin"], "platform": platform_token()}


def _token(spec, callers):
    if spec.public:
        return None
    return callers["platform"] if spec.tag == "platform" else callers["tenant"]


def test_given_bad_bodies_on_every_write_route_then_every_error_is_in_the_callers_language_only(api, callers):
    from chalicelib.core.api import ROUTES, resolve

    routes = _routes(("POST", "PATCH", "PUT"), "body")
    assert len(routes) > 40
    checked = 0
    for path, method in routes:
        spec = ROUTES[(path, method)]
        url = re.sub(r"{\w+}", "x1", path)
        for body in _bad_bodies(resolve(spec.body)):
            for locale in ("zh-CN", "en"):
                r = api.call(method, url, _token(spec, callers), body, headers={"Accept-Language": locale, "If-Match": '"1"'})
                assert r.status_code < 500, (method, path, body, r.data)
                checked += _check(r, locale, f"{method} {path} {str(body)[:60]}")
    assert checked > 500  # the bodies did reach validation


def test_given_bad_query_strings_on_every_list_then_every_error_is_in_the_callers_language_only(api, callers):
    from chalicelib.core.api import ROUTES

    checked = 0
    for path, method in _routes(("GET",), "query"):
        spec = ROUTES[(path, method)]
        names = list(spec.query.model_fields)
        url = re.sub(r"{\w+}", "x1", path)
        for params in ({n: "x" * 3000 for n in names}, {n: "-1" for n in names}, {n: "2026-13" for n in names}):
            for locale in ("zh-CN", "en"):
                r = api.call("GET", f"{url}?{urlencode(params)}", _token(spec, callers), headers={"Accept-Language": locale})
                assert r.status_code < 500, (path, params, r.data)
                checked += _check(r, locale, f"GET {path}")
    assert checked > 20
