"""The HTTP API: ``app.py`` + ``chalicelib/`` + ``requirements.txt`` packaged by ``chalice package``
(``chalice.cdk.Chalice``) and included as SAM, with the role, log group and alarms the stack gives it."""
from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from chalicelib.core import errors
from infra.bytecode import add_bytecode
from infra.components.common import ARCHITECTURE, PYTHON_RUNTIME, REPO_ROOT, alarm, lambda_role, runtime_version
from infra.components.events import Events
from infra.components.identity import Identity
from infra.components.nag import acknowledge, resource_finding
from infra.components.naming import Stage
from infra.components.operations import ACCESS_LOG_FORMAT, Operations
from infra.components.preflight import compact_sam_preflights
from infra.components.proxy_methods import compact_sam_proxy_methods
from infra.components.regions import region_profile
from infra.components.search import SEARCH_READ_ACTIONS
from infra.components.storage import Storage
from infra.components.table import Table
from infra.components.token_keys import BuiltinIdentity
from infra.components.workflow import Workflow

if TYPE_CHECKING:
    from chalice.cdk import Chalice

#: The Chalice app's name (``.chalice/config.json``); the REST API is named ``crm-<stage>`` (``Api.api_name``).
API_NAME = "crm"
#: The API Gateway stage the API is served under (``https://…/api/``).
API_STAGE = "api"


@dataclass(frozen=True)
class Throttle:
    """API Gateway throttling of the whole stage: every tenant together, and the public routes."""

    rate: int  # requests per second, sustained
    burst: int


#: The outer guard around each tenant's own limit (chalicelib/core/ratelimit.py). A tenant's
#: default limit (CRM_RATE_LIMIT_PER_SECOND / CRM_RATE_LIMIT_BURST) stays below both, so a busy
#: tenant meets its own 429 (our error body, Retry-After) first; the stage's only trips when many
#: tenants are busy at once. No usage plan: API Gateway applies one only to methods that require
#: an API key, and clients authenticate with JWTs (the tenant is in the token) — keys in browser
#: apps would be neither secret nor per tenant.
PRODUCTION_THROTTLE = Throttle(rate=1000, burst=500)
DEVELOPMENT_THROTTLE = Throttle(rate=100, burst=100)


def stage_throttle(stage: Stage) -> Throttle:
    return PRODUCTION_THROTTLE if stage.is_production else DEVELOPMENT_THROTTLE


#: What the API does with staff logins (chalicelib/ports/identity.py). Not attributes (AdminUpdateUserAttributes)
#: and not groups (AdminAddUserToGroup, AdminRemoveUserFromGroup): platform operators are a group the API cannot change.
STAFF_POOL_ADMIN_ACTIONS = (
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminGetUser",  # whether the user has TOTP enabled (tenants that require MFA)
    "cognito-idp:AdminSetUserMFAPreference",  # an administrator's reset of a user's authenticator
)



def identity_statements(identity: Identity | BuiltinIdentity) -> list[iam.PolicyStatement]:
    """Staff logins in the Cognito pool; or, with the own identity provider, signing with its KMS key."""
    if isinstance(identity, BuiltinIdentity):
        return identity.api_statements()
    return [iam.PolicyStatement(actions=list(STAFF_POOL_ADMIN_ACTIONS), resources=[identity.staff_pool.user_pool_arn])]


#: API Gateway's own answers (the request never reaches the Lambda) -> their HTTP status; None keeps the
#: status of the underlying error (DEFAULT_4XX, DEFAULT_5XX: 502, 504, …). The code and English message of
#: each come from the same mapping the API uses for answers it did not build (chalicelib/core/errors.py
#: `for_status`), so the gateway speaks the one error shape {code, message, details}.
GATEWAY_RESPONSES: dict[str, int | None] = {
    # API Gateway answers a path (or a method of a path) it has no route for with 403 "Missing
    # Authentication Token" (or, given an Authorization header, a text that quotes it): it is a 404.
    "MISSING_AUTHENTICATION_TOKEN": 404,
    "RESOURCE_NOT_FOUND": 404,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "INVALID_API_KEY": 403,
    "WAF_FILTERED": 403,
    "BAD_REQUEST_BODY": 400,
    "BAD_REQUEST_PARAMETERS": 400,
    "INTEGRATION_TIMEOUT": 504,
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
}
#: The REST API's request payload limit (a hard API Gateway quota); the local stack's CRM_MAX_REQUEST_BYTES.
GATEWAY_MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: Seconds a throttled client waits: the stage's token bucket refills every second.
THROTTLED_RETRY_AFTER_SECONDS = 1


def gateway_responses(allow_origin: str = "*") -> dict[str, dict]:
    """``x-amazon-apigateway-gateway-responses`` of the REST API: English texts (the gateway cannot
    read Accept-Language), the request id in 5xx answers, nothing of the request echoed. `allow_origin`
    is the first configured web origin (``*`` when none is configured): a page may read the error."""
    out: dict[str, dict] = {}
    for response_type, status in GATEWAY_RESPONSES.items():
        effective = status or (500 if response_type == "DEFAULT_5XX" else 400)
        err = errors.for_status(effective, request_id="$context.requestId")
        body = err.body("en")
        if effective == 413:
            body["details"] = {"max_bytes": GATEWAY_MAX_REQUEST_BYTES}
        headers = {"gatewayresponse.header.Access-Control-Allow-Origin": f"'{allow_origin}'"}
        if allow_origin != "*":
            headers["gatewayresponse.header.Vary"] = "'Origin'"
        if response_type == "THROTTLED":  # a quota (QUOTA_EXCEEDED) lasts its period: no one wait fits it
            headers["gatewayresponse.header.Retry-After"] = f"'{THROTTLED_RETRY_AFTER_SECONDS}'"
        response = {"responseParameters": headers,
                    "responseTemplates": {"application/json": json.dumps(body)}}
        if status is not None:
            response["statusCode"] = str(status)
        out[response_type] = response
    return out


#: The alias SAM publishes the API function under (``AutoPublishAlias``): SnapStart applies to
#: published versions only, so API Gateway invokes the alias, never ``$LATEST``.
API_ALIAS = "live"
#: What `chalice package` wrote for API Gateway to invoke (``…/functions/<this>/invocations``), and what
#: it invokes instead: SAM resolves ``APIHandler.Alias`` to the alias's ARN.
_HANDLER_ARN, _HANDLER_ALIAS = "${APIHandler.Arn}", "${APIHandler.Alias}"
#: A compiled extension of the layer names the CPython and machine it was built for
#: (``_pydantic_core.cpython-312-aarch64-linux-gnu.so``); ``abi3`` ones (cryptography) only the machine.
_EXTENSION = re.compile(r"\.(cpython-(\d+)-([a-z0-9_]+)-linux-gnu|abi3)\.so$")
_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}


def check_layer_target(layer_zip: str, python: str, architecture: str) -> None:
    """Fail when the dependency layer lacks a package's wheel or holds an extension built for another
    CPython or machine than the Lambdas run on. ``chalice package`` only prints a warning for a
    requirement it found no wheel of (and leaves it out): the Lambda would fail at its first import."""
    import zipfile

    version = python.removeprefix("python").replace(".", "")
    machine = _MACHINES[architecture]
    with zipfile.ZipFile(layer_zip) as z:
        names = z.namelist()
    wrong = []
    for name in names:
        m = _EXTENSION.search(name)
        if m and m.group(2) is not None and (m.group(2) != version or m.group(3) != machine):
            wrong.append(name)
    if wrong:
        raise RuntimeError(f"the dependency layer holds extensions for another target than {python}/{architecture}: {wrong[:5]}")
    prefix = f"python/lib/{python}/site-packages/"
    top = {name[len(prefix):].split("/", 1)[0].lower() for name in names if name.startswith(prefix)}
    missing = [req for req in _requirements() if not any(
        t == f"{req}.py" or t.startswith((f"{req}-", f"{req}_")) or t == req for t in top)]
    if missing:
        raise RuntimeError(f"the dependency layer has no wheel of {missing} for {python}/{architecture} "
                           "(chalice package left them out: pin versions that publish such wheels)")


def _requirements() -> list[str]:
    """The distributions ``requirements.txt`` names, normalised as wheels name their .dist-info."""
    out = []
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0].lower().replace("-", "_").replace(".", "_"))
    return out


@contextlib.contextmanager
def _lambda_python(version: str) -> Iterator[None]:
    """Make ``chalice package`` build for the stack's runtime, whatever Python runs the synth.

    Chalice takes the Lambda runtime (the function's ``Runtime``, the layer's path, the wheels' CPython
    ABI) from the Python running it; and it asks pip for the target's wheels with ``--platform
    manylinux…_<machine> --abi cp3XX --only-binary=:all:`` but without ``--python-version``, so pip
    would match them against the running Python and fall back to building sdists (with the host's
    compilers, for the host). Both are set to `version` while the construct packages.
    """
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    python_version = version.removeprefix("python")
    original_version = Config.lambda_python_version
    original_download = PipRunner.download_manylinux_wheels

    def download_manylinux_wheels(self: PipRunner, abi: str, packages: list[str], directory: str,
                                  platforms: list[str] | None = None) -> None:
        for package in packages:
            arguments = ["--only-binary=:all:", "--no-deps", "--python-version", python_version,
                         "--implementation", "cp", "--abi", abi, "--dest", directory, package]
            for platform in platforms or []:
                arguments[2:2] = ["--platform", platform]
            self._execute("download", arguments)

    Config.lambda_python_version = property(lambda self: version)  # type: ignore[method-assign, assignment]
    PipRunner.download_manylinux_wheels = download_manylinux_wheels  # type: ignore[method-assign]
    try:
        yield
    finally:
        Config.lambda_python_version = original_version  # type: ignore[method-assign]
        PipRunner.download_manylinux_wheels = original_download  # type: ignore[method-assign]


def _precompiled_chalice() -> type:
    """The Chalice construct, packaged for the stack's runtime and architecture, with compiled
    bytecode added to its packages (infra/bytecode.py) before they become assets, and API
    Gateway invoking the function's published alias (SnapStart). Built on first use: importing
    chalice.cdk is slow."""
    from chalice.cdk import Chalice

    class PrecompiledChalice(Chalice):
        def _package_app(self) -> None:
            with _lambda_python(PYTHON_RUNTIME.name):
                super()._package_app()
            for name in ("deployment.zip", "layer-deployment.zip"):
                path = os.path.join(self._sam_package_dir, name)
                if os.path.exists(path):
                    add_bytecode(path, runtime_version())
            layer = os.path.join(self._sam_package_dir, "layer-deployment.zip")
            if os.path.exists(layer):
                check_layer_target(layer, PYTHON_RUNTIME.name, ARCHITECTURE.name)
            sam = os.path.join(self._sam_package_dir, "sam.json")
            with open(sam, encoding="utf-8") as f:
                text = f.read()
            template = json.loads(text.replace(_HANDLER_ARN, _HANDLER_ALIAS))
            compact_sam_preflights(template)  # the stage stack's template must stay under CloudFormation's 1 MB
            compact_sam_proxy_methods(template)
            with open(sam, "w", encoding="utf-8") as f:
                json.dump(template, f, separators=(",", ":"))

    return PrecompiledChalice


def _unfilled_placeholders(stage: str, environment: Mapping[str, str]) -> list[str]:
    """The settings ``.chalice/config.json`` marks ``set-by-infra-stack`` for `stage` that the stack does not set."""
    config = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    variables = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    return sorted(k for k, v in variables.items() if v == "set-by-infra-stack" and k not in environment)


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


class Api:
    """The API (API Gateway + Lambda) and what it runs as.

    Chalice does not manage the function's role: the stack creates it, with one
    customer-managed policy listing exactly what the API does. The stack's Chalice stage is
    the stack's construct id (``chalice.cdk.Chalice`` takes it from its scope).
    """

    def __init__(
        self, stage: Stage, *, environment: Mapping[str, str], table: Table, events: Events, workflow: Workflow,
        identity: Identity | BuiltinIdentity, storage: Storage, operations: Operations,
    ) -> None:
        self.stage = stage
        self.operations = operations
        scope = stage.stack
        policy = iam.ManagedPolicy(
            scope,
            "ApiPolicy",
            managed_policy_name=f"{stage.prefix}-api",
            description="What the CRM API may do: table items, bus events, reminder schedules, approval executions, "
                        "staff logins, search, uploaded files",
            statements=[
                table.item_statement(),
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[events.event_bus.event_bus_arn]),
                # Search only: the API never writes the index (FGAC maps it to the reader role).
                iam.PolicyStatement(actions=list(SEARCH_READ_ACTIONS), resources=[stage.search_domain_arn("*")]),
                *events.scheduler_statements(),
                *workflow.approval_statements(start_and_stop=True),
                *identity_statements(identity),
                *storage.files_statements(),
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[storage.backup_objects_arn()]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ],
        )
        self.role = lambda_role(scope, "ApiRole", f"Execution role of the {stage.prefix} API handler", policy)
        acknowledge(policy, "AwsSolutions-IAM5",
                    "X-Ray PutTraceSegments/PutTelemetryRecords and Step Functions SendTaskSuccess/SendTaskFailure "
                    "(task tokens) do not support resource-level permissions; schedule names are derived from records "
                    "at run time, so schedules are scoped to the stage's group; approval executions are started per "
                    "instance, so they are scoped to the approval state machine; search paths (indices, _search, "
                    "_msearch) are per request, so they are scoped to the stage's domain, and fine-grained access "
                    "control limits the API to reading the stage's indices; uploaded files are objects keyed by tenant and "
                    "file id at run time, so they are scoped to the files bucket's pending/tenants/ and tenants/*/files/ "
                    "prefixes; export files are keyed by tenant and job id, so downloads are scoped to tenants/*/exports/; "
                    "tenant backups likewise, to the archive bucket's tenants/*/backups/ prefix (downloads).",
                    ["Resource::*", resource_finding(scope, stage.schedules_arn()), resource_finding(scope, storage.exports_objects_arn()),
                     resource_finding(scope, workflow.approval_executions_arn()),
                     resource_finding(scope, stage.search_domain_arn("*")),
                     *(resource_finding(scope, arn) for arn in storage.files_objects_arns()),
                     resource_finding(scope, storage.backup_objects_arn())])

        self.chalice = self._chalice(environment)
        # requirements.txt, as packaged by Chalice: the functions run on the same layer.
        self.dependencies_layer = lambda_.LayerVersion.from_layer_version_arn(
            scope, "DependenciesLayer", self.chalice.get_resource("ManagedLayer").ref,
        )
        self._alarms()

    def _chalice(self, environment: Mapping[str, str]) -> Chalice:
        """``app.py`` packaged by ``chalice package`` with the stage's settings, its log group and
        API Gateway tracing, metrics and throttling."""
        stage, scope = self.stage, self.stage.stack
        stage_config = {
            "api_gateway_stage": API_STAGE,
            "api_gateway_endpoint_type": "REGIONAL",
            "manage_iam_role": False,
            "iam_role_arn": self.role.role_arn,
            "autogen_policy": False,
            "automatic_layer": True,
            "lambda_architecture": ARCHITECTURE.name,  # the runtime: _lambda_python (both from components/common.py)
            "lambda_memory_size": 1024,
            "lambda_timeout": 29,
            "xray": region_profile(scope).lambda_xray,  # the API stage traces anyway (TracingEnabled below)
            "environment_variables": {**environment, "CRM_CORS_ORIGINS": ",".join(self.operations.config.web_origins)},
            "tags": {"project": "crm", "stage": stage.name},
        }
        with _chalice_packaging_sandbox():
            api = _precompiled_chalice()(scope, "Api", source_dir=str(REPO_ROOT), stage_config=stage_config)

        # The handler logs to a group the stack owns (with retention); Chalice's own
        # log_retention_in_days setting emits a broken reference in SAM packaging.
        log_group = logs.LogGroup(scope, "ApiLogGroup", log_group_name=f"/aws/lambda/{stage.prefix}-api",
                                  retention=stage.log_retention, removal_policy=stage.removal_policy)
        handler = api.get_resource("APIHandler")
        for key in _unfilled_placeholders(stage.name, environment):  # e.g. the Cognito ones with the own IdP
            handler.add_property_deletion_override(f"Environment.Variables.{key}")
        handler.add_property_override("LoggingConfig", {
            "LogGroup": log_group.log_group_name,
            "LogFormat": "Text",
        })
        # SnapStart: a published version's initialised environment (imports, settings, the first
        # clients) is snapshotted once and restored on a cold start; chalicelib/core/snapstart.py
        # drops what must not be shared between restored environments. SAM publishes a version on
        # every code or configuration change and moves the alias API Gateway invokes.
        handler.add_property_override("AutoPublishAlias", API_ALIAS)
        handler.add_property_override("AutoPublishAliasAllProperties", True)  # a new version on settings changes too
        if region_profile(scope).snapstart:  # not offered for Python in the China regions
            handler.add_property_override("SnapStart", {"ApplyOn": "PublishedVersions"})
        # API Gateway may invoke the alias (a permission on the function alone does not cover it).
        permission = api.get_resource("APIHandlerInvokePermission")
        permission.add_property_override("FunctionName", {"Fn::Sub": _HANDLER_ALIAS})
        for resource in (permission, api.get_resource("RestAPI")):
            # `${APIHandler.Alias}` is SAM's reference to the alias AutoPublishAlias creates, resolved by the
            # SAM transform; cfn-lint checks attributes against AWS::Lambda::Function's and does not know it.
            resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E1019"]}})

        rest_api = api.get_resource("RestAPI")
        rest_api.add_property_override("TracingEnabled", True)
        # Named for the stage: CloudWatch's ApiName dimension (alarms, dashboard) tells stages apart.
        rest_api.add_property_override("Name", self.api_name)
        throttle = stage_throttle(stage)
        rest_api.add_property_override("MethodSettings", [{
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "MetricsEnabled": True,
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,
            "ThrottlingBurstLimit": throttle.burst,
            "ThrottlingRateLimit": throttle.rate,
        }])
        ops = self.operations
        ops.api_gateway_logging_role()
        self.access_log_group = ops.access_log_group()
        rest_api.add_property_override("AccessLogSetting", {
            "DestinationArn": self.access_log_group.log_group_arn,
            "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        })
        # In the definition body, not as AWS::ApiGateway::GatewayResponse resources: SAM redeploys the API
        # from its body, which drops gateway responses defined beside it, and a change to them would not
        # trigger a new deployment; inside the body they are part of every deployment.
        origins = ops.config.web_origins
        rest_api.add_property_override("DefinitionBody.x-amazon-apigateway-gateway-responses",
                                       gateway_responses("*" if "*" in origins else origins[0]))
        # SAM names the stage resource <api id><stage>Stage; the web ACL guards that stage.
        self.stage_arn = cdk.Stack.of(scope).format_arn(
            service="apigateway", account="", resource="restapis",
            resource_name=f"{rest_api.ref}/stages/{API_STAGE}", arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME)
        ops.web_acl(self.stage_arn, depends_on=f"RestAPI{API_STAGE}Stage")
        return api

    def _alarms(self) -> None:
        scope, prefix = self.stage.stack, self.stage.prefix
        handler_name = self.chalice.get_resource("APIHandler").ref
        five_minutes = cdk.Duration.minutes(5)
        alarm(self.operations.monitoring.stack, "ApiHandlerErrorsAlarm", f"{prefix} API handler raised errors",
              cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Errors", dimensions_map={"FunctionName": handler_name},
                                statistic="Sum", period=five_minutes))
        alarm(scope, "Api5xxAlarm", f"{prefix} API answered 5xx",
              cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                dimensions_map={"ApiName": self.api_name, "Stage": API_STAGE}, statistic="Sum",
                                period=five_minutes),
              threshold=5)
        self.operations.api_alarms(self.api_name, API_STAGE, handler_name, self.operations.config.api_latency_p95_ms)

    @property
    def api_name(self) -> str:
        """The REST API's name: the stage's prefix (``crm-<stage>``), not Chalice's app name shared by every stage."""
        return self.stage.prefix
