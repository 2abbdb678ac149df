"""In-app notifications (内部消息/系统通知).

Key design:
- Notification: pk = T#<t>#INBOX#<user>, sk = N#<id> (id sorts by time) -> my inbox, newest first.
  Unread ones also carry gsi1pk = T#<t>#INBOX#<user>#UNREAD (sparse; removed when read).
- UnreadCount:  pk = T#<t>#INBOX#<user>, sk = "#COUNT" -> the badge, one GetItem.
A delivery is one transaction: put the notification if its id is new + add 1 to the
count, so a repeated delivery (retries, replays) changes nothing.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db.base import Item


class Notification(Item, discriminator="NOTE"):
    id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    title = JSONAttribute()  # {"zh-CN": …, "en": …}
    body = JSONAttribute(null=True)
    link = JSONAttribute(null=True)  # {"entity": "customer", "id": "…"}
    created_at = UnicodeAttribute()
    read_at = UnicodeAttribute(null=True)


class UnreadCount(Item, discriminator="UNREAD"):
    count = NumberAttribute(default=0)
