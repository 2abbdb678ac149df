"""Safe deploys (issue 15, point 6): the stateful resources in their own stack, every Lambda invoked through its
alias ``live``, CodeDeploy moving the aliases with alarm rollback, and templates that stay deployable."""
from __future__ import annotations

import json
from typing import Any

import pytest

from functions.registry import FUNCTIONS
from infra.components.deploys import DEVELOPMENT_SHIFT, LIVE_ALIAS, PRODUCTION_SHIFT, traffic_shift
from infra.components.naming import pascal
from tests.infrastructure.conftest import STAGE, references

PREFIX = f"crm-{STAGE}"
#: CloudFormation takes templates up to 1 MB (from S3). The stage's template is about 750 KB (ap-southeast-1; README,
#: "Deploying"): this budget lets a few modules land and fails well before the limit, when it is time to make room again.
TEMPLATE_BUDGET_BYTES = 850 * 1024
#: What holds data: the data stack's alone.
STATEFUL_TYPES = {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::OpenSearchService::Domain", "AWS::Cognito::UserPool",
                  "AWS::Cognito::UserPoolClient", "AWS::SecretsManager::Secret", "AWS::Backup::BackupVault"}
#: The stateful resources' logical IDs when the stage was one stack (crm-<stage>): unchanged in the data stack, so a
#: deployed stage can move them there (README, "Safe deploys").
ONE_STACK_LOGICAL_IDS = {
    "TableCD117FA1": "AWS::DynamoDB::Table", "AccessLogsBucket83982689": "AWS::S3::Bucket",
    "ArchiveBucket9DECBF5D": "AWS::S3::Bucket", "FilesBucket16450113": "AWS::S3::Bucket", "MailBucketFABEC941": "AWS::S3::Bucket",
    "StaffUserPool2EF92F57": "AWS::Cognito::UserPool", "StaffUserPoolStaffAppClient5DAF45B3": "AWS::Cognito::UserPoolClient",
    "PortalUserPoolF6EA700C": "AWS::Cognito::UserPool", "PortalUserPoolPortalAppClient4E71C50C": "AWS::Cognito::UserPoolClient",
    "SearchDomainFDC494A0": "AWS::OpenSearchService::Domain", "SearchAdminRoleEF43D1DE": "AWS::IAM::Role",
    "CursorSecretABAE1358": "AWS::SecretsManager::Secret", "BackupVault3A9C5852": "AWS::Backup::BackupVault",
    "BackupPlanA8F64793": "AWS::Backup::BackupPlan", "BackupPlanTable4DA1B6EB": "AWS::Backup::BackupSelection",
}


def _of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] in types}


def _ref_id(value: Any) -> str | None:
    """The one logical ID `value` refers to (None: none)."""
    found = [ref for ref in references(value) if not ref.startswith("AWS::")]
    return found[0] if len(found) == 1 else None


def _registry_functions(template: dict[str, Any]) -> dict[str, str]:
    """function name -> logical ID of the registry's functions."""
    names = {f"{PREFIX}-{spec.name.replace('_', '-')}": spec.name for spec in FUNCTIONS}
    return {names[v["Properties"]["FunctionName"]]: k for k, v in _of_type(template, "AWS::Lambda::Function").items()
            if v["Properties"].get("FunctionName") in names}


def _aliases(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """function logical ID -> (alias logical ID, alias)."""
    return {_ref_id(v["Properties"]["FunctionName"]): (k, v) for k, v in _of_type(template, "AWS::Lambda::Alias").items()}


# ---------------------------------------------------------------------------- two stacks

def test_given_the_app_when_synthesized_then_the_stateful_resources_are_in_the_data_stack_only(
        stage_template_json, data_template_json):
    in_stage = {k: v["Type"] for k, v in _of_type(stage_template_json, *STATEFUL_TYPES).items()}
    assert in_stage == {}
    assert {v["Type"] for v in data_template_json["Resources"].values()} >= STATEFUL_TYPES
    # nothing that runs: no function, no alarm, no state machine in the data stack
    assert not _of_type(data_template_json, "AWS::Lambda::Function", "AWS::Serverless::Function", "AWS::CloudWatch::Alarm",
                        "AWS::StepFunctions::StateMachine", "AWS::Events::EventBus")


def test_given_the_data_stack_when_synthesized_then_it_keeps_the_one_stack_logical_ids(data_template_json):
    found = {k: data_template_json["Resources"][k]["Type"] for k in ONE_STACK_LOGICAL_IDS if k in data_template_json["Resources"]}
    assert found == ONE_STACK_LOGICAL_IDS


def test_given_the_data_stack_when_synthesized_then_it_refers_to_no_other_stack(data_template_json):
    text = json.dumps(data_template_json)
    assert "Fn::GetStackOutput" not in text and "Fn::ImportValue" not in text
    assert "Parameters" not in data_template_json or set(data_template_json["Parameters"]) <= {"BootstrapVersion"}


def test_given_the_stage_stack_when_synthesized_then_it_reads_the_data_stack_by_cross_stack_references(
        stage_template_json, data_template_json):
    text = json.dumps(stage_template_json)
    read = {o for o in data_template_json.get("Outputs", {}) if f'"OutputName": "{o}"' in text}
    assert read, "the stage stack reads nothing from the data stack"
    assert f'"StackName": "{PREFIX}-data"' in text


def test_given_the_manifest_when_synthesized_then_the_data_stack_deploys_first_and_dev_can_be_torn_down(synthesis):
    artifacts = json.loads((synthesis.outdir / "manifest.json").read_text())["artifacts"]
    data, stage = artifacts[f"{STAGE}-data"], artifacts[STAGE]
    assert data["properties"]["stackName"] == f"{PREFIX}-data" and stage["properties"]["stackName"] == PREFIX
    assert f"{STAGE}-data" in stage["dependencies"]
    assert STAGE not in data.get("dependencies", [])
    # termination protection is prod's (and any stage's with -c protect=true): a dev stage stays easy to delete
    assert not data["properties"].get("terminationProtection") and not stage["properties"].get("terminationProtection")


@pytest.mark.parametrize("which", ["data", "stage", "monitoring"])
def test_given_each_template_when_synthesized_then_it_stays_within_the_budget(synthesis, which):
    path = {"data": synthesis.data_template_path, "stage": synthesis.template_path,
            "monitoring": synthesis.monitoring_template_path}[which]
    size = path.stat().st_size
    assert size < TEMPLATE_BUDGET_BYTES, (
        f"{path.name} is {size // 1024} KB: CloudFormation refuses templates over 1 MB; move resources to another "
        "stack (infra/monitoring_stack.py) or trim what the template repeats (infra/components/preflight.py, "
        "proxy_methods.py)")


def test_given_preflight_methods_when_synthesized_then_they_still_answer_cors_without_what_preflights_never_use(template_json):
    (api,) = _of_type(template_json, "AWS::Serverless::Api").values()
    paths = api["Properties"]["DefinitionBody"]["paths"]
    preflights = [methods["options"] for methods in paths.values() if "options" in methods]
    assert len(preflights) == len(paths)
    for options in preflights:
        parameters = options["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
        assert {f"method.response.header.Access-Control-{h}" for h in ("Allow-Methods", "Allow-Origin", "Allow-Headers",
                                                                       "Max-Age")} == set(parameters)
        assert set(options["responses"]["200"]["headers"]) == {f"Access-Control-{h}" for h in (
            "Allow-Methods", "Allow-Origin", "Allow-Headers", "Max-Age")}


# ---------------------------------------------------------------------------- aliases

def test_given_registry_functions_when_synthesized_then_each_has_the_alias_live_on_a_published_version(template_json):
    functions, aliases = _registry_functions(template_json), _aliases(template_json)
    assert set(functions) == {spec.name for spec in FUNCTIONS}
    for name, function_id in functions.items():
        _, alias = aliases[function_id]
        assert alias["Properties"]["Name"] == LIVE_ALIAS, name
        version = template_json["Resources"][_ref_id(alias["Properties"]["FunctionVersion"]) or ""]
        assert version["Type"] == "AWS::Lambda::Version" and _ref_id(version["Properties"]["FunctionName"]) == function_id


def test_given_event_source_mappings_when_synthesized_then_each_invokes_an_alias(template_json):
    mappings = _of_type(template_json, "AWS::Lambda::EventSourceMapping")
    assert mappings
    for mapping_id, mapping in mappings.items():
        target = template_json["Resources"][_ref_id(mapping["Properties"]["FunctionName"])]
        assert target["Type"] == "AWS::Lambda::Alias", mapping_id


def test_given_bus_rules_when_synthesized_then_lambda_targets_are_aliases(template_json):
    for rule in _of_type(template_json, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            kind = template_json["Resources"].get(_ref_id(target["Arn"]) or "", {}).get("Type")
            assert kind != "AWS::Lambda::Function", target
            if kind and kind.startswith("AWS::Lambda"):
                assert kind == "AWS::Lambda::Alias"


def test_given_invoke_permissions_when_synthesized_then_they_name_aliases(template_json):
    for permission_id, permission in _of_type(template_json, "AWS::Lambda::Permission").items():
        if permission["Properties"]["Action"] != "lambda:InvokeFunction":
            continue
        name = permission["Properties"]["FunctionName"]
        kind = template_json["Resources"].get(_ref_id(name) or "", {}).get("Type")
        assert kind in ("AWS::Lambda::Alias", None) or "Alias" in json.dumps(name), permission_id
        if kind is None:  # the API's: SAM's alias of the handler
            assert name == {"Fn::Sub": "${APIHandler.Alias}"}, permission_id


def test_given_schedules_when_synthesized_then_they_target_the_reminders_alias(template_json):
    (api,) = _of_type(template_json, "AWS::Serverless::Function").values()
    target = api["Properties"]["Environment"]["Variables"]["CRM_REMINDER_TARGET_ARN"]
    assert json.dumps(target).endswith(f':{LIVE_ALIAS}"]]}}') or json.dumps(target).endswith(f':{LIVE_ALIAS}"')
    role_id = next(k for k in _of_type(template_json, "AWS::IAM::Role") if k.startswith("SchedulerRole"))
    invoked = [r for p in _of_type(template_json, "AWS::IAM::Policy").values()
               if {"Ref": role_id} in p["Properties"]["Roles"] for s in p["Properties"]["PolicyDocument"]["Statement"]
               if s["Action"] == "lambda:InvokeFunction" for r in s["Resource"]]
    aliases = {alias_id for alias_id, _ in _aliases(template_json).values()}
    assert any(_ref_id(r) in aliases for r in invoked)


def test_given_the_api_function_when_synthesized_then_it_is_deployed_through_codedeploy_with_its_alarms(template_json):
    (api,) = _of_type(template_json, "AWS::Serverless::Function").values()
    props = api["Properties"]
    assert props["AutoPublishAlias"] == LIVE_ALIAS
    preference = props["DeploymentPreference"]
    assert preference["Type"] == DEVELOPMENT_SHIFT
    alarms = {_ref_id(a) for a in preference["Alarms"]}
    kinds = {template_json["Resources"][a]["Properties"]["MetricName"] for a in alarms}
    assert kinds == {"5XXError", "Latency"}


def test_given_registry_aliases_when_synthesized_then_each_has_a_deployment_group_rolling_back_on_its_errors_alarm(
        template_json):
    aliases = {alias_id: function_id for function_id, (alias_id, _) in _aliases(template_json).items()}
    groups = _of_type(template_json, "AWS::CodeDeploy::DeploymentGroup")
    covered = {}
    for alias_id, alias in _of_type(template_json, "AWS::Lambda::Alias").items():
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        group = groups[_ref_id(update["DeploymentGroupName"])]["Properties"]
        assert group["DeploymentConfigName"] == f"CodeDeployDefault.Lambda{DEVELOPMENT_SHIFT}"
        assert group["AutoRollbackConfiguration"]["Enabled"] is True
        assert set(group["AutoRollbackConfiguration"]["Events"]) >= {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
        (alarm,) = group["AlarmConfiguration"]["Alarms"]
        alarm_id = _ref_id(alarm["Name"])
        metric = template_json["Resources"][alarm_id]["Properties"]
        assert metric["MetricName"] == "Errors"
        assert _ref_id(metric["Dimensions"][0]["Value"]) == aliases[alias_id]
        covered[alias_id] = alarm_id
    assert set(covered) == set(aliases) and len(covered) == len(FUNCTIONS)
    for spec in FUNCTIONS:
        assert f"{pascal(spec.name)}ErrorsAlarm" in " ".join(covered.values())


def test_given_stages_when_deploys_are_planned_then_prod_shifts_a_canary_and_the_others_all_at_once():
    class _Stage:
        def __init__(self, production: bool) -> None:
            self.is_production = production

    assert traffic_shift(_Stage(True)) == PRODUCTION_SHIFT == "Canary10Percent5Minutes"
    assert traffic_shift(_Stage(False)) == DEVELOPMENT_SHIFT == "AllAtOnce"


# ---------------------------------------------------------------------------- search across the stacks

def test_given_the_split_when_synthesized_then_the_domain_policy_is_set_by_the_stage_stack_not_the_data_stack(
        data_template_json, stage_template_json):
    (domain,) = _of_type(data_template_json, "AWS::OpenSearchService::Domain").values()
    assert "AccessPolicies" not in domain["Properties"]
    (roles,) = _of_type(stage_template_json, "Custom::SearchRoles").values()
    assert roles["Properties"]["AccessPolicies"]["Statement"]
    assert "DomainName" in roles["Properties"]


# ---------------------------------------------------------------------------- prod's data stack (built in process: no packaging)

@pytest.fixture(scope="module")
def prod_data() -> tuple[Any, dict[str, Any]]:
    import aws_cdk as cdk

    from infra.app import project_context
    from infra.data_stack import CrmDataStack

    app = cdk.App(context=project_context())
    stack = CrmDataStack(app, "prod")
    return stack, app.synth().get_stack_by_name(stack.stack_name).template


def test_given_prod_when_the_data_stack_is_built_then_it_is_termination_protected_and_keeps_every_stateful_resource(prod_data):
    stack, template = prod_data
    assert stack.stack_name == "crm-prod-data" and stack.termination_protection is True
    for logical_id, kind in ONE_STACK_LOGICAL_IDS.items():
        if kind in STATEFUL_TYPES - {"AWS::Cognito::UserPoolClient"}:
            resource = template["Resources"][logical_id]
            assert resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain", logical_id
    (table,) = _of_type(template, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    for pool in _of_type(template, "AWS::Cognito::UserPool").values():
        assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_given_a_stage_with_protect_when_the_data_stack_is_built_then_it_is_termination_protected_too():
    import aws_cdk as cdk

    from infra.app import project_context
    from infra.data_stack import CrmDataStack, protected

    assert protected("staging", cdk.App(context={"protect": "true"})) is True
    assert protected("dev", cdk.App()) is False
    assert CrmDataStack(cdk.App(context={**project_context(), "protect": "true"}), "staging").termination_protection is True


def test_given_a_chalice_preflight_when_compacted_then_the_answer_keeps_every_allow_header_and_other_methods_are_untouched():
    from infra.components.preflight import compact_preflights

    headers = ("Allow-Methods", "Allow-Origin", "Allow-Headers", "Expose-Headers", "Max-Age")
    options = {
        "consumes": ["application/json"], "produces": ["application/json"],
        "responses": {"200": {"description": "200 response", "schema": {"$ref": "#/definitions/Empty"},
                              "headers": {f"Access-Control-{h}": {"type": "string"} for h in headers}}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                            "responses": {"default": {"statusCode": "200", "responseParameters": {
                                                f"method.response.header.Access-Control-{h}": "'x'" for h in headers}}}},
    }
    get = {"consumes": ["application/json"], "responses": {"200": {"schema": {"$ref": "#/definitions/Empty"}}},
           "x-amazon-apigateway-integration": {"type": "aws_proxy"}}
    definition = {"paths": {"/v1/health": {"options": options, "get": json.loads(json.dumps(get))}}}

    assert compact_preflights(definition) == 1
    compacted = definition["paths"]["/v1/health"]
    assert compacted["get"] == get
    assert set(compacted["options"]) == {"responses", "x-amazon-apigateway-integration"}
    kept = {f"Access-Control-{h}" for h in headers if h != "Expose-Headers"}
    assert set(compacted["options"]["responses"]["200"]["headers"]) == kept
    parameters = compacted["options"]["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
    assert set(parameters) == {f"method.response.header.{h}" for h in kept}
    assert compacted["options"]["x-amazon-apigateway-integration"]["requestTemplates"]
