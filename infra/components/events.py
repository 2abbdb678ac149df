"""Events and time: the EventBridge bus, the Scheduler group reminders are scheduled in, and the
role Scheduler assumes to invoke their targets."""
from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from infra.components.nag import acknowledge
from infra.components.naming import Stage

#: What the API does with reminder schedules (chalicelib/ports/scheduler.py).
SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


class Events:
    """The bus ``crm-<stage>``, the schedule group ``crm-<stage>`` and the scheduler role."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        scope = stage.stack
        self.event_bus = events.EventBus(scope, "EventBus", event_bus_name=stage.prefix)
        self.schedule_group = scheduler.CfnScheduleGroup(scope, "ScheduleGroup", name=stage.prefix)
        # It can be assumed only on behalf of schedules in this stage's group, and may only
        # invoke the schedule targets (``allow_scheduler_to_invoke``).
        self.scheduler_role = iam.Role(
            scope,
            "SchedulerRole",
            description=f"EventBridge Scheduler invokes the {stage.prefix} schedule targets",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": scope.account},
                    "ArnLike": {"aws:SourceArn": stage.schedules_arn()},
                },
            ),
        )

    def dead_letter_queue(self) -> sqs.Queue:
        """Where Scheduler puts an invocation it gave up on (the schedules' RetryPolicy exhausted): every schedule
        the product creates names it (``CRM_SCHEDULE_DLQ_ARN``, chalicelib/ports/scheduler.py); Scheduler sends
        with the schedule's role."""
        queue = sqs.Queue(self.stage.stack, "ScheduleDeadLetterQueue", queue_name=f"{self.stage.prefix}-schedules-dlq",
                          encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
                          retention_period=cdk.Duration.days(14))
        acknowledge(queue, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the stage's schedules.")
        queue.grant_send_messages(self.scheduler_role)
        return queue

    def scheduler_statements(self) -> list[iam.PolicyStatement]:
        """Manage schedules in the stage's group and hand them the scheduler role."""
        return [
            iam.PolicyStatement(actions=list(SCHEDULE_ACTIONS), resources=[self.stage.schedules_arn()]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            ),
        ]

    def allow_scheduler_to_invoke(self, targets: Sequence[lambda_.IFunction]) -> None:
        """Let the scheduler role invoke exactly `targets` (nothing when there are none)."""
        if not targets:
            return
        self.scheduler_role.add_to_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[fn.function_arn for fn in targets],
        ))
