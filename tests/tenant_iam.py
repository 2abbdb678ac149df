"""What the tenant data role's policy would decide, evaluated on the DynamoDB and S3 requests a test makes.

moto does not evaluate IAM. `LeadingKeysCheck` stands in for it: on every DynamoDB request signed
with tenant credentials (chalicelib/db/credentials.py) it computes ``dynamodb:LeadingKeys`` the way
DynamoDB does (the table's partition key of each item touched; for a Query, the partition key
value of the table or index queried) and records the requests the policy's condition
``ForAllValues:StringLike {"dynamodb:LeadingKeys": ["T#${aws:PrincipalTag/tenant}#*"]}`` would refuse,
and any Scan (not granted at all). On every S3 request signed with tenant credentials it computes
the IAM actions and object ARNs the request is authorised on (a CopyObject: PutObject on the target
and GetObject on the source) and records those the role's grants on the files bucket
(`S3_GRANTS`, pinned to the template by tests/infrastructure/test_tenant_access.py) would refuse.
"""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.db import credentials

_KEY_CONDITION = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def leading_keys(operation: str, params: dict[str, Any]) -> list[str] | None:
    """The partition key values IAM sees for one DynamoDB call; None for a call without any (Scan)."""
    def pk(item: dict[str, Any]) -> str:
        return item["pk"]["S"]

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [pk(params["Key"])]
    if operation == "PutItem":
        return [pk(params["Item"])]
    if operation == "BatchGetItem":
        return [pk(k) for t in params["RequestItems"].values() for k in t["Keys"]]
    if operation == "BatchWriteItem":
        return [pk(r["PutRequest"]["Item"]) if "PutRequest" in r else pk(r["DeleteRequest"]["Key"])
                for t in params["RequestItems"].values() for r in t]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            out.append(pk(body["Item"]) if kind == "Put" else pk(body["Key"]))
        return out
    if operation == "Query":
        hash_attr = f"{params['IndexName']}pk" if params.get("IndexName") else "pk"
        names = params.get("ExpressionAttributeNames", {})
        values = params.get("ExpressionAttributeValues", {})
        for name, value in _KEY_CONDITION.findall(params["KeyConditionExpression"]):
            if names.get(name) == hash_attr:
                return [values[value]["S"]]
        raise AssertionError(f"no partition key condition in {params['KeyConditionExpression']!r}")
    return None


#: What the tenant data role allows on S3 (infra/components/tenant_access.py): (bucket, actions,
#: key patterns with ``{tenant}`` for ``${aws:PrincipalTag/tenant}``). Nothing on the archive bucket.
S3_GRANTS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("files", frozenset({"s3:PutObject", "s3:GetObject"}),
     ("pending/tenants/{tenant}/*", "tenants/{tenant}/files/*", "tenants/{tenant}/imports/*")),
    ("files", frozenset({"s3:GetObject"}), ("tenants/{tenant}/exports/*",)),
)

#: The object-level action IAM authorises each S3 operation the application uses with.
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "DeleteObject": "s3:DeleteObject",
    "PutObjectTagging": "s3:PutObjectTagging", "GetObjectTagging": "s3:GetObjectTagging",
}


def _bucket_name(bucket: str) -> str:
    """The bucket's role in the stack (``files``, ``archive``), or its name when it is neither."""
    s = get_settings()
    return {s.files_bucket: "files", s.archive_bucket: "archive"}.get(bucket, bucket)


def s3_requests(operation: str, params: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(action, bucket, key) that IAM authorises one S3 call on; a key of ``""`` for a bucket-level call."""
    bucket, key = params.get("Bucket", ""), params.get("Key", "")
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, dict):
            source_bucket, source_key = source["Bucket"], source["Key"]
        else:
            from urllib.parse import unquote

            source_bucket, _, source_key = unquote(source.split("?versionId=")[0]).lstrip("/").partition("/")
        return [("s3:PutObject", bucket, key), ("s3:GetObject", source_bucket, source_key)]
    action = _S3_ACTIONS.get(operation)
    if action is None:  # ListObjectsV2 and every bucket-level call: not granted to the role
        return [(f"s3:{operation}", bucket, "")]
    out = [(action, bucket, key)]
    if operation in ("PutObject", "CreateMultipartUpload") and params.get("Tagging"):
        out.append(("s3:PutObjectTagging", bucket, key))
    return out


def s3_allowed(tenant: str, action: str, bucket: str, key: str) -> bool:
    """What the tenant data role's S3 statements decide for `tenant` (IAM's ``*`` matches ``/`` too)."""
    name = _bucket_name(bucket)
    return bool(key) and any(
        name == granted and action in actions and any(fnmatch.fnmatchcase(key, p.format(tenant=tenant)) for p in patterns)
        for granted, actions, patterns in S3_GRANTS)


@dataclass
class LeadingKeysCheck:
    role_arn: str
    refused: list[tuple[str, str, list[str] | None]] = field(default_factory=list)  # (tenant, operation, keys)
    signed: int = 0  # DynamoDB requests signed with tenant credentials
    s3_refused: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # (tenant, operation, action, bucket, key)
    s3_signed: list[tuple[str, str, str]] = field(default_factory=list)  # (operation, bucket role, key) signed with tenant credentials

    def tenant_of(self, access_key: str) -> str | None:
        entries = credentials.cache(self.role_arn)._entries
        return next((t for t, e in entries.items() if e.credentials.access_key == access_key), None)

    def __call__(self, request: Any, operation_name: str, event_name: str = "", **_: Any) -> None:
        creds = request.context.get("signing", {}).get("request_credentials")
        if creds is None:
            return
        tenant = self.tenant_of(creds.access_key)
        if tenant is None:
            self.refused.append(("<credentials the cache does not hold>", operation_name, None))
            return
        if event_name.startswith("before-sign.s3."):
            self._check_s3(tenant, operation_name, request.context["s3_redirect"]["params"])
            return
        self.signed += 1
        keys = leading_keys(operation_name, json.loads(request.body or b"{}"))
        pattern = f"T#{tenant}#*"
        if keys is None or not all(fnmatch.fnmatchcase(k, pattern) for k in keys):
            self.refused.append((tenant, operation_name, keys))

    def _check_s3(self, tenant: str, operation: str, params: dict[str, Any]) -> None:
        for action, bucket, key in s3_requests(operation, params):
            self.s3_signed.append((operation, _bucket_name(bucket), key))
            if not s3_allowed(tenant, action, bucket, key):
                self.s3_refused.append((tenant, operation, action, _bucket_name(bucket), key))

    def install(self, monkeypatch: Any) -> None:
        """Check every DynamoDB and S3 client the models, transactions and ports use from now on."""
        original = credentials.scope_client

        def scope_and_check(client: Any) -> Any:
            original(client)
            if getattr(client, "_crm_leading_keys_check", None) is not self:
                client.meta.events.register_last(f"before-sign.{client.meta.service_model.service_id.hyphenize()}", self)
                client._crm_leading_keys_check = self
            return client

        monkeypatch.setattr(credentials, "scope_client", scope_and_check)
