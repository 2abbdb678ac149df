"""cdk-nag's API Gateway rules, checked on the API that Chalice emits.

cdk-nag's AwsSolutions pack runs on every synth (infra/app.py), but its API Gateway rules match
``AWS::ApiGateway::Stage`` / ``CfnMethod`` / ``CfnRestApi`` and Chalice emits one
``AWS::Serverless::Api`` (expanded by the SAM transform at deploy time): they never see it. These
tests are those rules, one per finding, on the SAM resource and its definition body. A rule the
stack does not follow is pinned as a decision with its justification, so changing it is a visible
change of a test, as acknowledging a cdk-nag finding would be.

| Rule | What | Outcome |
| AwsSolutions-APIG1 | access logging | fixed: JSON access logs to a retained log group |
| AwsSolutions-APIG2 | request validation | justified: the handler validates every body and query |
| AwsSolutions-APIG3 | WAFv2 web ACL on the stage | fixed |
| AwsSolutions-APIG4, AwsSolutions-COG4 | authorization (a Cognito authorizer) | justified: tokens verified in the handler |
| AwsSolutions-APIG6 | CloudWatch execution logging on every method | fixed: ERROR level, no request data |
| (APIGWXrayEnabled, other packs; AwsSolutions has no APIG5) | X-Ray tracing | fixed |
| (APIGWCacheEnabledAndEncrypted, other packs) | an encrypted cache | justified: no cache at all |
"""
from __future__ import annotations

import json
from typing import Any

from infra.components.api import API_STAGE


def _resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == resource_type}


def _api(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(logical_id, api)] = _resources(template_json, "AWS::Serverless::Api").items()
    return logical_id, api["Properties"]


def _operations(body: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in body["paths"].items() for method, op in ops.items() if isinstance(op, dict)]


def test_apig1_access_logging_is_on_in_json_to_a_log_group_with_retention(template_json):
    _, api = _api(template_json)
    setting = api["AccessLogSetting"]
    group_id = setting["DestinationArn"]["Fn::GetAtt"][0]
    assert template_json["Resources"][group_id]["Properties"]["RetentionInDays"] > 0
    assert {"requestId", "status", "ip"} <= set(json.loads(setting["Format"]))


def test_apig2_request_validation_is_the_handler_s_by_decision(template_json):
    """Justified: API Gateway's validators check a body against a JSON Schema model in the
    definition and answer 400 in the gateway's own words. The handler validates every body and
    query with its route's pydantic model (chalicelib/core/api.py ``route``) and answers 422 with
    per-field details in the caller's language (zh-CN / en), the product's error shape; the same
    rules run locally and in AWS (tests/integration/test_work_strict_inputs.py,
    tests/e2e/test_fuzz.py). Models of ~250 bodies in the definition would also grow a template
    that is near CloudFormation's 1 MB limit, for a second, weaker check of the same input."""
    _, api = _api(template_json)
    body = api["DefinitionBody"]
    assert "x-amazon-apigateway-request-validators" not in body
    assert not [(p, m) for p, m, op in _operations(body) if "x-amazon-apigateway-request-validator" in op]
    # every operation is a proxy to the handler, which is where validation happens
    assert {op["x-amazon-apigateway-integration"]["type"] for _, m, op in _operations(body) if m != "options"} == {"aws_proxy"}


def test_apig3_the_stage_is_associated_with_a_wafv2_web_acl(template_json):
    [association] = _resources(template_json, "AWS::WAFv2::WebACLAssociation").values()
    [acl_id] = _resources(template_json, "AWS::WAFv2::WebACL")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert f"/stages/{API_STAGE}" in json.dumps(association["Properties"]["ResourceArn"])
    api_id, _ = _api(template_json)
    assert association["DependsOn"] == [f"{api_id}{API_STAGE}Stage"]  # the stage SAM creates


def test_apig4_and_cog4_authorization_is_the_handler_s_by_decision(template_json):
    """Justified: every route but the public ones verifies a bearer token in the handler
    (chalicelib/core/auth.py ``verify``: signature against the IdP's JWKS, issuer, audience, expiry),
    for both identity providers: a Cognito user pool where it exists and the product's
    own IdP where it does not (the China regions, infra/components/regions.py), which a Cognito
    authorizer could not serve. A Lambda authorizer would add a second invocation (and cold start)
    to requests the handler verifies anyway. Public routes (health, sign-in, JWKS, signed inbound
    webhooks, unsubscribe and calendar-feed links carrying their own token) are declared
    ``public=True`` on ``route(...)``; tests/integration/test_auth.py calls every other route without a
    token and gets 401. Pinned: no authorizer in the definition, so authorization has one place."""
    _, api = _api(template_json)
    body = api["DefinitionBody"]
    assert "Auth" not in api
    assert "securityDefinitions" not in body and "security" not in body
    assert not [(p, m) for p, m, op in _operations(body) if op.get("security")]


def test_apig6_every_method_logs_errors_to_cloudwatch_without_request_data(template_json):
    _, api = _api(template_json)
    [methods] = api["MethodSettings"]
    assert (methods["ResourcePath"], methods["HttpMethod"]) == ("/*", "*")
    assert methods["LoggingLevel"] in ("ERROR", "INFO")
    assert methods["DataTraceEnabled"] is False  # bodies carry personal data
    [account] = _resources(template_json, "AWS::ApiGateway::Account").values()
    assert "CloudWatchRoleArn" in account["Properties"]  # what lets API Gateway write them


def test_xray_tracing_is_enabled_on_the_stage(template_json):
    _, api = _api(template_json)
    assert api["TracingEnabled"] is True


def test_no_stage_cache_by_decision(template_json):
    """Justified: answers depend on the caller (tenant, role, field rules); a stage cache keyed on
    the path would serve one user's answer to another. No cache cluster, so nothing to encrypt."""
    _, api = _api(template_json)
    assert not api.get("CacheClusterEnabled")
    [methods] = api["MethodSettings"]
    assert not methods.get("CachingEnabled")
