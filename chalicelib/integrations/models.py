"""Inbound integrations (集成): a tenant's signed inbound channels, their delivery log, and the
replay markers that make a resent delivery answer its first result.

Key design:
- Channel:  pk = T#<t>#INBOUND, sk = <channel id>
            -> one GetItem per channel (the public endpoint reads only the tenant in its path);
            every channel of a tenant is one Query of that partition.
- Delivery: pk = T#<t>#INBOUND#<channel id>#DLV, sk = <delivery id>
            -> a channel's delivery log is one Query, newest first (ids sort by time). No payload is
            kept: counts and each rejected item's reasons only. Expires after DELIVERY_TTL_DAYS.
- Replay:   pk = T#<t>#INBOUND#<channel id>#KEY, sk = <SHA-256 of the Idempotency-Key, 32 hex>
            or, for a delivery without a key, sk = SIG#<SHA-256 of "<timestamp>.<raw body>", 64 hex>
            -> created conditionally when a delivery is first received; holds the body's hash, the
            delivery id and, once written, the answer. A key's marker expires with the API's
            idempotency keys (CRM_IDEMPOTENCY_TTL_HOURS); a keyless one a minute after its signature's
            timestamp leaves the 5 minutes' tolerance (a resend of the same bytes is refused as stale
            from then on).
The secret is an attribute of the channel item (the table is encrypted at rest); the API returns it
only when it is made (creation, rotation) and it never enters `values()` (the operation log).
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned

ENTITY = "inbound_channel"  # the operation log of channel changes


class Channel(Versioned, discriminator="INBOUND"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()  # web_order | call_center | finance | custom
    entity = UnicodeAttribute()  # the record type's API name (lead, followup, payment, obj_xxx)
    mapping = JSONAttribute(null=True)  # payload key ("a.b") -> column key; None: suggested per delivery
    lookups = JSONAttribute(default=dict)  # payload key -> {"type": record type, "field": field key}
    defaults = JSONAttribute(default=dict)  # column key -> cell used when the payload has no value for it
    duplicates = UnicodeAttribute(default="skip")  # skip | overwrite | create
    run_as = UnicodeAttribute()  # the user whose rights every write takes
    enabled = BooleanAttribute(default=True)
    description = UnicodeAttribute(null=True)
    secret = UnicodeAttribute(null=True)  # None after a restore (archives hold no secret) until rotated
    secret_rotated_at = UnicodeAttribute(null=True)

    @staticmethod
    def partition(tenant_id: str) -> str:
        return keys.k(tenant_id, "INBOUND")

    @staticmethod
    def key(tenant_id: str, channel_id: str) -> tuple[str, str]:
        return Channel.partition(tenant_id), channel_id

    def values(self) -> dict:
        return {"name": self.name, "kind": self.kind, "type": self.entity, "mapping": self.mapping,
                "lookups": dict(self.lookups or {}), "defaults": dict(self.defaults or {}), "duplicates": self.duplicates,
                "run_as": self.run_as, "enabled": bool(self.enabled), "description": self.description,
                "secret_rotated_at": self.secret_rotated_at}


class InboundDelivery(Item, discriminator="INBOUNDDLV"):
    id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    received_at = UnicodeAttribute()
    status = UnicodeAttribute()  # succeeded | partial | rejected
    counts = JSONAttribute(default=dict)  # total, created, updated, skipped, rejected
    errors = JSONAttribute(default=list)  # [{index, errors: [{column, message}]}] of the rejected items (the first 20)
    key = UnicodeAttribute(null=True)  # the Idempotency-Key / X-CRM-Delivery it came with
    replays = NumberAttribute(default=0)  # resends answered with this delivery's result

    @staticmethod
    def partition(tenant_id: str, channel_id: str) -> str:
        return keys.k(tenant_id, "INBOUND", channel_id, "DLV")


class Replay(Item, discriminator="INBOUNDKEY"):
    body_hash = UnicodeAttribute()
    delivery_id = UnicodeAttribute()
    received_at = UnicodeAttribute()
    results = JSONAttribute(null=True)  # the answer, once the delivery was written

    @staticmethod
    def key(tenant_id: str, channel_id: str, digest: str) -> tuple[str, str]:
        return keys.k(tenant_id, "INBOUND", channel_id, "KEY"), digest
