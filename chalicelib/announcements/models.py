"""Announcement columns and read receipts (the announcements themselves are engine records).

Key design:
- Column:  pk = T#<t>#ANNCOL, sk = C#<id> -> the tenant's columns (新闻/公告/规章制度…): one Query;
  one column: one GetItem. Each names who may publish in it (roles, users).
- Receipt: pk = T#<t>#ANNREAD#<announcement>, sk = U#<user> -> has this user read it (GetItem; the
  write is conditional, so reading twice keeps the first time) and who read it (one Query).
"""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute

from ..db.base import Item


class Column(Item, discriminator="ANNCOL"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    publisher_roles = ListAttribute(of=UnicodeAttribute, default=list)
    publisher_user_ids = ListAttribute(of=UnicodeAttribute, default=list)
    sort_order = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    created_at = UnicodeAttribute()


class Receipt(Item, discriminator="ANNREAD"):
    announcement_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    read_at = UnicodeAttribute()
