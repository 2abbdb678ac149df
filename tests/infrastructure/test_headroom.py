"""Room in the stage's template: the dashboard and the alarms no deployment group names live in the monitoring stack
(``crm-<stage>-monitoring``, infra/monitoring_stack.py), and the API definition carries no field a Lambda proxy
method ignores (infra/components/proxy_methods.py). Nothing deployed is lost: every alarm the stage had still exists,
named as before; the rollback alarms stay beside their deployment groups; the search access policy follows its
statements."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import STAGE, references

PREFIX = f"crm-{STAGE}"
#: Every alarm ``crm-dev`` had before the monitoring stack existed (the part after ``crm-dev-``): each must still exist
#: in one of the stage's stacks. New alarms may be added; none of these may go.
ALARMS_BEFORE_THE_MOVE = frozenset({
    "Api5xx", "ApiHandlerErrors", "ApiHandlerThrottles", "ApiLatency", "ApiWafBlocked", "ApprovalExecutionsFailed",
    "ApprovalExecutionsTimedOut", "ApprovalTimerDeadLetterQueue", "ApprovalTimerErrors", "ApprovalTimerThrottles",
    "AuditArchiverDeadLetterQueue", "AuditArchiverErrors", "AuditArchiverIteratorAge", "AuditArchiverThrottles",
    "InboundMailDeadLetterQueue", "InboundMailErrors", "InboundMailThrottles", "IndexerDeadLetterQueue", "IndexerErrors",
    "IndexerIteratorAge", "IndexerThrottles", "JobsDeadLetterQueue", "JobsErrors", "JobsThrottles", "NotifierDeadLetterQueue",
    "NotifierErrors", "NotifierThrottles", "PurgedFilesDeadLetterQueue", "PurgedFilesErrors", "PurgedFilesIteratorAge",
    "PurgedFilesThrottles", "RecordTimersDeadLetterQueue", "RecordTimersErrors", "RecordTimersIteratorAge",
    "RecordTimersThrottles", "RederiveDeadLetterQueue", "RederiveErrors", "RederiveThrottles", "ReindexErrors",
    "ReindexThrottles", "RemindersDeadLetterQueue", "RemindersErrors", "RemindersThrottles", "SchedulerDeadLetterQueue",
    "SchedulerInvocationDroppedCount", "SchedulerTargetErrorCount", "SearchClusterRed", "SearchFreeStorage",
    "SearchJvmMemoryPressure", "SearchSnapshotFailure", "SearchWritesBlocked", "WebhooksDeadLetterQueue", "WebhooksErrors",
    "WebhooksThrottles",
})


def _of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] in types}


def _alarm_names(template: dict[str, Any]) -> set[str]:
    return {v["Properties"]["AlarmName"].removeprefix(f"{PREFIX}-") for v in _of_type(template, "AWS::CloudWatch::Alarm").values()}


# ---------------------------------------------------------------------------- the monitoring stack

def test_given_the_app_when_synthesized_then_every_alarm_the_stage_had_still_exists_in_one_stack_only(
        stage_template_json, monitoring_template_json):
    in_stage, in_monitoring = _alarm_names(stage_template_json), _alarm_names(monitoring_template_json)
    assert in_stage & in_monitoring == set()
    assert ALARMS_BEFORE_THE_MOVE - (in_stage | in_monitoring) == set()
    assert in_monitoring, "the monitoring stack has no alarm"


def test_given_the_rollback_alarms_when_synthesized_then_they_stay_beside_their_deployment_groups(
        stage_template_json, monitoring_template_json):
    resources = stage_template_json["Resources"]
    named = [alarm["Name"] for group in _of_type(stage_template_json, "AWS::CodeDeploy::DeploymentGroup").values()
             for alarm in group["Properties"]["AlarmConfiguration"]["Alarms"]]
    (handler,) = _of_type(stage_template_json, "AWS::Serverless::Function").values()
    named += handler["Properties"]["DeploymentPreference"]["Alarms"]
    ids = [ref for value in named for ref in references(value)]
    assert len(ids) == len(named) >= 3
    assert all(resources[i]["Type"] == "AWS::CloudWatch::Alarm" for i in ids)
    rollback = {resources[i]["Properties"]["AlarmName"].removeprefix(f"{PREFIX}-") for i in ids}
    # exactly those stay: every other alarm (and the dashboard) is the monitoring stack's
    assert _alarm_names(stage_template_json) == rollback
    assert {"Api5xx", "ApiLatency", "IndexerErrors"} <= rollback
    assert not _of_type(stage_template_json, "AWS::CloudWatch::Dashboard")


def test_given_the_monitoring_stack_when_synthesized_then_it_holds_the_dashboard_and_alarms_only(monitoring_template_json):
    (dashboard,) = _of_type(monitoring_template_json, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == PREFIX
    assert {v["Type"] for v in monitoring_template_json["Resources"].values()} == {
        "AWS::CloudWatch::Dashboard", "AWS::CloudWatch::Alarm"}


def test_given_every_alarm_when_synthesized_then_it_reports_to_the_stage_stacks_topic(template_json, stage_template_json):
    (topic_id,) = _of_type(stage_template_json, "AWS::SNS::Topic")
    for alarm in _of_type(template_json, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}] == alarm["Properties"]["OKActions"], alarm


def test_given_the_dashboard_when_synthesized_then_it_shows_the_api_every_function_the_table_and_search(
        monitoring_template_json, template_json):
    from functions.registry import FUNCTIONS

    (dashboard,) = _of_type(template_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for needle in ("AWS/ApiGateway", "AWS/DynamoDB", "AWS/ES", "AWS/States", *(f'\\"label\\":\\"{s.name}\\"' for s in FUNCTIONS)):
        assert needle in body, needle


def test_given_the_manifest_when_synthesized_then_monitoring_deploys_after_the_stage_and_nothing_waits_on_it(synthesis):
    artifacts = json.loads((synthesis.outdir / "manifest.json").read_text())["artifacts"]
    monitoring = artifacts[f"{STAGE}-monitoring"]
    assert monitoring["properties"]["stackName"] == f"{PREFIX}-monitoring"
    assert STAGE in monitoring["dependencies"]
    for other in (STAGE, f"{STAGE}-data"):
        assert f"{STAGE}-monitoring" not in artifacts[other].get("dependencies", [])
    assert not monitoring["properties"].get("terminationProtection")


def test_given_the_stage_and_data_stacks_when_synthesized_then_neither_reads_the_monitoring_stack(
        stage_template_json, data_template_json):
    for template in (stage_template_json, data_template_json):
        assert f'"StackName": "{PREFIX}-monitoring"' not in json.dumps(template)


def test_given_every_stack_when_synthesized_then_synth_succeeded_with_cdk_nag_clean(synthesis):
    assert synthesis.returncode == 0, synthesis.output[-6000:]
    assert all(path.exists() for path in synthesis.template_paths)
    report = synthesis.outdir / "validation-report.json"
    if report.exists():
        assert [p for p in json.loads(report.read_text())["pluginReports"] if p["conclusion"] != "success"] == []


@pytest.mark.parametrize("which", ["data", "stage", "monitoring"])
def test_given_each_template_when_linted_then_cfn_lint_has_no_errors(synthesis, which):
    from cfnlint.api import ManualArgs, lint_file

    path = {"data": synthesis.data_template_path, "stage": synthesis.template_path,
            "monitoring": synthesis.monitoring_template_path}[which]
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in lint_file(path, config=ManualArgs(regions=["ap-southeast-1"]))
              if m.rule.severity == "error"]
    assert errors == []


# ---------------------------------------------------------------------------- the API definition

def test_given_the_api_definition_when_synthesized_then_proxy_methods_carry_no_field_a_proxy_ignores(template_json):
    (api,) = _of_type(template_json, "AWS::Serverless::Api").values()
    methods = [(path, name, operation) for path, item in api["Properties"]["DefinitionBody"]["paths"].items()
               for name, operation in item.items() if name != "options"]
    assert len(methods) > 100
    for path, name, operation in methods:
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy" and "passthroughBehavior" not in integration, (path, name)
        assert "consumes" not in operation and "produces" not in operation, (path, name)
        assert all("schema" not in response for response in operation["responses"].values()), (path, name)
        # what the proxy does use is kept
        assert integration["httpMethod"] == "POST" and integration["contentHandling"] == "CONVERT_TO_TEXT"
        assert "APIHandler.Alias" in json.dumps(integration["uri"])
        assert set(operation["responses"]) == {"200"}
        path_parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert path_parameters == {segment[1:-1] for segment in path.split("/") if segment.startswith("{")}, (path, name)


def test_given_a_chalice_definition_when_proxy_methods_are_compacted_then_mocks_and_body_parameters_are_untouched():
    from infra.components.proxy_methods import compact_proxy_methods

    proxy = {"consumes": ["application/json"], "produces": ["application/json"],
             "parameters": [{"name": "id", "in": "path", "required": True, "type": "string"}],
             "responses": {"200": {"description": "200 response", "schema": {"$ref": "#/definitions/Empty"}}},
             "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "passthroughBehavior": "when_no_match",
                                                 "contentHandling": "CONVERT_TO_TEXT", "uri": "arn",
                                                 "responses": {"default": {"statusCode": "200"}}}}
    with_body = {**json.loads(json.dumps(proxy)), "parameters": [{"name": "b", "in": "body", "schema": {}}]}
    mock = {"consumes": ["application/json"], "x-amazon-apigateway-integration": {"type": "mock",
                                                                                  "passthroughBehavior": "when_no_match"}}
    definition = {"paths": {"/v1/things/{id}": {"get": json.loads(json.dumps(proxy)), "post": with_body,
                                                "options": json.loads(json.dumps(mock))}}}

    assert compact_proxy_methods(definition) == 2
    item = definition["paths"]["/v1/things/{id}"]
    assert item["get"] == {"parameters": proxy["parameters"], "responses": {"200": {"description": "200 response"}},
                           "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                                                               "contentHandling": "CONVERT_TO_TEXT", "uri": "arn",
                                                               "responses": {"default": {"statusCode": "200"}}}}
    assert item["post"]["consumes"] == ["application/json"]  # a body parameter's models come from consumes
    assert item["options"] == mock


# ---------------------------------------------------------------------------- the search access policy

def test_given_the_search_roles_resource_when_synthesized_then_its_properties_carry_the_access_policy_it_applies(
        stage_template_json):
    (resource,) = _of_type(stage_template_json, "Custom::SearchRoles").values()
    properties = resource["Properties"]
    statements = properties["AccessPolicies"]["Statement"]
    principals = [references(s["Principal"]["AWS"]) for s in statements]
    assert any("ApiRole1873F438" in p for p in principals)
    assert any(any(ref.startswith("IndexerFunctionServiceRole") for ref in p) for p in principals)
    # the domain's name and the policy travel together: the handler sets exactly these statements (UpdateDomainConfig)
    assert "DomainName" in properties and properties["AccessPolicies"]["Version"] == "2012-10-17"


def _search_roles_properties(readers: list[str], writers: list[str]) -> dict[str, Any]:
    """The SearchRoles custom resource's properties of a small app: the data stack's search domain, a stage stack
    with the roles named."""
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam
    from aws_cdk.assertions import Template

    from infra.app import project_context
    from infra.components.naming import Stage
    from infra.components.search import Search

    app = cdk.App(context=project_context())
    data, stage = cdk.Stack(app, f"{STAGE}-data"), cdk.Stack(app, STAGE)
    search = Search(Stage(data, STAGE))

    def roles(names: list[str]) -> list[iam.IRole]:
        return [iam.Role(stage, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")) for name in names]

    search.allow(readers=roles(readers), writers=roles(writers), stage=Stage(stage, STAGE))
    (resource,) = Template.from_stack(stage).find_resources("Custom::SearchRoles").values()
    return resource["Properties"]


def test_given_a_changed_access_policy_when_synthesized_then_the_custom_resource_changes_so_cloudformation_reapplies_it():
    before = _search_roles_properties(["ApiRole"], ["IndexerRole"])
    same = _search_roles_properties(["ApiRole"], ["IndexerRole"])
    reader_added = _search_roles_properties(["ApiRole", "InboundMailRole"], ["IndexerRole"])
    writer_dropped = _search_roles_properties(["ApiRole"], [])

    assert before == same  # no change of the policy: no update of the resource
    for after in (reader_added, writer_dropped):
        # CloudFormation sends Update when a property changes; the handler then sets the new policy
        # (tests/infrastructure/test_search_access_policy.py)
        assert after["AccessPolicies"] != before["AccessPolicies"]
        assert after != before
    principals = [references(s["Principal"]["AWS"]) for s in reader_added["AccessPolicies"]["Statement"]]
    assert any(any(ref.startswith("InboundMailRole") for ref in p) for p in principals)
