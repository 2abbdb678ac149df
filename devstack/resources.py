"""Create every resource the code needs, from the same definitions infra/ deploys:
the table (chalicelib/db/table_spec), the bus and one SQS queue per bus subscription
(functions/registry), the Scheduler group, the archive and files buckets (the files bucket with
the CORS and pending-upload lifecycle of infra/components/storage.py, so presigned URLs from
`make dev` work from a browser against the moto server), and the state machines in
step_functions/*.asl.json. Idempotent; works against moto in-process or a moto server."""
from __future__ import annotations

import json
from pathlib import Path

from chalicelib.core.settings import get_settings
from chalicelib.db.table_spec import create_table
from chalicelib.ports import client, workflow
from chalicelib.ports.files import PENDING
from functions.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"


#: Browsers PUT (presigned upload) and GET (presigned download) the files bucket directly.
FILES_CORS = {"AllowedMethods": ["PUT", "GET", "HEAD"], "AllowedOrigins": ["*"],
              "AllowedHeaders": ["content-type", "x-amz-checksum-sha256"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}


def subscription_queue(name: str) -> str:
    return f"{get_settings().event_bus_name}-{name}"


def stream_failure_queue(name: str) -> str:
    """A stream consumer's on-failure queue (infra: its dead-letter queue)."""
    return f"{get_settings().event_bus_name}-{name}-failures"


def create_resources() -> dict[str, str]:
    s = get_settings()
    create_table(client("dynamodb"), s.table_name)
    events, sqs = client("events"), client("sqs")
    try:
        events.create_event_bus(Name=s.event_bus_name)
    except events.exceptions.ResourceAlreadyExistsException:
        pass
    for fn in FUNCTIONS:
        if fn.bus_pattern is None:
            continue
        url = sqs.create_queue(QueueName=subscription_queue(fn.name))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=f"crm-{fn.name}", EventBusName=s.event_bus_name, EventPattern=json.dumps(fn.bus_pattern))
        events.put_targets(Rule=f"crm-{fn.name}", EventBusName=s.event_bus_name, Targets=[{"Id": fn.name, "Arn": arn}])
    for fn in FUNCTIONS:
        if fn.stream_filter is not None:
            sqs.create_queue(QueueName=stream_failure_queue(fn.name))
    sched = client("scheduler")
    try:
        sched.create_schedule_group(Name=s.schedule_group)
    except sched.exceptions.ConflictException:
        pass
    s3 = client("s3")
    for bucket in (s.archive_bucket, s.files_bucket):
        try:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s.region})
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
    s3.put_bucket_cors(Bucket=s.files_bucket, CORSConfiguration={"CORSRules": [FILES_CORS]})
    s3.put_bucket_lifecycle_configuration(Bucket=s.files_bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire-unconfirmed-uploads", "Status": "Enabled", "Filter": {"Prefix": PENDING},
         "Expiration": {"Days": 1}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    mail_resources()
    sfn = client("stepfunctions")
    machines = {}
    for path in sorted((ROOT / "step_functions").glob("*.asl.json")):
        name = f"crm-{path.name.removesuffix('.asl.json')}"
        role = f"arn:aws:iam::{ACCOUNT}:role/crm-states"
        existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
        machines[name] = existing.get(name) or sfn.create_state_machine(
            name=name, definition=workflow.definition(path.read_text(), s.region), roleArn=role)["stateMachineArn"]
    return machines


def mail_resources() -> None:
    """The mail bucket, SES's verified mail domain, and the inbound-mail function's queue with the bucket's
    notification of new objects under inbound/ (what SES receiving + S3 -> SQS do in AWS)."""
    from chalicelib.ports import mail

    s = get_settings()
    s3, sqs = client("s3"), client("sqs")
    try:
        s3.create_bucket(Bucket=s.mail_bucket, CreateBucketConfiguration={"LocationConstraint": s.region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    mail.verify_identity(s.mail_domain)
    for fn in FUNCTIONS:
        source = fn.extra.get("s3_queue")
        if not source:
            continue
        url = sqs.create_queue(QueueName=subscription_queue(fn.name))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket=s.mail_bucket, NotificationConfiguration={"QueueConfigurations": [
            {"Id": fn.name, "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": source["prefix"]}]}}}]})
