"""Inbound mail (S3 -> SQS -> this Lambda): SES receiving wrote a mail to the mail bucket under inbound/;
the bucket's event notification went to this function's queue. Each message holds an S3 event; each of its
records is one mail, parsed and linked by chalicelib/mail/inbound.py (idempotent by Message-ID: a
redelivery writes nothing). A message that fails comes back after the visibility timeout, then goes to
the dead-letter queue. The local InboundMailDriver (devstack/drivers.py) calls the handler with the same
SQS event shape.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import manifest
from chalicelib.core.observability import flush, logger
from chalicelib.mail import inbound

manifest.install()


def _objects(body: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for r in body.get("Records") or []:  # s3:TestEvent has none
        s3 = r.get("s3") or {}
        if str(r.get("eventName", "")).startswith("ObjectCreated"):
            out.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"])))
    return out


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    failures, statuses = [], []
    for record in event.get("Records") or []:
        try:
            for bucket, key in _objects(json.loads(record["body"])):
                statuses.append(inbound.receive(bucket, key))
        except Exception:  # noqa: BLE001 - the message comes back after the visibility timeout
            logger.exception("inbound mail failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record.get("messageId")})
    flush()
    return {"batchItemFailures": failures, "statuses": statuses}
