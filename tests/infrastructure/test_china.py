"""Region-dependent parts (infra/components/regions.py) and the own identity provider's signing keys
(infra/components/token_keys.py); one synthesis for cn-northwest-1, linted by cfn-lint for that region."""
from __future__ import annotations

import json

import pytest

from infra.components.regions import BUILTIN, COGNITO, default_identity_provider, identity_provider, profile_for
from infra.components.token_keys import key_generations
from tests.infrastructure.conftest import Synthesis, synthesize

CHINA = "cn-northwest-1"


# ------------------------------------------------------------------ the decision, in one function

@pytest.mark.parametrize("region,expected", [
    ("ap-southeast-1", COGNITO), ("ap-east-1", COGNITO), ("us-east-1", COGNITO),
    ("cn-north-1", BUILTIN), ("cn-northwest-1", BUILTIN),
])
def test_given_a_region_when_no_identity_is_asked_then_cognito_where_it_exists_else_builtin(region, expected):
    assert default_identity_provider(region) == expected
    assert identity_provider(region) == expected
    assert identity_provider(region, "") == expected


def test_given_an_explicit_identity_when_possible_then_it_wins_and_cognito_in_china_is_refused():
    assert identity_provider("ap-southeast-1", "builtin") == BUILTIN
    assert identity_provider("ap-southeast-1", " Cognito ") == COGNITO
    assert identity_provider(CHINA, "builtin") == BUILTIN
    with pytest.raises(ValueError, match="not available in cn-northwest-1"):
        identity_provider(CHINA, "cognito")
    with pytest.raises(ValueError, match="identity must be one of"):
        identity_provider("ap-southeast-1", "okta")


def test_given_china_when_profiled_then_no_ses_no_snapstart_no_lambda_xray_and_mail_on_is_refused():
    china = profile_for(CHINA)
    assert (china.partition, china.identity, china.mail, china.snapstart, china.lambda_xray) == (
        "aws-cn", BUILTIN, False, False, False)
    with pytest.raises(ValueError, match="SES is not available"):
        profile_for(CHINA, mail="on")
    singapore, hong_kong = profile_for("ap-southeast-1"), profile_for("ap-east-1")
    assert (singapore.partition, singapore.identity, singapore.mail, singapore.snapstart, singapore.lambda_xray) == (
        "aws", COGNITO, True, True, True)
    assert (hong_kong.identity, hong_kong.mail, hong_kong.snapstart) == (COGNITO, False, True)  # no SES in Hong Kong
    with pytest.raises(ValueError, match="SES is not available in ap-east-1"):
        profile_for("ap-east-1", mail="on")
    assert profile_for("ap-southeast-1", mail="off").mail is False
    with pytest.raises(ValueError, match="on or off"):
        profile_for("ap-southeast-1", mail="maybe")


@pytest.mark.parametrize("value,expected", [(None, ["1"]), ("", ["1"]), ("2,1", ["2", "1"]), (" 3 ", ["3"])])
def test_given_key_generations_when_parsed_then_the_signing_one_is_first(value, expected):
    assert key_generations(value) == expected


@pytest.mark.parametrize("value", ["1,1", "Key-1", ",,"])
def test_given_bad_key_generations_when_parsed_then_refused(value):
    with pytest.raises(ValueError):
        key_generations(value)


def test_given_two_key_generations_when_built_then_the_api_signs_with_the_first_and_reads_both_public_keys():
    """BuiltinIdentity alone in a stack (no packaging): keys, aliases, the API's statements, the settings."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from infra.components.naming import Stage
    from infra.components.token_keys import BuiltinIdentity

    app = cdk.App(context={"token_key_generations": "2,1", "public_api_url": "https://crm.example.cn/api/"})
    stack = cdk.Stack(app, "keys")
    identity = BuiltinIdentity(Stage(stack, "prod"))
    role = iam.Role(stack, "Api", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    for statement in identity.api_statements():
        role.add_to_policy(statement)
    cdk.CfnOutput(stack, "Env", value=cdk.Fn.join("|", list(identity.environment().values())))
    t = Template.from_stack(stack).to_json()
    keys = {k: v for k, v in t["Resources"].items() if v["Type"] == "AWS::KMS::Key" and not k.startswith("MfaSeedKey")}
    assert len(keys) == 2
    for key in keys.values():
        assert key["Properties"]["KeySpec"] == "RSA_2048" and key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
        assert key["DeletionPolicy"] == "Retain" and key["Properties"]["PendingWindowInDays"] == 30
    aliases = sorted(v["Properties"]["AliasName"] for v in t["Resources"].values() if v["Type"] == "AWS::KMS::Alias")
    assert aliases == ["alias/crm-prod/mfa-seeds", "alias/crm-prod/token-signing-1", "alias/crm-prod/token-signing-2"]
    first, second = (next(k for k in keys if k.startswith(f"TokenSigningKey{g}")) for g in ("2", "1"))
    [policy] = [v for v in t["Resources"].values() if v["Type"] == "AWS::IAM::Policy"]
    statements = {json.dumps(sorted(s["Action"]) if isinstance(s["Action"], list) else s["Action"]): s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    [seed_key] = [k for k in t["Resources"] if k.startswith("MfaSeedKey") and t["Resources"][k]["Type"] == "AWS::KMS::Key"]
    assert statements == {'"kms:Sign"': {"Fn::GetAtt": [first, "Arn"]},
                          '"kms:GetPublicKey"': [{"Fn::GetAtt": [first, "Arn"]}, {"Fn::GetAtt": [second, "Arn"]}],
                          '["kms:Decrypt", "kms:GenerateDataKey"]': {"Fn::GetAtt": [seed_key, "Arn"]}}
    env = identity.environment()
    assert env["CRM_IDENTITY_PROVIDER"] == "builtin" and env["CRM_JWT_ISSUER"] == "https://crm.example.cn/api"
    assert set(env) == {"CRM_IDENTITY_PROVIDER", "CRM_TOKEN_SIGNING_KEYS", "CRM_TOKEN_TTL_SECONDS", "CRM_JWT_ISSUER",
                        "CRM_JWT_AUDIENCE", "CRM_MFA_SEED_KEY"}


# ------------------------------------------------------------------ cn-northwest-1: one synthesis

@pytest.fixture(scope="module")
def china(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(tmp_path_factory.mktemp("cdk.out.cn"), CHINA)


@pytest.fixture(scope="module")
def china_template(china: Synthesis) -> dict:
    """The stage's stacks seen as one (the signing keys live in the data stack, the API in the stage's)."""
    return china.whole()


def test_given_cn_northwest_1_when_synthesized_then_cdk_nag_passes_and_cfn_lint_for_that_region_has_no_errors(china):
    from cfnlint.api import ManualArgs, lint_file

    assert china.returncode == 0, china.output[-6000:]
    report = china.outdir / "validation-report.json"
    if report.exists():
        assert [p for p in json.loads(report.read_text())["pluginReports"] if p["conclusion"] != "success"] == []
    errors = [f"{path.name}: {m.rule.id} {m.message} ({m.path_string})"
              for path in china.template_paths
              for m in lint_file(path, config=ManualArgs(regions=[CHINA])) if m.rule.severity == "error"]
    assert errors == []


def test_given_cn_northwest_1_when_synthesized_then_no_cognito_no_ses_and_the_api_signs_with_its_kms_key(china_template):
    resources = china_template["Resources"]
    types = {v["Type"] for v in resources.values()}
    assert not {t for t in types if t.startswith(("AWS::Cognito::", "AWS::SES::"))}
    [key_id] = [k for k, v in resources.items() if v["Type"] == "AWS::KMS::Key" and v["Properties"].get("KeyUsage") == "SIGN_VERIFY"]
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    handler = resources["APIHandler"]["Properties"]
    env = handler["Environment"]["Variables"]
    assert env["CRM_IDENTITY_PROVIDER"] == "builtin" and env["CRM_TOKEN_SIGNING_KEYS"] == key_arn
    assert env["CRM_MAIL_ENABLED"] == "false"
    assert not any(k.startswith("CRM_COGNITO") for k in env)
    assert "SnapStart" not in handler and handler.get("Tracing") != "Active"
    functions = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Lambda::Function"]
    assert functions and all((f.get("TracingConfig") or {}).get("Mode") != "Active" for f in functions)
    [api_policy] = [v for v in resources.values() if v["Type"] == "AWS::IAM::ManagedPolicy"
                    and v["Properties"].get("ManagedPolicyName") == "crm-dev-api"]
    granted = set()
    for s in api_policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        targets = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        granted |= {(a, json.dumps(r)) for a in actions if a.startswith("kms:") for r in targets}
    [seed_id] = [k for k, v in resources.items() if v["Type"] == "AWS::KMS::Key" and k.startswith("MfaSeedKey")]
    seed_arn = {"Fn::GetAtt": [seed_id, "Arn"]}
    assert env["CRM_MFA_SEED_KEY"] == seed_arn
    assert granted == {("kms:Sign", json.dumps(key_arn)), ("kms:GetPublicKey", json.dumps(key_arn)),
                       ("kms:GenerateDataKey", json.dumps(seed_arn)), ("kms:Decrypt", json.dumps(seed_arn))}
    text = json.dumps(china_template)
    assert "cognito-idp" not in text and "ses:SendRawEmail" not in text
    assert "arn:aws:" not in text  # every ARN from the partition


def test_given_cn_northwest_1_when_synthesized_then_outputs_name_the_signing_key_not_user_pools(china_template):
    outputs = china_template["Outputs"]
    assert "TokenSigningKeyArn" in outputs and not any("UserPool" in k or "AppClient" in k for k in outputs)


def test_given_cn_northwest_1_when_synthesized_then_each_template_is_within_the_budget_and_monitoring_has_its_own_stack(
        china):
    from tests.infrastructure.test_safe_deploys import TEMPLATE_BUDGET_BYTES

    assert all(path.stat().st_size < TEMPLATE_BUDGET_BYTES for path in china.template_paths)
    monitoring = china.monitoring_template()["Resources"].values()
    assert {r["Type"] for r in monitoring} == {"AWS::CloudWatch::Dashboard", "AWS::CloudWatch::Alarm"}


def test_given_cn_northwest_1_when_synthesized_then_the_seed_key_rotates_and_only_the_api_may_use_it_for_seeds(china_template):
    resources = china_template["Resources"]
    [(seed_id, key)] = [(k, v) for k, v in resources.items() if v["Type"] == "AWS::KMS::Key" and k.startswith("MfaSeedKey")]
    assert key["Properties"]["EnableKeyRotation"] is True and "KeyUsage" not in key["Properties"]  # symmetric
    assert [v["Properties"]["AliasName"] for v in resources.values()
            if v["Type"] == "AWS::KMS::Alias" and v["Properties"]["TargetKeyId"] == {"Fn::GetAtt": [seed_id, "Arn"]}] \
        == ["alias/crm-dev/mfa-seeds"]
    users = []
    for name, policy in resources.items():
        if policy["Type"] not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if seed_id in json.dumps(s.get("Resource")) or s.get("Resource") == "*" and "kms:Decrypt" in json.dumps(s["Action"]):
                users.append((policy["Properties"].get("ManagedPolicyName", name), sorted(s["Action"]), s.get("Condition")))
    assert users == [("crm-dev-api", ["kms:Decrypt", "kms:GenerateDataKey"],
                      {"StringEquals": {"kms:EncryptionContext:purpose": "mfa-seed"}})]
