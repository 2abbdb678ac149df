"""S3: the archive bucket (operation-log entries that expire from the table), the files bucket
(what users upload, through presigned URLs) and their access-log bucket."""
from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.ports.files import EXPORT_TAG, PENDING
from infra.components.naming import Stage

#: Headers a browser sends with a presigned upload (chalicelib/ports/files.py signs them).
UPLOAD_HEADERS = ("content-type", "x-amz-checksum-sha256")
#: Unconfirmed uploads (under ``pending/``) are deleted after this many days.
PENDING_UPLOAD_DAYS = 1
EXPORT_DAYS = 7  # how long an export file can be downloaded again (GET /v1/exports/{id} signs a new link)


def private_bucket(scope: Construct, construct_id: str, **props: Any) -> s3.Bucket:
    """A bucket as every bucket of the stack is: SSE-S3, public access blocked, TLS only; `props` add the rest."""
    return s3.Bucket(scope, construct_id, encryption=s3.BucketEncryption.S3_MANAGED,
                     block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, **props)


class Storage:
    """The archive bucket: private, TLS only, versioned, to Glacier after 90 days, access-logged
    to a second bucket; both kept when the stack is deleted.

    The files bucket: private, TLS only, SSE-S3, access-logged, kept with the stack. Browsers
    PUT and GET it directly with presigned URLs (CORS for the web origins of the ``web_origins``
    context, comma-separated; default any origin — the URL itself is the authorisation). Not
    versioned: a confirmed file's key is written once, by the API's server-side copy, and
    never again (clients can only write ``pending/``), and nothing deletes it, so versions would
    only keep expired pending uploads. Whatever stays under ``pending/`` (uploads never
    confirmed) expires after a day.
    """

    def __init__(self, stage: Stage) -> None:
        scope = stage.stack
        self.access_logs_bucket = private_bucket(
            scope,
            "AccessLogsBucket",
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.archive_bucket = private_bucket(
            scope,
            "ArchiveBucket",
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

        origins = [o.strip() for o in str(scope.node.try_get_context("web_origins") or "*").split(",") if o.strip()]
        self.files_bucket = private_bucket(
            scope,
            "FilesBucket",
            versioned=False,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="files/",
            cors=[s3.CorsRule(allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                              allowed_origins=origins, allowed_headers=list(UPLOAD_HEADERS), exposed_headers=["ETag"],
                              max_age=3000)],
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-unconfirmed-uploads", prefix=PENDING,
                                 expiration=cdk.Duration.days(PENDING_UPLOAD_DAYS),
                                 abort_incomplete_multipart_upload_after=cdk.Duration.days(PENDING_UPLOAD_DAYS)),
                # export files (tenants/<t>/exports/…, tagged by the job that writes them) are downloads, not records
                s3.LifecycleRule(id="expire-exports", tag_filters={EXPORT_TAG[0]: EXPORT_TAG[1]},
                                 expiration=cdk.Duration.days(EXPORT_DAYS)),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def files_statements(self) -> list[iam.PolicyStatement]:
        """What the API does with the files bucket (chalicelib/ports/files.py), and nothing more:
        sign uploads into ``pending/tenants/…`` (PutObject), read them back (HeadObject is
        GetObject) as the source of the confirming copy, write that copy to
        ``tenants/<t>/files/…`` and sign downloads of it (PutObject, GetObject)."""
        return [iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject"], resources=self.files_objects_arns()),
                # sign downloads of export files (the jobs function writes them)
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.exports_objects_arn()])]

    def exports_objects_arn(self) -> str:
        """Export files: ``tenants/<tenant>/exports/<job id>/<name>`` in the files bucket."""
        return self.files_bucket.arn_for_objects("tenants/*/exports/*")

    def audit_archive_objects_arn(self) -> str:
        """The operation log's archive (functions/audit_archiver.py): ``tenants/<tenant>/audit/…``."""
        return self.archive_bucket.arn_for_objects("tenants/*/audit/*")

    def exports_statements(self) -> list[iam.PolicyStatement]:
        """What the jobs function does for exports: write export files (tagged for their expiry, multipart for large
        ones) under ``tenants/<t>/exports/`` and read a month of the operation log's archive."""
        return [iam.PolicyStatement(actions=["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
                                    resources=[self.exports_objects_arn()]),
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.audit_archive_objects_arn()]),
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.archive_bucket.bucket_arn],
                                    conditions={"StringLike": {"s3:prefix": ["tenants/*/audit/*"]}})]

    def files_objects_arns(self) -> list[str]:
        return [self.files_bucket.arn_for_objects(f"{PENDING}tenants/*"), self.files_bucket.arn_for_objects("tenants/*/files/*"),
                self.imports_objects_arn()]

    def imports_objects_arn(self) -> str:
        """Imports (chalicelib/imports): the uploads the API signs and the import job reads, and the
        rejected-rows files the API writes and signs downloads of: ``tenants/<t>/imports/<id>/…``."""
        return self.files_bucket.arn_for_objects("tenants/*/imports/*")

    def archive_objects_arn(self) -> str:
        """Objects the functions may write: every key is ``tenants/<tenant>/…``
        (chalicelib/ports/files.py)."""
        return self.archive_bucket.arn_for_objects("tenants/*")

    def backup_objects_arn(self) -> str:
        """Tenant backups in the archive bucket (chalicelib/backups/archive.py): the API signs
        their downloads (GetObject)."""
        return self.archive_bucket.arn_for_objects("tenants/*/backups/*")
