"""Unique values within a tenant: one item per value, put with attribute_not_exists in the
same transaction as the write that takes it, so two writers can never both hold it.

Key design: pk = T#<t>#UQ#<kind>#<value>, sk = "UQ" (org: MOBILE; record types:
<ENTITY>.<field>); `owner_id` is the id of whatever holds the value (a user, a record).
"""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from .base import Item


class UniqueValue(Item, discriminator="UQ"):
    owner_id = UnicodeAttribute()
