"""Objects in the tenant-scoped S3 bucket: every key starts with `tenants/<tenant>/`."""
from __future__ import annotations

from ..core.settings import get_settings
from . import client


def tenant_key(tenant_id: str, *parts: str) -> str:
    if not tenant_id or "/" in tenant_id:
        raise ValueError("invalid tenant id")
    return "/".join(("tenants", tenant_id, *parts))


def put(key: str, body: bytes, content_type: str = "application/octet-stream", bucket: str | None = None) -> None:
    client("s3").put_object(Bucket=bucket or get_settings().archive_bucket, Key=key, Body=body,
                            ContentType=content_type, ServerSideEncryption="AES256")


def get(key: str, bucket: str | None = None) -> bytes:
    return client("s3").get_object(Bucket=bucket or get_settings().archive_bucket, Key=key)["Body"].read()
