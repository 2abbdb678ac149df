"""The secret link of a user's iCalendar feed.

FeedLink: pk `T#<tenant>#CALFEED`, sk `<user id>` — one per user, got by the token's tenant and
user (one GetItem). Only the SHA-256 of the secret is stored; creating again rotates it,
deleting revokes it.
"""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from ..db import keys
from ..db.base import Item


class FeedLink(Item, discriminator="CAL_FEED"):
    user_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()

    @staticmethod
    def key(tenant_id: str, user_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "CALFEED"), user_id
