"""Sign-in hardening on the local identity provider: enrolling an authenticator with a bearer token
needs the current password; tokens earned without a code stop working once the tenant requires MFA;
TOTP seeds are stored encrypted (envelope encryption: KMS in AWS, a key file locally), and seeds
stored in plaintext before keep working and are re-written encrypted."""
from __future__ import annotations

import json

import boto3
import jwt
import pytest

from chalicelib.core import clock
from chalicelib.core.settings import environment, get_settings
from chalicelib.signin import totp

PASSWORD = "Passw0rd!2026"


def _code(secret: str, offset_steps: int = 0) -> str:
    return totp.code_at(secret, totp.step_of(clock.now().timestamp()) + offset_steps)


def _login(api, tenant: str, mobile: str = "13800000000", password: str = PASSWORD):
    return api.call("POST", "/v1/auth/login", body={"tenant_id": tenant, "mobile": mobile, "password": password})


def _raw_factor(tenant_id: str, user_id: str) -> dict | None:
    s = get_settings()
    ddb = boto3.client("dynamodb", region_name=s.region)
    return ddb.get_item(TableName=s.table_name, Key={"pk": {"S": f"T#{tenant_id}#MFA"}, "sk": {"S": f"USER#{user_id}"}},
                        ConsistentRead=True).get("Item")


def _enrol_by_choice(api, token: str) -> str:
    setup = api.call("POST", "/v1/me/mfa/setup", token, {"password": PASSWORD})
    assert setup.status_code == 200, setup.data
    done = api.call("POST", "/v1/me/mfa/setup/confirm", token, {"code": _code(setup.data["secret"]), "password": PASSWORD})
    assert done.status_code == 200 and done.data["enrolled"] is True, done.data
    return setup.data["secret"]


def _sign_in_with_code(api, tenant: str, secret: str, mobile: str = "13800000000", offset_steps: int = 0) -> str:
    challenge = _login(api, tenant, mobile)
    assert challenge.data.get("challenge") == "MFA_CODE", challenge.data
    r = api.call("POST", "/v1/auth/mfa/verify",
                 body={"tenant_id": tenant, "session": challenge.data["session"], "code": _code(secret, offset_steps)})
    assert r.status_code == 200, r.data
    return r.data["id_token"]


# ---- 1. the current password to enrol with a bearer token ----------------------------------------------

@pytest.mark.parametrize("lang,text", [("zh-CN", "当前登录密码错误"), ("en", "Wrong current password")])
def test_given_a_bearer_token_when_enrolling_without_the_right_password_then_refused_and_nothing_changes(api, make_tenant, lang, text):
    t = make_tenant()
    clock.freeze()
    missing = api.call("POST", "/v1/me/mfa/setup", t["admin"], headers={"Accept-Language": lang})
    assert missing.status_code == 422, missing.data
    no_field = api.call("POST", "/v1/me/mfa/setup", t["admin"], {}, headers={"Accept-Language": lang})
    assert no_field.status_code == 422 and no_field.data["details"][0]["field"] == "password", no_field.data
    wrong = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": "Wrong!pass2026"}, headers={"Accept-Language": lang})
    assert wrong.status_code == 403 and wrong.data["code"] == "CURRENT_PASSWORD_INVALID", wrong.data
    assert wrong.data["message"].startswith(text)
    assert _raw_factor(t["id"], t["admin_id"]) is None  # no authenticator written
    assert api.call("GET", "/v1/me/mfa", t["admin"]).data == {"enrolled": False, "required": False}
    log = api.call("GET", f"/v1/audit?user_id={t['admin_id']}", t["admin"]).data["items"]
    assert any(e["action"] == "password_failed" for e in log), log


def test_given_a_pending_authenticator_when_confirming_with_a_wrong_password_then_the_code_is_not_spent(api, make_tenant):
    t = make_tenant()
    clock.freeze()
    setup = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
    code = _code(setup.data["secret"])
    no_password = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": code})
    assert no_password.status_code == 422 and no_password.data["details"][0]["field"] == "password"
    wrong = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": code, "password": "Wrong!pass2026"},
                     headers={"Accept-Language": "en"})
    assert wrong.status_code == 403 and wrong.data["code"] == "CURRENT_PASSWORD_INVALID"
    assert _raw_factor(t["id"], t["admin_id"])["status"]["S"] == "pending"
    ok = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": code, "password": PASSWORD})
    assert ok.status_code == 200 and ok.data["enrolled"] is True  # the same code: it was not taken by the refusal


def test_given_wrong_passwords_when_enrolling_then_they_count_toward_the_sign_in_lock_out(api, make_tenant):
    t = make_tenant()
    clock.freeze()
    for _ in range(5):
        assert api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": "Wrong!pass2026"}).status_code == 403
    locked = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD}, headers={"Accept-Language": "en"})
    assert locked.status_code == 429 and locked.data["code"] == "LOGIN_LOCKED", locked.data
    assert _login(api, t["id"]).status_code == 429  # the same lock-out as the sign-in's
    assert _raw_factor(t["id"], t["admin_id"]) is None
    clock.travel(15 * 60 + 1)
    assert api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD}).status_code == 200


def test_given_the_sign_in_rate_limit_when_enrolling_with_a_password_then_it_is_spent_too(api, make_tenant):
    t = make_tenant()
    with environment(CRM_SIGN_IN_PER_MINUTE="2"):
        assert api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD}).status_code == 200
        assert api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD}).status_code == 200
        limited = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
        assert limited.status_code == 429 and limited.data["code"] == "RATE_LIMITED"


# ---- 2. tokens earned without a code end when the tenant requires MFA ----------------------------------

@pytest.mark.parametrize("lang,text", [("zh-CN", "本企业已要求两步验证登录"), ("en", "Your company now requires two-step sign-in")])
def test_given_password_tokens_when_admin_turns_mfa_on_then_they_stop_and_tokens_with_a_code_go_on(api, sales_team, make_tenant,
                                                                                                    lang, text):
    clock.freeze()
    tenant, admin = sales_team["id"], sales_team["admin"]
    rep_password_token, manager = sales_team["tokens"]["rep1"], sales_team["tokens"]["manager"]
    secret = _enrol_by_choice(api, rep_password_token)
    clock.travel(30)
    rep_code_token = _sign_in_with_code(api, tenant, secret, "13900000002")
    assert jwt.decode(rep_code_token, options={"verify_signature": False})["amr"] == ["pwd", "otp"]
    assert jwt.decode(manager, options={"verify_signature": False})["amr"] == ["pwd"]
    other = make_tenant()  # another tenant's staff are not concerned

    put = api.call("PUT", "/v1/tenant/sign-in-policy", admin, {"mfa_required": True, "version": 0})
    assert put.status_code == 200 and put.data["mfa_required"] is True
    for token in (manager, rep_password_token, admin):  # the administrator's own password token too
        r = api.call("GET", "/v1/customers", token, headers={"Accept-Language": lang})
        assert r.status_code == 401 and r.data["code"] == "MFA_REQUIRED", r.data
        assert r.data["message"].startswith(text)
    assert api.call("GET", "/v1/customers", rep_code_token).status_code == 200
    assert api.call("GET", "/v1/me", other["admin"]).status_code == 200
    # signing in again is the way back: the manager has no authenticator, so he enrols one
    assert _login(api, tenant, "13900000001").data["challenge"] == "MFA_SETUP"


def test_given_a_token_from_before_the_amr_claim_when_mfa_is_required_then_it_is_a_password_token(api, make_tenant):
    from chalicelib.core import auth
    from chalicelib.ports import signing

    t = make_tenant()
    claims = jwt.decode(t["admin"], options={"verify_signature": False})
    del claims["amr"]
    old = signing.encode(claims)
    assert api.call("GET", "/v1/me", old).status_code == 200
    assert auth.verify(old).amr == ()
    assert api.call("PUT", "/v1/tenant/sign-in-policy", t["admin"], {"mfa_required": True, "version": 0}).status_code == 200
    r = api.call("GET", "/v1/me", old)
    assert r.status_code == 401 and r.data["code"] == "MFA_REQUIRED"


def test_given_the_policy_check_then_it_reads_the_cached_policy_not_the_table_on_each_request(api, make_tenant, monkeypatch):
    from chalicelib.signin import service

    t = make_tenant()
    clock.freeze()
    secret = _enrol_by_choice(api, t["admin"])
    clock.travel(30)
    code_token = _sign_in_with_code(api, t["id"], secret)
    loads: list[str] = []
    real = service._policies._load
    monkeypatch.setattr(service._policies, "_load", lambda tenant: loads.append(tenant) or real(tenant))
    for _ in range(5):
        assert api.call("GET", "/v1/me", code_token).status_code == 200
    assert loads == []  # a token with a code never asks for the policy
    service._policies.clear()  # as in a new container
    for _ in range(5):
        assert api.call("GET", "/v1/me", t["admin"]).status_code == 200  # a password token, MFA optional
    assert loads == [t["id"]]  # once per container and CRM_AUTHZ_CACHE_SECONDS, not per request
    # the administrator's change is seen at once in the container that made it
    assert api.call("PUT", "/v1/tenant/sign-in-policy", code_token, {"mfa_required": True, "version": 0}).status_code == 200
    assert api.call("GET", "/v1/me", t["admin"]).data["code"] == "MFA_REQUIRED"


# ---- 3. seeds encrypted at rest -------------------------------------------------------------------------

def test_given_an_enrolment_then_the_seed_is_stored_encrypted_with_its_key_id_and_codes_still_work(api, make_tenant):
    from chalicelib.ports import envelope

    t = make_tenant()
    clock.freeze()
    secret = _enrol_by_choice(api, t["admin"])
    item = _raw_factor(t["id"], t["admin_id"])
    assert "secret" not in item and item["seed_key_id"]["S"].startswith("local:")
    assert secret not in json.dumps(item)
    envelope.data_keys.clear()  # a new container: the data key is decrypted again
    clock.travel(30)
    assert api.call("GET", "/v1/me", _sign_in_with_code(api, t["id"], secret)).status_code == 200


def test_given_a_seed_copied_to_another_user_then_it_does_not_open_and_no_code_signs_in(api, sales_team):
    from chalicelib.signin import service
    from chalicelib.signin.models import SecondFactor

    clock.freeze()
    tenant = sales_team["id"]
    secret = _enrol_by_choice(api, sales_team["tokens"]["rep1"])
    _enrol_by_choice(api, sales_team["tokens"]["rep2"])
    mine = SecondFactor.get(*SecondFactor.key(tenant, sales_team["rep1"]))
    theirs = SecondFactor.get(*SecondFactor.key(tenant, sales_team["rep2"]))
    theirs.update(actions=[SecondFactor.seed.set(mine.seed), SecondFactor.seed_key.set(mine.seed_key)])
    service.reset_caches()
    clock.travel(30)
    challenge = _login(api, tenant, "13900000003")
    r = api.call("POST", "/v1/auth/mfa/verify", body={"tenant_id": tenant, "session": challenge.data["session"], "code": _code(secret)})
    assert r.status_code == 401 and r.data["code"] == "MFA_CODE_INVALID"


def _plaintext_factor(tenant_id: str, user_id: str, status: str = "active") -> str:
    """An authenticator as stored before seeds were encrypted: the base32 seed in `secret`."""
    from chalicelib.signin.models import SecondFactor

    secret = totp.new_secret()
    pk, sk = SecondFactor.key(tenant_id, user_id)
    SecondFactor(pk, sk, tenant_id=tenant_id, user_id=user_id, secret=secret, status=status, last_step=0,
                 enrolled_at=clock.now_iso() if status == "active" else None).save()
    return secret


def test_given_a_plaintext_seed_from_before_when_next_used_then_it_signs_in_and_is_rewritten_encrypted(api, make_tenant):
    t = make_tenant()
    clock.freeze()
    secret = _plaintext_factor(t["id"], t["admin_id"])
    assert _raw_factor(t["id"], t["admin_id"])["secret"]["S"] == secret
    token = _sign_in_with_code(api, t["id"], secret)
    assert api.call("GET", "/v1/me/mfa", token).data == {"enrolled": True, "required": False}
    item = _raw_factor(t["id"], t["admin_id"])
    assert "secret" not in item and item["seed"]["S"] and item["seed_key_id"]["S"].startswith("local:")
    assert secret not in json.dumps(item)
    clock.travel(30)  # and the encrypted seed is the same authenticator
    assert api.call("GET", "/v1/me", _sign_in_with_code(api, t["id"], secret)).status_code == 200


def test_given_a_plaintext_pending_seed_when_confirmed_then_it_is_stored_encrypted(api, make_tenant):
    t = make_tenant()
    clock.freeze()
    secret = _plaintext_factor(t["id"], t["admin_id"], status="pending")
    done = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": _code(secret), "password": PASSWORD})
    assert done.status_code == 200 and done.data["enrolled"] is True, done.data
    item = _raw_factor(t["id"], t["admin_id"])
    assert item["status"]["S"] == "active" and "secret" not in item and item["seed"]["S"]


def test_given_plaintext_seeds_when_the_migration_runs_then_they_are_encrypted_once_and_still_sign_in(api, sales_team):
    from chalicelib.signin import seeds

    clock.freeze()
    tenant = sales_team["id"]
    old = _plaintext_factor(tenant, sales_team["rep1"])
    _enrol_by_choice(api, sales_team["tokens"]["rep2"])  # already encrypted: left as it is
    before = _raw_factor(tenant, sales_team["rep2"])
    assert seeds.migrate([tenant]) == {tenant: 1}
    assert seeds.migrate([tenant]) == {tenant: 0}
    assert tenant in seeds.all_tenant_ids()
    assert "secret" not in _raw_factor(tenant, sales_team["rep1"]) and _raw_factor(tenant, sales_team["rep2"]) == before
    assert api.call("GET", "/v1/me", _sign_in_with_code(api, tenant, old, "13900000002")).status_code == 200


def test_given_a_kms_key_when_seeds_are_written_and_read_then_kms_wraps_the_data_key_and_a_container_decrypts_it_once(
        api, make_tenant, monkeypatch):
    from chalicelib.ports import client, envelope

    kms = client("kms")
    arn = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]["Arn"]
    t = make_tenant()
    clock.freeze()
    with environment(CRM_MFA_SEED_KEY=arn):
        secret = _enrol_by_choice(api, t["admin"])
        item = _raw_factor(t["id"], t["admin_id"])
        assert item["seed_key_id"]["S"] == arn
        envelope.data_keys.clear()
        decrypts: list[dict] = []
        real = envelope.KmsKeys.unwrap
        monkeypatch.setattr(envelope.KmsKeys, "unwrap", lambda self, *a: decrypts.append(a[1]) or real(self, *a))
        clock.travel(30)
        _sign_in_with_code(api, t["id"], secret)
        clock.travel(30)
        _sign_in_with_code(api, t["id"], secret)
        assert decrypts == [{"purpose": "mfa-seed", "tenant_id": t["id"]}]  # once: then the cached data key
    # the KMS key stays the one that opens it, whatever the setting says now
    envelope.data_keys.clear()
    clock.travel(30)
    assert api.call("GET", "/v1/me", _sign_in_with_code(api, t["id"], secret)).status_code == 200


def test_given_the_data_key_cache_then_it_is_bounded_and_forgets_the_least_recently_used():
    from chalicelib.ports import envelope

    cache = envelope._DataKeyCache(2)
    cache.put(b"a", b"1")
    cache.put(b"b", b"2")
    assert cache.get(b"a") == b"1"
    cache.put(b"c", b"3")
    assert len(cache) == 2 and cache.get(b"b") is None and cache.get(b"a") == b"1" and cache.get(b"c") == b"3"
