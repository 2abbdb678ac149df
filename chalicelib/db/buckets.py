"""Token buckets in the table, each taken from with one conditional UpdateItem (rate limits).

Key design: pk = T#<t>#RATE#<scope…> (keys.rate_bucket), sk = "RATE" — not "#", which the
stream's indexer filter lets through as a business record. TTL (`expires_at`): an hour after
the bucket would be full again, so idle buckets leave the table.

A bucket holds `burst` tokens and gains one every `interval`. It is stored as `full_at`: the
moment (epoch microseconds) it is full again if nobody takes a token — the bucket's last
refill time and token count in one number (the "theoretical arrival time" of GCRA), so that
taking a token is a single conditional write, without reading first — and the `interval`
that number was counted in:

    tokens(now) = burst − max(0, full_at − now) / interval
    a take needs tokens ≥ 1  ⇔  full_at ≤ now + (burst − 1) · interval
    and moves full_at to max(full_at, now) + interval.

An update expression has no max(), so a take is one of two writes:

- refill (the bucket is full, or there is none yet):
      SET full_at = now + interval   IF attribute_not_exists(full_at) OR full_at ≤ now
- take (the bucket is partly drained):
      SET full_at = full_at + interval   IF now < full_at ≤ now + (burst − 1) · interval AND same interval

Several tokens at once (`want`, a container's lease: core/ratelimit.py) are the same writes
with k·interval for interval, conditioned on k tokens being there (full_at ≤ now + (burst − k)
· interval); k is what the caller's view of the bucket says is left, at most `want`.

The caller guesses which from the state it saw last (`hint`). A wrong guess fails its
condition and DynamoDB returns the stored item with the failure
(ReturnValuesOnConditionCheckFailure), so the retry is the right write, without a read.
When neither condition holds the bucket is empty: nothing is written, and the answer says
how long until a token is back. Takes from a draining bucket commute (each adds its own
interval to whatever is stored), so concurrent callers never overwrite each other: on a
frozen clock, any number of them get exactly `burst` tokens between them.

A changed limit (another interval) finds a draining bucket counted in the old one: one more
write (conditioned on the exact stored state) recounts the tokens owed in the new interval,
at most a whole bucket, before the take.

While the interval stays the same, `full_at` only grows (TTL removes the item only after it
has passed), so a hint of the same interval is never ahead of the table: a refusal decided
from it is right without a call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute

from ..core.settings import get_settings
from .base import Item

SK = TYPE = "RATE"
#: Writes per take at most: a recount, a wrong guess, then the right write (+1 to spare).
MAX_ATTEMPTS = 4
_IDLE_TTL_SECONDS = 3600
_NAMES = {"#f": "full_at", "#i": "interval", "#x": "expires_at"}
_NEW_ITEM_NAMES = {**_NAMES, "#t": "tenant_id", "#type": "type"}


class RateBucket(Item, discriminator=TYPE):
    """One token bucket; see the module docstring. Times in epoch microseconds."""

    full_at = NumberAttribute()
    interval = NumberAttribute()


@dataclass(frozen=True)
class State:
    full_at: int
    interval_us: int


@dataclass(frozen=True)
class Taken:
    granted: bool
    state: State | None  # the stored state as last seen (the next call's hint); None = no bucket yet
    wait_us: int = 0  # refused: microseconds until a token is back
    writes: int = 0  # UpdateItem calls made (0 when refused from the hint)
    count: int = 0  # tokens taken (granted: 1 ≤ count ≤ want)


def take(tenant_id: str, pk: str, *, interval_us: int, burst: int, now_us: int, hint: State | None = None,
         want: int = 1) -> Taken:
    """Take one token (up to `want` while there are that many) from the bucket `pk` (created full on first use)."""
    last_allowed = now_us + (burst - 1) * interval_us
    now, interval = {"N": str(now_us)}, {"N": str(interval_us)}
    expires = {"N": str((now_us + burst * interval_us) // 1_000_000 + _IDLE_TTL_SECONDS)}
    known, writes, want = hint, 0, max(1, min(want, burst))
    for _ in range(MAX_ATTEMPTS):
        k = want
        if known is None or known.full_at <= now_us:  # full, or no bucket yet: refill
            granted = True
            write = ("SET #f = :next, #i = :i, #x = :x, #t = :t, #type = :type", "attribute_not_exists(#f) OR #f <= :now",
                     {":next": {"N": str(now_us + k * interval_us)}, ":i": interval, ":x": expires, ":now": now,
                      ":t": {"S": tenant_id}, ":type": {"S": TYPE}}, _NEW_ITEM_NAMES)
        elif known.interval_us != interval_us:  # counted in another limit's interval: recount, take next round
            granted = False
            owed = math.ceil((known.full_at - now_us) * interval_us / known.interval_us)
            write = ("SET #f = :next, #i = :i, #x = :x", "#f = :was AND #i = :was_i",
                     {":next": {"N": str(now_us + min(owed, burst * interval_us))}, ":i": interval, ":x": expires,
                      ":was": {"N": str(known.full_at)}, ":was_i": {"N": str(known.interval_us)}})
        elif known.full_at > last_allowed:  # empty
            return Taken(False, known, known.full_at - last_allowed, writes)
        else:  # draining: take what is left, at most k
            granted = True
            k = min(want, burst - -(-(known.full_at - now_us) // interval_us))  # whole tokens left (≥ 1: not empty)
            write = ("SET #f = #f + :ki, #x = :x", "#f > :now AND #f <= :last AND #i = :i",
                     {":ki": {"N": str(k * interval_us)}, ":i": interval, ":x": expires, ":now": now,
                      ":last": {"N": str(now_us + (burst - k) * interval_us)}})
        writes += 1
        stored, known = _write(pk, *write)
        if stored and granted:
            return Taken(True, known, 0, writes, k)
    # Only reached when lost races keep changing the state (containers still on an old limit
    # recounting it back meanwhile): refuse rather than loop.
    return Taken(False, known, interval_us, writes)


def _write(pk: str, update: str, condition: str, values: dict, names: dict = _NAMES) -> tuple[bool, State | None]:
    """One conditional UpdateItem: (True, the new state), or (False, the stored state or None)."""
    client = RateBucket._get_connection().connection.client  # the models' client: no second one on a cold start
    try:
        out = client.update_item(
            TableName=get_settings().table_name, Key={"pk": {"S": pk}, "sk": {"S": SK}}, UpdateExpression=update,
            ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except client.exceptions.ConditionalCheckFailedException as e:
        return False, _state(e.response.get("Item"))
    return True, _state(out["Attributes"])


def _state(item: dict | None) -> State | None:
    if not item or "full_at" not in item or "interval" not in item:
        return None
    return State(int(item["full_at"]["N"]), int(item["interval"]["N"]))
