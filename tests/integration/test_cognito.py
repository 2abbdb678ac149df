"""The Cognito identity adapter and Cognito-issued id tokens, on moto's Cognito.

The same API code runs with CRM_IDENTITY_PROVIDER=cognito: logins are created in the user
pool, passwords reset there, accounts disabled there, and the API accepts the id tokens
Cognito issues (verified against the pool's JWKS, issuer and app client)."""
from __future__ import annotations

import gzip
from pathlib import Path

import moto.cognitoidp
import pytest

from chalicelib.core.settings import environment, get_settings
from chalicelib.ports import client


@pytest.fixture()
def cognito(api, tmp_path):
    idp = client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="crm-test-staff",
        Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False},
                {"Name": "platform_admin", "AttributeDataType": "String", "Mutable": True}],
    )["UserPool"]
    app_client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web",
                                             ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"])["UserPoolClient"]
    jwks = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_bytes(gzip.decompress(jwks.read_bytes()))
    env = {"CRM_IDENTITY_PROVIDER": "cognito", "CRM_COGNITO_USER_POOL_ID": pool["Id"], "CRM_COGNITO_CLIENT_ID": app_client["ClientId"],
           "CRM_JWT_ISSUER": f"https://cognito-idp.{get_settings().region}.amazonaws.com/{pool['Id']}",
           "CRM_JWT_AUDIENCE": app_client["ClientId"], "CRM_JWKS_URL": f"file://{jwks_file}"}
    with environment(**env):
        yield {"pool": pool["Id"], "client": app_client["ClientId"], "idp": idp}


def _sign_in(c, tenant: str, user_id: str, password: str) -> str:
    out = c["idp"].admin_initiate_auth(UserPoolId=c["pool"], ClientId=c["client"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": f"{tenant}.{user_id}", "PASSWORD": password})
    return out["AuthenticationResult"]["IdToken"]


def test_given_cognito_when_tenant_is_created_then_admin_signs_in_with_cognito_token(api, cognito):
    from chalicelib.tenants import service as tenants

    created = tenants.create_tenant({"id": "cog", "name": "云端公司", "admin_name": "管理员", "admin_mobile": "13800001234",
                                     "admin_password": "Cloud@2026!safe"})
    admin = created["admin_user_id"]
    user = cognito["idp"].admin_get_user(UserPoolId=cognito["pool"], Username=f"cog.{admin}")
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["custom:tenant_id"] == "cog" and attrs["phone_number"] == "+8613800001234"
    token = _sign_in(cognito, "cog", admin, "Cloud@2026!safe")
    me = api.call("GET", "/v1/me", token)
    assert me.status_code == 200, me.data
    assert me.data["user"]["id"] == admin and me.data["is_super"] is True
    # the local sign-in route is not for Cognito deployments
    local = api.call("POST", "/v1/auth/login", body={"tenant_id": "cog", "mobile": "13800001234", "password": "Cloud@2026!safe"})
    assert local.status_code == 403


def test_given_cognito_when_admin_manages_a_user_then_pool_follows(api, cognito):
    from chalicelib.tenants import service as tenants

    created = tenants.create_tenant({"id": "cog2", "name": "云端公司二", "admin_name": "管理员", "admin_mobile": "13800005678",
                                     "admin_password": "Cloud@2026!safe"})
    admin_token = _sign_in(cognito, "cog2", created["admin_user_id"], "Cloud@2026!safe")
    r = api.call("POST", "/v1/org/users", admin_token, {"name": "李娜", "mobile": "13900001111", "department_id": created["top_department_id"],
                                                        "role_ids": ["sales_rep"], "password": "Start@2026!safe"})
    assert r.status_code == 201, r.data
    rep = r.data["id"]
    rep_token = _sign_in(cognito, "cog2", rep, "Start@2026!safe")
    assert api.call("GET", "/v1/customers", rep_token).status_code == 200
    # password reset by the admin: the pool takes the new password, old sessions end
    assert api.call("POST", f"/v1/org/users/{rep}/password", admin_token, {"password": "Reset@2026!safe"}).status_code == 204
    assert api.call("GET", "/v1/customers", rep_token).status_code == 401
    with pytest.raises(cognito["idp"].exceptions.NotAuthorizedException):
        _sign_in(cognito, "cog2", rep, "Start@2026!safe")
    import time

    time.sleep(1.1)
    fresh = _sign_in(cognito, "cog2", rep, "Reset@2026!safe")
    assert api.call("GET", "/v1/customers", fresh).status_code == 200
    # disabling in the API disables the Cognito account too
    assert api.call("POST", f"/v1/org/users/{rep}/disable", admin_token).status_code == 200
    assert cognito["idp"].admin_get_user(UserPoolId=cognito["pool"], Username=f"cog2.{rep}")["Enabled"] is False
    assert api.call("GET", "/v1/customers", fresh).status_code == 401


def test_given_token_from_another_app_client_when_calling_then_401(api, cognito):
    from chalicelib.tenants import service as tenants

    created = tenants.create_tenant({"id": "cog3", "name": "云端公司三", "admin_name": "管理员", "admin_mobile": "13800009999",
                                     "admin_password": "Cloud@2026!safe"})
    other = cognito["idp"].create_user_pool_client(UserPoolId=cognito["pool"], ClientName="other",
                                                   ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    token = cognito["idp"].admin_initiate_auth(UserPoolId=cognito["pool"], ClientId=other, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                               AuthParameters={"USERNAME": f"cog3.{created['admin_user_id']}", "PASSWORD": "Cloud@2026!safe"},
                                               )["AuthenticationResult"]["IdToken"]
    r = api.call("GET", "/v1/me", token)
    assert r.status_code == 401 and r.data["code"] == "INVALID_TOKEN"
