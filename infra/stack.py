"""The CRM stack: everything one stage of the product runs on.

Resources are built from the repository's single sources of truth:

- ``chalicelib/db/table_spec.py`` (``TABLE_SPEC``) defines the DynamoDB table;
- ``functions/registry.py`` (``FUNCTIONS``) lists the Lambda handlers that are not HTTP
  routes and how each one is triggered (table stream, bus rule, Scheduler target);
- ``app.py`` + ``chalicelib/`` + ``requirements.txt`` are packaged by the
  ``chalice.cdk.Chalice`` construct into the API (API Gateway + Lambda);
- ``step_functions/*.asl.json`` are the state machines' definitions (the approval workflow),
  deployed as they are; each machine's role is derived from the tasks its definition runs.

Search (ARCHITECTURE.md §4) runs on an OpenSearch Service domain outside any VPC: every
request is SigV4-signed, the domain's access policy names only this stack's roles, and
fine-grained access control (configured by ``infra/search_roles/``) maps each role to the
OpenSearch permissions it needs on the stage's indices (``crm-<stage>-*``).

Runtime dependencies (``requirements.txt``) are packaged once, by Chalice, into its
managed Lambda layer; the non-HTTP functions use the same layer, so the API and every
function run on identical wheels.

IAM is least privilege per principal: item-level DynamoDB actions on the table and its
named indexes (no Scan, no table management), and bus, bucket, Scheduler and search-write
permissions only for the principals that declare the need; starting approval executions is
the API's alone, signalling them (task tokens) the API's and the "workflow" functions'.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cognito as cognito,
)
from aws_cdk import (
    aws_dynamodb as dynamodb,
)
from aws_cdk import (
    aws_ec2 as ec2,
)
from aws_cdk import (
    aws_events as events,
)
from aws_cdk import (
    aws_events_targets as events_targets,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_lambda_event_sources as event_sources,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_opensearchservice as opensearch,
)
from aws_cdk import (
    aws_s3 as s3,
)
from aws_cdk import (
    aws_scheduler as scheduler,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from aws_cdk import (
    aws_stepfunctions as sfn,
)
from constructs import Construct

from chalicelib.core import passwords
from chalicelib.db.table_spec import TABLE_SPEC
from functions.registry import FUNCTIONS, Function
from infra.bytecode import add_bytecode

if TYPE_CHECKING:
    from chalice.cdk import Chalice

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The Chalice app's name (``.chalice/config.json``), which is also the REST API's name.
API_NAME = "crm"
#: The API Gateway stage the API is served under (``https://…/api/``).
API_STAGE = "api"

#: The function EventBridge Scheduler invokes for reminders (``CRM_REMINDER_TARGET_ARN``).
REMINDER_FUNCTION = "reminders"

#: Where the state machines' definitions live: every ``<name>.asl.json`` becomes the STANDARD
#: state machine ``crm-<stage>-<name>`` (devstack/resources.py creates ``crm-<name>`` locally from
#: the same files).
STATE_MACHINES_DIR = REPO_ROOT / "step_functions"
ASL_SUFFIX = ".asl.json"
#: The state machine approvals run on (``CRM_APPROVAL_STATE_MACHINE_ARN``): the API starts its
#: executions, the API and the "workflow" functions signal them.
APPROVAL_STATE_MACHINE = "approval"

#: Completing the task a token stands for. Task tokens are not resources: these actions support
#: no resource-level permissions (the token itself is the credential).
WORKFLOW_SIGNAL_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure")

#: Task ``Resource``s of the definitions the stack knows how to authorise (``_task_statement``),
#: with the integration pattern suffix removed. A definition using any other fails synthesis.
DYNAMODB_UPDATE_ITEM_TASK = "arn:aws:states:::aws-sdk:dynamodb:updateItem"
EVENTS_PUT_EVENTS_TASK = "arn:aws:states:::events:putEvents"
_INTEGRATION_PATTERN = re.compile(r"\.waitForTaskToken$")
#: Words of DynamoDB expressions that are not attribute names (functions are case-sensitive,
#: keywords are not: both are compared in upper case).
_EXPRESSION_WORDS = frozenset({
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
    "IF_NOT_EXISTS", "LIST_APPEND", "ATTRIBUTE_EXISTS", "ATTRIBUTE_NOT_EXISTS", "ATTRIBUTE_TYPE",
    "BEGINS_WITH", "CONTAINS", "SIZE",
})

#: DynamoDB actions the application uses. There is no ``Scan`` (request paths never scan)
#: and no table management. Transactions are authorised per item: TransactWriteItems by
#: Put/Update/DeleteItem and ConditionCheckItem, TransactGetItems by GetItem.
TABLE_ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)

#: What the API does with reminder schedules (chalicelib/ports/scheduler.py).
SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)

#: What the API does with staff logins (chalicelib/ports/identity.py).
STAFF_POOL_ADMIN_ACTIONS = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminUpdateUserAttributes",
)

#: The search domain's engine: the newest OpenSearch 2.x this aws-cdk-lib knows.
SEARCH_ENGINE = opensearch.EngineVersion.OPENSEARCH_2_19

#: HTTP methods on the search domain, per kind of principal. Searching needs GET, HEAD and
#: POST (``_search``, ``_msearch``, ``_count``); index maintenance adds PUT and DELETE. POST
#: can also write (``_bulk``): fine-grained access control is what keeps the API read-only.
SEARCH_READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")
SEARCH_WRITE_ACTIONS = (*SEARCH_READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete")
#: What the FGAC master (the search-roles custom resource) sends: PUT and DELETE of
#: security roles and role mappings, under ``_plugins/_security/api/`` only.
SEARCH_SECURITY_ACTIONS = ("es:ESHttpPut", "es:ESHttpDelete")

#: How long a stream consumer's event source mapping may wait to fill a batch (default 5 s).
#: Search results should follow a write within about a second; other consumers (archiving)
#: prefer fuller batches.
STREAM_BATCHING_WINDOW_SECONDS = {"indexer": 1}
DEFAULT_STREAM_BATCHING_WINDOW_SECONDS = 5

#: The custom resource that configures fine-grained access control (its own Lambda asset).
SEARCH_ROLES_SOURCE = Path(__file__).resolve().parent / "search_roles"

#: Only the runtime's Python and architecture have matching wheels in the dependency
#: layer that ``chalice package`` builds (it builds for Chalice's default, x86_64).
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.X86_64

#: What the function code asset contains: the handlers and the library they build
#: services from. Everything else in the repository (tests, tooling, the virtualenv) is
#: excluded; dependencies come from the layer.
FUNCTION_ASSET_EXCLUDES = (
    "*",
    ".*",
    "!functions",
    "!chalicelib",
    "**/__pycache__",
    "**/*.pyc",
)

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}

_EVENT_PATTERN_FIELDS = {
    "account": "account",
    "detail": "detail",
    "detail-type": "detail_type",
    "id": "id",
    "region": "region",
    "resources": "resources",
    "source": "source",
    "time": "time",
    "version": "version",
}

_AWS_LAMBDA_BASIC_EXECUTION = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


@dataclasses.dataclass(frozen=True)
class SearchCapacity:
    """Nodes and storage of a stage's search domain.

    Each stage starts from the defaults below (``prod`` from ``PRODUCTION_SEARCH``, every
    other stage from ``DEVELOPMENT_SEARCH``); any field but ``standby`` can be overridden per
    stage with the context value ``search:<stage>``: an object in ``infra/cdk.json``, or JSON
    on the command line (``-c 'search:dev={"data_nodes": 2, "volume_gib": 20}'``).
    """

    data_node_type: str
    data_nodes: int
    volume_gib: int
    #: Dedicated cluster-manager ("master") nodes; none when ``master_nodes`` is 0.
    master_node_type: str = "m6g.large.search"
    master_nodes: int = 0
    #: Multi-AZ with standby: production's alone, not a context setting.
    standby: bool = False

    @property
    def availability_zones(self) -> int:
        """Zones the data nodes spread over: three with standby, else two when the nodes
        pair up evenly, else one."""
        if self.standby:
            return 3
        return 2 if self.data_nodes >= 2 and self.data_nodes % 2 == 0 else 1


#: Production runs Multi-AZ with standby: three zones (one of them standby), data nodes in
#: multiples of three, three dedicated cluster-manager nodes.
PRODUCTION_SEARCH = SearchCapacity(data_node_type="r6g.large.search", data_nodes=3, volume_gib=100, master_nodes=3,
                                   standby=True)
#: Development and test stages: the smallest domain that runs the product, one node.
DEVELOPMENT_SEARCH = SearchCapacity(data_node_type="t3.small.search", data_nodes=1, volume_gib=10)


def search_capacity(stage: str, overrides: Mapping[str, Any] | str | None = None) -> SearchCapacity:
    """The stage's search capacity: its defaults with the context overrides applied.

    Production's layout is checked here, where the message can say why: Multi-AZ with
    standby needs data nodes in multiples of three, dedicated cluster managers, and no T3.
    """
    if isinstance(overrides, str):
        overrides = json.loads(overrides)
    overrides = dict(overrides or {})
    settable = {f.name for f in dataclasses.fields(SearchCapacity)} - {"standby"}
    unknown = set(overrides) - settable
    if unknown:
        raise ValueError(f"unknown search:{stage} settings: {sorted(unknown)}")
    capacity = dataclasses.replace(PRODUCTION_SEARCH if stage == "prod" else DEVELOPMENT_SEARCH, **overrides)
    if capacity.data_nodes < 1 or capacity.volume_gib < 10:
        raise ValueError(f"search:{stage} needs at least one data node and 10 GiB per node")
    if capacity.standby and (capacity.data_nodes % 3 or capacity.master_nodes < 3
                             or capacity.data_node_type.startswith("t3.")):
        raise ValueError("search:prod runs Multi-AZ with standby: data nodes in multiples of 3, "
                         "at least 3 dedicated cluster-manager nodes, no T3 instance type")
    return capacity


def _acknowledge(construct: Construct, rule_id: str, reason: str, findings: Sequence[str] = ()) -> None:
    """Acknowledge a cdk-nag finding, with its reason, on a construct and its children.

    Rules that report several findings per resource (IAM5) are acknowledged per finding,
    ``Rule[Finding]``; the others by rule id alone.
    """
    ids = [f"{rule_id}[{finding}]" for finding in findings] or [rule_id]
    cdk.Validations.of(construct).acknowledge(*(cdk.Acknowledgment(id=i, reason=reason) for i in ids))


def _acknowledge_basic_execution(construct: Construct) -> None:
    _acknowledge(construct, "AwsSolutions-IAM4",
                 "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
                 [_AWS_LAMBDA_BASIC_EXECUTION])


def _lambda_role(scope: Construct, cid: str, description: str, *policies: iam.IManagedPolicy) -> iam.Role:
    """An execution role for a Lambda we build ourselves: its own logs, plus `policies`."""
    role = iam.Role(scope, cid, description=description, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole"),
                                      *policies])
    _acknowledge_basic_execution(role)
    return role


def _flatten_reference(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag spells it in finding ids.

    ``{"Fn::GetAtt": ["Bucket", "Arn"]}`` -> ``<Bucket.Arn>``, ``{"Ref": "X"}`` -> ``<X>``,
    ``Fn::Join`` concatenated, ``${…}`` in strings -> ``<…>``.
    """
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(_flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return _flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{_flatten_reference(resource)}.{_flatten_reference(attribute)}>"
        if "Ref" in value:
            return f"<{_flatten_reference(value['Ref'])}>"
    return json.dumps(value)


def _pascal(name: str) -> str:
    """``audit_archiver`` -> ``AuditArchiver`` (construct ids)."""
    return "".join(part.capitalize() for part in re.split(r"[_\-\s]+", name) if part)


def _precompiled_chalice() -> type:
    """The Chalice construct, with compiled bytecode added to its packages (infra/bytecode.py)
    before they become assets. Built on first use: importing chalice.cdk is slow."""
    from chalice.cdk import Chalice

    class PrecompiledChalice(Chalice):
        def _package_app(self) -> None:
            super()._package_app()
            for name in ("deployment.zip", "layer-deployment.zip"):
                path = os.path.join(self._sam_package_dir, name)
                if os.path.exists(path):
                    add_bytecode(path)

    return PrecompiledChalice


@contextlib.contextmanager
def _chalice_packaging_sandbox() -> Iterator[None]:
    """Contain the side effects of ``chalice package`` while the Chalice construct runs.

    The construct writes its packages under ``<cwd>/chalice.out`` and exports the stage's
    environment variables into ``os.environ`` while it imports ``app.py``. Packaging
    happens in a throw-away working directory (the construct stages its assets into the
    cloud assembly before it returns) and the environment is restored afterwards.
    """
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="crm-chalice-") as workdir:
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_environ)


def table_props_from_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Translate ``TABLE_SPEC`` (CreateTable vocabulary) into ``dynamodb.Table`` props.

    Global secondary indexes are returned under ``"global_secondary_indexes"`` as kwargs
    for ``Table.add_global_secondary_index``.
    """
    types = {a["AttributeName"]: _ATTRIBUTE_TYPES[a["AttributeType"]] for a in spec["AttributeDefinitions"]}

    def keys(schema: Sequence[Mapping[str, str]]) -> dict[str, dynamodb.Attribute]:
        roles = {"HASH": "partition_key", "RANGE": "sort_key"}
        return {
            roles[k["KeyType"]]: dynamodb.Attribute(name=k["AttributeName"], type=types[k["AttributeName"]])
            for k in schema
        }

    if spec.get("BillingMode") != "PAY_PER_REQUEST":
        raise ValueError("TABLE_SPEC must use on-demand billing (BillingMode PAY_PER_REQUEST)")

    indexes = []
    for gsi in spec.get("GlobalSecondaryIndexes", []):
        projection = gsi.get("Projection", {"ProjectionType": "ALL"})
        index: dict[str, Any] = {
            "index_name": gsi["IndexName"],
            **keys(gsi["KeySchema"]),
            "projection_type": dynamodb.ProjectionType[projection["ProjectionType"]],
        }
        if projection.get("NonKeyAttributes"):
            index["non_key_attributes"] = list(projection["NonKeyAttributes"])
        indexes.append(index)

    stream = spec.get("StreamSpecification", {})
    ttl = spec.get("TimeToLiveSpecification", {})
    return {
        **keys(spec["KeySchema"]),
        "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
        "stream": dynamodb.StreamViewType[stream["StreamViewType"]] if stream.get("StreamEnabled") else None,
        "time_to_live_attribute": ttl["AttributeName"] if ttl.get("Enabled") else None,
        "encryption": (
            dynamodb.TableEncryption.AWS_MANAGED
            if spec.get("SSESpecification", {}).get("Enabled")
            else dynamodb.TableEncryption.DEFAULT
        ),
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=bool(spec.get("PointInTimeRecovery"))
        ),
        "global_secondary_indexes": indexes,
    }


def event_pattern_from_dict(pattern: Mapping[str, Any]) -> events.EventPattern:
    """Build an ``EventPattern`` from an EventBridge pattern written as JSON (a dict)."""
    unknown = set(pattern) - set(_EVENT_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"unsupported top-level event pattern fields: {sorted(unknown)}")
    return events.EventPattern(**{_EVENT_PATTERN_FIELDS[key]: value for key, value in pattern.items()})


def state_machine_definitions(directory: Path = STATE_MACHINES_DIR) -> dict[str, str]:
    """``{name: definition}`` for every ``<name>.asl.json`` in `directory`: the files' text, as is."""
    return {path.name.removesuffix(ASL_SUFFIX): path.read_text(encoding="utf-8")
            for path in sorted(directory.glob(f"*{ASL_SUFFIX}"))}


def task_states(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every Task state of an ASL definition, including those of Parallel branches and Map iterations."""
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from task_states(branch)
        for processor in ("ItemProcessor", "Iterator"):
            if processor in state:
                yield from task_states(state[processor])


def update_item_conditions(parameters: Mapping[str, Any], where: str) -> dict[str, Any]:
    """IAM conditions that hold an ``updateItem`` task to what its definition writes.

    ``dynamodb:Attributes`` lists the top-level attributes the task names: its key, the values of
    ``ExpressionAttributeNames`` and any name written directly in its expressions;
    ``dynamodb:ReturnValues`` is the one it asks for (none by default), so an update cannot read
    the other attributes of an item back. Both must be literal in the definition: a ``.$`` path
    (or a legacy parameter) would leave them to the execution input, and fails synthesis.
    """
    from_input = {key.removesuffix(".$") for key in parameters if key.endswith(".$")}
    unsupported = sorted(
        (from_input & {"Key", "ExpressionAttributeNames", "UpdateExpression", "ConditionExpression", "ReturnValues"})
        | ({key.removesuffix(".$") for key in parameters} & {"AttributeUpdates", "Expected"})
    )
    if unsupported or "Key" not in parameters:
        raise ValueError(f"{where}: an updateItem task needs a literal Key, expressions, attribute names and "
                         f"ReturnValues for its permissions to be derived (found {unsupported or 'no Key'})")
    names = set(parameters["Key"]) | set(parameters.get("ExpressionAttributeNames", {}).values())
    for expression in (parameters.get("UpdateExpression", ""), parameters.get("ConditionExpression", "")):
        names.update(word for word in re.findall(r"(?<![\w#:.])[A-Za-z_]\w*", expression)
                     if word.upper() not in _EXPRESSION_WORDS)
    return {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": sorted(names)},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": parameters.get("ReturnValues", "NONE")},
    }


class CrmStack(cdk.Stack):
    """One stage (``dev``, ``prod``, …) of the CRM.

    The stack's construct id is the stage name: the ``chalice.cdk.Chalice`` construct
    takes its Chalice stage from the id of the scope it is created in, so the stage in
    ``.chalice/config.json`` and the CDK stage are the same. The CloudFormation stack is
    named ``crm-<stage>``.
    """

    def __init__(self, scope: Construct, stage: str, **kwargs: Any) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", stage):
            raise ValueError(f"invalid stage name {stage!r}: lower-case letters, digits and '-'")
        if not any(spec.name == REMINDER_FUNCTION and spec.schedule_target for spec in FUNCTIONS):
            raise ValueError(f"functions/registry.py must define {REMINDER_FUNCTION!r} as a schedule target")
        kwargs.setdefault("stack_name", f"crm-{stage}")
        kwargs.setdefault("description", f"CRM ({stage}): API, table, functions, search, identity, events")
        super().__init__(scope, stage, **kwargs)

        self.stage = stage
        self.is_production = stage == "prod"
        self.prefix = f"crm-{stage}"
        self.removal_policy = cdk.RemovalPolicy.RETAIN if self.is_production else cdk.RemovalPolicy.DESTROY
        self.log_retention = logs.RetentionDays.ONE_YEAR if self.is_production else logs.RetentionDays.ONE_MONTH

        self.table = self._table()
        self.archive_bucket = self._archive_bucket()
        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=self.prefix)
        self.schedule_group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=self.prefix)
        self.scheduler_role = self._scheduler_role()
        self.staff_pool, self.staff_client = self._user_pool("Staff", platform_admin_attribute=True)
        self.portal_pool, self.portal_client = self._user_pool("Portal", platform_admin_attribute=False)
        self.search_admin_role = self._search_admin_role()
        self.search_domain = self._search_domain()
        self.state_machines = self._state_machines()
        self.approval_state_machine = self.state_machines[APPROVAL_STATE_MACHINE]

        self.runtime_environment = self._runtime_environment()
        self.api = self._api()
        self.function_code = lambda_.Code.from_asset(
            str(REPO_ROOT), exclude=list(FUNCTION_ASSET_EXCLUDES), ignore_mode=cdk.IgnoreMode.DOCKER,
        )
        self.functions = {spec.name: self._function(spec) for spec in FUNCTIONS}
        self._allow_scheduler_to_invoke_targets()
        self._search_access()
        self._api_alarms()
        self._search_alarms()
        self._outputs()

    # ------------------------------------------------------------------ naming helpers

    def _function_name(self, name: str) -> str:
        return f"{self.prefix}-{name.replace('_', '-')}"

    def _function_arn(self, name: str) -> str:
        """A function's ARN from its (fixed) name, usable before the function exists."""
        return self.format_arn(
            service="lambda",
            resource="function",
            resource_name=self._function_name(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _resource_finding(self, arn: str) -> str:
        """The cdk-nag ``Resource::…`` finding id of a policy resource built from ``arn``."""
        return f"Resource::{_flatten_reference(self.resolve(arn))}"

    def _schedules_arn(self) -> str:
        """Every schedule in the stage's schedule group."""
        return self.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.schedule_group.name}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _state_machine_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def _state_machine_arn(self, name: str) -> str:
        """A state machine's ARN from its (fixed) name, usable before the machine exists."""
        return self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self._state_machine_name(name),
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _executions_arn(self, name: str) -> str:
        """Every execution of a state machine."""
        return self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self._state_machine_name(name)}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _search_domain_arn(self, path: str = "") -> str:
        """The search domain's ARN (``…:domain/crm-<stage>``, plus ``/path``) from its fixed name.

        Built from the name rather than read from the domain: the domain's own access policy
        and the API's managed policy (which the API role, a principal of that access policy,
        attaches) would otherwise depend on the domain they are part of.
        """
        return self.format_arn(
            service="es",
            resource="domain",
            resource_name=f"{self.prefix}/{path}" if path else self.prefix,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    # ------------------------------------------------------------------ data

    def _table(self) -> dynamodb.Table:
        props = table_props_from_spec(TABLE_SPEC)
        indexes = props.pop("global_secondary_indexes")
        table = dynamodb.Table(
            self,
            "Table",
            table_name=self.prefix,
            removal_policy=self.removal_policy,
            deletion_protection=self.is_production,
            **props,
        )
        for index in indexes:
            table.add_global_secondary_index(**index)
        self.index_names = [index["index_name"] for index in indexes]
        return table

    def _table_resources(self) -> list[str]:
        """The table and each of its indexes, by name (no ``index/*`` wildcard)."""
        return [self.table.table_arn, *(f"{self.table.table_arn}/index/{name}" for name in self.index_names)]

    def _table_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=list(TABLE_ITEM_ACTIONS), resources=self._table_resources())

    def _archive_objects_arn(self) -> str:
        """Objects the functions may write: every key is ``tenants/<tenant>/…``
        (chalicelib/ports/files.py)."""
        return self.archive_bucket.arn_for_objects("tenants/*")

    def _archive_bucket(self) -> s3.Bucket:
        access_logs = s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        return s3.Bucket(
            self,
            "ArchiveBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="archive/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="archive-to-glacier",
                    transitions=[s3.Transition(storage_class=s3.StorageClass.GLACIER,
                                               transition_after=cdk.Duration.days(90))],
                    noncurrent_version_transitions=[s3.NoncurrentVersionTransition(
                        storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(90))],
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                ),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    # ------------------------------------------------------------------ scheduling

    def _scheduler_role(self) -> iam.Role:
        """The role EventBridge Scheduler assumes to invoke schedule targets.

        It can be assumed only on behalf of schedules in this stage's group, and may only
        invoke the registry's schedule targets (see ``_allow_scheduler_to_invoke_targets``).
        """
        return iam.Role(
            self,
            "SchedulerRole",
            description=f"EventBridge Scheduler invokes the {self.prefix} schedule targets",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self._schedules_arn()},
                },
            ),
        )

    def _allow_scheduler_to_invoke_targets(self) -> None:
        targets = [self.functions[spec.name] for spec in FUNCTIONS if spec.schedule_target]
        if not targets:
            return
        self.scheduler_role.add_to_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[fn.function_arn for fn in targets],
        ))

    # ------------------------------------------------------------------ workflows (Step Functions)

    def _state_machines(self) -> dict[str, sfn.StateMachine]:
        definitions = state_machine_definitions()
        if APPROVAL_STATE_MACHINE not in definitions:
            raise ValueError(f"step_functions/{APPROVAL_STATE_MACHINE}{ASL_SUFFIX} is missing: approvals run on it")
        return {name: self._state_machine(name, definition) for name, definition in definitions.items()}

    def _state_machine(self, name: str, definition: str) -> sfn.StateMachine:
        """A STANDARD state machine from ``step_functions/<name>.asl.json``, deployed as written.

        Its role may do what the definition's tasks do (``_task_statement``), on this stack's
        resources only, and can be assumed by Step Functions for this machine only. Every
        execution event is logged without its data (inputs and outputs carry task tokens and
        tenant data) and traced with X-Ray.
        """
        cid = f"{_pascal(name)}StateMachine"
        machine_name = self._state_machine_name(name)
        where = f"step_functions/{name}{ASL_SUFFIX}"
        role = iam.Role(
            self,
            f"{cid}Role",
            description=f"Execution role of the {machine_name} state machine",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self._state_machine_arn(name)},
                },
            ),
        )
        for state in task_states(json.loads(definition)):
            role.add_to_policy(self._task_statement(state, where))

        log_group = logs.LogGroup(self, f"{cid}LogGroup", log_group_name=f"/aws/vendedlogs/states/{machine_name}",
                                  retention=self.log_retention, removal_policy=self.removal_policy)
        machine = sfn.StateMachine(
            self,
            cid,
            state_machine_name=machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            # The file's text as it is (``DefinitionString``). Not a ``Definition`` object: the CDK
            # drops JSON nulls from objects, and ``"ResultPath": null`` means something.
            definition_body=sfn.DefinitionBody.from_string(definition),
            role=role,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            removal_policy=self.removal_policy,
        )
        _acknowledge(role, "AwsSolutions-IAM5",
                     "Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing do not "
                     "support resource-level permissions; the tasks' own permissions name the table and the bus.",
                     ["Resource::*"])
        return machine

    def _task_statement(self, state: Mapping[str, Any], where: str) -> iam.PolicyStatement:
        """What one Task state needs, on this stack's resources only (the execution input names them).

        - DynamoDB ``updateItem`` (AWS SDK integration, optionally ``.waitForTaskToken``):
          ``UpdateItem`` on the table (not its indexes), held to the attributes the task writes;
        - EventBridge ``putEvents``: ``PutEvents`` on the CRM bus.

        Any other task resource fails synthesis: its permissions have to be written here first.
        """
        resource = _INTEGRATION_PATTERN.sub("", str(state.get("Resource", "")))
        if resource == DYNAMODB_UPDATE_ITEM_TASK:
            return iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"],
                resources=[self.table.table_arn],
                conditions=update_item_conditions(state.get("Parameters", {}), where),
            )
        if resource == EVENTS_PUT_EVENTS_TASK:
            return iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn])
        raise ValueError(f"{where}: infra/stack.py grants nothing for task resource {state.get('Resource')!r}; "
                         "add its permissions to CrmStack._task_statement")

    def _workflow_statements(self, *, start_and_stop: bool = False) -> list[iam.PolicyStatement]:
        """Signal approval executions: complete or fail the task a token stands for, and read an
        execution; with `start_and_stop` (the API), also start and stop them."""
        statements = [
            iam.PolicyStatement(actions=list(WORKFLOW_SIGNAL_ACTIONS), resources=["*"]),
            iam.PolicyStatement(
                actions=["states:DescribeExecution", *(["states:StopExecution"] if start_and_stop else [])],
                resources=[self._executions_arn(APPROVAL_STATE_MACHINE)],
            ),
        ]
        if start_and_stop:
            statements.append(iam.PolicyStatement(actions=["states:StartExecution"],
                                                  resources=[self.approval_state_machine.state_machine_arn]))
        return statements

    # ------------------------------------------------------------------ identity

    def _user_pool(
        self, kind: str, *, platform_admin_attribute: bool
    ) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        """A Cognito user pool (``Staff`` or ``Portal``) and the app's client for it.

        Logins are created by the API (``AdminCreateUser`` with username
        ``<tenant>.<user id>``); ``custom:tenant_id`` is set then and can never change,
        and the app client may read it but not write it, so ID tokens carry a tenant the
        user cannot alter.
        """
        custom_attributes: dict[str, cognito.ICustomAttribute] = {
            "tenant_id": cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
        }
        if platform_admin_attribute:
            custom_attributes["platform_admin"] = cognito.StringAttribute(min_len=4, max_len=5, mutable=True)

        pool = cognito.UserPool(
            self,
            f"{kind}UserPool",
            user_pool_name=f"{self.prefix}-{kind.lower()}",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            standard_attributes=cognito.StandardAttributes(
                phone_number=cognito.StandardAttribute(required=False, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            custom_attributes=custom_attributes,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=passwords.MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.NONE,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=self.is_production,
            removal_policy=self.removal_policy,
        )
        _acknowledge(pool, "AwsSolutions-COG2",
                     "MFA is optional by product requirement: every user can enrol a TOTP authenticator, "
                     "but logins provisioned by tenant administrators must work before one is enrolled.")
        _acknowledge(pool, "AwsSolutions-COG8",
                     "Threat protection needs the Cognito Plus feature plan, which this product does not buy; "
                     "passwords are strong, self sign-up is off and every login is provisioned by the API.")

        readable = cognito.ClientAttributes().with_standard_attributes(
            fullname=True, phone_number=True, phone_number_verified=True,
        ).with_custom_attributes(*custom_attributes)
        writable = cognito.ClientAttributes().with_standard_attributes(fullname=True, phone_number=True)
        client = pool.add_client(
            f"{kind}AppClient",
            user_pool_client_name=f"{self.prefix}-{kind.lower()}-app",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True, admin_user_password=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            id_token_validity=cdk.Duration.hours(1),
            access_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
            read_attributes=readable,
            write_attributes=writable,
        )
        return pool, client

    # ------------------------------------------------------------------ search

    def _search_admin_role(self) -> iam.Role:
        """The search domain's fine-grained access control master user.

        An IAM role rather than an internal user: there is no password to store or rotate,
        and the master is a principal IAM can scope. Only the search-roles custom resource
        runs as it (it is that Lambda's execution role), and IAM lets it reach nothing but
        the security plugin's API. An operator who needs OpenSearch access gets a mapping
        from that custom resource, not this role.
        """
        role = _lambda_role(self, "SearchAdminRole",
                            f"FGAC master of the {self.prefix} search domain; runs the search-roles custom resource")
        role.add_to_policy(iam.PolicyStatement(
            actions=list(SEARCH_SECURITY_ACTIONS), resources=[self._search_domain_arn("_plugins/_security/api/*")],
        ))
        _acknowledge(role, "AwsSolutions-IAM5",
                     "Security roles and mappings are named per stage at deploy time; the master may only reach "
                     "the security plugin's API of the stage's domain.",
                     [self._resource_finding(self._search_domain_arn("_plugins/_security/api/*"))])
        return role

    def _search_domain(self) -> opensearch.Domain:
        """The OpenSearch domain behind search (ARCHITECTURE.md §4).

        Outside any VPC (the Lambdas are too), HTTPS only with TLS 1.2, encrypted at rest
        and between nodes, fine-grained access control with the admin role as master, and
        search-slow, index-slow and error logs in CloudWatch. Capacity per stage comes from
        ``search_capacity``: production runs Multi-AZ with standby over three zones with
        dedicated cluster managers; other stages a single node by default. The access policy
        is set by ``_search_access`` once every principal exists.
        """
        capacity = search_capacity(self.stage, self.node.try_get_context(f"search:{self.stage}"))
        zones = capacity.availability_zones

        log_groups = {
            kind: logs.LogGroup(self, f"Search{_pascal(kind)}LogGroup",
                                log_group_name=f"/aws/opensearch/{self.prefix}/{kind}",
                                retention=self.log_retention, removal_policy=self.removal_policy)
            for kind in ("search-slow", "index-slow", "application")
        }
        # A plain CloudFormation resource policy instead of the construct's default (a
        # custom resource calling PutResourcePolicy): the service may write these groups
        # for this domain only.
        logs_policy = logs.ResourcePolicy(
            self,
            "SearchLogsResourcePolicy",
            resource_policy_name=f"{self.prefix}-opensearch-logs",
            policy_statements=[iam.PolicyStatement(
                principals=[iam.ServicePrincipal("es.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[group.log_group_arn for group in log_groups.values()],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self._search_domain_arn()},
                },
            )],
        )

        domain = opensearch.Domain(
            self,
            "SearchDomain",
            domain_name=self.prefix,
            version=SEARCH_ENGINE,
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=capacity.data_node_type,
                data_nodes=capacity.data_nodes,
                master_node_instance_type=capacity.master_node_type if capacity.master_nodes else None,
                master_nodes=capacity.master_nodes or None,
                multi_az_with_standby_enabled=capacity.standby,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=zones > 1, availability_zone_count=zones if zones > 1 else None),
            ebs=opensearch.EbsOptions(enabled=True, volume_size=capacity.volume_gib,
                                      volume_type=ec2.EbsDeviceVolumeType.GP3),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_arn=self.search_admin_role.role_arn,
            ),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True, slow_search_log_group=log_groups["search-slow"],
                slow_index_log_enabled=True, slow_index_log_group=log_groups["index-slow"],
                app_log_enabled=True, app_log_group=log_groups["application"],
            ),
            suppress_logs_resource_policy=True,
            enable_version_upgrade=True,
            enable_auto_software_update=True,
            off_peak_window_enabled=True,
            removal_policy=self.removal_policy,
        )
        domain.node.add_dependency(logs_policy)
        self.search_capacity = capacity

        _acknowledge(domain, "AwsSolutions-OS1",
                     "The product is serverless and its Lambdas run outside any VPC (no NAT gateway, no ENIs); "
                     "every request is SigV4-signed, the access policy names only this stack's roles, and "
                     "fine-grained access control limits each role to the stage's indices.")
        _acknowledge(domain, "AwsSolutions-OS3",
                     "The callers are Lambda functions, which have no fixed source addresses; access is restricted "
                     "to named IAM roles (signed requests) instead of IP addresses.")
        if not capacity.master_nodes:
            _acknowledge(domain, "AwsSolutions-OS4",
                         "A non-production stage runs a small single-purpose domain to keep its cost down; dedicated "
                         "cluster-manager nodes run in prod (three), and any stage can add them (search:<stage>).")
        if zones == 1:
            _acknowledge(domain, "AwsSolutions-OS7",
                         "A single-node development domain cannot span zones; prod runs Multi-AZ with standby over "
                         "three zones, and any stage with an even number of data nodes spans two.")
        return domain

    def _search_security_roles(self) -> dict[str, dict[str, Any]]:
        """The OpenSearch security roles of the stage, on its indices (``crm-<stage>-*``) only.

        What ``chalicelib/search/opensearch.py`` does, and no more:

        - writer (indexer, reindex): create an index and grow its mapping, check that it
          exists, refresh; index, delete, delete-by-query and read documents; bulk and
          scroll (``helpers.scan``, which clears its scroll). No index deletion, settings,
          templates or cluster administration;
        - reader (API): read and search those indices (plus multi-search and scroll).
        """
        indices = [f"{self.prefix}-*"]
        return {
            self._search_role_name("writer"): {
                "cluster_permissions": ["cluster_composite_ops", "indices:data/read/scroll/clear"],
                "index_permissions": [{"index_patterns": indices, "allowed_actions": [
                    "crud", "create_index", "indices:admin/get", "indices:admin/refresh*"]}],
            },
            self._search_role_name("reader"): {
                "cluster_permissions": ["cluster_composite_ops_ro"],
                "index_permissions": [{"index_patterns": indices, "allowed_actions": ["read"]}],
            },
        }

    def _search_role_name(self, kind: str) -> str:
        return f"{self.prefix}-search-{kind}"

    def _search_access(self) -> None:
        """Who may call the search domain, checked twice.

        IAM: the domain's access policy names exactly the stack's roles, each with the HTTP
        methods it needs (within an account a resource policy grants on its own, so it must
        be no wider than the roles' identity policies). OpenSearch: fine-grained access
        control maps the same roles to the writer/reader security roles
        (``_search_roles``), which is what stops the API from writing with POST.
        """
        writers = [self.functions[spec.name].role for spec in FUNCTIONS if "search_write" in spec.needs]
        readers = [self.api_role]
        statements = [
            iam.PolicyStatement(principals=readers, actions=list(SEARCH_READ_ACTIONS),
                                resources=[self._search_domain_arn("*")]),
            iam.PolicyStatement(principals=[self.search_admin_role], actions=list(SEARCH_SECURITY_ACTIONS),
                                resources=[self._search_domain_arn("_plugins/_security/api/*")]),
        ]
        if writers:
            statements.insert(1, iam.PolicyStatement(principals=writers, actions=list(SEARCH_WRITE_ACTIONS),
                                                     resources=[self._search_domain_arn("*")]))
        cfn_domain = self.search_domain.node.default_child
        cfn_domain.access_policies = iam.PolicyDocument(statements=statements)
        self._search_roles(readers=readers, writers=writers)

    def _search_roles(self, *, readers: Sequence[iam.IRole], writers: Sequence[iam.IRole]) -> cdk.CustomResource:
        """The custom resource that applies ``_search_security_roles`` and maps the Lambda
        roles to them (``infra/search_roles/handler.py``), running as the FGAC master."""
        name = self._function_name("search_roles")
        function = lambda_.Function(
            self,
            "SearchRolesFunction",
            function_name=name,
            description=f"Custom resource: fine-grained access control roles and mappings of {self.prefix}'s search domain",
            # botocore (SigV4) ships with the runtime: no layer, so the newest Python.
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(SEARCH_ROLES_SOURCE), exclude=["__pycache__", "*.pyc"]),
            role=self.search_admin_role,
            timeout=cdk.Duration.minutes(5),
            memory_size=256,
            log_group=logs.LogGroup(self, "SearchRolesLogGroup", log_group_name=f"/aws/lambda/{name}",
                                    retention=self.log_retention, removal_policy=self.removal_policy),
        )
        return cdk.CustomResource(
            self,
            "SearchRoles",
            service_token=function.function_arn,
            resource_type="Custom::SearchRoles",
            properties={
                "Endpoint": self.search_domain.domain_endpoint,
                "Roles": self._search_security_roles(),
                "Mappings": {
                    self._search_role_name("writer"): [role.role_arn for role in writers],
                    self._search_role_name("reader"): [role.role_arn for role in readers],
                },
            },
        )

    def _search_alarms(self) -> None:
        """The domain's recommended alarms: red cluster, blocked writes, memory, storage, snapshots."""
        domain, one_minute, five_minutes = self.search_domain, cdk.Duration.minutes(1), cdk.Duration.minutes(5)
        self._alarm("SearchClusterRedAlarm", f"{self.prefix} search cluster is red (a primary shard is unassigned)",
                    domain.metric_cluster_status_red(period=one_minute, statistic="Maximum"))
        self._alarm("SearchWritesBlockedAlarm", f"{self.prefix} search cluster blocks writes",
                    domain.metric_cluster_index_writes_blocked(period=five_minutes, statistic="Maximum"))
        self._alarm("SearchJvmMemoryPressureAlarm", f"{self.prefix} search JVM memory pressure is high",
                    domain.metric_jvm_memory_pressure(period=five_minutes, statistic="Maximum"), threshold=95)
        self._alarm("SearchSnapshotFailureAlarm", f"{self.prefix} search automated snapshot failed",
                    domain.metric_automated_snapshot_failure(period=one_minute, statistic="Maximum"))
        # FreeStorageSpace is in MiB, per node (Minimum = the fullest node): alarm at 25 % left.
        self._alarm("SearchFreeStorageAlarm", f"{self.prefix} search node has under 25 % of its storage left",
                    domain.metric_free_storage_space(period=five_minutes, statistic="Minimum"),
                    threshold=self.search_capacity.volume_gib * 1024 // 4,
                    comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD)

    # ------------------------------------------------------------------ configuration

    def _runtime_environment(self) -> dict[str, str]:
        """The settings the code reads (``chalicelib/core/settings.py``), for the API and
        every function alike."""
        issuer = f"https://{self.staff_pool.user_pool_provider_url}"
        return {
            "CRM_STAGE": self.stage,
            "CRM_REGION": self.region,
            "CRM_TABLE_NAME": self.table.table_name,
            "CRM_EVENT_BUS_NAME": self.event_bus.event_bus_name,
            "CRM_SCHEDULE_GROUP": self.schedule_group.name,
            "CRM_REMINDER_TARGET_ARN": self._function_arn(REMINDER_FUNCTION),
            "CRM_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "CRM_ARCHIVE_BUCKET": self.archive_bucket.bucket_name,
            "CRM_APPROVAL_STATE_MACHINE_ARN": self.approval_state_machine.state_machine_arn,
            "CRM_IDENTITY_PROVIDER": "cognito",
            "CRM_COGNITO_USER_POOL_ID": self.staff_pool.user_pool_id,
            "CRM_COGNITO_CLIENT_ID": self.staff_client.user_pool_client_id,
            "CRM_JWT_ISSUER": issuer,
            "CRM_JWT_AUDIENCE": self.staff_client.user_pool_client_id,
            "CRM_OPENSEARCH_URL": f"https://{self.search_domain.domain_endpoint}",
            "CRM_SEARCH_INDEX_PREFIX": self.prefix,
            # Multi-AZ with standby (prod, 3 zones) wants a copy of every shard in each zone
            "CRM_SEARCH_REPLICAS": "2" if self.is_production else "0-1",
            "POWERTOOLS_SERVICE_NAME": "crm",
            "POWERTOOLS_METRICS_NAMESPACE": "CRM",
            "POWERTOOLS_LOG_LEVEL": "INFO" if self.is_production else "DEBUG",
        }

    def _scheduler_statements(self) -> list[iam.PolicyStatement]:
        """Manage schedules in the stage's group and hand them the scheduler role."""
        return [
            iam.PolicyStatement(actions=list(SCHEDULE_ACTIONS), resources=[self._schedules_arn()]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            ),
        ]

    # ------------------------------------------------------------------ API (Chalice)

    def _api(self) -> Chalice:
        """The HTTP API: ``app.py`` packaged by ``chalice package`` and included as SAM.

        Chalice does not manage the function's role: the stack creates it, with one
        customer-managed policy listing exactly what the API does.
        """
        policy = iam.ManagedPolicy(
            self,
            "ApiPolicy",
            managed_policy_name=f"{self.prefix}-api",
            description="What the CRM API may do: table items, bus events, reminder schedules, approval executions, "
                        "staff logins, search",
            statements=[
                self._table_statement(),
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn]),
                # Search only: the API never writes the index (FGAC maps it to the reader role).
                iam.PolicyStatement(actions=list(SEARCH_READ_ACTIONS), resources=[self._search_domain_arn("*")]),
                *self._scheduler_statements(),
                *self._workflow_statements(start_and_stop=True),
                iam.PolicyStatement(actions=list(STAFF_POOL_ADMIN_ACTIONS), resources=[self.staff_pool.user_pool_arn]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ],
        )
        role = _lambda_role(self, "ApiRole", f"Execution role of the {self.prefix} API handler", policy)
        _acknowledge(policy, "AwsSolutions-IAM5",
                     "X-Ray PutTraceSegments/PutTelemetryRecords and Step Functions SendTaskSuccess/SendTaskFailure "
                     "(task tokens) do not support resource-level permissions; schedule names are derived from records "
                     "at run time, so schedules are scoped to the stage's group; approval executions are started per "
                     "instance, so they are scoped to the approval state machine; search paths (indices, _search, "
                     "_msearch) are per request, so they are scoped to the stage's domain, and fine-grained access "
                     "control limits the API to reading the stage's indices.",
                     ["Resource::*", self._resource_finding(self._schedules_arn()),
                      self._resource_finding(self._executions_arn(APPROVAL_STATE_MACHINE)),
                      self._resource_finding(self._search_domain_arn("*"))])
        self.api_role = role

        stage_config = {
            "api_gateway_stage": API_STAGE,
            "api_gateway_endpoint_type": "REGIONAL",
            "manage_iam_role": False,
            "iam_role_arn": role.role_arn,
            "autogen_policy": False,
            "automatic_layer": True,
            "lambda_memory_size": 1024,
            "lambda_timeout": 29,
            "xray": True,
            "environment_variables": self.runtime_environment,
            "tags": {"project": "crm", "stage": self.stage},
        }
        with _chalice_packaging_sandbox():
            api = _precompiled_chalice()(self, "Api", source_dir=str(REPO_ROOT), stage_config=stage_config)

        # The handler logs to a group the stack owns (with retention); Chalice's own
        # log_retention_in_days setting emits a broken reference in SAM packaging.
        log_group = logs.LogGroup(self, "ApiLogGroup", log_group_name=f"/aws/lambda/{self.prefix}-api",
                                  retention=self.log_retention, removal_policy=self.removal_policy)
        api.get_resource("APIHandler").add_property_override("LoggingConfig", {
            "LogGroup": log_group.log_group_name,
            "LogFormat": "Text",
        })

        rest_api = api.get_resource("RestAPI")
        rest_api.add_property_override("TracingEnabled", True)
        rest_api.add_property_override("MethodSettings", [{
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "ThrottlingBurstLimit": 500 if self.is_production else 100,
            "ThrottlingRateLimit": 1000 if self.is_production else 100,
        }])
        # requirements.txt, as packaged by Chalice: the functions run on the same layer.
        self.dependencies_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "DependenciesLayer", api.get_resource("ManagedLayer").ref,
        )
        return api

    def _alarm(
        self, cid: str, description: str, metric: cloudwatch.IMetric, threshold: int = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        """An alarm when `metric` reaches `threshold` (or falls to it) within one period; no data is fine."""
        return cloudwatch.Alarm(
            self, cid, alarm_description=description, metric=metric, threshold=threshold, evaluation_periods=1,
            comparison_operator=comparison, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _api_alarms(self) -> None:
        handler_name = self.api.get_resource("APIHandler").ref
        five_minutes = cdk.Duration.minutes(5)
        self._alarm("ApiHandlerErrorsAlarm", f"{self.prefix} API handler raised errors",
                    cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Errors", dimensions_map={"FunctionName": handler_name},
                                      statistic="Sum", period=five_minutes))
        self._alarm("Api5xxAlarm", f"{self.prefix} API answered 5xx",
                    cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                      dimensions_map={"ApiName": API_NAME, "Stage": API_STAGE}, statistic="Sum", period=five_minutes),
                    threshold=5)

    # ------------------------------------------------------------------ functions

    def _function(self, spec: Function) -> lambda_.Function:
        """One registry entry: the Lambda, its permissions, its trigger and its alarms.

        Every triggered function has a dead-letter queue that collects whatever it failed
        to process: stream batches it gave up on, bus events that could not be delivered,
        and asynchronous invocations (bus, Scheduler) that kept failing. A function with no
        trigger (``reindex``) is invoked by an operator, who sees its result: it has no
        queue, and a failed asynchronous invocation is not retried (a rebuild is re-run on
        purpose, not three times over); its errors alarm like every function's.
        """
        cid = _pascal(spec.name)
        name = self._function_name(spec.name)
        invoked_asynchronously = spec.bus_pattern is not None or spec.schedule_target
        triggered = invoked_asynchronously or spec.stream_filter is not None
        dlq = self._dead_letter_queue(cid, name, asynchronous=invoked_asynchronously) if triggered else None
        fn = lambda_.Function(
            self,
            f"{cid}Function",
            function_name=name,
            description=spec.description,
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self.function_code,
            layers=[self.dependencies_layer],
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            environment=dict(self.runtime_environment),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(self, f"{cid}LogGroup", log_group_name=f"/aws/lambda/{name}",
                                    retention=self.log_retention, removal_policy=self.removal_policy),
            dead_letter_queue=dlq if invoked_asynchronously else None,
            retry_attempts=2 if invoked_asynchronously else (None if triggered else 0),
        )
        self._grant_function(fn, spec)

        if spec.stream_filter is not None:
            window = STREAM_BATCHING_WINDOW_SECONDS.get(spec.name, DEFAULT_STREAM_BATCHING_WINDOW_SECONDS)
            fn.add_event_source(event_sources.DynamoEventSource(
                self.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                max_batching_window=cdk.Duration.seconds(window),
                bisect_batch_on_error=True,
                retry_attempts=5,
                max_record_age=cdk.Duration.days(1),
                on_failure=event_sources.SqsDlq(dlq),
                filters=[lambda_.FilterCriteria.filter(spec.stream_filter)],
            ))

        if spec.bus_pattern is not None:
            events.Rule(
                self,
                f"{cid}Rule",
                rule_name=name,
                description=f"Bus events for {spec.name}",
                event_bus=self.event_bus,
                event_pattern=event_pattern_from_dict(spec.bus_pattern),
                targets=[events_targets.LambdaFunction(
                    fn,
                    dead_letter_queue=dlq,
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(24),
                )],
            )

        self._function_alarms(cid, name, fn, dlq)
        return fn

    def _dead_letter_queue(self, cid: str, name: str, *, asynchronous: bool) -> sqs.Queue:
        dlq = sqs.Queue(
            self,
            f"{cid}DeadLetterQueue",
            queue_name=f"{name}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        if not asynchronous:
            _acknowledge(dlq, "AwsSolutions-SQS3",
                         "This queue is itself a dead-letter queue: the on-failure destination of the stream "
                         "event source mapping.")
        return dlq

    def _grant_function(self, fn: lambda_.Function, spec: Function) -> None:
        """Least privilege from the registry's ``needs``: the table always, the rest on demand."""
        fn.add_to_role_policy(self._table_statement())
        if "bus" in spec.needs:
            self.event_bus.grant_put_events_to(fn)
        if "bucket" in spec.needs:
            # Write-only, and only under tenants/.
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self._archive_objects_arn()],
            ))
        if "scheduler" in spec.needs:
            for statement in self._scheduler_statements():
                fn.add_to_role_policy(statement)
        if "workflow" in spec.needs:
            # Signal approval executions (never start them: that is the API's).
            for statement in self._workflow_statements():
                fn.add_to_role_policy(statement)
        if "search_write" in spec.needs:
            # Index maintenance on the stage's domain; FGAC limits it to crm-<stage>-* indices.
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=list(SEARCH_WRITE_ACTIONS), resources=[self._search_domain_arn("*")],
            ))

        _acknowledge_basic_execution(fn)
        _acknowledge(fn, "AwsSolutions-L1",
                     "The runtime is pinned to Python 3.11: the dependency layer built by chalice package holds "
                     "CPython 3.11 wheels (pydantic-core, cryptography); upgrade runtime and wheels together.")
        # X-Ray, dynamodb:ListStreams (stream event sources) and SendTaskSuccess/Failure have no
        # resource-level permissions.
        wildcard_findings = ["Resource::*"]
        if "bucket" in spec.needs:
            wildcard_findings.append(self._resource_finding(self._archive_objects_arn()))
        if "scheduler" in spec.needs:
            wildcard_findings.append(self._resource_finding(self._schedules_arn()))
        if "workflow" in spec.needs:
            wildcard_findings.append(self._resource_finding(self._executions_arn(APPROVAL_STATE_MACHINE)))
        if "search_write" in spec.needs:
            wildcard_findings.append(self._resource_finding(self._search_domain_arn("*")))
        _acknowledge(fn, "AwsSolutions-IAM5",
                     "X-Ray tracing, dynamodb:ListStreams and Step Functions SendTaskSuccess/SendTaskFailure (task "
                     "tokens) do not support resource-level permissions; archive object keys, schedule names, "
                     "approval executions and search index paths are generated at run time, so they are scoped to "
                     "tenants/, to the stage's schedule group, to the approval state machine and to the stage's "
                     "search domain (where fine-grained access control limits writes to the stage's indices).",
                     wildcard_findings)

    def _function_alarms(self, cid: str, name: str, fn: lambda_.Function, dlq: sqs.Queue | None) -> None:
        five_minutes = cdk.Duration.minutes(5)
        self._alarm(f"{cid}ErrorsAlarm", f"{name} raised errors", fn.metric_errors(period=five_minutes, statistic="Sum"))
        if dlq is not None:
            self._alarm(f"{cid}DeadLetterQueueAlarm", f"{name} has messages it failed to process",
                        dlq.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"))

    # ------------------------------------------------------------------ outputs

    def _outputs(self) -> None:
        outputs = {
            "TableName": self.table.table_name,
            "EventBusName": self.event_bus.event_bus_name,
            "ScheduleGroupName": self.schedule_group.name,
            "ApprovalStateMachineArn": self.approval_state_machine.state_machine_arn,
            "ArchiveBucketName": self.archive_bucket.bucket_name,
            "StaffUserPoolId": self.staff_pool.user_pool_id,
            "StaffAppClientId": self.staff_client.user_pool_client_id,
            "PortalUserPoolId": self.portal_pool.user_pool_id,
            "PortalAppClientId": self.portal_client.user_pool_client_id,
            "SearchDomainEndpoint": self.search_domain.domain_endpoint,
        }
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)
