"""Sign-in with a second factor (TOTP, RFC 6238) on the local identity provider, the tenant's MFA
policy, an administrator's reset, and platform operators that no user route can make."""
from __future__ import annotations

import pytest

from chalicelib.core import clock
from chalicelib.core.settings import environment
from chalicelib.signin import totp

PASSWORD = "Passw0rd!2026"


@pytest.fixture()
def required(api):
    """The deployment default of every stage but the local one: MFA required for staff."""
    clock.freeze()
    with environment(CRM_MFA_DEFAULT="required"):
        yield


def _login(api, tenant: str, mobile: str = "13800000000", password: str = PASSWORD, lang: str = "zh-CN"):
    return api.call("POST", "/v1/auth/login", body={"tenant_id": tenant, "mobile": mobile, "password": password},
                    headers={"Accept-Language": lang})


def _now_code(secret: str, offset_steps: int = 0) -> str:
    return totp.code_at(secret, totp.step_of(clock.now().timestamp()) + offset_steps)


def _enrol(api, tenant: str, mobile: str = "13800000000") -> tuple[str, str]:
    """Sign in for the first time under a required policy: enrol an authenticator; (secret, id token)."""
    first = _login(api, tenant, mobile)
    assert first.status_code == 200 and first.data["challenge"] == "MFA_SETUP", first.data
    setup = api.call("POST", "/v1/auth/mfa/setup", body={"tenant_id": tenant, "session": first.data["session"]})
    assert setup.status_code == 200, setup.data
    done = api.call("POST", "/v1/auth/mfa/setup/confirm",
                    body={"tenant_id": tenant, "session": first.data["session"], "code": _now_code(setup.data["secret"])})
    assert done.status_code == 200, done.data
    return setup.data["secret"], done.data["id_token"]


def test_given_mfa_required_when_staff_signs_in_first_then_enrols_an_authenticator_and_gets_a_token(api, required):
    from tests.conftest import platform_token

    created = api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "mfa-first", "name": "两步验证公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": PASSWORD})
    assert created.status_code == 201
    first = _login(api, "mfa-first")
    assert first.data["challenge"] == "MFA_SETUP" and first.data.get("id_token") is None and first.data["expires_in"] == 300
    session = first.data["session"]
    # the enrolment session is no bearer token and no answer to the other challenge
    assert api.call("GET", "/v1/me", session).status_code == 401
    wrong_step = api.call("POST", "/v1/auth/mfa/verify", body={"tenant_id": "mfa-first", "session": session, "code": "123456"})
    assert wrong_step.status_code == 401 and wrong_step.data["code"] == "MFA_SESSION_INVALID"

    setup = api.call("POST", "/v1/auth/mfa/setup", body={"tenant_id": "mfa-first", "session": session})
    secret = setup.data["secret"]
    assert setup.data["otpauth_uri"].startswith("otpauth://totp/CRM:13800000000@mfa-first?secret=" + secret)
    assert setup.data["digits"] == 6 and setup.data["period"] == 30

    bad = api.call("POST", "/v1/auth/mfa/setup/confirm", body={"tenant_id": "mfa-first", "session": session, "code": "000000"},
                   headers={"Accept-Language": "en"})
    assert bad.status_code == 401 and bad.data["code"] == "MFA_CODE_INVALID" and "authenticator" in bad.data["message"]
    zh = api.call("POST", "/v1/auth/mfa/setup/confirm", body={"tenant_id": "mfa-first", "session": session, "code": "000000"})
    assert zh.data["message"].startswith("动态验证码错误")

    ok = api.call("POST", "/v1/auth/mfa/setup/confirm", body={"tenant_id": "mfa-first", "session": session, "code": _now_code(secret)})
    assert ok.status_code == 200 and ok.data.get("challenge") is None
    me = api.call("GET", "/v1/me/mfa", ok.data["id_token"])
    assert me.data == {"enrolled": True, "required": True}
    # the session is spent
    again = api.call("POST", "/v1/auth/mfa/setup", body={"tenant_id": "mfa-first", "session": session})
    assert again.status_code == 401 and again.data["code"] == "MFA_SESSION_INVALID"


def test_given_enrolled_user_when_signing_in_then_code_is_asked_once_per_step_within_one_step_either_side(api, required):
    from tests.conftest import platform_token

    api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "mfa-code", "name": "验证码公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": PASSWORD})
    secret, _ = _enrol(api, "mfa-code")
    clock.travel(60)  # two steps on: the step before now is not the enrolment's (spent) one

    def challenge() -> str:
        r = _login(api, "mfa-code")
        assert r.data["challenge"] == "MFA_CODE" and r.data.get("id_token") is None
        return r.data["session"]

    def verify(session: str, code: str):
        return api.call("POST", "/v1/auth/mfa/verify", body={"tenant_id": "mfa-code", "session": session, "code": code})

    s1 = challenge()
    assert verify(s1, _now_code(secret, -2)).status_code == 401  # a minute old: outside the window
    assert verify(s1, _now_code(secret, +2)).status_code == 401
    used = _now_code(secret, -1)  # the phone's clock 30 s behind: accepted
    first = verify(s1, used)
    assert first.status_code == 200 and api.call("GET", "/v1/me", first.data["id_token"]).status_code == 200
    # the same code again (replay), or an older one, is refused even within the window
    s2 = challenge()
    assert verify(s2, used).data["code"] == "MFA_CODE_INVALID"
    clock.travel(30)
    assert verify(s2, _now_code(secret)).status_code == 200
    # a challenge lives 5 minutes
    s3 = challenge()
    clock.travel(301)
    late = verify(s3, _now_code(secret))
    assert late.status_code == 401 and late.data["code"] == "MFA_SESSION_INVALID"


def test_given_wrong_codes_when_repeated_then_the_mobile_is_locked_like_wrong_passwords(api, required):
    from tests.conftest import platform_token

    api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "mfa-lock", "name": "锁定公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": PASSWORD})
    secret, _ = _enrol(api, "mfa-lock")
    clock.travel(30)
    session = _login(api, "mfa-lock").data["session"]
    for _ in range(5):
        r = api.call("POST", "/v1/auth/mfa/verify", body={"tenant_id": "mfa-lock", "session": session, "code": "999999"})
        assert r.status_code == 401
    right = api.call("POST", "/v1/auth/mfa/verify", body={"tenant_id": "mfa-lock", "session": session, "code": _now_code(secret)})
    assert right.status_code == 401 and right.data["code"] == "MFA_SESSION_INVALID"  # five wrong codes end the challenge
    assert _login(api, "mfa-lock").status_code == 429
    clock.travel(15 * 60 + 1)
    fresh = _login(api, "mfa-lock")
    assert fresh.data["challenge"] == "MFA_CODE"


def test_given_sign_in_attempts_when_over_the_per_minute_limit_then_code_checks_are_limited_too(api, required):
    from tests.conftest import platform_token

    api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "mfa-rate", "name": "限流公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": PASSWORD})
    with environment(CRM_SIGN_IN_PER_MINUTE="2", CRM_MFA_DEFAULT="required"):
        first = _login(api, "mfa-rate")  # 1 of 2
        session = first.data["session"]
        assert api.call("POST", "/v1/auth/mfa/setup", body={"tenant_id": "mfa-rate", "session": session}).status_code == 200
        limited = api.call("POST", "/v1/auth/mfa/setup", body={"tenant_id": "mfa-rate", "session": session})
        assert limited.status_code == 429 and limited.data["code"] == "RATE_LIMITED"


def test_given_tenant_policy_when_admin_turns_mfa_off_then_staff_without_authenticator_sign_in_with_password(api, sales_team, required):
    old_rep = sales_team["tokens"]["rep2"]  # signed in with a password before the default changed
    assert api.call("GET", "/v1/me", old_rep).data["code"] == "MFA_REQUIRED"
    _, admin = _enrol(api, sales_team["id"])
    got = api.call("GET", "/v1/tenant/sign-in-policy", admin)
    assert got.data == {"mfa_required": True, "chosen": False, "default_mfa_required": True, "version": 0}
    assert _login(api, sales_team["id"], "13900000003").data["challenge"] == "MFA_SETUP"

    _, rep = _enrol(api, sales_team["id"], "13900000002")
    denied = api.call("PUT", "/v1/tenant/sign-in-policy", rep, {"mfa_required": False})
    assert denied.status_code == 403
    put = api.call("PUT", "/v1/tenant/sign-in-policy", admin, {"mfa_required": False, "version": 0})
    assert put.status_code == 200 and put.data["mfa_required"] is False and put.data["chosen"] is True
    r = _login(api, sales_team["id"], "13900000003")
    assert r.status_code == 200 and r.data["id_token"] and r.data.get("challenge") is None
    assert api.call("GET", "/v1/me", old_rep).status_code == 200  # MFA off: a password's token is enough again
    stale = api.call("PUT", "/v1/tenant/sign-in-policy", admin, {"mfa_required": True, "version": 0})
    assert stale.status_code == 409
    bad = api.call("PUT", "/v1/tenant/sign-in-policy", admin, {"mfa_required": "sometimes"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "mfa_required"
    log = api.call("GET", f"/v1/audit?user_id={sales_team['admin_id']}", admin)
    assert any(e["entity"] == "sign_in_policy" for e in log.data["items"]), log.data


def test_given_optional_policy_when_a_user_enrols_by_choice_then_their_sign_in_asks_for_the_code(api, make_tenant):
    t = make_tenant()  # CRM_MFA_DEFAULT=optional in the tests: a password signs in
    clock.freeze()
    assert api.call("GET", "/v1/me/mfa", t["admin"]).data == {"enrolled": False, "required": False}
    setup = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
    assert setup.status_code == 200
    wrong = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": "12345a", "password": PASSWORD})
    assert wrong.status_code == 422
    done = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": _now_code(setup.data["secret"]), "password": PASSWORD})
    assert done.data == {"enrolled": True, "required": False}
    again = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
    assert again.status_code == 409 and again.data["code"] == "MFA_ALREADY_ENROLLED"
    clock.travel(30)
    assert _login(api, t["id"]).data["challenge"] == "MFA_CODE"


def test_given_lost_phone_when_admin_resets_the_factor_then_it_is_logged_and_the_user_enrols_again(api, sales_team, required):
    tenant, (_, admin) = sales_team["id"], _enrol(api, sales_team["id"])
    secret, rep_token = _enrol(api, tenant, "13900000002")
    rep = sales_team["rep1"]
    assert api.call("POST", f"/v1/org/users/{rep}/mfa/reset", rep_token).status_code == 403
    assert api.call("POST", "/v1/org/users/nobody/mfa/reset", admin).status_code == 404
    r = api.call("POST", f"/v1/org/users/{rep}/mfa/reset", admin)
    assert r.status_code == 204
    log = api.call("GET", f"/v1/records/user/{rep}/logs", admin)
    assert [e["action"] for e in log.data["items"]][:2] == ["mfa_reset", "mfa_enrolled"], log.data
    clock.travel(30)
    assert _login(api, tenant, "13900000002").data["challenge"] == "MFA_SETUP"


def test_given_a_reset_factor_then_the_users_sessions_from_before_end_like_sign_out_everywhere(api, sales_team, required):
    import time

    from chalicelib.core.auth import issue_local_token

    tenant, rep = sales_team["id"], sales_team["rep1"]
    _, admin = _enrol(api, tenant)
    _, rep_token = _enrol(api, tenant, "13900000002")
    assert api.call("GET", "/v1/me", rep_token).status_code == 200
    assert api.call("POST", f"/v1/org/users/{rep}/mfa/reset", admin).status_code == 204
    ended = api.call("GET", "/v1/me", rep_token, headers={"Accept-Language": "en"})
    assert ended.status_code == 401 and "revoked" in ended.data["message"], ended.data
    assert api.call("GET", "/v1/me", admin).status_code == 200  # the administrator's own session goes on
    # a token of a sign-in after the reset (with the new authenticator) is good
    later = issue_local_token(tenant, rep, issued_at=int(time.time()) + 2, amr=("pwd", "otp"))
    assert api.call("GET", "/v1/me", later).status_code == 200


def test_given_other_tenant_when_admin_resets_a_user_id_of_another_tenant_then_404(api, make_tenant, sales_team):
    other = make_tenant()
    assert api.call("POST", f"/v1/org/users/{sales_team['rep1']}/mfa/reset", other["admin"]).status_code == 404


# ---- platform operators: a group no user route can write ---------------------------------------------

def test_given_custom_platform_admin_claim_when_calling_platform_routes_then_refused(api, make_tenant):
    from tests.integration.test_auth import _forged

    t = make_tenant()
    forged = _forged({"sub": t["admin_id"], "custom:tenant_id": t["id"], "custom:platform_admin": "true"})
    assert api.call("GET", "/v1/platform/tenants", forged).status_code == 403
    no_tenant = _forged({"sub": "op", "custom:tenant_id": None, "custom:platform_admin": "true"})
    assert api.call("GET", "/v1/platform/tenants", no_tenant).status_code == 401
    grouped = _forged({"sub": "op", "custom:tenant_id": None, "cognito:groups": ["platform-admins"]})
    assert api.call("GET", "/v1/platform/tenants", grouped).status_code == 200


@pytest.mark.parametrize("field,value", [
    ("platform_admin", True), ("custom:platform_admin", "true"), ("groups", ["platform-admins"]),
    ("cognito:groups", ["platform-admins"]), ("is_platform_admin", True), ("attributes", {"platform_admin": "true"}),
])
def test_given_tenant_admin_when_patching_any_user_field_then_nobody_becomes_platform_admin(api, make_tenant, field, value):
    t = make_tenant()
    user = api.call("GET", f"/v1/org/users/{t['admin_id']}", t["admin"]).data
    r = api.call("PATCH", f"/v1/org/users/{t['admin_id']}", t["admin"], {field: value, "version": user["version"]})
    assert r.status_code == 422, r.data
    ok = api.call("PATCH", f"/v1/org/users/{t['admin_id']}", t["admin"], {"name": "新名字", "version": user["version"]})
    assert ok.status_code == 200
    login = _login(api, t["id"])
    assert api.call("GET", "/v1/platform/tenants", login.data["id_token"]).status_code == 403
    import jwt

    assert "cognito:groups" not in jwt.decode(login.data["id_token"], options={"verify_signature": False})


def test_given_if_match_when_putting_the_policy_then_an_empty_or_bad_one_is_refused(api, make_tenant):
    t = make_tenant()
    empty = api.call("PUT", "/v1/tenant/sign-in-policy", t["admin"], {"mfa_required": True}, headers={"If-Match": ""})
    assert empty.status_code == 428
    bad = api.call("PUT", "/v1/tenant/sign-in-policy", t["admin"], {"mfa_required": True}, headers={"If-Match": "x"})
    assert bad.status_code == 422
    ok = api.call("PUT", "/v1/tenant/sign-in-policy", t["admin"], {"mfa_required": True}, headers={"If-Match": '"0"'})
    assert ok.status_code == 200 and ok.data["version"] == 1


def _raw_item(pk: str, sk: str) -> dict | None:
    import boto3

    from chalicelib.core.settings import get_settings

    ddb = boto3.client("dynamodb", region_name=get_settings().region)
    return ddb.get_item(TableName=get_settings().table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get("Item")


def test_given_a_reset_while_a_code_is_confirmed_then_no_factor_without_secret_is_left(api, make_tenant, monkeypatch):
    from chalicelib.signin import service
    from chalicelib.signin.models import SecondFactor

    t = make_tenant()
    clock.freeze()
    setup = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
    taken = service._take_code

    def reset_meanwhile(f, code):  # the administrator's reset lands between the code check and the activation
        ok = taken(f, code)
        SecondFactor.get(*SecondFactor.key(t["id"], t["admin_id"])).delete()
        return ok

    monkeypatch.setattr(service, "_take_code", reset_meanwhile)
    r = api.call("POST", "/v1/me/mfa/setup/confirm", t["admin"], {"code": _now_code(setup.data["secret"]), "password": PASSWORD})
    assert r.status_code == 401 and r.data["code"] == "MFA_CODE_INVALID", r.data
    monkeypatch.undo()
    assert _raw_item(*SecondFactor.key(t["id"], t["admin_id"])) is None
    assert api.call("GET", "/v1/me/mfa", t["admin"]).data == {"enrolled": False, "required": False}
    clock.travel(30)
    signed = _login(api, t["id"])  # a password signs in (optional policy), no challenge of a factor without secret
    assert signed.status_code == 200 and signed.data.get("id_token"), signed.data


def test_given_a_factor_deleted_before_its_code_is_taken_then_it_is_not_recreated(api, make_tenant):
    from chalicelib.signin import service
    from chalicelib.signin.models import SecondFactor

    t = make_tenant()
    clock.freeze()
    setup = api.call("POST", "/v1/me/mfa/setup", t["admin"], {"password": PASSWORD})
    f = service._factor(t["id"], t["admin_id"])
    f.delete()
    assert service._take_code(f, _now_code(setup.data["secret"])) is False
    assert _raw_item(*SecondFactor.key(t["id"], t["admin_id"])) is None


def test_given_a_challenge_that_ended_meanwhile_when_a_wrong_code_is_counted_then_it_is_not_recreated(api, required):
    from chalicelib.signin import service
    from chalicelib.signin.models import SignInSession
    from tests.conftest import platform_token

    api.call("POST", "/v1/platform/tenants", platform_token(), {
        "id": "mfa-race", "name": "竞态公司", "admin_name": "管理员", "admin_mobile": "13800000000", "admin_password": PASSWORD})
    _enrol(api, "mfa-race")
    clock.travel(30)
    first = _login(api, "mfa-race")
    assert first.data["challenge"] == "MFA_CODE"
    sess = service._session("mfa-race", first.data["session"], "verify")
    sess.delete()  # signed in by a concurrent request with the right code
    assert service._wrong_code("mfa-race", sess).code == "MFA_CODE_INVALID"
    pk, sk = SignInSession.key("mfa-race", service._digest(first.data["session"]))
    assert _raw_item(pk, sk) is None  # not even a bare item without the discriminator, user or expiry
