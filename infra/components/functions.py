"""The Lambda functions that are not HTTP routes, one per function spec (today
``functions/registry.py``'s ``FUNCTIONS``): each with its permissions (``needs``), its trigger
(``stream_filter``, ``bus_pattern``, ``schedule_target``), its dead-letter queue and its alarms.

The specs are a parameter, not an import: whoever composes the stack decides which functions
it has.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as eventbridge_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from functions.registry import Function
from functions.streams import STREAM_RETRY
from infra.components.common import ARCHITECTURE, PYTHON_RUNTIME, REPO_ROOT, alarm
from infra.components.deploys import live_alias
from infra.components.events import Events
from infra.components.nag import acknowledge, acknowledge_basic_execution, resource_finding
from infra.components.naming import Stage, pascal
from infra.components.regions import region_profile
from infra.components.search import SEARCH_WRITE_ACTIONS
from infra.components.storage import Storage
from infra.components.table import Table
from infra.components.workflow import Workflow

#: The function EventBridge Scheduler invokes for reminders (``CRM_REMINDER_TARGET_ARN``).
REMINDER_FUNCTION = "reminders"

#: How long a stream consumer's event source mapping may wait to fill a batch (default 5 s).
#: Search results should follow a write within about a second; other consumers (archiving)
#: prefer fuller batches.
STREAM_BATCHING_WINDOW_SECONDS = {"indexer": 1}
DEFAULT_STREAM_BATCHING_WINDOW_SECONDS = 5
#: Functions whose concurrency is capped: a tenant rebuild scans the table and bulk-writes the search domain,
#: so a few at once must not starve the table or the domain (nor the account's concurrency) of the rest.
RESERVED_CONCURRENCY = {"reindex": 2}

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


def event_pattern_from_dict(pattern: Mapping[str, Any]) -> eventbridge.EventPattern:
    """Build an ``EventPattern`` from an EventBridge pattern written as JSON (a dict)."""
    unknown = set(pattern) - set(_EVENT_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"unsupported top-level event pattern fields: {sorted(unknown)}")
    return eventbridge.EventPattern(**{_EVENT_PATTERN_FIELDS[key]: _matcher(value) for key, value in pattern.items()})


def _matcher(value: Any) -> Any:
    """A content filter CDK takes as a matcher: [{"prefix": "crm."}] -> Match.prefix("crm.")."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and set(value[0]) == {"prefix"}:
        return eventbridge.Match.prefix(value[0]["prefix"])
    return value


def check_specs(specs: Sequence[Function]) -> None:
    """The specs the stack needs: the reminder function must be among the schedule targets."""
    if not any(spec.name == REMINDER_FUNCTION and spec.schedule_target for spec in specs):
        raise ValueError(f"functions/registry.py must define {REMINDER_FUNCTION!r} as a schedule target")
    for spec in specs:
        if spec.table not in ("write", "read", "none"):
            raise ValueError(f"{spec.name}: table must be 'write', 'read' or 'none', not {spec.table!r}")


class Functions:
    """One Lambda per spec, on the API's dependency layer and with the API's environment.

    Every function gets item-level access to the table; the bus, the archive bucket, the
    Scheduler, the approval workflow and search writes only when its ``needs`` say so. The
    scheduler role may invoke the ``schedule_target`` functions, and nothing else.
    """

    def __init__(
        self, stage: Stage, specs: Sequence[Function], *, environment: Mapping[str, str],
        layer: lambda_.ILayerVersion, table: Table, events: Events, storage: Storage, workflow: Workflow,
        monitoring: Stage | None = None,
    ) -> None:
        self.stage = stage
        self.monitoring = monitoring or stage  # where the alarms no deployment group names go (infra/monitoring_stack.py)
        self.specs = tuple(specs)
        self.environment = dict(environment)
        self.layer = layer
        self.table = table
        self.events = events
        self.storage = storage
        self.workflow = workflow
        self.code = lambda_.Code.from_asset(
            str(REPO_ROOT), exclude=list(FUNCTION_ASSET_EXCLUDES), ignore_mode=cdk.IgnoreMode.DOCKER,
        )
        self.s3_queues: dict[str, sqs.Queue] = {}  # function -> the queue its bucket's notifications go to
        self.aliases: dict[str, lambda_.Alias] = {}  # function -> its alias "live", which every trigger invokes
        self.functions = {spec.name: self._function(spec) for spec in self.specs}
        # the alias (CRM_REMINDER_TARGET_ARN); and the function itself for the schedules created before the aliases
        # existed, which name its unqualified ARN until they are next updated
        events.allow_scheduler_to_invoke([fn for spec in self.specs if spec.schedule_target
                                          for fn in (self.aliases[spec.name], self.functions[spec.name])])

    def roles_with_need(self, need: str) -> list[iam.IRole]:
        """The execution roles of the functions whose ``needs`` include `need`."""
        return [self.functions[spec.name].role for spec in self.specs if need in spec.needs]

    def _function(self, spec: Function) -> lambda_.Function:
        """One spec: the Lambda, its permissions, its trigger and its alarms.

        Every triggered function has a dead-letter queue that collects whatever it failed
        to process: stream batches it gave up on, bus events that could not be delivered,
        and asynchronous invocations (bus, Scheduler) that kept failing. A function with no
        trigger (``reindex``) is invoked by an operator, who sees its result: it has no
        queue, and a failed asynchronous invocation is not retried (a rebuild is re-run on
        purpose, not three times over); its errors alarm like every function's.
        """
        stage, scope = self.stage, self.stage.stack
        cid = pascal(spec.name)
        name = stage.function_name(spec.name)
        queued = spec.bus_pattern is not None and bool(spec.extra.get("queue"))  # bus -> SQS -> Lambda
        s3_queued = bool(spec.extra.get("s3_queue"))  # bucket notification -> SQS -> Lambda (the bucket's owner wires S3)
        invoked_asynchronously = (spec.bus_pattern is not None and not queued) or spec.schedule_target
        triggered = invoked_asynchronously or queued or s3_queued or spec.stream_filter is not None
        dlq = self._dead_letter_queue(cid, name, asynchronous=invoked_asynchronously) if triggered else None
        fn = lambda_.Function(
            scope,
            f"{cid}Function",
            function_name=name,
            description=spec.description,
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=self.code,
            layers=[self.layer],
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            environment=dict(self.environment),
            tracing=lambda_.Tracing.ACTIVE if region_profile(scope).lambda_xray else lambda_.Tracing.DISABLED,
            log_group=logs.LogGroup(scope, f"{cid}LogGroup", log_group_name=f"/aws/lambda/{name}",
                                    retention=stage.log_retention, removal_policy=stage.removal_policy),
            dead_letter_queue=dlq if invoked_asynchronously else None,
            retry_attempts=2 if invoked_asynchronously else (None if triggered else 0),
            reserved_concurrent_executions=RESERVED_CONCURRENCY.get(spec.name),
        )
        self._grant(fn, spec)
        live = self.aliases[spec.name] = live_alias(
            stage, cid, fn, retry_attempts=2 if invoked_asynchronously else (None if triggered else 0))

        if spec.stream_filter is not None:
            window = STREAM_BATCHING_WINDOW_SECONDS.get(spec.name, DEFAULT_STREAM_BATCHING_WINDOW_SECONDS)
            live.add_event_source(event_sources.DynamoEventSource(
                self.table.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_RETRY.batch_size,
                max_batching_window=cdk.Duration.seconds(window),
                # the consumers return batchItemFailures: without this Lambda would count a failed batch as done
                report_batch_item_failures=True,
                bisect_batch_on_error=STREAM_RETRY.bisect_on_error,
                retry_attempts=STREAM_RETRY.max_retry_attempts,
                max_record_age=cdk.Duration.seconds(STREAM_RETRY.max_record_age_seconds),
                on_failure=event_sources.SqsDlq(dlq),
                filters=[lambda_.FilterCriteria.filter(spec.stream_filter)],
            ))

        if queued:
            queue = self._subscription_queue(cid, name, spec, dlq)
            eventbridge.Rule(
                scope,
                f"{cid}Rule",
                rule_name=name,
                description=f"Bus events for {spec.name}, through its queue",
                event_bus=self.events.event_bus,
                event_pattern=event_pattern_from_dict(spec.bus_pattern),
                targets=[eventbridge_targets.SqsQueue(queue, dead_letter_queue=dlq, retry_attempts=8,
                                                      max_event_age=cdk.Duration.hours(24))],
            )
            live.add_event_source(event_sources.SqsEventSource(
                queue, batch_size=int(spec.extra.get("batch_size", 10)), max_batching_window=cdk.Duration.seconds(0),
                report_batch_item_failures=True,
            ))
        elif spec.bus_pattern is not None:
            eventbridge.Rule(
                scope,
                f"{cid}Rule",
                rule_name=name,
                description=f"Bus events for {spec.name}",
                event_bus=self.events.event_bus,
                event_pattern=event_pattern_from_dict(spec.bus_pattern),
                targets=[eventbridge_targets.LambdaFunction(
                    live,
                    dead_letter_queue=dlq,
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(24),
                )],
            )

        if s3_queued:
            queue = self._subscription_queue(cid, name, spec, dlq)
            self.s3_queues[spec.name] = queue
            live.add_event_source(event_sources.SqsEventSource(
                queue, batch_size=int(spec.extra.get("batch_size", 10)), max_batching_window=cdk.Duration.seconds(0),
                report_batch_item_failures=True,
            ))

        self._alarms(cid, name, fn, dlq)
        return fn

    def _subscription_queue(self, cid: str, name: str, spec: Function, dlq: sqs.Queue | None) -> sqs.Queue:
        """The queue between the bus rule and a queued subscriber: a message the function fails five
        times (its batch item failures) moves to the function's dead-letter queue."""
        assert dlq is not None
        return sqs.Queue(
            self.stage.stack,
            f"{cid}Queue",
            queue_name=f"{name}-events",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(spec.timeout_seconds * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dlq),
        )

    def _dead_letter_queue(self, cid: str, name: str, *, asynchronous: bool) -> sqs.Queue:
        dlq = sqs.Queue(
            self.stage.stack,
            f"{cid}DeadLetterQueue",
            queue_name=f"{name}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        if not asynchronous:
            acknowledge(dlq, "AwsSolutions-SQS3",
                        "This queue is itself a dead-letter queue: the on-failure destination of the stream "
                        "event source mapping, or the redrive target of a bus subscription's queue.")
        return dlq

    def _grant(self, fn: lambda_.Function, spec: Function) -> None:
        """Least privilege from the spec: the table as ``table`` says (items, reads only, or nothing), the rest
        from ``needs``."""
        search_domain_arn = self.stage.search_domain_arn("*")
        if spec.table == "write":
            fn.add_to_role_policy(self.table.item_statement())
        elif spec.table == "read":
            fn.add_to_role_policy(self.table.read_statement())
        if "bus" in spec.needs:
            self.events.event_bus.grant_put_events_to(fn)
        if "bucket" in spec.needs:
            # Write-only, and only under tenants/.
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.storage.archive_objects_arn()],
            ))
        if "archive_read" in spec.needs:  # backups read back for a restore
            fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.storage.archive_objects_arn()]))
        if "files" in spec.needs:  # uploaded files: read, copy (a restore), delete (a purged record's)
            fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                                      resources=self.storage.files_objects_arns()))
        if "exports" in spec.needs:
            for statement in self.storage.exports_statements():
                fn.add_to_role_policy(statement)
        if "imports" in spec.needs:
            # Read the uploaded import files (tenants/<t>/imports/…) of the files bucket, nothing else of it.
            fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.storage.imports_objects_arn()]))
        if "scheduler" in spec.needs:
            for statement in self.events.scheduler_statements():
                fn.add_to_role_policy(statement)
        if "workflow" in spec.needs:
            # Signal approval executions (never start them: that is the API's).
            for statement in self.workflow.approval_statements():
                fn.add_to_role_policy(statement)
        if "search_write" in spec.needs:
            # Index maintenance on the stage's domain; FGAC limits it to crm-<stage>-* indices.
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=list(SEARCH_WRITE_ACTIONS), resources=[search_domain_arn],
            ))

        acknowledge_basic_execution(fn)
        acknowledge(fn, "AwsSolutions-L1",
                    f"The runtime is pinned ({PYTHON_RUNTIME.name}, infra/components/common.py): the dependency layer "
                    "built by chalice package holds wheels for that CPython (pydantic-core, cryptography, numpy) and the "
                    "API's SnapStart needs a runtime that supports it; upgrade runtime and wheels together.")
        # X-Ray, dynamodb:ListStreams (stream event sources) and SendTaskSuccess/Failure have no
        # resource-level permissions.
        wildcard_findings = ["Resource::*"]
        if "bucket" in spec.needs:
            wildcard_findings.append(resource_finding(fn, self.storage.archive_objects_arn()))
        if "archive_read" in spec.needs and "bucket" not in spec.needs:
            wildcard_findings.append(resource_finding(fn, self.storage.archive_objects_arn()))
        if "files" in spec.needs:
            wildcard_findings.extend(resource_finding(fn, arn) for arn in self.storage.files_objects_arns())
        if "imports" in spec.needs:
            wildcard_findings.append(resource_finding(fn, self.storage.imports_objects_arn()))
        if "scheduler" in spec.needs:
            wildcard_findings.append(resource_finding(fn, self.stage.schedules_arn()))
        if "workflow" in spec.needs:
            wildcard_findings.append(resource_finding(fn, self.workflow.approval_executions_arn()))
        if "search_write" in spec.needs:
            wildcard_findings.append(resource_finding(fn, search_domain_arn))
        if "exports" in spec.needs:  # export files and the log's archive are keyed by tenant and job / entry at run time
            wildcard_findings += [resource_finding(fn, self.storage.exports_objects_arn()),
                                  resource_finding(fn, self.storage.audit_archive_objects_arn())]
        acknowledge(fn, "AwsSolutions-IAM5",
                    "X-Ray tracing, dynamodb:ListStreams and Step Functions SendTaskSuccess/SendTaskFailure (task "
                    "tokens) do not support resource-level permissions; archive object keys, schedule names, "
                    "approval executions and search index paths are generated at run time, so they are scoped to "
                    "tenants/, to the stage's schedule group, to the approval state machine and to the stage's "
                    "search domain (where fine-grained access control limits writes to the stage's indices).",
                    wildcard_findings)

    def _alarms(self, cid: str, name: str, fn: lambda_.Function, dlq: sqs.Queue | None) -> None:
        scope, five_minutes = self.stage.stack, cdk.Duration.minutes(5)
        # the errors alarm rolls the function's deployment back (components/deploys.py): beside its deployment group
        alarm(scope, f"{cid}ErrorsAlarm", f"{name} raised errors", fn.metric_errors(period=five_minutes, statistic="Sum"))
        if dlq is not None:
            alarm(self.monitoring.stack, f"{cid}DeadLetterQueueAlarm", f"{name} has messages it failed to process",
                  dlq.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"))
