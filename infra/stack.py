"""The CRM stack: everything one stage of the product runs on.

Resources are built from the repository's single sources of truth:

- ``chalicelib/db/table_spec.py`` (``TABLE_SPEC``) defines the DynamoDB table;
- ``functions/registry.py`` (``FUNCTIONS``) lists the Lambda handlers that are not HTTP
  routes and how each one is triggered (table stream, bus rule, Scheduler target);
- ``app.py`` + ``chalicelib/`` + ``requirements.txt`` are packaged by the
  ``chalice.cdk.Chalice`` construct into the API (API Gateway + Lambda);
- ``step_functions/*.asl.json`` are the state machines' definitions (the approval workflow),
  deployed as they are; each machine's role is derived from the tasks its definition runs.

Each concern is built by a part in ``infra/components/`` (table, storage, events, identity,
search, cursor secret, workflow, api, functions, deploys); this module composes them and wires what they share.
The stateful parts (table, storage, the mail bucket, identity, the search domain, the cursor secret, backups)
are built in the data stack (``infra/data_stack.py``, ``crm-<stage>-data``) and read from here.
The parts create their resources in this stack's scope, so logical IDs do not depend on how
the code is split.

Runtime dependencies (``requirements.txt``) are packaged once, by Chalice, into its
managed Lambda layer; the non-HTTP functions use the same layer, so the API and every
function run on identical wheels.

IAM is least privilege per principal: item-level DynamoDB actions on the table and its
named indexes (no Scan, no table management), and bus, bucket, Scheduler and search-write
permissions only for the principals that declare the need (the files bucket: the API only,
on its upload and file prefixes); starting approval executions is
the API's alone, signalling them (task tokens) the API's and the "workflow" functions'.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from functions.registry import FUNCTIONS, Function
from infra.components import tenant_access
from infra.components.api import API_STAGE, Api
from infra.components.common import ARCHITECTURE, PYTHON_RUNTIME
from infra.components.deploys import LIVE_ALIAS, Deploys
from infra.components.events import Events
from infra.components.functions import REMINDER_FUNCTION, Functions, check_specs
from infra.components.mail import Mail
from infra.components.naming import Stage
from infra.components.operations import Operations
from infra.components.regions import region_profile
from infra.components.workflow import Workflow, state_machine_definitions
from infra.data_stack import CrmDataStack, protected
from infra.monitoring_stack import CrmMonitoringStack


class CrmStack(cdk.Stack):
    """One stage (``dev``, ``prod``, …) of the CRM.

    The stack's construct id is the stage name: the ``chalice.cdk.Chalice`` construct
    takes its Chalice stage from the id of the scope it is created in, so the stage in
    ``.chalice/config.json`` and the CDK stage are the same. The CloudFormation stack is
    named ``crm-<stage>``.

    `function_specs` are the non-HTTP functions to deploy (``functions/registry.py`` by default). The stage's
    monitoring stack (``infra/monitoring_stack.py``, ``self.monitoring``), where the dashboard and the alarms that no
    CodeDeploy deployment group names are built, is created with it (in `scope`, after it: the data stack's outputs
    keep their order).
    """

    def __init__(self, scope: Construct, stage: str, *, data: CrmDataStack, function_specs: Sequence[Function] = FUNCTIONS,
                 **kwargs: Any) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", stage):
            raise ValueError(f"invalid stage name {stage!r}: lower-case letters, digits and '-'")
        check_specs(function_specs)
        kwargs.setdefault("stack_name", f"crm-{stage}")
        kwargs.setdefault("description", f"CRM ({stage}): API, functions, state machines, events, alarms (data: crm-{stage}-data)")
        # the template is written without indentation: CloudFormation's 1 MB limit counts the whitespace too
        kwargs.setdefault("suppress_template_indentation", True)
        kwargs.setdefault("termination_protection", protected(stage, scope))
        super().__init__(scope, stage, **kwargs)
        monitoring = CrmMonitoringStack(scope, stage, env=kwargs.get("env"))

        self.stage = Stage(self, stage)
        self.region_profile = region_profile(self)  # what the target region offers (components/regions.py)
        # the dashboard and the alarms no deployment group names are built in the monitoring stack (crm-<stage>-monitoring)
        self.monitoring = monitoring
        self.operations = Operations(self.stage, monitoring=monitoring.stage)
        # the stateful parts, from the data stack (infra/data_stack.py): read through cross-stack references
        self.data = data
        self.add_stack_dependency(data)
        self.table, self.storage, self.identity = data.table, data.storage, data.identity
        self.search, self.cursor_secret = data.search, data.cursor_secret
        self.mail = Mail(self.stage, data.mail_bucket)  # SES identity and receipt rules; the bucket is the data stack's
        self.events = Events(self.stage)
        self.workflow = Workflow(self.stage, state_machine_definitions(), table=self.table,
                                 event_bus=self.events.event_bus)
        self.schedule_dead_letter_queue = self.events.dead_letter_queue()
        self.event_archive = self.events.event_bus.archive(
            "EventArchive", archive_name=self.stage.prefix, description=f"Every event of the {self.stage.prefix} bus, replayable",
            event_pattern=eventbridge.EventPattern(account=[self.account]),
            retention=cdk.Duration.days(self.operations.config.event_archive_retention_days))

        self.runtime_environment = self._runtime_environment()
        self.api = Api(self.stage, environment={**self.runtime_environment, **tenant_access.api_environment(self.stage)},
                       table=self.table, events=self.events,
                       workflow=self.workflow, identity=self.identity, storage=self.storage, operations=self.operations)
        self.tenant_access = tenant_access.TenantAccess(self.stage, table=self.table, storage=self.storage, api_role=self.api.role)
        self.functions = Functions(self.stage, function_specs, environment=self.runtime_environment,
                                   layer=self.api.dependencies_layer, table=self.table, events=self.events,
                                   storage=self.storage, workflow=self.workflow, monitoring=monitoring.stage)
        # Once every principal exists: the API reads, the "search_write" functions write.
        self.mail.wire(api_role=self.api.role, functions=self.functions, specs=function_specs,
                       search_domain_arn=self.stage.search_domain_arn("*"))
        self.search.allow(readers=[self.api.role, *self.functions.roles_with_need("search_read")],
                          writers=self.functions.roles_with_need("search_write"), stage=self.stage)
        self.search.alarms(monitoring.stage)
        self.deploys = Deploys(self.stage, api=self.api, functions=self.functions)  # aliases, CodeDeploy, rollback alarms
        self._operations()
        self._outputs()
        self._one_runtime()

    def _operations(self) -> None:
        """The alarms no part owns, the dashboard (monitoring stack); then every alarm of both stacks reports to the
        alarm topic."""
        ops, functions = self.operations, self.functions.functions
        ops.function_alarms(functions, [spec.name for spec in self.functions.specs if spec.stream_filter is not None])
        ops.state_machine_alarms(self.workflow.state_machines)
        ops.scheduler_alarms(self.stage.prefix, self.schedule_dead_letter_queue)
        handler_name = self.api.chalice.get_resource("APIHandler").ref
        ops.dashboard_widgets(api_name=self.api.api_name, api_stage=API_STAGE, handler_name=handler_name, functions=functions,
                              table_name=self.table.table.table_name, machines=self.workflow.state_machines,
                              domain_name=self.stage.prefix)
        ops.wire_alarms()

    def _runtime_environment(self) -> dict[str, str]:
        """The settings the code reads (``chalicelib/core/settings.py``), for the API and
        every function alike."""
        stage = self.stage
        return {
            "CRM_STAGE": stage.name,
            "CRM_REGION": self.region,
            "CRM_TABLE_NAME": self.table.table.table_name,
            "CRM_EVENT_BUS_NAME": self.events.event_bus.event_bus_name,
            "CRM_SCHEDULE_GROUP": self.events.schedule_group.name,
            "CRM_REMINDER_TARGET_ARN": f"{stage.function_arn(REMINDER_FUNCTION)}:{LIVE_ALIAS}",  # schedules invoke the alias
            "CRM_SCHEDULER_ROLE_ARN": self.events.scheduler_role.role_arn,
            "CRM_SCHEDULE_DLQ_ARN": self.schedule_dead_letter_queue.queue_arn,
            "CRM_ARCHIVE_BUCKET": self.storage.archive_bucket.bucket_name,
            "CRM_FILES_BUCKET": self.storage.files_bucket.bucket_name,
            "CRM_MAIL_BUCKET": self.mail.bucket.bucket_name,
            "CRM_MAIL_DOMAIN": self.mail.domain,
            **({"CRM_MAIL_PUBLIC_URL": self.mail.public_url} if self.mail.public_url else {}),
            "CRM_APPROVAL_STATE_MACHINE_ARN": self.workflow.approval_state_machine.state_machine_arn,
            **self.identity.environment(),  # Cognito's pool, or the own IdP's signing keys
            "CRM_MAIL_ENABLED": "true" if self.region_profile.mail else "false",
            "CRM_OPENSEARCH_URL": f"https://{self.search.domain.domain_endpoint}",
            "CRM_SEARCH_INDEX_PREFIX": stage.prefix,
            # Multi-AZ with standby (prod, 3 zones) wants a copy of every shard in each zone
            "CRM_SEARCH_REPLICAS": "2" if stage.is_production else "0-1",
            # resolved by CloudFormation at deploy time (components/cursors.py): no Secrets Manager call at cold start
            "CRM_CURSOR_SECRET": self.cursor_secret.environment_value,
            "POWERTOOLS_SERVICE_NAME": "crm",
            "POWERTOOLS_METRICS_NAMESPACE": "CRM",
            "POWERTOOLS_LOG_LEVEL": "INFO" if stage.is_production else "DEBUG",
        }

    def _one_runtime(self) -> None:
        """The Lambdas the CDK adds itself (the S3 notifications handler: inline Python, standard
        library and boto3 only) run on the stack's runtime and architecture too."""
        for node in self.node.find_all():
            if (isinstance(node, cdk.CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function"
                    and not isinstance(node, lambda_.CfnFunction)):
                node.add_property_override("Runtime", PYTHON_RUNTIME.name)
                node.add_property_override("Architectures", [ARCHITECTURE.name])

    def _outputs(self) -> None:
        outputs = {
            "TableName": self.table.table.table_name,
            "EventBusName": self.events.event_bus.event_bus_name,
            "ScheduleGroupName": self.events.schedule_group.name,
            "ApprovalStateMachineArn": self.workflow.approval_state_machine.state_machine_arn,
            "ArchiveBucketName": self.storage.archive_bucket.bucket_name,
            "FilesBucketName": self.storage.files_bucket.bucket_name,
            **self.identity.outputs(),
            "SearchDomainEndpoint": self.search.domain.domain_endpoint,
        }
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)
