"""S3: the archive bucket (operation-log entries that expire from the table) and its access-log bucket."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

from infra.components.naming import Stage


class Storage:
    """The archive bucket: private, TLS only, versioned, to Glacier after 90 days, access-logged
    to a second bucket; both kept when the stack is deleted."""

    def __init__(self, stage: Stage) -> None:
        scope = stage.stack
        self.access_logs_bucket = s3.Bucket(
            scope,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.archive_bucket = s3.Bucket(
            scope,
            "ArchiveBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
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

    def archive_objects_arn(self) -> str:
        """Objects the functions may write: every key is ``tenants/<tenant>/…``
        (chalicelib/ports/files.py)."""
        return self.archive_bucket.arn_for_objects("tenants/*")
