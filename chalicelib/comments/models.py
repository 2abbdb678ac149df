"""Comments (评论) on a record of any type that switches them on (EntityDef.features.comments).

Keys:
- pk = T#<t>#COMMENTS#<ENTITY>#<record id>, sk = C#<comment id (ULID, sorts by time)>
    -> a record's comments in order, one Query (strongly consistent: a comment just posted is listed).
- gsi3pk = the record's partition (its related records' collection), gsi3sk = COMMENT#<at>#<id>
    -> the record's timeline reads its comments in the same Query as its related records.
"""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item


class Comment(Item, discriminator="COMMENT"):
    id = UnicodeAttribute()
    entity = UnicodeAttribute()  # the record type's storage name (TASK)
    record_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    body = UnicodeAttribute()  # plain text, never HTML
    mentions = ListAttribute(default=list)  # user ids mentioned (explicit or @姓名)
    notified = ListAttribute(default=list)  # the mentioned users who could read the record and were told
    created_at = UnicodeAttribute()
    deleted_at = UnicodeAttribute(null=True)
    deleted_by = UnicodeAttribute(null=True)

    @staticmethod
    def partition(tenant_id: str, entity: str, record_id: str) -> str:
        return keys.k(tenant_id, "COMMENTS", entity, record_id)
