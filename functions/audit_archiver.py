"""Table stream consumer: operation-log entries removed by TTL are archived to S3.

The hot table keeps the log for CRM_AUDIT_TTL_DAYS; when DynamoDB expires an entry the
stream carries its old image here, and it is written to
`tenants/<tenant>/audit/<yyyy>/<mm>/<dd>/<entry sort key>.json` (one object per entry,
so a retried batch overwrites rather than duplicates).
"""
from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib import manifest
from chalicelib.core.observability import flush, logger, metric
from chalicelib.db.base import plain
from chalicelib.ports import files

manifest.install()  # this Lambda sees every module's record types, hooks and subscriptions

_des = TypeDeserializer()


def _plain(image: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(_des.deserialize(v)) for k, v in image.items()}


def is_ttl_expiry(record: dict[str, Any]) -> bool:
    ident = record.get("userIdentity") or {}
    return record.get("eventName") == "REMOVE" and ident.get("type") == "Service" and ident.get("principalId") == "dynamodb.amazonaws.com"


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    archived = 0
    failures = []
    for record in event.get("Records", []):
        old = (record.get("dynamodb") or {}).get("OldImage")
        if not old or not is_ttl_expiry(record) or old.get("type", {}).get("S") != "AUDIT":
            continue
        item = _plain(old)
        try:
            at = item["at"]
            key = files.tenant_key(item["tenant_id"], "audit", at[:4], at[5:7], at[8:10], f"{item['sk'].replace('#', '_')}.json")
            files.put(key, json.dumps(item, ensure_ascii=False).encode(), "application/json")
            archived += 1
        except Exception:  # noqa: BLE001 - report this record for retry, keep the rest
            logger.exception("archive failed", extra={"event_id": record.get("eventID")})
            failures.append({"itemIdentifier": (record.get("dynamodb") or {}).get("SequenceNumber")})
    if archived:
        metric("audit.archived", archived)
    flush()
    return {"batchItemFailures": failures}
