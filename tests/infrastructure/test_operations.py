"""Running a stage (issue: Well-Architected serverless review): stream failure handling, the alarm topic and
alarms, the dashboard, the API's edge (WAF, access logs, gateway responses, CORS), backups and the schedules'
dead-letter queue. Checked on the template synthesized once per session (conftest.py)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from functions.registry import FUNCTIONS
from functions.streams import STREAM_RETRY
from infra.components.api import API_STAGE, GATEWAY_RESPONSES
from infra.components.operations import WAF_MANAGED_RULE_GROUPS
from tests.infrastructure.conftest import invokes

STREAM_CONSUMERS = [f for f in FUNCTIONS if f.stream_filter is not None]
PREFIX = "crm-dev"


def _resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == resource_type}


def _function_id(template_json: dict[str, Any], name: str) -> str:
    return next(k for k, v in _resources(template_json, "AWS::Lambda::Function").items()
                if v["Properties"].get("FunctionName") == f"{PREFIX}-{name.replace('_', '-')}")


def _api(template_json: dict[str, Any]) -> dict[str, Any]:
    [api] = _resources(template_json, "AWS::Serverless::Api").values()
    return api["Properties"]


def _alarms(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in _resources(template_json, "AWS::CloudWatch::Alarm").items()}


def _dims(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


# -- 1. stream consumers --------------------------------------------------------------------------

@pytest.mark.parametrize("spec", STREAM_CONSUMERS, ids=lambda f: f.name)
def test_given_stream_consumer_when_synthesized_then_its_mapping_reports_batch_item_failures_with_the_shared_policy(
        template_json, spec):
    fid = _function_id(template_json, spec.name)
    [mapping] = [v["Properties"] for v in _resources(template_json, "AWS::Lambda::EventSourceMapping").values()
                 if invokes(template_json, v["Properties"]["FunctionName"], fid)]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is STREAM_RETRY.bisect_on_error
    assert mapping["MaximumRetryAttempts"] == STREAM_RETRY.max_retry_attempts
    assert mapping["MaximumRecordAgeInSeconds"] == STREAM_RETRY.max_record_age_seconds
    queue = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    # the on-failure queue alarms as soon as a message lands on it
    assert any(a["Namespace"] == "AWS/SQS" and _dims(a).get("QueueName") == {"Fn::GetAtt": [queue, "QueueName"]}
               for a in _alarms(template_json).values())
    # and the consumer alarms when it lags behind the stream
    assert any(a["MetricName"] == "IteratorAge" and _dims(a) == {"FunctionName": {"Ref": fid}}
               for a in _alarms(template_json).values())


# -- 2. alarms -----------------------------------------------------------------------------------

def test_given_alarm_topic_when_synthesized_then_it_is_one_encrypted_topic_per_stage(template_json):
    [(topic_id, topic)] = _resources(template_json, "AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == f"{PREFIX}-alarms"
    assert "KmsMasterKeyId" in topic["Properties"]
    key = template_json["Resources"][topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_given_every_alarm_when_synthesized_then_it_is_named_for_the_stage_and_reports_to_the_topic(template_json):
    [topic_id] = _resources(template_json, "AWS::SNS::Topic")
    alarms = _alarms(template_json)
    assert len(alarms) >= 40
    for alarm in alarms.values():
        assert alarm["AlarmName"].startswith(f"{PREFIX}-")
        assert alarm["AlarmActions"] == [{"Ref": topic_id}] and alarm["OKActions"] == [{"Ref": topic_id}]
    names = [a["AlarmName"] for a in alarms.values()]
    assert len(names) == len(set(names))


def test_given_subscriptions_in_context_when_resolved_then_the_topic_gets_them():
    import aws_cdk as cdk

    from infra.components.naming import Stage
    from infra.components.operations import OpsConfig

    app = cdk.App(context={"alarm_emails": "ops@example.com, oncall@example.com", "alarm_https_endpoints": "https://hooks.example.com/a",
                           "waf_rate_limit": "500", "backup_retention_days": "90",
                           "backup_copy_vault_arn": "arn:aws:backup:ap-southeast-1:210987654321:backup-vault:crm-copies"})
    config = OpsConfig.of(Stage(cdk.Stack(app, "s"), "prod"))
    assert config.alarm_emails == ("ops@example.com", "oncall@example.com")
    assert config.alarm_https_endpoints == ("https://hooks.example.com/a",)
    assert (config.waf_rate_limit, config.backup_retention_days) == (500, 90)
    assert config.backup_copy_vault_arn.endswith(":backup-vault:crm-copies")
    defaults = OpsConfig.of(Stage(cdk.Stack(cdk.App(), "d"), "dev"))
    assert defaults.alarm_emails == () and defaults.web_origins == ("*",)


def test_given_api_when_synthesized_then_it_is_named_for_the_stage_and_its_alarms_key_on_name_and_stage(template_json):
    assert _api(template_json)["Name"] == PREFIX
    api_alarms = [a for a in _alarms(template_json).values() if a["Namespace"] == "AWS/ApiGateway"]
    assert {a["MetricName"] for a in api_alarms} == {"5XXError", "Latency"}
    for alarm in api_alarms:
        assert _dims(alarm) == {"ApiName": PREFIX, "Stage": API_STAGE}
    [latency] = [a for a in api_alarms if a["MetricName"] == "Latency"]
    assert latency["ExtendedStatistic"] == "p95"


def test_given_functions_when_synthesized_then_each_alarms_on_throttles(template_json):
    throttled = {json.dumps(_dims(a)) for a in _alarms(template_json).values() if a["MetricName"] == "Throttles"}
    for spec in FUNCTIONS:
        assert json.dumps({"FunctionName": {"Ref": _function_id(template_json, spec.name)}}) in throttled, spec.name
    assert len(throttled) == len(FUNCTIONS) + 1  # and the API handler


def test_given_state_machines_and_scheduler_when_synthesized_then_failures_timeouts_and_drops_alarm(template_json):
    metrics = {(a["Namespace"], a["MetricName"]) for a in _alarms(template_json).values()}
    assert {("AWS/States", "ExecutionsFailed"), ("AWS/States", "ExecutionsTimedOut"),
            ("AWS/Scheduler", "InvocationDroppedCount"), ("AWS/Scheduler", "TargetErrorCount")} <= metrics
    for alarm in _alarms(template_json).values():
        if alarm["Namespace"] == "AWS/Scheduler":
            assert _dims(alarm) == {"ScheduleGroup": PREFIX}


def test_given_every_queue_when_synthesized_then_each_dead_letter_queue_alarms_on_depth(template_json):
    alarmed = {_dims(a)["QueueName"]["Fn::GetAtt"][0] for a in _alarms(template_json).values() if a["Namespace"] == "AWS/SQS"}
    dlqs = {k for k, v in _resources(template_json, "AWS::SQS::Queue").items() if v["Properties"]["QueueName"].endswith("-dlq")}
    assert dlqs and dlqs <= alarmed


def test_given_stack_when_synthesized_then_a_dashboard_shows_api_functions_table_state_machines_and_search(template_json):
    [dashboard] = _resources(template_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for namespace in ("AWS/ApiGateway", "AWS/Lambda", "AWS/DynamoDB", "AWS/States", "AWS/ES"):
        assert namespace in body, namespace


# -- 3. the API's edge -----------------------------------------------------------------------------

def test_given_api_stage_when_synthesized_then_a_waf_web_acl_with_managed_rules_and_a_rate_limit_guards_it(template_json):
    [(acl_id, acl)] = _resources(template_json, "AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    groups = [r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in props["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]]
    assert groups == list(WAF_MANAGED_RULE_GROUPS)
    [rate] = [r for r in props["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"} and rate["Action"] == {"Block": {}}
    [association] = _resources(template_json, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert association["DependsOn"] == [f"RestAPI{API_STAGE}Stage"]
    assert f"/stages/{API_STAGE}" in json.dumps(association["Properties"]["ResourceArn"])


def test_given_api_when_synthesized_then_access_logs_are_json_to_a_retained_log_group_and_errors_are_logged(template_json):
    api = _api(template_json)
    setting = api["AccessLogSetting"]
    group_id = setting["DestinationArn"]["Fn::GetAtt"][0]
    group = template_json["Resources"][group_id]["Properties"]
    assert group["LogGroupName"] == f"/aws/apigateway/{PREFIX}-api/access" and group["RetentionInDays"] > 0
    fields = json.loads(setting["Format"])
    assert {"requestId", "status", "latency", "wafStatus"} <= set(fields)
    [methods] = api["MethodSettings"]
    assert methods["LoggingLevel"] == "ERROR" and methods["DataTraceEnabled"] is False and methods["MetricsEnabled"] is True
    assert api["TracingEnabled"] is True
    # API Gateway logs through the account's CloudWatch role
    [account] = _resources(template_json, "AWS::ApiGateway::Account").values()
    assert "CloudWatchRoleArn" in account["Properties"]


def test_given_gateway_responses_when_synthesized_then_every_kind_the_issue_names_is_answered_with_cors(template_json):
    responses = _api(template_json)["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "WAF_FILTERED", "UNAUTHORIZED", "ACCESS_DENIED"} <= set(responses)
    assert set(responses) == set(GATEWAY_RESPONSES)
    for response in responses.values():
        body = json.loads(response["responseTemplates"]["application/json"])
        assert set(body) == {"code", "message", "details"}
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in response["responseParameters"]


def test_given_web_origins_when_gateway_responses_are_built_then_they_name_the_first_origin_and_vary():
    from infra.components.api import gateway_responses

    response = gateway_responses("https://app.example.com")["WAF_FILTERED"]
    assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
    assert response["responseParameters"]["gatewayresponse.header.Vary"] == "'Origin'"
    assert response["statusCode"] == "403"


def test_given_api_when_synthesized_then_its_handler_gets_the_configured_cors_origins(template_json):
    [handler] = [v for v in _resources(template_json, "AWS::Serverless::Function").values()
                 if v["Properties"].get("Handler") == "app.app"]
    assert handler["Properties"]["Environment"]["Variables"]["CRM_CORS_ORIGINS"] == "*"  # dev: no web_origins context


# -- 7. backups and dead letters ---------------------------------------------------------------------

def test_given_table_when_synthesized_then_aws_backup_copies_it_daily_with_retention(template_json):
    table_id = next(iter(_resources(template_json, "AWS::DynamoDB::Table")))
    [plan] = _resources(template_json, "AWS::Backup::BackupPlan").values()
    [rule] = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"].startswith("cron(0 19 ")
    assert rule["Lifecycle"]["DeleteAfterDays"] == 7  # dev's default; prod 35, or backup_retention_days
    assert "CopyActions" not in rule  # no backup_copy_vault_arn for dev
    [selection] = _resources(template_json, "AWS::Backup::BackupSelection").values()
    assert selection["Properties"]["BackupSelection"]["Resources"] == [{"Fn::GetAtt": [table_id, "Arn"]}]
    [vault] = _resources(template_json, "AWS::Backup::BackupVault").values()
    assert vault["DeletionPolicy"] == "Retain"


def test_given_bus_when_synthesized_then_an_archive_keeps_its_events_for_replay(template_json):
    bus_id = next(iter(_resources(template_json, "AWS::Events::EventBus")))
    [archive] = _resources(template_json, "AWS::Events::Archive").values()
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    assert archive["Properties"]["RetentionDays"] == 7


def test_given_schedules_when_synthesized_then_their_dead_letter_queue_is_set_and_the_scheduler_role_may_send(template_json):
    [(queue_id, _)] = [(k, v) for k, v in _resources(template_json, "AWS::SQS::Queue").items()
                       if v["Properties"]["QueueName"] == f"{PREFIX}-schedules-dlq"]
    handler = next(v for v in _resources(template_json, "AWS::Serverless::Function").values()
                   if v["Properties"].get("Handler") == "app.app")
    assert handler["Properties"]["Environment"]["Variables"]["CRM_SCHEDULE_DLQ_ARN"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    role_id = next(k for k, v in _resources(template_json, "AWS::IAM::Role").items()
                   if "scheduler.amazonaws.com" in json.dumps(v["Properties"]["AssumeRolePolicyDocument"]))
    statements = [s for p in _resources(template_json, "AWS::IAM::Policy").values()
                  if {"Ref": role_id} in p["Properties"].get("Roles", []) for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any("sqs:SendMessage" in s["Action"] and s["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]} for s in statements)


def test_given_reindex_when_synthesized_then_its_concurrency_is_reserved(template_json):
    reindex = template_json["Resources"][_function_id(template_json, "reindex")]
    assert reindex["Properties"]["ReservedConcurrentExecutions"] == 2
