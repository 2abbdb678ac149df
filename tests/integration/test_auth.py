"""Authentication: every route but the public ones needs a valid, current token."""
from __future__ import annotations

import re
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.core.api import ROUTES
from chalicelib.core.auth import issue_local_token


def _concrete(path: str) -> str:
    return re.sub(r"{\w+}", "x1", path)


def test_given_no_token_when_any_private_route_is_called_then_401_with_clear_body(api):
    private = [s for s in ROUTES.values() if not s.public]
    assert len(private) > 30
    for spec in private:
        r = api.call(spec.method, _concrete(spec.path), body={} if spec.method in ("POST", "PUT", "PATCH") else None)
        assert r.status_code == 401, (spec.method, spec.path, r.status_code)
        assert r.data["code"] == "UNAUTHENTICATED"
        assert r.data["message"]


def test_given_no_token_when_public_routes_are_called_then_they_answer(api):
    assert api.call("GET", "/v1/health").status_code == 200
    doc = api.call("GET", "/openapi.json")
    assert doc.status_code == 200 and doc.data["openapi"] == "3.1.0"
    assert api.call("GET", "/.well-known/jwks.json").data["keys"][0]["kty"] == "RSA"


def test_given_english_client_when_unauthenticated_then_message_is_english(api):
    r = api.call("GET", "/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.status_code == 401
    assert r.data["message"].startswith("Not signed in")
    zh = api.call("GET", "/v1/me", headers={"Accept-Language": "zh-CN"})
    assert zh.data["message"] == "未登录或登录已失效，请重新登录"


def _forged(claims_patch: dict, key=None, kid=None) -> str:
    from chalicelib.core import auth
    from chalicelib.core.settings import get_settings

    s = get_settings()
    now = int(time.time())
    claims = {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": "u1", "iat": now, "exp": now + 600, "token_use": "id",
              "custom:tenant_id": "t1", **claims_patch}
    jwk = auth.local_jwks(s.local_idp_key_file)["keys"][0]
    signing_key = key or auth._private_key(s.local_idp_key_file)
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": kid or jwk["kid"]})


@pytest.mark.parametrize("patch,reason", [
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    ({"aud": "someone-else"}, "Audience"),
    ({"iss": "https://evil.example"}, "issuer"),
    ({"token_use": "access"}, "not an id token"),
])
def test_given_bad_claims_when_calling_then_401_invalid_token(api, make_tenant, patch, reason):
    t = make_tenant()
    token = _forged({"sub": t["admin_id"], "custom:tenant_id": t["id"], **patch})
    r = api.call("GET", "/v1/me", token)
    assert r.status_code == 401
    assert r.data["code"] == "INVALID_TOKEN"
    assert reason.lower() in r.data["message"].lower()


def test_given_token_signed_by_another_key_when_calling_then_401(api, make_tenant):
    t = make_tenant()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _forged({"sub": t["admin_id"], "custom:tenant_id": t["id"]}, key=other)
    r = api.call("GET", "/v1/me", token)
    assert r.status_code == 401 and r.data["code"] == "INVALID_TOKEN"


def test_given_unsigned_token_when_calling_then_401(api, make_tenant):
    t = make_tenant()
    token = jwt.encode({"sub": t["admin_id"], "custom:tenant_id": t["id"]}, key=None, algorithm="none")
    assert api.call("GET", "/v1/me", token).status_code == 401


def test_given_wrong_password_when_logging_in_then_401_and_login_log_records_it(api, make_tenant):
    t = make_tenant(mobile="13811112222")
    bad = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": "13811112222", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.data["code"] == "INVALID_CREDENTIALS"
    unknown = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": "13999999999", "password": "nope-nope"})
    assert unknown.status_code == 401 and unknown.data["code"] == "INVALID_CREDENTIALS"
    log = api.call("GET", f"/v1/audit?user_id={t['admin_id']}", t["admin"])
    actions = [e["action"] for e in log.data["items"]]
    assert "login_failed" in actions and "login" in actions


def test_given_revoked_sessions_when_old_token_is_used_then_401_and_new_login_works(api, make_tenant):
    t = make_tenant(mobile="13811113333")
    old = issue_local_token(t["id"], t["admin_id"], issued_at=int(time.time()) - 5)
    assert api.call("GET", "/v1/me", old).status_code == 200
    assert api.call("POST", "/v1/me/sessions/revoke", old).status_code == 204
    r = api.call("GET", "/v1/me", old)
    assert r.status_code == 401 and "revoked" in r.data["message"]
    time.sleep(1.1)
    fresh = api.call("POST", "/v1/auth/login", body={"tenant_id": t["id"], "mobile": "13811113333", "password": "Passw0rd!2026"})
    assert api.call("GET", "/v1/me", fresh.data["id_token"]).status_code == 200


def test_given_disabled_user_when_calling_or_logging_in_then_refused(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["rep1"]
    assert api.call("GET", "/v1/me", sales_team["tokens"]["rep1"]).status_code == 200
    assert api.call("POST", f"/v1/org/users/{rep}/disable", admin).status_code == 200
    r = api.call("GET", "/v1/me", sales_team["tokens"]["rep1"])
    assert r.status_code == 401 and r.data["code"] == "ACCOUNT_DISABLED"
    login = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000002", "password": "Passw0rd!2026"})
    assert login.status_code == 401 and login.data["code"] == "INVALID_CREDENTIALS"  # sign-in does not tell it exists


def test_given_wrong_password_unknown_mobile_or_disabled_account_when_signing_in_then_one_hash_and_the_same_answer(
        api, sales_team, monkeypatch):
    from chalicelib.ports import identity

    assert api.call("POST", f"/v1/org/users/{sales_team['rep2']}/disable", sales_team["admin"]).status_code == 200
    hashed: list[str] = []
    check = identity.check_password
    monkeypatch.setattr(identity, "check_password", lambda password, stored: hashed.append(stored) or check(password, stored))

    def sign_in(mobile: str, password: str) -> tuple[object, list[str]]:
        hashed.clear()
        r = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": mobile, "password": password})
        return r, list(hashed)

    wrong, wrong_hashes = sign_in("13900000002", "Wrong-Pass1!")
    unknown, unknown_hashes = sign_in("13999999999", "Wrong-Pass1!")
    disabled, disabled_hashes = sign_in("13900000003", "Passw0rd!2026")  # the right password of a disabled account
    assert wrong.status_code == unknown.status_code == disabled.status_code == 401
    assert wrong.body == unknown.body == disabled.body
    assert wrong.data["code"] == "INVALID_CREDENTIALS"
    assert len(wrong_hashes) == len(unknown_hashes) == len(disabled_hashes) == 1  # each attempt costs one hash
    assert wrong_hashes != [identity.DUMMY_HASH] and unknown_hashes == disabled_hashes == [identity.DUMMY_HASH]
    ok, ok_hashes = sign_in("13900000002", "Passw0rd!2026")
    assert ok.status_code == 200 and len(ok_hashes) == 1


def test_given_admin_reset_password_when_user_logs_in_then_only_new_password_works(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["rep2"]
    r = api.call("POST", f"/v1/org/users/{rep}/password", admin, {"password": "N3w-Secret!42"})
    assert r.status_code == 204
    assert api.call("GET", "/v1/me", sales_team["tokens"]["rep2"]).status_code == 401  # sessions ended
    time.sleep(1.1)
    body = {"tenant_id": sales_team["id"], "mobile": "13900000003"}
    assert api.call("POST", "/v1/auth/login", body={**body, "password": "Passw0rd!2026"}).status_code == 401
    assert api.call("POST", "/v1/auth/login", body={**body, "password": "N3w-Secret!42"}).status_code == 200


def test_given_rep_when_resetting_someone_elses_password_then_403(api, sales_team):
    r = api.call("POST", f"/v1/org/users/{sales_team['rep2']}/password", sales_team["tokens"]["rep1"], {"password": "N3w-Secret!42"})
    assert r.status_code == 403 and r.data["code"] == "FORBIDDEN"


def test_given_platform_token_when_calling_tenant_routes_then_403_and_tenant_token_cannot_create_tenants(api, make_tenant):
    from tests.conftest import platform_token

    t = make_tenant()
    assert api.call("GET", "/v1/customers", platform_token()).status_code == 403
    r = api.call("POST", "/v1/platform/tenants", t["admin"], {"id": "x-corp", "name": "X", "admin_name": "x",
                                                             "admin_mobile": "13700000000", "admin_password": "Passw0rd!2026"})
    assert r.status_code == 403


def test_given_five_wrong_passwords_when_signing_in_then_locked_for_15_minutes_even_with_the_right_one(api, make_tenant):
    from chalicelib.core import clock

    t = make_tenant(mobile="13811114444")
    body = {"tenant_id": t["id"], "mobile": "13811114444"}
    for _ in range(5):
        assert api.call("POST", "/v1/auth/login", body={**body, "password": "wrong-Pass1!"}).status_code == 401
    locked = api.call("POST", "/v1/auth/login", body={**body, "password": "Passw0rd!2026"})
    assert locked.status_code == 429 and locked.data["code"] == "LOGIN_LOCKED"
    assert locked.data["details"]["retry_after_minutes"] == 15 and "15分钟" in locked.data["message"]
    assert locked.headers["Retry-After"] == "900"
    # another number of the same tenant is not affected
    assert api.call("POST", "/v1/auth/login", body={**body, "mobile": "13811115555", "password": "x"}).status_code == 401
    clock.travel(15 * 60 + 1)
    ok = api.call("POST", "/v1/auth/login", body={**body, "password": "Passw0rd!2026"})
    assert ok.status_code == 200
    # a success clears the count: four new failures do not lock
    for _ in range(4):
        api.call("POST", "/v1/auth/login", body={**body, "password": "wrong-Pass1!"})
    assert api.call("POST", "/v1/auth/login", body={**body, "password": "Passw0rd!2026"}).status_code == 200
