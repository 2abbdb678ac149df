"""The product's own identity provider with its signing keys in KMS (CRM_IDENTITY_PROVIDER=builtin,
CRM_TOKEN_SIGNING_KEYS), as the China regions deploy it: sign-in through POST /v1/auth/login, tokens
signed with kms:Sign and naming their key, the JWKS served, rotation, sign-out everywhere; and mail
switched off where there is no SES."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.core.settings import environment
from chalicelib.ports import client

PASSWORD = "Passw0rd!2026"


def _kms_key(spec: str = "RSA_2048") -> str:
    return client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec, Description="token signing")["KeyMetadata"]["Arn"]


@pytest.fixture()
def builtin(api):
    """The own IdP on a KMS key; `use(*keys)` switches the configured keys (first signs)."""
    from chalicelib.core import auth
    from chalicelib.ports import signing

    def use(*keys: str):
        return environment(CRM_IDENTITY_PROVIDER="builtin", CRM_TOKEN_SIGNING_KEYS=",".join(keys))

    yield use
    signing.reset()
    auth._jwks.reset()


def _header(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def _login(api, tenant: str, mobile: str = "13800000000") -> str:
    r = api.call("POST", "/v1/auth/login", body={"tenant_id": tenant, "mobile": mobile, "password": PASSWORD})
    assert r.status_code == 200, r.data
    return r.data["id_token"]


def test_given_builtin_idp_on_kms_when_signing_in_then_the_token_is_kms_signed_and_the_api_accepts_it(api, make_tenant, builtin):
    key = _kms_key()
    with builtin(key):
        t = make_tenant()
        token = _login(api, t["id"])
        jwks = api.call("GET", "/.well-known/jwks.json")
        assert jwks.status_code == 200
        assert "public" in jwks.headers["Cache-Control"] and "max-age=" in jwks.headers["Cache-Control"]
        [published] = jwks.data["keys"]
        assert _header(token) == {"alg": "RS256", "kid": published["kid"], "typ": "JWT"}
        assert published["kty"] == "RSA" and "d" not in published
        me = api.call("GET", "/v1/me", token)
        assert me.status_code == 200, me.data
        assert me.data["tenant_id"] == t["id"]


def test_given_builtin_idp_when_requests_are_verified_then_kms_is_not_called_per_request(api, make_tenant, builtin):
    from chalicelib.ports import signing

    with builtin(_kms_key()):
        t = make_tenant()
        token = _login(api, t["id"])
        calls: list[str] = []
        real = signing.KmsSigner._load

        def counted(self, key_id):
            calls.append(key_id)
            return real(self, key_id)

        signing.KmsSigner._load = counted
        try:
            for _ in range(5):
                assert api.call("GET", "/v1/me", token).status_code == 200
        finally:
            signing.KmsSigner._load = real
        assert calls == []  # the public key was read once, before: verification is local


def test_given_an_ecc_kms_key_when_signing_in_then_es256_tokens_work(api, make_tenant, builtin):
    with builtin(_kms_key("ECC_NIST_P256")):
        t = make_tenant()
        token = _login(api, t["id"])
        assert _header(token)["alg"] == "ES256"
        assert api.call("GET", "/v1/me", token).status_code == 200


def test_given_a_new_key_added_in_front_when_rotating_then_old_tokens_verify_until_the_old_key_is_dropped(
        api, make_tenant, builtin):
    old, new = _kms_key(), _kms_key()
    with builtin(old):
        t = make_tenant()
        old_token = _login(api, t["id"])
    with builtin(new, old):
        new_token = _login(api, t["id"])
        assert _header(new_token)["kid"] != _header(old_token)["kid"]
        kids = [k["kid"] for k in api.call("GET", "/.well-known/jwks.json").data["keys"]]
        assert kids == [_header(new_token)["kid"], _header(old_token)["kid"]]
        assert api.call("GET", "/v1/me", old_token).status_code == 200
        assert api.call("GET", "/v1/me", new_token).status_code == 200
    with builtin(new):
        r = api.call("GET", "/v1/me", old_token)
        assert r.status_code == 401 and r.data["code"] == "INVALID_TOKEN"
        assert api.call("GET", "/v1/me", new_token).status_code == 200


def test_given_a_token_naming_its_kid_with_another_algorithm_when_calling_then_401(api, make_tenant, builtin):
    with builtin(_kms_key()):
        t = make_tenant()
        token = _login(api, t["id"])
        head, claims, sig = token.split(".")
        forged_head = base64.urlsafe_b64encode(json.dumps({**_header(token), "alg": "ES256"}).encode()).rstrip(b"=").decode()
        r = api.call("GET", "/v1/me", f"{forged_head}.{claims}.{sig}")
        assert r.status_code == 401 and r.data["code"] == "INVALID_TOKEN"
        hs = base64.urlsafe_b64encode(json.dumps({**_header(token), "alg": "HS256"}).encode()).rstrip(b"=").decode()
        assert api.call("GET", "/v1/me", f"{hs}.{claims}.{sig}").status_code == 401


def test_given_kms_tokens_when_signing_out_everywhere_then_they_stop_working(api, make_tenant, builtin):
    import time

    from chalicelib.core.auth import issue_local_token

    with builtin(_kms_key()):
        t = make_tenant(mobile="13811116666")
        token = _login(api, t["id"], "13811116666")
        assert api.call("POST", "/v1/me/sessions/revoke", token).status_code == 204
        r = api.call("GET", "/v1/me", token)
        assert r.status_code == 401 and r.data["code"] == "INVALID_TOKEN"
        later = issue_local_token(t["id"], t["admin_id"], issued_at=int(time.time()) + 2)  # signed after the sign-out
        assert _header(later)["kid"] == _header(token)["kid"]
        assert api.call("GET", "/v1/me", later).status_code == 200


def test_given_cognito_when_asking_for_the_jwks_then_404(api):
    with environment(CRM_IDENTITY_PROVIDER="cognito"):
        assert api.call("GET", "/.well-known/jwks.json").status_code == 404


@pytest.mark.parametrize("lang,text", [("zh-CN", "未开通邮件"), ("en", "not available")])
def test_given_mail_disabled_when_sending_or_starting_a_campaign_then_503_mail_disabled(api, make_tenant, lang, text):
    t = make_tenant()
    with environment(CRM_MAIL_ENABLED="false"):
        one = api.call("POST", "/v1/mail/send", t["admin"], {"record": {"entity": "customer", "id": "c1"}, "subject": "Hi",
                                                             "body_text": "x"}, headers={"Accept-Language": lang})
        bulk = api.call("POST", "/v1/mail/campaigns", t["admin"], {"type": "customer", "subject": "Hi", "body_text": "x"},
                        headers={"Accept-Language": lang})
    for r in (one, bulk):
        assert r.status_code == 503, r.data
        assert r.data["code"] == "MAIL_DISABLED" and text in r.data["message"]
