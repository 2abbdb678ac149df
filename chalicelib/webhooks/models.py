"""Webhooks (PLAT-10): a tenant's endpoints and the log of what was sent to them.

Key design:
- Webhook:  pk = T#<t>#WEBHOOK, sk = <webhook id>
            -> one GetItem per webhook; every webhook of a tenant is one Query of that partition.
            An event is matched against its own tenant's partition only (one Query per event, at most
            CRM_WEBHOOK_MAX_PER_TENANT items): another tenant's webhooks are never read.
- Delivery: pk = T#<t>#WEBHOOK#<webhook id>#DLV, sk = <delivery id>
            -> a webhook's delivery log is one Query, newest first (delivery ids sort by time: ULID
            layout). The id of an event's delivery is derived from (event id, webhook id) and its
            creation is conditional: the same event received twice (SQS delivers at least once)
            creates one delivery and sends once.
The secret is an attribute of the webhook item (the table is encrypted at rest); it is returned by
the API only when it is made (creation, rotation) and never enters `values()` (the operation log).
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned

ENTITY = "webhook"  # the operation log of webhook changes


class Webhook(Versioned, discriminator="WEBHOOK"):
    id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)  # event types or patterns: customers.customer.created, customers.*
    description = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    owner_id = UnicodeAttribute()  # whose field rules shape the payloads (the admin, or an integration user)
    secret = UnicodeAttribute(null=True)  # None after a restore (archives hold no secret) until rotated
    secret_rotated_at = UnicodeAttribute(null=True)

    @staticmethod
    def partition(tenant_id: str) -> str:
        return keys.k(tenant_id, "WEBHOOK")

    @staticmethod
    def key(tenant_id: str, webhook_id: str) -> tuple[str, str]:
        return Webhook.partition(tenant_id), webhook_id

    def values(self) -> dict:
        return {"url": self.url, "events": list(self.events or []), "description": self.description,
                "enabled": bool(self.enabled), "owner_id": self.owner_id, "secret_rotated_at": self.secret_rotated_at}


class Delivery(Versioned, discriminator="WHDELIVERY"):
    id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    body = UnicodeAttribute()  # the JSON sent, fixed at creation: every attempt sends the same bytes
    status = UnicodeAttribute(default="pending")  # pending | retrying | succeeded | dead_lettered
    attempts = NumberAttribute(default=0)
    next_attempt_at = UnicodeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    last_latency_ms = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    redelivery_of = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)  # when the event was published (latency from publication)
    log = JSONAttribute(default=list)  # [{attempt, at, status_code, latency_ms, error, next_attempt_at}]

    @staticmethod
    def partition(tenant_id: str, webhook_id: str) -> str:
        return keys.k(tenant_id, "WEBHOOK", webhook_id, "DLV")

    @staticmethod
    def key(tenant_id: str, webhook_id: str, delivery_id: str) -> tuple[str, str]:
        return Delivery.partition(tenant_id, webhook_id), delivery_id
