"""Every schedule the product creates names the schedules' dead-letter queue (CRM_SCHEDULE_DLQ_ARN, created
by infra/) and a retry policy, so an invocation Scheduler gives up on is kept rather than dropped."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.core import clock
from chalicelib.core.settings import environment
from chalicelib.ports import client, scheduler

DLQ = "arn:aws:sqs:ap-southeast-1:123456789012:crm-test-schedules-dlq"


def _target(name: str) -> dict:
    return scheduler.get(name)["Target"]


def test_given_a_dead_letter_queue_when_schedules_are_put_then_one_time_and_recurring_ones_name_it(aws):
    with environment(CRM_SCHEDULE_DLQ_ARN=DLQ):
        scheduler.upsert("dl-once", clock.now() + timedelta(hours=1), {"kind": "x"})
        scheduler.upsert_recurring("dl-daily", "cron(0 3 * * ? *)", {"kind": "y"})
        for name in ("dl-once", "dl-daily"):
            target = _target(name)
            assert target["DeadLetterConfig"] == {"Arn": DLQ}
            assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
        # an update (the same name again) keeps it
        scheduler.upsert("dl-once", clock.now() + timedelta(hours=2), {"kind": "x"})
        assert _target("dl-once")["DeadLetterConfig"] == {"Arn": DLQ}


def test_given_no_dead_letter_queue_when_a_schedule_is_put_then_none_is_named(aws):
    scheduler.upsert("dl-none", clock.now() + timedelta(hours=1), {"kind": "x"})
    assert "DeadLetterConfig" not in _target("dl-none")
    assert client("scheduler").get_schedule(Name="dl-none", GroupName=scheduler.get_settings().schedule_group)
