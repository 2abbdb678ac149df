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
LITERALS = {"true", "false", "JSON", "http", "https", "If", "Match", "SHA", "Base", "TOTP", "Accept"}  # what a client types, not English
CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")


MEDIA_TYPE = re.compile(r"\b[a-z]+/[a-z0-9.+-]+\b")  # application/pdf, as a client sends it in Accept


def english_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]{2,}", MEDIA_TYPE.sub("", message)) if w not in LITERALS]


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


def test_given_the_wrong_kind_of_caller_on_every_route_then_the_refusal_is_in_the_callers_language_only(api, callers):
    """A tenant user on a platform route, a platform operator on a tenant route: the middleware's 403
    names no raw route tag or HTTP method."""
    from chalicelib.core.api import ROUTES

    refused = 0
    for (path, method), spec in sorted(ROUTES.items()):
        if spec.public:
            continue
        wrong = callers["tenant"] if spec.tag == "platform" else callers["platform"]
        url = re.sub(r"{\w+}", "x1", path)
        for locale in ("zh-CN", "en"):
            r = api.call(method, url, wrong, {} if method in ("POST", "PATCH", "PUT") else None,
                         headers={"Accept-Language": locale, "If-Match": '"1"'})
            assert r.status_code == 403, (method, path, r.status_code, r.data)
            _check(r, locale, f"{method} {path}")
            refused += 1
    assert refused > 500


def test_given_a_user_with_few_rights_on_every_tenant_route_then_every_error_is_in_the_callers_language_only(api, sales_team):
    """A service agent (list and read only) reading and deleting everywhere: the 403s and 404s they meet
    name modules, actions and record types in their language."""
    from chalicelib.core.api import ROUTES

    agent, seen = sales_team["tokens"]["agent"], set()
    for (path, method), spec in sorted(ROUTES.items()):
        if spec.public or spec.tag == "platform" or method not in ("GET", "DELETE"):
            continue
        url = re.sub(r"{\w+}", "x1", path)
        for locale in ("zh-CN", "en"):
            r = api.call(method, url, agent, headers={"Accept-Language": locale, "If-Match": '"1"'})
            assert r.status_code < 500, (method, path, r.data)
            if r.status_code >= 400 and isinstance(r.data, dict):
                _check(r, locale, f"{method} {path}")
                seen.add(r.status_code)
    assert {403, 404} <= seen


def _raised_errors():
    """Every `raise Forbidden(...)` / `raise NotFound(...)` in chalicelib whose arguments are literals (or a
    module's string constant): (where, exception). Other arguments become a neutral "1"."""
    import ast
    import pathlib

    from chalicelib.core import errors

    root = pathlib.Path(__file__).resolve().parents[2] / "chalicelib"
    found = []
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                  and isinstance(n.value.value, str) for t in n.targets if isinstance(t, ast.Name)}

        def value(node, consts=consts):
            if isinstance(node, ast.Constant):
                return node.value
            if isinstance(node, ast.Name) and node.id in consts:
                return consts[node.id]
            if isinstance(node, ast.JoinedStr):  # f"module.{MODULE}"
                parts = [value(v.value) if isinstance(v, ast.FormattedValue) else v.value for v in node.values]
                return "".join(parts) if all(isinstance(x, str) for x in parts) else None
            return None

        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name)
                    and node.exc.func.id in ("Forbidden", "NotFound")):
                continue
            call, cls = node.exc, getattr(errors, node.exc.func.id)
            args = [value(a) for a in call.args]
            if any(a is None for a in args) or any(k.arg is None for k in call.keywords):
                continue  # a name only known at run time (a record type's name key)
            kwargs = {k.arg: (value(k.value) if value(k.value) is not None else "1") for k in call.keywords}
            if "details" in kwargs:
                kwargs["details"] = None
            found.append((f"{file.relative_to(root)}:{node.lineno}", cls(*args, **kwargs)))
    return found


def test_given_every_forbidden_and_not_found_raised_in_the_code_then_its_message_is_in_one_language():
    """The class of `没有权限执行此操作（platform：POST）`: an error built from raw identifiers shows them."""
    from chalicelib import manifest

    manifest.install()  # the modules' own texts
    raised = _raised_errors()
    assert len(raised) > 30
    for where, error in raised:
        for locale in ("zh-CN", "en"):
            message = error.message(locale)
            assert "{" not in message and error.code not in message, (where, message)
            if locale == "zh-CN":
                assert not english_words(message), (where, message)
            else:
                assert not CJK.search(message), (where, message)


def test_given_a_tenant_user_restoring_a_backup_then_the_refusal_says_it_is_for_platform_operators_in_one_language(api, sales_team):
    for who in (sales_team["admin"], sales_team["tokens"]["rep1"]):
        zh = api.call("POST", "/v1/backups/b1/restore", who, {"target_tenant_id": "x"}, headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 403 and zh.data["code"] == "PLATFORM_ONLY", zh.data
        assert zh.data["message"] == "仅平台运维人员可执行此操作"
        en = api.call("POST", "/v1/backups/b1/restore", who, {"target_tenant_id": "x"}, headers={"Accept-Language": "en"})
        assert en.data["message"] == "Only platform operators may do this"
    mine = api.call("GET", "/v1/customers", platform_token(), headers={"Accept-Language": "zh-CN"})
    assert mine.status_code == 403 and mine.data["code"] == "TENANT_ONLY" and "平台运维账号" in mine.data["message"]
