"""Mail (SES): outgoing messages as raw MIME, and the inbound mails SES receiving writes to S3.

- send: `SendRawEmail` of a message built with the standard library's `email` package (our own
  Message-ID, so a reply's In-Reply-To finds the mail it answers). Identities, quotas and DKIM
  are the stack's (infra/components/mail.py); locally moto's SES accepts a verified identity.
- inbound: SES writes each received mail as one object under `inbound/` of the mail bucket
  (`CRM_MAIL_BUCKET`); S3 tells the inbound-mail function (functions/inbound_mail.py), which
  reads it back here.
"""
from __future__ import annotations

from typing import Any

from ..core.settings import get_settings
from . import client

INBOUND_PREFIX = "inbound/"


def envelope_sender() -> str:
    """The envelope sender (Return-Path) of every mail: the verified mail domain itself. The From header is a
    tenant's address on its subdomain (<tenant>.<mail domain>), which the domain's verification covers."""
    return f"bounces@{get_settings().mail_domain}"


def send_raw(raw: bytes, sender: str, recipients: list[str]) -> str:
    """Send one MIME message (From: `sender`, in the message); the provider's message id."""
    out = client("ses").send_raw_email(Source=envelope_sender(), Destinations=recipients, RawMessage={"Data": raw})
    return str(out.get("MessageId") or "")


def verify_identity(domain_or_address: str) -> None:
    """Local stack and tests: let SES (moto) send from the mail domain (in AWS the stack declares it)."""
    ses = client("ses")
    if "@" in domain_or_address:
        ses.verify_email_identity(EmailAddress=domain_or_address)
    else:
        ses.verify_domain_identity(Domain=domain_or_address)


def quota() -> dict[str, Any]:
    return client("ses").get_send_quota()


def read_inbound(key: str, bucket: str | None = None, max_bytes: int | None = None) -> bytes:
    """The raw bytes of an inbound mail object (refused above `max_bytes`: ValueError)."""
    s3 = client("s3")
    name = bucket or get_settings().mail_bucket
    if max_bytes is not None:
        size = int(s3.head_object(Bucket=name, Key=key)["ContentLength"])
        if size > max_bytes:
            raise ValueError(f"inbound mail of {size} bytes is over the limit of {max_bytes}")
    return s3.get_object(Bucket=name, Key=key)["Body"].read()


def put_inbound(key: str, raw: bytes, bucket: str | None = None) -> None:
    """What SES receiving does: one object per received mail (tests, demo data, the local stack)."""
    client("s3").put_object(Bucket=bucket or get_settings().mail_bucket, Key=key, Body=raw,
                            ServerSideEncryption="AES256")
