"""Assertions on the synthesized CRM stack (``infra/``).

The expectations come from the same single sources the stack is built from —
``TABLE_SPEC`` and ``FUNCTIONS`` — so a change there that the stack does not follow
fails here.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from chalicelib.core.settings import Settings
from chalicelib.db.table_spec import TABLE_SPEC
from functions.registry import FUNCTIONS, Function
from infra.components.api import API_STAGE, DEVELOPMENT_THROTTLE, PRODUCTION_THROTTLE
from infra.components.search import DEVELOPMENT_SEARCH, PRODUCTION_SEARCH, search_capacity
from infra.components.workflow import update_item_conditions
from tests.infrastructure.conftest import invokes

#: Every Lambda of the stack (infra/components/common.py: PYTHON_RUNTIME, ARCHITECTURE).
LAMBDA_RUNTIME = "python3.12"
LAMBDA_ARCHITECTURE = "arm64"

STAGE = "dev"
PREFIX = f"crm-{STAGE}"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: The state machines' definitions: each must be deployed as ``crm-<stage>-<name>``.
ASL_FILES = sorted((REPO_ROOT / "step_functions").glob("*.asl.json"))

#: Settings every Lambda (API and functions) must receive (chalicelib/core/settings.py).
RUNTIME_SETTINGS = (
    "CRM_STAGE", "CRM_REGION", "CRM_TABLE_NAME", "CRM_EVENT_BUS_NAME", "CRM_SCHEDULE_GROUP",
    "CRM_REMINDER_TARGET_ARN", "CRM_SCHEDULER_ROLE_ARN", "CRM_ARCHIVE_BUCKET", "CRM_FILES_BUCKET", "CRM_APPROVAL_STATE_MACHINE_ARN",
    "CRM_IDENTITY_PROVIDER",
    "CRM_COGNITO_USER_POOL_ID", "CRM_COGNITO_CLIENT_ID", "CRM_JWT_ISSUER", "CRM_JWT_AUDIENCE",
    "CRM_OPENSEARCH_URL", "CRM_SEARCH_INDEX_PREFIX", "CRM_CURSOR_SECRET",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
)

STREAM_CONSUMERS = [f for f in FUNCTIONS if f.stream_filter is not None]
BUS_SUBSCRIBERS = [f for f in FUNCTIONS if f.bus_pattern is not None and not f.extra.get("queue")]
QUEUED_SUBSCRIBERS = [f for f in FUNCTIONS if f.bus_pattern is not None and f.extra.get("queue")]  # bus -> SQS -> Lambda
SCHEDULE_TARGETS = [f for f in FUNCTIONS if f.schedule_target]
UNTRIGGERED = [f for f in FUNCTIONS if f.stream_filter is None and f.bus_pattern is None and not f.schedule_target
               and not f.extra.get("s3_queue")]
SEARCH_WRITERS = [f for f in FUNCTIONS if "search_write" in f.needs]
SEARCH_READERS = [f for f in FUNCTIONS if "search_read" in f.needs]  # read the index, never write it (inbound mail)
WORKFLOW_SIGNALLERS = [f for f in FUNCTIONS if "workflow" in f.needs]

#: What Step Functions needs for logging and tracing (added by the CDK); they have no resource-level
#: permissions. Anything else a state machine's role may do must name a resource.
STATE_MACHINE_SERVICE_ACTIONS = {
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
}


# ---------------------------------------------------------------------------- helpers

def _resources(template_json: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == resource_type}


def _only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected exactly one resource, found {sorted(resources)}"
    return next(iter(resources.items()))


def _function(template_json: dict[str, Any], spec: Function) -> tuple[str, dict[str, Any]]:
    name = f"{PREFIX}-{spec.name.replace('_', '-')}"
    return _only({k: v for k, v in _resources(template_json, "AWS::Lambda::Function").items()
                  if v["Properties"].get("FunctionName") == name})


def _logical_id(template_json: dict[str, Any], resource_type: str) -> str:
    return _only(_resources(template_json, resource_type))[0]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_statements(template_json: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy: policies, managed policies, inline role policies."""
    for logical_id, resource in template_json["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def _statements_of_role(template_json: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Statements attached to one role by AWS::IAM::Policy resources and inline policies."""
    statements = []
    for resource in template_json["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    role = template_json["Resources"][role_id]["Properties"]
    statements.extend(s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"])
    return statements


def _role_of(function: dict[str, Any]) -> str:
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in _as_list(s["Action"])}


def _search_domain(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _only(_resources(template_json, "AWS::OpenSearchService::Domain"))


def _opensearch_url(template_json: dict[str, Any]) -> dict[str, Any]:
    """``https://`` + the domain endpoint, as CloudFormation joins it."""
    return {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [_search_domain(template_json)[0], "DomainEndpoint"]}]]}


def _is_domain_arn(resource: Any, path: str) -> bool:
    """Whether a policy resource is the stage's search domain ARN followed by ``/path``."""
    return json.dumps(resource).endswith(f':domain/{PREFIX}/{path}"]]}}')


def _api_role(template_json: dict[str, Any]) -> str:
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    return api["Properties"]["Role"]["Fn::GetAtt"][0]


def _api_statements(template_json: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything the API role is granted: its managed policy and any attached or inline policy."""
    _, policy = _only(_resources(template_json, "AWS::IAM::ManagedPolicy"))
    return [*policy["Properties"]["PolicyDocument"]["Statement"], *_statements_of_role(template_json, _api_role(template_json))]


# ---------------------------------------------------------------------------- synthesis

def test_given_aws_solutions_checks_when_synthesized_then_no_finding_is_left_unacknowledged(synthesis):
    assert synthesis.returncode == 0, synthesis.output[-6000:]
    report = synthesis.outdir / "validation-report.json"
    if report.exists():
        failed = [p for p in json.loads(report.read_text())["pluginReports"] if p["conclusion"] != "success"]
        assert failed == []


@pytest.mark.parametrize("stack", ["data", "stage"])
def test_given_synthesized_template_when_linted_with_cfn_lint_then_there_are_no_errors(synthesis, stack):
    from cfnlint.api import lint_file

    matches = lint_file(synthesis.data_template_path if stack == "data" else synthesis.template_path)
    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches if m.rule.severity == "error"]
    assert errors == []


# ---------------------------------------------------------------------------- table

def test_given_table_spec_when_synthesized_then_table_keys_and_attributes_match_the_spec(template, template_json):
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    _, table = _only(_resources(template_json, "AWS::DynamoDB::Table"))
    props = table["Properties"]

    assert props["TableName"] == PREFIX
    assert props["KeySchema"] == TABLE_SPEC["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        TABLE_SPEC["AttributeDefinitions"], key=lambda a: a["AttributeName"])


def test_given_table_spec_when_synthesized_then_table_has_every_global_secondary_index(template_json):
    _, table = _only(_resources(template_json, "AWS::DynamoDB::Table"))

    actual = {g["IndexName"]: g for g in table["Properties"]["GlobalSecondaryIndexes"]}
    expected = {g["IndexName"]: g for g in TABLE_SPEC["GlobalSecondaryIndexes"]}
    assert set(actual) == set(expected)
    for name, spec in expected.items():
        assert actual[name]["KeySchema"] == spec["KeySchema"]
        assert actual[name]["Projection"]["ProjectionType"] == spec["Projection"]["ProjectionType"]


def test_given_table_spec_when_synthesized_then_table_is_on_demand_with_stream_ttl_and_encryption(template):
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "BillingMode": TABLE_SPEC["BillingMode"],
        "StreamSpecification": {"StreamViewType": TABLE_SPEC["StreamSpecification"]["StreamViewType"]},
        "TimeToLiveSpecification": {"AttributeName": TABLE_SPEC["TimeToLiveSpecification"]["AttributeName"],
                                    "Enabled": True},
        "SSESpecification": {"SSEEnabled": True},
    })


def test_given_stack_when_synthesized_then_table_has_pitr(template):
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": TABLE_SPEC["PointInTimeRecovery"]},
    })


# ---------------------------------------------------------------------------- functions

@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_given_registry_entry_when_synthesized_then_its_function_exists_with_handler_and_limits(template_json, spec):
    _, fn = _function(template_json, spec)
    props = fn["Properties"]

    assert props["Handler"] == spec.handler
    assert props["Runtime"] == LAMBDA_RUNTIME and props["Architectures"] == [LAMBDA_ARCHITECTURE]
    assert props["Timeout"] == spec.timeout_seconds
    assert props["MemorySize"] == spec.memory_mb
    assert props["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_given_registry_entry_when_synthesized_then_its_function_gets_every_setting(template_json, spec):
    _, fn = _function(template_json, spec)
    env = fn["Properties"]["Environment"]["Variables"]

    assert set(RUNTIME_SETTINGS) <= set(env)
    assert env["CRM_STAGE"] == STAGE
    assert env["CRM_IDENTITY_PROVIDER"] == "cognito"
    assert env["CRM_TABLE_NAME"] == {"Ref": _logical_id(template_json, "AWS::DynamoDB::Table")}
    assert env["CRM_OPENSEARCH_URL"] == _opensearch_url(template_json)
    assert env["CRM_SEARCH_INDEX_PREFIX"] == PREFIX
    assert env["CRM_FILES_BUCKET"] == {"Ref": _files_bucket(template_json)[0]}


def test_given_functions_when_synthesized_then_they_share_the_api_dependency_layer(template_json):
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    layer_id = _logical_id(template_json, "AWS::Serverless::LayerVersion")

    assert api["Properties"]["Layers"] == [{"Ref": layer_id}]
    for spec in FUNCTIONS:
        assert _function(template_json, spec)[1]["Properties"]["Layers"] == [{"Ref": layer_id}]


def test_given_function_code_asset_when_synthesized_then_it_holds_only_handlers_and_library(synthesis, template_json):
    _, fn = _function(template_json, FUNCTIONS[0])
    manifest = json.loads((synthesis.outdir / f"{STAGE}.assets.json").read_text())
    source = next(a["source"] for a in manifest["files"].values()
                  if any(d["objectKey"] == fn["Properties"]["Code"]["S3Key"] for d in a["destinations"].values()))
    asset = synthesis.outdir / source["path"]

    top_level = {p.name for p in asset.iterdir()}
    assert top_level == {"functions", "chalicelib"}
    assert (asset / "functions" / "registry.py").is_file()
    assert not list(Path(asset).rglob("__pycache__"))


def test_given_the_api_packages_when_synthesized_then_the_layer_holds_the_cjk_font_and_the_api_fits_lambdas_250_mb(
        synthesis, template_json):
    import zipfile

    from infra.bytecode import unneeded

    packages = {z: zipfile.ZipFile(z).infolist() for z in synthesis.outdir.glob("asset.*.zip")}
    layer = next(z for z, infos in packages.items() if any(i.filename.startswith("python/lib/") for i in infos))
    code = next(z for z, infos in packages.items() if any(i.filename == "app.py" for i in infos))
    names = {i.filename.split("site-packages/", 1)[-1] for i in packages[layer]}
    # the PDF and chart renderers and the font they draw Chinese with travel with the API (no download at run time)
    assert {"pylopdf_fonts_zh_cn/NotoSansSC-Regular.otf", "fpdf/__init__.py", "matplotlib/__init__.py"} <= names
    assert not [i.filename for i in packages[layer] if unneeded(i.filename)]
    unzipped = sum(i.file_size for i in packages[layer]) + sum(i.file_size for i in packages[code])
    assert unzipped < 240 * 1024 * 1024, f"{unzipped / 2**20:.0f} MiB: Lambda takes 250 MB with the layers, unzipped"
    _, api = _only(_resources(template_json, "AWS::Serverless::Api"))
    assert "application/pdf" in api["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"]


@pytest.mark.parametrize("spec", STREAM_CONSUMERS, ids=lambda f: f.name)
def test_given_stream_consumer_when_synthesized_then_mapping_has_filter_bisect_and_failure_queue(template_json, spec):
    function_id, _ = _function(template_json, spec)
    table_id = _logical_id(template_json, "AWS::DynamoDB::Table")
    _, mapping = _only({k: v for k, v in _resources(template_json, "AWS::Lambda::EventSourceMapping").items()
                        if invokes(template_json, v["Properties"]["FunctionName"], function_id)})
    props = mapping["Properties"]

    assert props["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [spec.stream_filter]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert template_json["Resources"][destination]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize("spec", BUS_SUBSCRIBERS, ids=lambda f: f.name)
def test_given_bus_subscriber_when_synthesized_then_a_rule_on_the_crm_bus_delivers_its_pattern(template_json, spec):
    function_id, _ = _function(template_json, spec)
    bus_id = _logical_id(template_json, "AWS::Events::EventBus")
    rules = {k: v for k, v in _resources(template_json, "AWS::Events::Rule").items()
             if any(invokes(template_json, t["Arn"], function_id) for t in v["Properties"]["Targets"])}
    _, rule = _only(rules)
    props = rule["Properties"]

    assert props["EventBusName"] == {"Ref": bus_id}
    assert props["EventPattern"] == spec.bus_pattern
    dlq = props["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert template_json["Resources"][dlq]["Type"] == "AWS::SQS::Queue"


@pytest.mark.parametrize("spec", QUEUED_SUBSCRIBERS, ids=lambda f: f.name)
def test_given_queued_bus_subscriber_when_synthesized_then_rule_feeds_its_queue_which_feeds_the_function(template_json, spec):
    function_id, _ = _function(template_json, spec)
    bus_id = _logical_id(template_json, "AWS::Events::EventBus")
    _, mapping = _only({k: v for k, v in _resources(template_json, "AWS::Lambda::EventSourceMapping").items()
                        if invokes(template_json, v["Properties"]["FunctionName"], function_id)})
    queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
    queue = template_json["Resources"][queue_id]
    _, rule = _only({k: v for k, v in _resources(template_json, "AWS::Events::Rule").items()
                     if any(t["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for t in v["Properties"]["Targets"])})

    assert rule["Properties"]["EventBusName"] == {"Ref": bus_id}
    assert rule["Properties"]["EventPattern"] == spec.bus_pattern
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] == spec.extra.get("batch_size", 10)  # jobs: one per invocation
    assert queue["Type"] == "AWS::SQS::Queue" and queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * spec.timeout_seconds
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    assert template_json["Resources"][redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    dlq = rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert dlq == redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]


def _dead_letter_queues(template_json: dict[str, Any], function: dict[str, Any]) -> set[str]:
    """Queues a function's failures end up in: its async DLQ, its role's SendMessage targets and the
    redrive target of a queue it consumes."""
    queues = set()
    if "DeadLetterConfig" in function["Properties"]:
        queues.add(function["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0])
    function_id = next(k for k, v in template_json["Resources"].items() if v is function)
    for mapping in _resources(template_json, "AWS::Lambda::EventSourceMapping").values():
        source = mapping["Properties"].get("EventSourceArn", {})
        queue = template_json["Resources"].get((source.get("Fn::GetAtt") or [""])[0], {})
        if invokes(template_json, mapping["Properties"]["FunctionName"], function_id) and queue.get("Type") == "AWS::SQS::Queue":
            queues.add(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for statement in _statements_of_role(template_json, _role_of(function)):
        if "sqs:SendMessage" in _as_list(statement["Action"]):
            queues.add(statement["Resource"]["Fn::GetAtt"][0])
    return queues


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_given_function_when_synthesized_then_errors_and_dead_letters_raise_alarms(template_json, spec):
    function_id, fn = _function(template_json, spec)
    alarms = [a["Properties"] for a in _resources(template_json, "AWS::CloudWatch::Alarm").values()]
    queues = _dead_letter_queues(template_json, fn)

    error_alarms = [a for a in alarms if a.get("MetricName") == "Errors"
                    and {"Name": "FunctionName", "Value": {"Ref": function_id}} in a["Dimensions"]]
    dlq_alarms = [a for a in alarms if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
                  and a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] in queues]
    # A function nothing triggers (an operator invokes it) has no queue to collect failures.
    assert len(queues) == (0 if spec in UNTRIGGERED else 1)
    assert len(error_alarms) == 1
    assert len(dlq_alarms) == len(queues)


@pytest.mark.parametrize("spec", UNTRIGGERED, ids=lambda f: f.name)
def test_given_function_without_trigger_when_synthesized_then_nothing_invokes_it_and_failures_are_not_retried(
        template_json, spec):
    function_id, fn = _function(template_json, spec)
    arn = {"Fn::GetAtt": [function_id, "Arn"]}
    mappings = [m for m in _resources(template_json, "AWS::Lambda::EventSourceMapping").values()
                if invokes(template_json, m["Properties"]["FunctionName"], function_id)]
    rule_targets = [t for r in _resources(template_json, "AWS::Events::Rule").values()
                    for t in r["Properties"]["Targets"] if invokes(template_json, t["Arn"], function_id)]
    permissions = [p for p in _resources(template_json, "AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"] in (arn, {"Ref": function_id})
                   or invokes(template_json, p["Properties"]["FunctionName"], function_id)]
    # the function's and its alias's (Lambda applies the invoked qualifier's): an operator invokes the alias
    invoke_configs = [v["Properties"] for v in _resources(template_json, "AWS::Lambda::EventInvokeConfig").values()
                      if v["Properties"]["FunctionName"] == {"Ref": function_id}]

    assert mappings == [] and rule_targets == [] and permissions == []
    assert "DeadLetterConfig" not in fn["Properties"]
    assert len(invoke_configs) == 2 and {c["MaximumRetryAttempts"] for c in invoke_configs} == {0}
    assert "LiveAlias" in json.dumps([c["Qualifier"] for c in invoke_configs])


def test_given_reindex_entry_when_synthesized_then_it_may_run_fifteen_minutes_with_1024_mb(template_json):
    _, fn = _function(template_json, next(f for f in FUNCTIONS if f.name == "reindex"))

    assert fn["Properties"]["FunctionName"] == f"{PREFIX}-reindex"
    assert fn["Properties"]["Timeout"] == 900
    assert fn["Properties"]["MemorySize"] == 1024


# ---------------------------------------------------------------------------- IAM

@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda f: f.name)
def test_given_function_needs_when_synthesized_then_its_role_grants_only_what_it_declares(template_json, spec):
    _, fn = _function(template_json, spec)
    statements = _statements_of_role(template_json, _role_of(fn))
    actions = _actions(statements)

    assert ("dynamodb:Query" in actions) == (spec.table != "none")  # table: "write", "read" or "none"
    assert ("dynamodb:PutItem" in actions) == (spec.table == "write")
    assert ("events:PutEvents" in actions) == ("bus" in spec.needs)
    assert ("s3:PutObject" in actions) == bool({"bucket", "files"} & set(spec.needs))
    assert ("s3:GetObject" in actions) == bool({"archive_read", "files", "exports", "imports"} & set(spec.needs))
    assert ("s3:DeleteObject" in actions) == ("files" in spec.needs)
    assert ("scheduler:CreateSchedule" in actions) == ("scheduler" in spec.needs)
    assert ("iam:PassRole" in actions) == ("scheduler" in spec.needs)
    assert ("es:ESHttpPut" in actions) == ("search_write" in spec.needs)
    assert ("states:SendTaskSuccess" in actions) == ("workflow" in spec.needs)
    exports = {"s3:PutObjectTagging", "s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket"} if "exports" in spec.needs else set()
    imports = {"s3:GetObject"} if "imports" in spec.needs else set()
    files = {"s3:GetObject", "s3:DeleteObject"} if "files" in spec.needs else set()
    archive = {"s3:GetObject"} if "archive_read" in spec.needs else set()
    assert {a for a in actions if a.startswith("s3:") and a != "s3:PutObject"} == exports | imports | files | archive
    assert not {"states:StartExecution", "states:StopExecution"} & actions  # only the API starts and stops


def test_given_archive_writer_when_synthesized_then_it_may_only_put_objects_under_tenants(template_json):
    bucket_id = next(k for k in _resources(template_json, "AWS::S3::Bucket") if k.startswith("ArchiveBucket"))
    for spec in (f for f in FUNCTIONS if "bucket" in f.needs):
        _, fn = _function(template_json, spec)
        s3 = [s for s in _statements_of_role(template_json, _role_of(fn)) if "s3:PutObject" in _as_list(s["Action"])
              and bucket_id in json.dumps(s["Resource"])]
        assert [s["Resource"] for s in s3] == [
            {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/tenants/*"]]}]


def test_given_the_exports_need_when_synthesized_then_export_files_and_the_log_archive_are_all_it_reaches(template_json):
    files_id = next(k for k in _resources(template_json, "AWS::S3::Bucket") if k.startswith("FilesBucket"))
    archive_id = next(k for k in _resources(template_json, "AWS::S3::Bucket") if k.startswith("ArchiveBucket"))
    for spec in (f for f in FUNCTIONS if "exports" in f.needs):
        _, fn = _function(template_json, spec)
        def under(bucket: str, *paths: str) -> list[str]:
            return [json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, p]]}) for p in paths]

        # what the function's other needs reach too (CDK merges statements of one role)
        others = {*under(files_id, "/tenants/*/imports/*")} if "imports" in spec.needs else set()
        if "files" in spec.needs:
            others |= {*under(files_id, "/pending/tenants/*", "/tenants/*/files/*")}
        if "archive_read" in spec.needs:
            others |= {*under(archive_id, "/tenants/*")}
        statements = _statements_of_role(template_json, _role_of(fn))
        on_files = {json.dumps(r) for s in statements for r in _as_list(s["Resource"]) if files_id in json.dumps(r)}
        assert on_files - others == {*under(files_id, "/tenants/*/exports/*")}
        reads = {json.dumps(r) for s in statements if "s3:GetObject" in _as_list(s["Action"]) for r in _as_list(s["Resource"])}
        assert reads - others == {*under(archive_id, "/tenants/*/audit/*"), *under(files_id, "/tenants/*/exports/*")} - others \
            or reads - others == {*under(archive_id, "/tenants/*/audit/*")}


def test_given_any_identity_policy_when_synthesized_then_no_statement_allows_every_action(template_json):
    offending = [(lid, s["Action"]) for lid, s in _policy_statements(template_json)
                 if any(a == "*" or a.endswith(":*") for a in _as_list(s["Action"]))]
    assert offending == []


def test_given_table_access_when_synthesized_then_dynamodb_statements_name_the_table_and_its_indexes(template_json):
    table_id = _logical_id(template_json, "AWS::DynamoDB::Table")
    table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
    index_arns = [{"Fn::Join": ["", [table_arn, f"/index/{g['IndexName']}"]]}
                  for g in TABLE_SPEC["GlobalSecondaryIndexes"]]
    item_statements = [s for _, s in _policy_statements(template_json)
                       if "dynamodb:GetItem" in _as_list(s["Action"])]

    assert item_statements, "no principal can read the table"
    for statement in item_statements:
        assert _as_list(statement["Resource"]) == [table_arn, *index_arns]
        assert "dynamodb:Scan" not in _as_list(statement["Action"])


# ---------------------------------------------------------------------------- API

def test_given_api_when_synthesized_then_handler_gets_every_setting_from_stack_resources(template_json):
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    env = api["Properties"]["Environment"]["Variables"]
    staff_pool = next(k for k in _resources(template_json, "AWS::Cognito::UserPool") if k.startswith("Staff"))
    staff_client = next(k for k in _resources(template_json, "AWS::Cognito::UserPoolClient") if k.startswith("Staff"))

    assert set(RUNTIME_SETTINGS) <= set(env)
    assert env["CRM_TABLE_NAME"] == {"Ref": _logical_id(template_json, "AWS::DynamoDB::Table")}
    assert env["CRM_EVENT_BUS_NAME"] == {"Ref": _logical_id(template_json, "AWS::Events::EventBus")}
    assert env["CRM_SCHEDULE_GROUP"] == PREFIX
    assert env["CRM_COGNITO_USER_POOL_ID"] == {"Ref": staff_pool}
    assert env["CRM_COGNITO_CLIENT_ID"] == env["CRM_JWT_AUDIENCE"] == {"Ref": staff_client}
    assert env["CRM_JWT_ISSUER"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [staff_pool, "ProviderURL"]}]]}
    assert json.dumps(env["CRM_REMINDER_TARGET_ARN"]).endswith(f':function:{PREFIX}-reminders:live"]]}}')  # the alias
    assert env["CRM_OPENSEARCH_URL"] == _opensearch_url(template_json)
    assert env["CRM_SEARCH_INDEX_PREFIX"] == PREFIX


def test_given_api_stage_when_synthesized_then_api_gateway_throttles_every_method_above_a_tenants_default_limit(template_json):
    _, rest_api = _only({k: v for k, v in _resources(template_json, "AWS::Serverless::Api").items()
                         if v["Properties"].get("StageName") == API_STAGE})
    throttle = {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": DEVELOPMENT_THROTTLE.rate,
                "ThrottlingBurstLimit": DEVELOPMENT_THROTTLE.burst}
    assert [{k: m[k] for k in throttle} for m in rest_api["Properties"]["MethodSettings"]] == [throttle]
    # a busy tenant meets its own limit (our 429 body with Retry-After) before the stage's (API Gateway's bare 429)
    defaults = Settings.model_fields
    for stage in (DEVELOPMENT_THROTTLE, PRODUCTION_THROTTLE):
        assert defaults["rate_limit_per_second"].default <= stage.rate
        assert defaults["rate_limit_burst"].default <= stage.burst


def test_given_cursor_secret_when_synthesized_then_every_lambda_gets_it_resolved_at_deploy_time(template_json):
    """CRM_CURSOR_SECRET is a dynamic reference into the stage's Secrets Manager secret (components/cursors.py):
    CloudFormation resolves it on deploy, so no Lambda reads Secrets Manager at run time (or may)."""
    secret_id, secret = _only(_resources(template_json, "AWS::SecretsManager::Secret"))
    assert secret["Properties"]["Name"] == f"{PREFIX}/cursor-secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    reference = {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    for function in [api, *(_function(template_json, spec)[1] for spec in FUNCTIONS)]:
        assert function["Properties"]["Environment"]["Variables"]["CRM_CURSOR_SECRET"] == reference
    assert not any("secretsmanager:" in json.dumps(statement["Action"]) for _, statement in _policy_statements(template_json))


def test_given_api_when_synthesized_then_it_runs_with_the_stack_role_not_a_chalice_role(template_json):
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    role_id = api["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template_json["Resources"][role_id]

    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    assert {"Ref": _logical_id(template_json, "AWS::IAM::ManagedPolicy")} in role["Properties"]["ManagedPolicyArns"]


def _gateway_responses(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _, rest_api = _only(_resources(template_json, "AWS::Serverless::Api"))
    return rest_api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]


def _gateway_body(response: dict[str, Any], request_id: str = "req-123") -> dict[str, Any]:
    """The body API Gateway sends: the template with its one variable, $context.requestId, filled in."""
    assert set(response["responseTemplates"]) == {"application/json"}
    return json.loads(response["responseTemplates"]["application/json"].replace("$context.requestId", request_id))


@pytest.mark.parametrize("response_type,status,code", [
    ("MISSING_AUTHENTICATION_TOKEN", "404", "ROUTE_NOT_FOUND"), ("RESOURCE_NOT_FOUND", "404", "ROUTE_NOT_FOUND"),
    ("REQUEST_TOO_LARGE", "413", "PAYLOAD_TOO_LARGE"), ("UNSUPPORTED_MEDIA_TYPE", "415", "UNSUPPORTED_MEDIA_TYPE"),
    ("THROTTLED", "429", "RATE_LIMITED"), ("QUOTA_EXCEEDED", "429", "RATE_LIMITED"),
    ("UNAUTHORIZED", "401", "UNAUTHENTICATED"), ("ACCESS_DENIED", "403", "REQUEST_FORBIDDEN"),
    ("INVALID_API_KEY", "403", "REQUEST_FORBIDDEN"), ("BAD_REQUEST_BODY", "400", "BAD_REQUEST"),
    ("BAD_REQUEST_PARAMETERS", "400", "BAD_REQUEST"), ("INTEGRATION_TIMEOUT", "504", "TIMEOUT"),
    ("DEFAULT_4XX", None, "BAD_REQUEST"), ("DEFAULT_5XX", None, "INTERNAL"),
])
def test_given_api_gateway_answers_itself_when_synthesized_then_it_answers_in_the_api_error_shape(
        template_json, response_type, status, code):
    from chalicelib.core import i18n

    response = _gateway_responses(template_json)[response_type]
    body = _gateway_body(response)

    assert response.get("statusCode") == status  # None: DEFAULT_4XX/5XX keep the status of the error (502, 504, …)
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    assert body["message"] == i18n.text(code, "en", request_id="req-123")


def test_given_gateway_5xx_when_synthesized_then_details_carry_the_request_id(template_json):
    for response_type in ("DEFAULT_5XX", "INTEGRATION_TIMEOUT"):
        body = _gateway_body(_gateway_responses(template_json)[response_type], request_id="abc-42")
        assert body["details"] == {"request_id": "abc-42"} and "abc-42" in body["message"]


def test_given_gateway_responses_when_synthesized_then_no_request_value_is_echoed(template_json):
    """API Gateway's default for a missing route quotes the caller's Authorization header; ours
    use no request value: the only variable is the request id, headers are constants."""
    for response_type, response in _gateway_responses(template_json).items():
        template = response["responseTemplates"]["application/json"]
        assert template.replace("$context.requestId", "").count("$") == 0, response_type
        assert "#" not in template, response_type  # no VTL directives
        for value in response.get("responseParameters", {}).values():
            assert value.startswith("'") and value.endswith("'"), (response_type, value)  # static, not method.request.*


def test_given_throttling_when_synthesized_then_429_says_when_to_retry_and_browsers_may_read_errors(template_json):
    responses = _gateway_responses(template_json)

    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert "gatewayresponse.header.Retry-After" not in responses["QUOTA_EXCEEDED"]["responseParameters"]
    for response in responses.values():
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"


def test_given_gateway_413_when_synthesized_then_it_names_the_limit_the_local_stack_enforces(template_json):
    from chalicelib.core.settings import Settings

    body = _gateway_body(_gateway_responses(template_json)["REQUEST_TOO_LARGE"])
    assert body["details"] == {"max_bytes": Settings.model_fields["max_request_bytes"].default} == {"max_bytes": 10 * 1024 * 1024}


def test_given_api_policy_when_synthesized_then_dynamodb_is_never_granted_on_every_resource(template_json):
    _, policy = _only(_resources(template_json, "AWS::IAM::ManagedPolicy"))
    dynamodb = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))]

    assert dynamodb
    for statement in dynamodb:
        assert "*" not in _as_list(statement["Resource"])
        assert set(_as_list(statement["Action"])) == {
            "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
            "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"}


def test_given_api_policy_when_synthesized_then_bus_schedules_and_staff_logins_are_scoped(template_json):
    _, policy = _only(_resources(template_json, "AWS::IAM::ManagedPolicy"))
    by_action = {a: s for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])}
    staff_pool = next(k for k in _resources(template_json, "AWS::Cognito::UserPool") if k.startswith("Staff"))
    scheduler_role = next(k for k in _resources(template_json, "AWS::IAM::Role") if k.startswith("SchedulerRole"))

    assert by_action["events:PutEvents"]["Resource"] == {
        "Fn::GetAtt": [_logical_id(template_json, "AWS::Events::EventBus"), "Arn"]}
    for action in ("CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"):
        assert json.dumps(by_action[f"scheduler:{action}"]["Resource"]).endswith(f':schedule/{PREFIX}/*"]]}}')
    assert by_action["iam:PassRole"]["Resource"] == {"Fn::GetAtt": [scheduler_role, "Arn"]}
    assert by_action["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    for action in ("AdminCreateUser", "AdminSetUserPassword", "AdminDisableUser", "AdminEnableUser",
                   "AdminUserGlobalSignOut", "AdminGetUser", "AdminSetUserMFAPreference"):
        assert by_action[f"cognito-idp:{action}"]["Resource"] == {"Fn::GetAtt": [staff_pool, "Arn"]}


# ---------------------------------------------------------------------------- workflows (Step Functions)

def _state_machine(template_json: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return _only({k: v for k, v in _resources(template_json, "AWS::StepFunctions::StateMachine").items()
                  if v["Properties"].get("StateMachineName") == f"{PREFIX}-{name}"})


def _asl_name(path: Path) -> str:
    return path.name.removesuffix(".asl.json")


def _literal_string(value: Any) -> str:
    """A CloudFormation string built only from literals (``Fn::Join``, ``Fn::Sub`` without
    variables), as the CDK may render a definition; anything resolved at deploy time fails."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return delimiter.join(_literal_string(part) for part in parts)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str) and "${" not in value["Fn::Sub"]:
        return value["Fn::Sub"]
    raise AssertionError(f"the definition depends on a value resolved at deploy time: {value}")


def _definition(machine: dict[str, Any]) -> Any:
    """A state machine's definition as deployed, parsed."""
    props = machine["Properties"]
    assert "DefinitionS3Location" not in props
    # the one placeholder of the definitions: the stack's partition (arn:${Partition}:states:::…)
    assert props.get("DefinitionSubstitutions") == {"Partition": {"Ref": "AWS::Partition"}}
    if "Definition" in props:
        return props["Definition"]
    return json.loads(_literal_string(props["DefinitionString"]))


def _approval_executions_arn(resource: Any) -> bool:
    return json.dumps(resource).endswith(f':execution:{PREFIX}-approval:*"]]}}')


def _lint_without_sam_transform(template_json: dict[str, Any], path: Path) -> list[Any]:
    """cfn-lint matches on the template with its SAM transform left out.

    With the transform, cfn-lint validates only ``Definition`` objects, not ``DefinitionString``
    (E3601); without it, it validates both.
    """
    template = json.loads(json.dumps({k: v for k, v in template_json.items() if k != "Transform"}))
    for machine in _resources(template, "AWS::StepFunctions::StateMachine").values():
        # as CloudFormation deploys it in the aws partition: cfn-lint does not apply DefinitionSubstitutions
        props = machine["Properties"]
        partition = props.pop("DefinitionSubstitutions", {}).get("Partition")
        if partition is not None:
            props["DefinitionString"] = _literal_string(props["DefinitionString"]).replace("${Partition}", "aws")
    path.write_text(json.dumps(template), encoding="utf-8")
    from cfnlint.api import lint_file

    return lint_file(path)


def test_given_step_functions_folder_when_synthesized_then_each_asl_file_is_one_state_machine(template_json):
    machines = _resources(template_json, "AWS::StepFunctions::StateMachine")

    assert "approval" in [_asl_name(path) for path in ASL_FILES]
    assert sorted(m["Properties"]["StateMachineName"] for m in machines.values()) == sorted(
        f"{PREFIX}-{_asl_name(path)}" for path in ASL_FILES)


@pytest.mark.parametrize("path", ASL_FILES, ids=_asl_name)
def test_given_asl_file_when_synthesized_then_its_state_machine_runs_the_files_definition(template_json, path):
    _, machine = _state_machine(template_json, _asl_name(path))

    assert _definition(machine) == json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", ASL_FILES, ids=_asl_name)
def test_given_asl_file_when_synthesized_then_its_state_machine_is_standard_traced_and_logged_without_data(
        template_json, path):
    _, machine = _state_machine(template_json, _asl_name(path))
    props = machine["Properties"]
    logging = props["LoggingConfiguration"]
    log_group = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]

    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False  # inputs carry task tokens and tenant data
    assert template_json["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert template_json["Resources"][log_group]["Properties"]["RetentionInDays"] > 0


def test_given_approval_state_machine_when_synthesized_then_its_role_may_update_the_table_and_put_bus_events_only(
        template_json):
    _, machine = _state_machine(template_json, "approval")
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    role = template_json["Resources"][role_id]["Properties"]
    statements = _statements_of_role(template_json, role_id)
    scoped = [s for s in statements if s["Resource"] != "*"]
    unscoped = [s for s in statements if s["Resource"] == "*"]

    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [{"Service": "states.amazonaws.com"}]
    assert json.dumps(role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
        f':stateMachine:{PREFIX}-approval"]]}}')
    assert "ManagedPolicyArns" not in role
    assert all(s["Effect"] == "Allow" for s in statements)
    assert not [a for a in _actions(statements) if "*" in a]
    assert _actions(unscoped) <= STATE_MACHINE_SERVICE_ACTIONS
    assert sorted((s["Action"], s["Resource"]) for s in scoped) == [
        ("dynamodb:UpdateItem", {"Fn::GetAtt": [_logical_id(template_json, "AWS::DynamoDB::Table"), "Arn"]}),
        ("events:PutEvents", {"Fn::GetAtt": [_logical_id(template_json, "AWS::Events::EventBus"), "Arn"]}),
    ]
    update = next(s for s in scoped if s["Action"] == "dynamodb:UpdateItem")
    # the task token item: its key and the attributes the definition sets, nothing read back
    assert update["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "round", "sk", "step", "tenant_id", "token", "type"]},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": "NONE"},
    }
    # the log delivery permissions exist before the machine (creating it checks them)
    policies = {k for k, v in _resources(template_json, "AWS::IAM::Policy").items() if {"Ref": role_id} in v["Properties"]["Roles"]}
    assert policies and policies <= set(machine.get("DependsOn", []))


def test_given_api_when_synthesized_then_it_may_start_executions_of_the_approval_state_machine_only(template_json):
    machine_id, _ = _state_machine(template_json, "approval")
    statements = _api_statements(template_json)
    starts = [s for s in statements if "states:StartExecution" in _as_list(s["Action"])]
    others = [(lid, s) for lid, s in _policy_statements(template_json)
              if "states:StartExecution" in _as_list(s["Action"]) and s not in statements]

    assert [(s["Action"], s["Resource"]) for s in starts] == [("states:StartExecution", {"Ref": machine_id})]
    assert others == []  # nobody else starts approvals


def test_given_api_when_synthesized_then_it_may_signal_describe_and_stop_approval_executions(template_json):
    statements = _api_statements(template_json)
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        for action in _as_list(statement["Action"]):
            by_action.setdefault(action, []).append(statement["Resource"])

    # task tokens are not resources: SendTaskSuccess/Failure have no resource-level permissions
    assert by_action["states:SendTaskSuccess"] == by_action["states:SendTaskFailure"] == ["*"]
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert len(by_action[action]) == 1 and _approval_executions_arn(by_action[action][0])
    assert {a for a in by_action if a.startswith("states:")} == {
        "states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure",
        "states:DescribeExecution", "states:StopExecution"}


def test_given_approval_timer_when_synthesized_then_it_may_signal_approval_executions_but_not_start_them(template_json):
    spec = next(f for f in FUNCTIONS if f.name == "approval_timer")
    _, fn = _function(template_json, spec)
    statements = _statements_of_role(template_json, _role_of(fn))
    by_action = {a: s["Resource"] for s in statements for a in _as_list(s["Action"]) if a.startswith("states:")}

    assert spec in WORKFLOW_SIGNALLERS
    assert by_action["states:SendTaskSuccess"] == by_action["states:SendTaskFailure"] == "*"
    assert _approval_executions_arn(by_action["states:DescribeExecution"])
    assert set(by_action) == {"states:SendTaskSuccess", "states:SendTaskFailure", "states:DescribeExecution"}


def test_given_api_and_approval_timer_when_synthesized_then_both_get_the_approval_state_machine_arn(template_json):
    machine_id, _ = _state_machine(template_json, "approval")
    _, api = _only(_resources(template_json, "AWS::Serverless::Function"))
    _, timer = _function(template_json, next(f for f in FUNCTIONS if f.name == "approval_timer"))

    for function in (api, timer):
        assert function["Properties"]["Environment"]["Variables"]["CRM_APPROVAL_STATE_MACHINE_ARN"] == {"Ref": machine_id}


def test_given_state_machines_when_linted_with_cfn_lint_then_their_definitions_have_no_errors(template_json, tmp_path):
    machines = set(_resources(template_json, "AWS::StepFunctions::StateMachine"))
    matches = _lint_without_sam_transform(template_json, tmp_path / "template.json")

    errors = [f"{m.rule.id} {m.message} ({m.path_string})" for m in matches
              if m.rule.severity == "error" and m.path_string.split("/")[:2] in (["Resources", k] for k in machines)]
    assert machines and errors == []


def test_given_an_invalid_definition_when_linted_the_same_way_then_cfn_lint_reports_it(template_json, tmp_path):
    """The check above is live: cfn-lint does validate the definitions it is given."""
    template = json.loads(json.dumps(template_json))
    machine_id, machine = _state_machine(template, "approval")
    definition = _definition(machine)
    definition["States"][definition["StartAt"]]["Type"] = "Wait4Ever"
    machine["Properties"].pop("Definition", None)
    machine["Properties"]["DefinitionString"] = json.dumps(definition)
    matches = _lint_without_sam_transform(template, tmp_path / "template.json")

    assert [m.rule.id for m in matches
            if m.rule.severity == "error" and m.path_string.startswith(f"Resources/{machine_id}/")] == ["E3601"]


def test_given_update_item_task_when_conditions_are_derived_then_they_name_every_top_level_attribute_it_writes():
    conditions = update_item_conditions({
        "TableName.$": "$.table",
        "Key": {"pk": {"S.$": "$.pk"}, "sk": {"S": "TOKEN"}},
        "UpdateExpression": "SET #a = :a, b.c = if_not_exists(d, :d) REMOVE e[0]",
        "ConditionExpression": "attribute_exists(pk) AND size(#f) < :n",
        "ExpressionAttributeNames": {"#a": "a", "#f": "f"},
        "ReturnValues": "UPDATED_NEW",
    }, "test")

    assert conditions == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["a", "b", "d", "e", "f", "pk", "sk"]},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": "UPDATED_NEW"},
    }


@pytest.mark.parametrize("parameters", [
    {"Key.$": "$.key", "UpdateExpression": "SET a = :a"},
    {"Key": {"pk": {"S": "x"}}, "UpdateExpression.$": "$.expression"},
    {"Key": {"pk": {"S": "x"}}, "UpdateExpression": "SET #a = :a", "ExpressionAttributeNames.$": "$.names"},
    {"Key": {"pk": {"S": "x"}}, "AttributeUpdates": {"a": {"Action": "PUT"}}},
    {"TableName": "t"},
], ids=["key", "expression", "names", "legacy", "no-key"])
def test_given_update_item_task_taking_attributes_from_the_input_when_conditions_are_derived_then_it_is_refused(parameters):
    with pytest.raises(ValueError, match="updateItem task needs a literal"):
        update_item_conditions(parameters, "test")


# ---------------------------------------------------------------------------- search

def test_given_search_domain_when_synthesized_then_it_is_opensearch_2_encrypted_https_only_with_fgac(template_json):
    _, domain = _search_domain(template_json)
    props = domain["Properties"]
    security = props["AdvancedSecurityOptions"]

    assert props["DomainName"] == PREFIX
    assert props["EngineVersion"].startswith("OpenSearch_2.")
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    assert security["Enabled"] is True
    assert security["InternalUserDatabaseEnabled"] is False
    assert security.get("AnonymousAuthEnabled", False) is False
    assert "VPCOptions" not in props
    assert props["EBSOptions"]["VolumeType"] == "gp3"


def test_given_dev_stage_when_synthesized_then_search_domain_is_one_small_node_removed_with_the_stack(template_json):
    _, domain = _search_domain(template_json)
    cluster = domain["Properties"]["ClusterConfig"]

    assert cluster["InstanceType"] == DEVELOPMENT_SEARCH.data_node_type
    assert cluster["InstanceCount"] == DEVELOPMENT_SEARCH.data_nodes == 1
    assert cluster["MultiAZWithStandbyEnabled"] is False
    assert cluster["DedicatedMasterEnabled"] is False
    assert domain["Properties"]["EBSOptions"]["VolumeSize"] == DEVELOPMENT_SEARCH.volume_gib
    assert domain["DeletionPolicy"] == "Delete"


def test_given_stage_defaults_when_resolved_then_only_prod_runs_multi_az_with_standby_and_cluster_managers():
    prod, dev = search_capacity("prod"), search_capacity("dev")

    assert prod == PRODUCTION_SEARCH and prod.standby and prod.availability_zones == 3
    assert prod.data_nodes % 3 == 0 and prod.master_nodes == 3 and not prod.data_node_type.startswith("t3.")
    assert dev == DEVELOPMENT_SEARCH and not dev.standby and dev.availability_zones == 1
    assert search_capacity("staging") == DEVELOPMENT_SEARCH


def test_given_search_context_when_resolved_then_it_overrides_the_stage_capacity():
    assert search_capacity("dev", '{"data_nodes": 2, "volume_gib": 20}').availability_zones == 2
    assert search_capacity("prod", {"data_node_type": "r6g.xlarge.search", "data_nodes": 6}).data_nodes == 6
    with pytest.raises(ValueError, match="unknown"):
        search_capacity("dev", {"standby": True})
    with pytest.raises(ValueError, match="unknown"):
        search_capacity("dev", {"instances": 2})
    with pytest.raises(ValueError, match="Multi-AZ with standby"):
        search_capacity("prod", {"data_nodes": 2})
    with pytest.raises(ValueError, match="Multi-AZ with standby"):
        search_capacity("prod", {"data_node_type": "t3.small.search"})


def test_given_search_domain_when_synthesized_then_slow_and_error_logs_go_to_cloudwatch(template_json):
    _, domain = _search_domain(template_json)
    published = domain["Properties"]["LogPublishingOptions"]
    logs_policy_id, logs_policy = _only(_resources(template_json, "AWS::Logs::ResourcePolicy"))
    log_groups = _resources(template_json, "AWS::Logs::LogGroup")

    assert set(published) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS"}
    for option in published.values():
        assert option["Enabled"] is True
        assert option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0] in log_groups
        assert json.dumps(option["CloudWatchLogsLogGroupArn"]) in json.dumps(logs_policy)
    assert "es.amazonaws.com" in json.dumps(logs_policy) and f":domain/{PREFIX}" in json.dumps(logs_policy)
    assert logs_policy_id in domain["DependsOn"]  # the service checks the policy when the domain is created


def test_given_search_access_policy_when_synthesized_then_only_the_stacks_roles_may_call_and_no_wildcard(template_json):
    _, domain = _search_domain(template_json)
    _, resource = _only(_resources(template_json, "Custom::SearchRoles"))
    admin_role = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    admin_role = template_json["Resources"][admin_role]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted: dict[str, set[str]] = {}
    # the domain is the data stack's and the roles the stage stack's: the custom resource sets the policy
    assert "AccessPolicies" not in domain["Properties"]
    for statement in resource["Properties"]["AccessPolicies"]["Statement"]:
        assert statement["Effect"] == "Allow"
        assert list(statement["Principal"]) == ["AWS"] and "*" not in json.dumps(statement["Principal"])
        for principal in _as_list(statement["Principal"]["AWS"]):
            assert template_json["Resources"][principal["Fn::GetAtt"][0]]["Type"] == "AWS::IAM::Role"
            granted.setdefault(principal["Fn::GetAtt"][0], set()).update(_as_list(statement["Action"]))
        path = "_plugins/_security/api/*" if statement["Principal"]["AWS"] == {"Fn::GetAtt": [admin_role, "Arn"]} else "*"
        assert _is_domain_arn(statement["Resource"], path)

    writers = {_role_of(_function(template_json, spec)[1]) for spec in SEARCH_WRITERS}
    readers = {_role_of(_function(template_json, spec)[1]) for spec in SEARCH_READERS}
    assert set(granted) == {_api_role(template_json), admin_role, *writers, *readers}
    # Within the account the access policy grants on its own: the API (and the reading functions) may not write through it.
    for reader in (_api_role(template_json), *readers):
        assert granted[reader] == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"}
    assert granted[admin_role] == {"es:ESHttpPut", "es:ESHttpDelete"}
    for writer in writers:
        assert {"es:ESHttpPut", "es:ESHttpDelete"} <= granted[writer]


@pytest.mark.parametrize("spec", SEARCH_WRITERS, ids=lambda f: f.name)
def test_given_search_writer_when_synthesized_then_its_role_may_put_and_delete_on_the_domain_only(template_json, spec):
    _, fn = _function(template_json, spec)
    search = [s for s in _statements_of_role(template_json, _role_of(fn))
              if any(a.startswith("es:") for a in _as_list(s["Action"]))]

    assert len(search) == 1
    assert {"es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPost"} <= set(_as_list(search[0]["Action"]))
    assert _is_domain_arn(search[0]["Resource"], "*")


def test_given_api_when_synthesized_then_it_may_search_the_domain_but_never_put_or_delete(template_json):
    search = [s for s in _api_statements(template_json) if any(a.startswith("es:") for a in _as_list(s["Action"]))]

    assert len(search) == 1
    assert set(_as_list(search[0]["Action"])) == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"}
    assert _is_domain_arn(search[0]["Resource"], "*")
    assert not {"es:ESHttpPut", "es:ESHttpDelete", "es:ESHttpPatch"} & _actions(_api_statements(template_json))


def test_given_fgac_when_synthesized_then_lambda_roles_map_to_least_privilege_roles_on_the_stage_indices(template_json):
    domain_id, domain = _search_domain(template_json)
    _, resource = _only(_resources(template_json, "Custom::SearchRoles"))
    props = resource["Properties"]
    provider = template_json["Resources"][props["ServiceToken"]["Fn::GetAtt"][0]]
    writer, reader = props["Roles"][f"{PREFIX}-search-writer"], props["Roles"][f"{PREFIX}-search-reader"]
    writers = [{"Fn::GetAtt": [_role_of(_function(template_json, spec)[1]), "Arn"]} for spec in SEARCH_WRITERS]

    # the provider runs as the FGAC master and talks to this domain
    assert domain["Properties"]["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"] == provider["Properties"]["Role"]
    assert props["Endpoint"] == {"Fn::GetAtt": [domain_id, "DomainEndpoint"]}
    assert props["Mappings"] == {
        f"{PREFIX}-search-writer": writers,
        f"{PREFIX}-search-reader": [{"Fn::GetAtt": [_api_role(template_json), "Arn"]},
                                    *({"Fn::GetAtt": [_role_of(_function(template_json, spec)[1]), "Arn"]} for spec in SEARCH_READERS)],
    }
    for role in (writer, reader):
        assert [p["index_patterns"] for p in role["index_permissions"]] == [[f"{PREFIX}-*"]]
    assert {"crud", "create_index"} <= set(writer["index_permissions"][0]["allowed_actions"])
    assert not {"manage", "indices_all", "unlimited", "indices:admin/delete"} & set(writer["index_permissions"][0]["allowed_actions"])
    assert not {"cluster_all", "cluster_manage_index_templates", "unlimited"} & set(writer["cluster_permissions"])
    assert set(reader["index_permissions"][0]["allowed_actions"]) <= {"read", "search"}
    assert reader["cluster_permissions"] == ["cluster_composite_ops_ro"]
    assert "all_access" not in json.dumps(props)


def test_given_fgac_master_when_synthesized_then_only_lambda_assumes_it_and_it_reaches_only_the_security_api(template_json):
    _, domain = _search_domain(template_json)
    master = domain["Properties"]["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"]["Fn::GetAtt"][0]
    role = template_json["Resources"][master]["Properties"]
    statements = _statements_of_role(template_json, master)

    assert [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    # the security API; and the domain's access policy, which the custom resource sets (infra/components/search.py)
    assert len(statements) == 2
    assert set(_as_list(statements[0]["Action"])) == {"es:ESHttpPut", "es:ESHttpDelete"}
    assert _is_domain_arn(statements[0]["Resource"], "_plugins/_security/api/*")
    assert statements[1]["Action"] == "es:UpdateDomainConfig"
    assert json.dumps(statements[1]["Resource"]).endswith(f':domain/{PREFIX}"]]}}')


def test_given_indexer_when_synthesized_then_its_stream_mapping_keeps_search_within_a_second(template_json):
    spec = next(f for f in FUNCTIONS if f.name == "indexer")
    function_id, _ = _function(template_json, spec)
    _, mapping = _only({k: v for k, v in _resources(template_json, "AWS::Lambda::EventSourceMapping").items()
                        if invokes(template_json, v["Properties"]["FunctionName"], function_id)})
    props = mapping["Properties"]

    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [
        {"dynamodb": {"Keys": {"sk": {"S": ["#"]}}}}]
    assert props["BatchSize"] == 100
    assert props["MaximumBatchingWindowInSeconds"] == 1
    assert props["BisectBatchOnFunctionError"] is True
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert template_json["Resources"][destination]["Type"] == "AWS::SQS::Queue"


def test_given_search_domain_when_synthesized_then_red_cluster_blocked_writes_and_low_storage_raise_alarms(template_json):
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in _resources(template_json, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("Namespace") == "AWS/ES"}

    assert {"ClusterStatus.red", "ClusterIndexWritesBlocked", "JVMMemoryPressure", "FreeStorageSpace",
            "AutomatedSnapshotFailure"} <= set(alarms)
    for alarm in alarms.values():
        assert {"Name": "DomainName", "Value": {"Ref": _search_domain(template_json)[0]}} in alarm["Dimensions"]
    assert alarms["FreeStorageSpace"]["ComparisonOperator"] == "LessThanOrEqualToThreshold"


# ---------------------------------------------------------------------------- events and scheduling

def test_given_stack_when_synthesized_then_bus_and_schedule_group_are_named_for_the_stage(template):
    template.has_resource_properties("AWS::Events::EventBus", {"Name": PREFIX})
    template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": PREFIX})


def test_given_scheduler_role_when_synthesized_then_only_scheduler_may_assume_it_for_the_stage_group(template):
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": Match.object_like({"ArnLike": Match.any_value(), "StringEquals": Match.any_value()}),
        })]},
    })


def test_given_scheduler_role_when_synthesized_then_it_can_only_invoke_the_reminders_function(template_json):
    role_id = next(k for k in _resources(template_json, "AWS::IAM::Role") if k.startswith("SchedulerRole"))
    statements = _statements_of_role(template_json, role_id)
    targets = [_function(template_json, spec)[0] for spec in SCHEDULE_TARGETS]

    assert [spec.name for spec in SCHEDULE_TARGETS] == ["reminders"]
    # besides: send what a schedule gave up on to the schedules' dead-letter queue (tests/infrastructure/test_operations.py)
    dead_letters = [s for s in statements if "sqs:SendMessage" in s["Action"]]
    assert [s["Resource"]["Fn::GetAtt"][0] for s in dead_letters] == [
        k for k, v in _resources(template_json, "AWS::SQS::Queue").items() if v["Properties"]["QueueName"] == f"{PREFIX}-schedules-dlq"]
    # the alias (CRM_REMINDER_TARGET_ARN), and the function for schedules created before the aliases existed
    [alias] = [k for k, v in _resources(template_json, "AWS::Lambda::Alias").items()
               if v["Properties"]["FunctionName"] == {"Ref": targets[0]}]
    assert [s for s in statements if s not in dead_letters] == [{
        "Action": "lambda:InvokeFunction",
        "Effect": "Allow",
        "Resource": [{"Fn::GetAtt": [targets[0], "Arn"]}, {"Ref": alias}],
    }]


# ---------------------------------------------------------------------------- identity

def test_given_user_pools_when_synthesized_then_staff_and_portal_pools_carry_an_immutable_tenant_id(template_json):
    pools = _resources(template_json, "AWS::Cognito::UserPool")

    assert sorted(p["Properties"]["UserPoolName"] for p in pools.values()) == [f"{PREFIX}-portal", f"{PREFIX}-staff"]
    for pool in pools.values():
        tenant = [a for a in pool["Properties"]["Schema"] if a["Name"] == "tenant_id"]
        assert len(tenant) == 1
        assert tenant[0]["AttributeDataType"] == "String"
        assert tenant[0]["Mutable"] is False


def test_given_user_pools_when_synthesized_then_sign_up_is_admin_only_mfa_optional_and_passwords_strong(template):
    template.resource_properties_count_is("AWS::Cognito::UserPool", {
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "MfaConfiguration": "OPTIONAL",
        "Policies": {"PasswordPolicy": Match.object_like({
            "MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
            "RequireNumbers": True, "RequireSymbols": True})},
    }, 2)


def test_given_app_clients_when_synthesized_then_public_srp_clients_read_but_never_write_the_tenant(template_json):
    clients = _resources(template_json, "AWS::Cognito::UserPoolClient").values()

    assert len(clients) == 2
    for client in clients:
        props = client["Properties"]
        assert props["GenerateSecret"] is False
        assert {"ALLOW_USER_SRP_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"} <= set(props["ExplicitAuthFlows"])
        assert "custom:tenant_id" in props["ReadAttributes"]
        assert not [a for a in props["WriteAttributes"] if a.startswith("custom:")]


# ---------------------------------------------------------------------------- storage

def test_given_archive_bucket_when_synthesized_then_it_is_encrypted_private_and_versioned(template):
    template.has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "BlockPublicPolicy": True,
            "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        },
        "VersioningConfiguration": {"Status": "Enabled"},
        "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
    })


def test_given_archive_bucket_when_synthesized_then_objects_move_to_glacier_after_90_days(template):
    template.has_resource_properties("AWS::S3::Bucket", {
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({
            "Status": "Enabled",
            "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
        })])},
    })


def _files_bucket(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _only({k: v for k, v in _resources(template_json, "AWS::S3::Bucket").items() if k.startswith("FilesBucket")})


def test_given_files_bucket_when_synthesized_then_it_is_private_encrypted_logged_and_unversioned(template_json):
    _, bucket = _files_bucket(template_json)
    props = bucket["Properties"]
    assert props["BucketEncryption"] == {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                                                       "RestrictPublicBuckets": True}
    assert "VersioningConfiguration" not in props  # final keys are written once, by the API (storage.py says why)
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "files/"
    assert bucket["DeletionPolicy"] == "Retain"


def test_given_files_bucket_when_synthesized_then_browsers_may_put_and_get_with_the_signed_headers(template_json):
    from chalicelib.ports.files import presign_upload

    _, bucket = _files_bucket(template_json)
    [rule] = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    _, headers = presign_upload("pending/tenants/t/files/f", "application/pdf", 3, "A" * 43 + "=", 60)  # signs locally, no call
    assert set(rule["AllowedMethods"]) == {"PUT", "GET", "HEAD"}
    assert set(rule["AllowedHeaders"]) == {h.lower() for h in headers} == {"content-type", "x-amz-checksum-sha256"}
    assert rule["AllowedOrigins"] == ["*"]  # dev: no web_origins context


def test_given_files_bucket_when_synthesized_then_unconfirmed_uploads_expire_after_a_day(template_json):
    _, bucket = _files_bucket(template_json)
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"] == [{
        "Id": "expire-unconfirmed-uploads", "Status": "Enabled", "Prefix": "pending/", "ExpirationInDays": 1,
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, {
        "Id": "expire-exports", "Status": "Enabled", "TagFilters": [{"Key": "crm-kind", "Value": "export"}], "ExpirationInDays": 7}]


def test_given_files_bucket_when_synthesized_then_only_the_api_may_put_and_get_under_its_prefixes_and_jobs_read_imports(template_json):
    bucket_id, _ = _files_bucket(template_json)
    arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    exports = {"Fn::Join": ["", [arn, "/tenants/*/exports/*"]]}  # export files: the jobs function writes, the API signs downloads
    granted = [(lid, s) for lid, s in _policy_statements(template_json) if bucket_id in json.dumps(s["Resource"])
               and exports not in _as_list(s["Resource"])
               and not lid.startswith("TenantDataRole")]  # the API's too, on one tenant's prefixes (test_tenant_access.py)
    api_policy = _logical_id(template_json, "AWS::IAM::ManagedPolicy")
    [statement] = [s for lid, s in granted if lid == api_policy]  # the API's policy
    assert set(_as_list(statement["Action"])) == {"s3:PutObject", "s3:GetObject"}
    imports = {"Fn::Join": ["", [arn, "/tenants/*/imports/*"]]}
    assert statement["Resource"] == [{"Fn::Join": ["", [arn, "/pending/tenants/*"]]}, {"Fn::Join": ["", [arn, "/tenants/*/files/*"]]},
                                     imports]
    functions = [s for lid, s in granted if lid != api_policy]
    # the functions whose needs say "files" (a restore copies uploaded files, a purge deletes them): the two prefixes only
    files = [s for s in functions if "s3:DeleteObject" in _as_list(s["Action"])]
    assert len(files) == len([f for f in FUNCTIONS if "files" in f.needs])
    imports = {"Fn::Join": ["", [arn, "/tenants/*/imports/*"]]}
    for s in files:  # (CDK may merge the imports reader's prefix into it: the jobs function has both needs)
        assert set(_as_list(s["Action"])) == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}
        assert [r for r in _as_list(s["Resource"]) if r != imports] == [
            {"Fn::Join": ["", [arn, "/pending/tenants/*"]]}, {"Fn::Join": ["", [arn, "/tenants/*/files/*"]]}]
    readers = [s for s in functions if s not in files]  # the functions that read import uploads (the jobs)
    assert len(readers) + len([s for s in files if imports in _as_list(s["Resource"])]) >= \
        len([f for f in FUNCTIONS if "imports" in f.needs])
    for s in readers:  # GetObject, and of the files bucket only its imports/ (the archive's log may share the statement)
        assert _as_list(s["Action"]) == ["s3:GetObject"]
        assert [r for r in _as_list(s["Resource"]) if bucket_id in json.dumps(r)] == [imports]
    api_exports = [s for lid, s in _policy_statements(template_json) if exports in _as_list(s["Resource"]) and lid == api_policy]
    assert [set(_as_list(s["Action"])) for s in api_exports] == [{"s3:GetObject"}]


def test_given_buckets_when_synthesized_then_every_bucket_policy_denies_insecure_transport(template_json):
    buckets = set(_resources(template_json, "AWS::S3::Bucket"))
    enforced = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in _resources(template_json, "AWS::S3::BucketPolicy").values()
        if any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["Properties"]["PolicyDocument"]["Statement"])
    }
    assert enforced == buckets


def test_given_api_packages_when_synthesized_then_they_ship_compiled_bytecode(synthesis, template_json) -> None:
    """Lambda cannot write __pycache__: without shipped .pyc every cold start compiles every module."""
    import zipfile

    resources = template_json["Resources"]
    handler = next(r for r in resources.values() if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")
                   and "app.app" in json.dumps(r["Properties"].get("Handler", "")))
    layer = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::LayerVersion")

    def asset_zip(key_ref) -> zipfile.ZipFile:
        key = json.dumps(key_ref)
        name = next(p for p in synthesis.outdir.glob("asset.*.zip") if p.name.removeprefix("asset.") in key)
        return zipfile.ZipFile(name)

    code = asset_zip(handler["Properties"]["CodeUri"]).namelist()
    deps = asset_zip(layer["Properties"]["ContentUri"]).namelist()
    assert "__pycache__/app.cpython-312.pyc" in code  # compiled by the runtime's Python, not the one synthesizing
    assert "chalicelib/core/__pycache__/permissions.cpython-312.pyc" in code
    assert not [n for n in code + deps if n.endswith(".pyc") and ".cpython-312." not in n]
    sources = [n for n in deps if n.endswith(".py")]
    compiled = {n for n in deps if n.endswith(".pyc")}
    assert len(sources) > 500 and len(compiled) >= 0.95 * len(sources)


# ---------------------------------------------------------------------------- mail (WORK-5)

def test_given_mail_when_synthesized_then_ses_receives_into_the_mail_bucket_for_this_account_only(template_json):
    bucket_id, _ = next((k, v) for k, v in _resources(template_json, "AWS::S3::Bucket").items() if k.startswith("MailBucket"))
    policies = [p for p in _resources(template_json, "AWS::S3::BucketPolicy").values()
                if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    ses_puts = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]
                if s.get("Principal") == {"Service": "ses.amazonaws.com"} and s["Effect"] == "Allow"]
    assert ses_puts and all(_as_list(s["Action"]) == ["s3:PutObject"] for s in ses_puts)
    assert all("aws:SourceAccount" in json.dumps(s.get("Condition")) or "aws:Referer" in json.dumps(s.get("Condition"))
               for s in ses_puts)
    assert any("aws:SourceArn" in json.dumps(s.get("Condition")) for s in ses_puts)
    _, rule = _only(_resources(template_json, "AWS::SES::ReceiptRule"))
    props = rule["Properties"]["Rule"]
    assert props["ScanEnabled"] is True and props["TlsPolicy"] == "Require"
    assert [a["S3Action"]["ObjectKeyPrefix"] for a in props["Actions"]] == ["inbound/"]
    assert props["Actions"][0]["S3Action"]["BucketName"] == {"Ref": bucket_id}
    _, identity = _only(_resources(template_json, "AWS::SES::EmailIdentity"))
    assert identity["Properties"]["EmailIdentity"] == props["Recipients"][0]


def test_given_the_inbound_mail_function_when_synthesized_then_it_reads_inbound_mail_only_through_its_queue(template_json):
    spec = next(f for f in FUNCTIONS if f.name == "inbound_mail")
    function_id, fn = _function(template_json, spec)
    statements = _statements_of_role(template_json, _role_of(fn))
    bucket_id = next(k for k in _resources(template_json, "AWS::S3::Bucket") if k.startswith("MailBucket"))
    mail = [s for s in statements if bucket_id in json.dumps(s["Resource"])]
    assert [(_as_list(s["Action"]), s["Resource"]) for s in mail] == [
        (["s3:GetObject"], {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/inbound/*"]]})]
    assert not any(a.startswith("ses:") for a in _actions(statements))
    mappings = [m["Properties"] for m in _resources(template_json, "AWS::Lambda::EventSourceMapping").values()
                if invokes(template_json, m["Properties"]["FunctionName"], function_id)]
    assert len(mappings) == 1 and mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_id = mappings[0]["EventSourceArn"]["Fn::GetAtt"][0]
    notifications = json.dumps(_resources(template_json, "Custom::S3BucketNotifications"))
    assert queue_id in notifications and '"inbound/"' in notifications


def test_given_mail_senders_when_synthesized_then_they_may_send_raw_mail_from_the_identity_only(template_json):
    senders = [*(_statements_of_role(template_json, _role_of(_function(template_json, f)[1]))
                 for f in FUNCTIONS if "mail_send" in f.needs), _api_statements(template_json)]
    for statements in senders:
        ses = [s for s in statements if any(a.startswith("ses:") for a in _as_list(s["Action"]))]
        assert len(ses) == 1 and _as_list(ses[0]["Action"]) == ["ses:SendRawEmail"]
        assert "identity/" in json.dumps(ses[0]["Resource"]) and "*" not in json.dumps(ses[0]["Resource"])
    others = [f for f in FUNCTIONS if "mail_send" not in f.needs]
    for f in others:
        assert not any(a.startswith("ses:") for a in _actions(_statements_of_role(template_json, _role_of(_function(template_json, f)[1]))))


# ---------------------------------------------------------------------------- runtime, architecture, partition (issue 15)

def _lambdas(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {**_resources(template_json, "AWS::Lambda::Function"), **_resources(template_json, "AWS::Serverless::Function")}


def test_given_stack_when_synthesized_then_every_lambda_runs_python_3_12_on_arm64(template_json):
    lambdas = _lambdas(template_json)

    assert len(lambdas) >= len(FUNCTIONS) + 2  # the registry's, the API, the search-roles custom resource (and the CDK's)
    assert {k: (v["Properties"].get("Runtime"), v["Properties"].get("Architectures")) for k, v in lambdas.items()} == {
        k: (LAMBDA_RUNTIME, [LAMBDA_ARCHITECTURE]) for k in lambdas}


def test_given_stack_when_synthesized_then_the_dependency_layer_is_built_for_that_runtime_and_architecture(
        synthesis, template_json):
    import zipfile

    _, layer = _only(_resources(template_json, "AWS::Serverless::LayerVersion"))
    assert layer["Properties"]["CompatibleRuntimes"] == [LAMBDA_RUNTIME]
    assert layer["Properties"]["CompatibleArchitectures"] == [LAMBDA_ARCHITECTURE]
    key = layer["Properties"]["ContentUri"]["Key"]
    names = zipfile.ZipFile(next(p for p in synthesis.outdir.glob("asset.*.zip") if p.name.removeprefix("asset.") == key)).namelist()
    site = f"python/lib/{LAMBDA_RUNTIME}/site-packages/"
    extensions = [n for n in names if n.endswith(".so") and ".cpython-" in n]
    assert all(n.startswith(site) for n in names if n.startswith("python/"))
    assert f"{site}pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so" in names
    assert any(n.startswith(f"{site}numpy/") and n.endswith(".cpython-312-aarch64-linux-gnu.so") for n in names)
    assert extensions and all(n.endswith(".cpython-312-aarch64-linux-gnu.so") for n in extensions)


def test_given_api_function_when_synthesized_then_snapstart_applies_to_the_alias_api_gateway_invokes(template_json):
    handler_id, handler = _only(_resources(template_json, "AWS::Serverless::Function"))
    _, api = _only(_resources(template_json, "AWS::Serverless::Api"))
    uris = [op["x-amazon-apigateway-integration"]["uri"] for path in api["Properties"]["DefinitionBody"]["paths"].values()
            for op in path.values() if isinstance(op, dict) and op.get("x-amazon-apigateway-integration", {}).get("type") == "aws_proxy"]
    permissions = [p for p in _resources(template_json, "AWS::Lambda::Permission").values()
                   if p["Properties"].get("Principal") == "apigateway.amazonaws.com"]

    assert handler["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert handler["Properties"]["AutoPublishAlias"] == "live"
    assert len(uris) > 100 and all(f"${{{handler_id}.Alias}}" in json.dumps(u) for u in uris)
    assert not [u for u in uris if ".Arn}" in json.dumps(u)]
    assert [p["Properties"]["FunctionName"] for p in permissions] == [{"Fn::Sub": f"${{{handler_id}.Alias}}"}]
    # cfn-lint does not know SAM's Alias attribute: its check is left out on these two resources, nowhere else
    ignoring = {k for k, v in template_json["Resources"].items() if "cfn-lint" in v.get("Metadata", {})}
    assert ignoring == {_logical_id(template_json, "AWS::Serverless::Api"),
                        next(k for k, p in _resources(template_json, "AWS::Lambda::Permission").items() if p in permissions)}


def test_given_stack_when_synthesized_then_no_arn_names_the_partition_literally(template_json):
    """Every ARN comes from ``AWS::Partition`` (the stack deploys to aws-cn too). The state machines'
    definitions write ``arn:${Partition}:…``, filled by their DefinitionSubstitutions."""
    text = json.dumps(template_json)

    assert "arn:aws:" not in text
    assert "arn:aws-cn:" not in text and "arn:aws-us-gov:" not in text
    assert "amazonaws.com.cn" not in text
