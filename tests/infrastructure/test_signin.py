"""Sign-in hardening in the template (issue 15, point 5): 12-character passwords, MFA optional in the
pool with TOTP only (each tenant chooses; the API enforces), platform operators as a group the API role
cannot change, and threat protection decided per stage."""
from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.core import passwords
from chalicelib.core.auth import PLATFORM_GROUP

#: What would let the API make someone a platform operator, or change who one is.
FORBIDDEN_TO_API = ("cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup",
                    "cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminDeleteUserAttributes",
                    "cognito-idp:CreateGroup", "cognito-idp:UpdateGroup", "cognito-idp:DeleteGroup")


def _resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == resource_type}


def _pool(template_json: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(key, pool)] = [(k, v["Properties"]) for k, v in _resources(template_json, "AWS::Cognito::UserPool").items()
                     if v["Properties"]["UserPoolName"].endswith(f"-{kind}")]
    return key, pool


def _actions(statement: dict[str, Any]) -> list[str]:
    a = statement.get("Action", [])
    return [a] if isinstance(a, str) else list(a)


def test_given_pools_when_synthesized_then_passwords_need_12_characters_and_mfa_is_totp_and_optional(template_json):
    assert passwords.MIN_LENGTH == 12
    for kind in ("staff", "portal"):
        _, pool = _pool(template_json, kind)
        assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
        assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]


def test_given_staff_pool_when_synthesized_then_platform_operators_are_a_group_not_an_attribute(template_json):
    key, pool = _pool(template_json, "staff")
    # the retired attribute stays declared as deployed pools have it (Cognito cannot remove a schema
    # attribute: a template without it fails the pool's update) — same type and bounds — but no client sees it
    [retired] = [a for a in pool.get("Schema", []) if a["Name"] == "platform_admin"]
    assert retired["AttributeDataType"] == "String" and retired["Mutable"] is True
    assert retired["StringAttributeConstraints"] == {"MinLength": "4", "MaxLength": "5"}
    _, portal = _pool(template_json, "portal")
    assert not any(a["Name"] == "platform_admin" for a in portal.get("Schema", []))
    [group] = [v["Properties"] for v in _resources(template_json, "AWS::Cognito::UserPoolGroup").values()]
    assert group["GroupName"] == PLATFORM_GROUP == "platform-admins"
    assert group["UserPoolId"] == {"Ref": key}
    for client in _resources(template_json, "AWS::Cognito::UserPoolClient").values():
        assert "custom:platform_admin" not in json.dumps(client["Properties"])


def test_given_every_policy_when_synthesized_then_no_role_may_change_groups_or_attributes_of_the_staff_pool(template_json):
    statements = [s for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
                  for p in _resources(template_json, kind).values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    granted = {a for s in statements if s.get("Effect", "Allow") == "Allow" for a in _actions(s)}
    assert not granted & set(FORBIDDEN_TO_API)
    assert not any(a in ("cognito-idp:*", "*") or a.startswith("cognito-idp:Admin*") for a in granted)
    # what the API does need for sign-in security: read a user's MFA settings, reset them
    assert {"cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserMFAPreference"} <= granted


def test_given_dev_stage_when_synthesized_then_essentials_without_threat_protection_and_cdk_nag_told_why(template_json):
    _, staff = _pool(template_json, "staff")
    assert staff["UserPoolTier"] == "ESSENTIALS"
    assert "AdvancedSecurityMode" not in json.dumps(staff.get("UserPoolAddOns", {}))


def _identity_template(stage: str, context: dict[str, str] | None = None) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.components.identity import Identity
    from infra.components.naming import Stage

    stack = cdk.Stack(cdk.App(context=context or {}), "Identity")
    Identity(Stage(stack, stage))
    return Template.from_stack(stack).to_json()


def test_given_prod_stage_when_synthesized_then_staff_pool_is_plus_with_threat_protection_enforced():
    t = _identity_template("prod")
    _, staff = _pool(t, "staff")
    assert staff["UserPoolTier"] == "PLUS"
    assert staff["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    assert staff["DeletionProtection"] == "ACTIVE"
    _, portal = _pool(t, "portal")
    assert portal["UserPoolTier"] == "ESSENTIALS"


def test_given_context_when_a_stage_overrides_the_plan_then_it_is_used_and_nonsense_is_refused():
    t = _identity_template("staging", {"cognito_feature_plan": "plus", "cognito_threat_protection": "audit"})
    _, staff = _pool(t, "staff")
    assert staff["UserPoolTier"] == "PLUS" and staff["UserPoolAddOns"]["AdvancedSecurityMode"] == "AUDIT"
    with pytest.raises(ValueError, match="needs cognito_feature_plan=plus"):
        _identity_template("staging", {"cognito_threat_protection": "enforced"})
    with pytest.raises(ValueError, match="cognito_feature_plan"):
        _identity_template("staging", {"cognito_feature_plan": "gold"})
