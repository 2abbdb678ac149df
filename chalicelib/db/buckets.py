"""Token buckets in the table, each taken from with one conditional UpdateItem (rate limits).

Key design: pk = T#<t>#RATE#<scope…> (keys.rate_bucket), sk = "RATE" — not "#", which the
stream's indexer filter lets through as a business record. TTL (`expires_at`): an hour after
the bucket would be full again, so idle buckets leave the table.

A bucket holds `burst` tokens and gains one every `interval`. It is stored as one number,
`full_at`: the moment (epoch microseconds) it is full again if nobody takes a token — the
bucket's last refill time and token count in one value (the "theoretical arrival time" of
GCRA), so that taking a token is a single conditional write, without reading first:

    tokens(now) = burst − max(0, full_at − now) / interval
    a take needs tokens ≥ 1  ⇔  full_at ≤ now + (burst − 1) · interval
    and moves full_at to max(full_at, now) + interval.

An update expression has no max(), so a take is one of two writes:

- refill (the bucket is full, or there is none yet):
      SET full_at = now + interval   IF attribute_not_exists(full_at) OR full_at ≤ now
- take (the bucket is partly drained):
      SET full_at = full_at + interval   IF now < full_at ≤ now + (burst − 1) · interval

The caller guesses which from the `full_at` it saw last (`hint`). A wrong guess fails its
condition and DynamoDB returns the stored item with the failure
(ReturnValuesOnConditionCheckFailure), so the retry is the right write, without a read.
When neither condition holds the bucket is empty: nothing is written, and the answer says
how long until a token is back. Takes from a draining bucket commute (each adds its own
interval to whatever is stored), so concurrent callers never overwrite each other: on a
frozen clock, any number of them get exactly `burst` tokens between them.

`full_at` only grows while the item lives (TTL removes it only after it has passed), so a
hint is never ahead of the table: a refusal decided from a hint is right without a call.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute

from ..core.settings import get_settings
from .base import Item, connection

SK = TYPE = "RATE"
#: Writes per take at most: a wrong guess, then the right write (a third is a safety margin).
MAX_ATTEMPTS = 3
_IDLE_TTL_SECONDS = 3600


class RateBucket(Item, discriminator=TYPE):
    """One token bucket; see the module docstring. `full_at` is in epoch microseconds."""

    full_at = NumberAttribute()


@dataclass(frozen=True)
class Taken:
    granted: bool
    full_at: int | None  # the stored value as last seen (the next call's hint); None = no bucket yet
    wait_us: int = 0  # refused: microseconds until a token is back
    writes: int = 0  # UpdateItem calls made (0 when refused from the hint)


def take(tenant_id: str, pk: str, *, interval_us: int, burst: int, now_us: int, hint: int | None = None) -> Taken:
    """Take one token from the bucket `pk` (created full on first use)."""
    last_allowed = now_us + (burst - 1) * interval_us
    expires = (now_us + burst * interval_us) // 1_000_000 + _IDLE_TTL_SECONDS
    known, writes = hint, 0
    for _ in range(MAX_ATTEMPTS):
        if known is not None and known > last_allowed:
            return Taken(False, known, known - last_allowed, writes)
        draining = known is not None and known > now_us
        writes += 1
        stored, full_at = _write(tenant_id, pk, draining, now_us=now_us, interval_us=interval_us, last_allowed=last_allowed,
                                 expires=expires)
        if stored:
            return Taken(True, full_at, 0, writes)
        known = full_at
    # Unreachable as long as full_at only grows (see above); refuse rather than loop.
    return Taken(False, known, interval_us, writes)


def _write(tenant_id: str, pk: str, draining: bool, *, now_us: int, interval_us: int, last_allowed: int,
           expires: int) -> tuple[bool, int | None]:
    """One conditional UpdateItem: (True, new full_at), or (False, the stored full_at or None)."""
    client = connection().client
    names = {"#f": "full_at", "#x": "expires_at"}
    values = {":now": {"N": str(now_us)}, ":x": {"N": str(expires)}}
    if draining:
        update = "SET #f = #f + :i, #x = :x"
        condition = "#f > :now AND #f <= :last"
        values.update({":i": {"N": str(interval_us)}, ":last": {"N": str(last_allowed)}})
    else:
        update = "SET #f = :next, #x = :x, #t = :t, #type = :type"
        condition = "attribute_not_exists(#f) OR #f <= :now"
        names.update({"#t": "tenant_id", "#type": "type"})
        values.update({":next": {"N": str(now_us + interval_us)}, ":t": {"S": tenant_id}, ":type": {"S": TYPE}})
    try:
        out = client.update_item(
            TableName=get_settings().table_name, Key={"pk": {"S": pk}, "sk": {"S": SK}}, UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except client.exceptions.ConditionalCheckFailedException as e:
        item = e.response.get("Item") or {}
        return False, int(item["full_at"]["N"]) if "full_at" in item else None
    return True, int(out["Attributes"]["full_at"]["N"])
