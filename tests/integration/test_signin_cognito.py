"""Sign-in security with Cognito (moto): the tenant's MFA policy is held by the API on every request
(the ID token does not say whether a second factor was used), an administrator's reset disables the
user's TOTP in the pool, and platform operators are the pool's platform-admins group."""
from __future__ import annotations

import pytest

from chalicelib.core.settings import environment
from tests.integration.test_cognito import _sign_in, cognito  # noqa: F401 (fixture)

PASSWORD = "Cloud@2026!safe"


@pytest.fixture()
def cog_tenant(api, cognito):  # noqa: F811
    from chalicelib.tenants import service as tenants

    created = tenants.create_tenant({"id": "cogmfa", "name": "云端两步公司", "admin_name": "管理员", "admin_mobile": "13800004321",
                                     "admin_password": PASSWORD})
    return {"admin": created["admin_user_id"], "username": f"cogmfa.{created['admin_user_id']}"}


def _enable_totp(c, username: str) -> None:
    """What the client does with the user's access token: associate, verify, prefer TOTP (moto accepts any code)."""
    idp = c["idp"]
    auth = idp.admin_initiate_auth(UserPoolId=c["pool"], ClientId=c["client"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})["AuthenticationResult"]
    idp.associate_software_token(AccessToken=auth["AccessToken"])
    idp.verify_software_token(AccessToken=auth["AccessToken"], UserCode="123456")
    idp.admin_set_user_mfa_preference(UserPoolId=c["pool"], Username=username,
                                      SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})


def test_given_required_mfa_when_cognito_user_has_no_totp_then_403_until_enrolled_and_again_after_reset(api, cognito, cog_tenant):  # noqa: F811
    token = _sign_in(cognito, "cogmfa", cog_tenant["admin"], PASSWORD)
    refresh = cognito["idp"].admin_initiate_auth(
        UserPoolId=cognito["pool"], ClientId=cognito["client"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": cog_tenant["username"], "PASSWORD": PASSWORD})["AuthenticationResult"]["RefreshToken"]
    assert api.call("GET", "/v1/me", token).status_code == 200  # tests default to optional
    with environment(CRM_MFA_DEFAULT="required", CRM_AUTHZ_CACHE_SECONDS="0"):
        refused = api.call("GET", "/v1/me", token, headers={"Accept-Language": "en"})
        assert refused.status_code == 403 and refused.data["code"] == "MFA_SETUP_REQUIRED"
        assert "authenticator" in refused.data["message"]
        _enable_totp(cognito, cog_tenant["username"])
        assert api.call("GET", "/v1/me", token).status_code == 200
        assert api.call("GET", "/v1/me/mfa", token).data == {"enrolled": True, "required": True}
        # enrolment is Cognito's (AssociateSoftwareToken): the local routes refuse
        assert api.call("POST", "/v1/me/mfa/setup", token, {"password": PASSWORD}).status_code == 403
        # the administrator resets it (lost phone): the pool no longer asks for a code, the user's sessions
        # end (API tokens issued before, and the pool's refresh tokens: AdminUserGlobalSignOut), and a
        # new sign-in is refused until an authenticator is enrolled again
        idp = cognito["idp"]
        assert api.call("POST", f"/v1/org/users/{cog_tenant['admin']}/mfa/reset", token).status_code == 204
        user = idp.admin_get_user(UserPoolId=cognito["pool"], Username=cog_tenant["username"])
        assert "SOFTWARE_TOKEN_MFA" not in (user.get("UserMFASettingList") or [])
        ended = api.call("GET", "/v1/me", token, headers={"Accept-Language": "en"})
        assert ended.status_code == 401 and "revoked" in ended.data["message"], ended.data
        with pytest.raises(idp.exceptions.NotAuthorizedException):
            idp.admin_initiate_auth(UserPoolId=cognito["pool"], ClientId=cognito["client"], AuthFlow="REFRESH_TOKEN_AUTH",
                                    AuthParameters={"REFRESH_TOKEN": refresh})
        from chalicelib.org import service as org

        org.invalidate("cogmfa")
        with pytest.MonkeyPatch.context() as m:  # a sign-in after the reset (its token issued later)
            m.setattr("time.time", lambda real=__import__("time").time: real() + 2)
            fresh = _sign_in(cognito, "cogmfa", cog_tenant["admin"], PASSWORD)
            assert api.call("GET", "/v1/me", fresh).data["code"] == "MFA_SETUP_REQUIRED"


def test_given_cognito_groups_when_user_is_in_platform_admins_then_platform_operator_else_not(api, cognito):  # noqa: F811
    idp, pool = cognito["idp"], cognito["pool"]
    idp.create_group(GroupName="platform-admins", UserPoolId=pool)
    for name, attrs in (("op", []), ("pretender", [{"Name": "custom:platform_admin", "Value": "true"}])):
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", UserAttributes=attrs)
        idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool, Username="op", GroupName="platform-admins")
    def sign_in(username: str) -> str:
        return idp.admin_initiate_auth(UserPoolId=pool, ClientId=cognito["client"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})["AuthenticationResult"]["IdToken"]

    op = sign_in("op")
    # an operator is held to a second factor whatever any tenant's policy (the tests' default is optional)
    refused = api.call("GET", "/v1/platform/tenants", op, headers={"Accept-Language": "en"})
    assert refused.status_code == 403 and refused.data["code"] == "MFA_SETUP_REQUIRED", refused.data
    _enable_totp(cognito, "op")
    assert api.call("GET", "/v1/platform/tenants", op).status_code == 200
    pretender = sign_in("pretender")
    assert api.call("GET", "/v1/platform/tenants", pretender).status_code == 401  # no tenant, and no operator
