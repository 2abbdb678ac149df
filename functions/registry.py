"""Which handler runs on what: the single source for the CDK stack and the local drivers.

- STREAM_CONSUMERS: Lambdas on the table's DynamoDB stream (with an event filter).
- BUS_SUBSCRIPTIONS: Lambdas behind EventBridge rules on the CRM bus.
- SCHEDULE_TARGETS: Lambdas that EventBridge Scheduler schedules invoke.

In AWS, infra/ wires each entry as an event source / rule / permission; locally,
devstack/ polls the stream, the bus (through an SQS queue per rule) and the schedules and
calls the same handler with the same event shape.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Function:
    name: str
    handler: str  # "functions.module.handler"
    description: str
    timeout_seconds: int = 30
    memory_mb: int = 512
    # IAM: what the function may do beyond reading/writing the table
    needs: tuple[str, ...] = ()  # "bus", "bucket", "scheduler", "search_write" (index writes; the API only searches),
    #                              "workflow" (signal the approval state machine: SendTaskSuccess),
    #                              "exports" (write export files, read the operation log archive),
    #                              "imports" (read import uploads in the files bucket)
    #                              "archive_read" (read archives back), "files" (uploaded files: read, copy, delete)
    #                              "search_read" (search the index, never write it), "mail_send" (ses:SendRawEmail on the
    #                              mail identity), "mail_inbound" (read inbound mails in the mail bucket) — infra/components/mail.py
    # the table's items: "write" (read and write), "read" (GetItem, BatchGetItem, Query) or "none" (a stream consumer
    # that never calls the table; its stream grant comes with the trigger)
    table: str = "write"
    stream_filter: dict[str, Any] | None = None
    bus_pattern: dict[str, Any] | None = None
    schedule_target: bool = False
    # extra: {"queue": True} (bus -> SQS -> Lambda), {"batch_size": n}, {"s3_queue": {"bucket", "prefix"}} (a bucket's
    # object notifications -> SQS -> Lambda; locally devstack.drivers.S3QueueDriver)
    extra: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Callable[[dict, Any], Any]:
        module, fn = self.handler.rsplit(".", 1)
        return getattr(importlib.import_module(module), fn)


def _notifier_pattern() -> dict[str, Any]:
    """Hand-over summaries plus every event type a module of the manifest wants notified."""
    from chalicelib import manifest

    types = ["org.user.handed_over", *manifest.notification_types()]
    return {"source": sorted({f"crm.{t.split('.')[0]}" for t in types}), "detail-type": types}


FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="reminders",
        handler="functions.reminders.handler",
        description="Delivers due reminders (EventBridge Scheduler target) to the in-app inbox and acts on record "
                    "timers (a customer's pool recycling, care reminders) and holiday greetings",
        needs=("bus", "scheduler"),  # a recycled customer is a domain event; its schedules move
        schedule_target=True,
    ),
    Function(
        name="notifier",
        handler="functions.notifier.handler",
        description="Turns domain events (hand-over, transfer) into in-app notifications",
        bus_pattern=_notifier_pattern(),
    ),
    Function(
        name="approval_timer",
        handler="functions.approval_timer.handler",
        description="Acts when an approval step passes its time limit (remind, escalate, auto-pass or auto-reject)",
        needs=("bus", "scheduler", "workflow"),
        bus_pattern={"source": ["crm.approvals"], "detail-type": ["approvals.step.overdue"]},
    ),
    Function(
        name="record_timers",
        handler="functions.record_timers.handler",
        description="Keeps the Scheduler schedules of record timers (a customer's pool recycling) in step with the table",
        needs=("scheduler",),
        timeout_seconds=60,
        # business records only (their item sk is "#"); the handler skips types without timers
        stream_filter={"dynamodb": {"Keys": {"sk": {"S": ["#"]}}}},
    ),
    Function(
        name="rederive",
        handler="functions.rederive.handler",
        description="Re-derives the pool and care moments of the records a changed pool, user department or care rule "
                    "concerns (their schedules follow through the table stream)",
        timeout_seconds=900,
        bus_pattern={"source": ["crm.care", "crm.org", "crm.pools"],
                     "detail-type": ["care.rules.changed", "org.user.moved", "pools.pool.changed"]},
    ),
    Function(
        name="indexer",
        handler="functions.indexer.handler",
        description="Keeps the search index in step with the table: stream records -> bulk index/delete",
        needs=("search_write",),
        table="read",
        timeout_seconds=60,
        # business records only (their item sk is "#"); the handler skips other item types
        stream_filter={"dynamodb": {"Keys": {"sk": {"S": ["#"]}}}},
    ),
    Function(
        name="reindex",
        handler="functions.reindex.handler",
        description="Rebuilds one tenant's search index from the table (invoked by an operator: {\"tenant_id\": …})",
        needs=("search_write",),
        table="read",
        timeout_seconds=900,
        memory_mb=1024,
    ),
    Function(
        name="jobs",
        handler="functions.jobs.handler",
        description="Runs background jobs (imports, exports, backups) in chunks, saving progress and a checkpoint; a job "
                    "not finished in one invocation is queued again and resumes",
        # scheduler: records an import writes arm their reminders and timers (engine/due.py) as schedules;
        # archive_read, files: backups read archives back and copy files
        needs=("bus", "bucket", "scheduler", "search_write", "exports", "imports", "archive_read", "files", "mail_send"),
        timeout_seconds=900,
        memory_mb=1024,
        bus_pattern={"source": ["crm.jobs"], "detail-type": ["jobs.job.queued"]},
        # EventBridge -> SQS -> Lambda, one job per invocation; a message whose invocation died (timeout, out of
        # memory) is seen again after the queue's visibility timeout (6 x the function's, as AWS advises for SQS
        # sources), when the job's lease has long lapsed; after 5 receives it goes to the dead-letter queue
        extra={"queue": True, "batch_size": 1},
    ),
    Function(
        name="webhooks",
        handler="functions.webhooks.handler",
        description="Delivers domain events to tenants' webhooks: signed, retried with back-off (Scheduler), logged",
        needs=("scheduler",),  # retries are one-time schedules
        timeout_seconds=60,
        bus_pattern={"source": [{"prefix": "crm."}]},  # every domain event; the handler matches each tenant's webhooks
        extra={"queue": True},  # EventBridge -> SQS (+ DLQ) -> Lambda: batches, partial failures, redrive
    ),
    Function(
        name="purged_files",
        handler="functions.purged_files.handler",
        description="Deletes the files (S3 object and item) of records purged from the recycle bin once no record links them",
        needs=("files",),
        timeout_seconds=60,
        # removed business records (sk "#"); the handler keeps the purges (records that were in the recycle bin)
        stream_filter={"eventName": ["REMOVE"], "dynamodb": {"Keys": {"sk": {"S": ["#"]}}}},
    ),
    Function(
        name="inbound_mail",
        handler="functions.inbound_mail.handler",
        description="Files inbound mail (SES receiving -> mail bucket -> S3 event -> queue): parsed, linked to contacts, "
                    "customers, leads, opportunities and to its thread, attachments saved as files",
        # mail_inbound: read the mail bucket's inbound/ prefix; search_read: senders by address (infra/components/mail.py)
        needs=("bus", "files", "mail_inbound", "search_read"),
        timeout_seconds=120,
        extra={"s3_queue": {"bucket": "mail", "prefix": "inbound/"}, "batch_size": 5},
    ),
    Function(
        name="audit_archiver",
        handler="functions.audit_archiver.handler",
        description="Archives operation-log entries that expire from the table (TTL) to S3",
        needs=("bucket",),
        table="none",  # the stream's old image is all it reads
        # only TTL deletions of audit entries
        stream_filter={"eventName": ["REMOVE"], "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]},
                       "dynamodb": {"OldImage": {"type": {"S": ["AUDIT"]}}}},
    ),
)


def by_name(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge-style matching of exact-value lists and nested objects (the subset used here)."""
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if value not in expected:
                return False
    return True
