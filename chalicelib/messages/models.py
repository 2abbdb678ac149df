"""Conversations (内部消息): direct and group, their messages, members' read markers, mailboxes.

Key design (every key starts with the tenant):
- Conversation: pk = T#<t>#CONV#<cid>, sk = "#" -> one GetItem. A direct conversation's id is
  derived from its two members (`d` + hash of the sorted pair), so there is one per pair and
  opening it twice finds the same one; a group's id is a new id.
- Member:       pk = T#<t>#CONV#<cid>, sk = M#<user> -> membership check (GetItem) and the
  conversation's members (Query on the conversation's partition, sk begins with M#).
  While active it carries gsi1pk = T#<t>#CONVS#<user>, gsi1sk = <last activity ISO>#<cid>:
  a member's conversations sorted by last activity are one Query on gsi1, newest first, no scan.
  Every message rewrites each member's gsi1sk (the conversation's size is capped so one message
  is one transaction). A removed member or one who left loses gsi1 (and reading rights).
  `last_read_id` is the member's read marker, `unread` the messages of others after it.
- Message:      pk = T#<t>#CONV#<cid>, sk = MSG#<id> (ids sort by time) -> a conversation's
  messages, newest first, one Query per page; messages after a read marker or a moment, one Query.
  A group's system lines (X 加入了群聊 / X joined, X 离开了群聊 / X left) are messages of kind
  `system`; they count as nobody's unread message.
  A file sent in a message is linked to the message (entity CONVERSATION, record id <cid>/<message
  id>): a member reads it when they may read that message (sent since they joined).
- Mailbox:      pk = T#<t>#MBOX#<user>, sk = "#" -> the user's `version` (bumped by every message
  to them and every notification delivered to them; what the long-poll waits on) and `unread`
  (unread messages over all their conversations): one GetItem.
"""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute

from ..db.base import Item


class Conversation(Item, discriminator="CONV"):
    id = UnicodeAttribute()
    kind = UnicodeAttribute()  # direct | group
    name = UnicodeAttribute(null=True)
    admin_ids = ListAttribute(of=UnicodeAttribute, default=list)
    member_ids = ListAttribute(of=UnicodeAttribute, default=list)  # active members
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    last_message_id = UnicodeAttribute(null=True)
    last_message_at = UnicodeAttribute(null=True)
    last_preview = UnicodeAttribute(null=True)
    last_sender_id = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class Member(Item, discriminator="CONVMEMBER"):
    conversation_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    joined_at = UnicodeAttribute()
    last_read_id = UnicodeAttribute(null=True)
    unread = NumberAttribute(default=0)
    left_at = UnicodeAttribute(null=True)


class Message(Item, discriminator="MSG"):
    id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute()
    file_ids = ListAttribute(of=UnicodeAttribute, null=True)
    created_at = UnicodeAttribute()
    kind = UnicodeAttribute(default="text")  # text | system (members added, removed, left)
    event = UnicodeAttribute(null=True)  # a system line: joined | left | removed (its text is written in the reader's language)
    user_ids = ListAttribute(of=UnicodeAttribute, null=True)  # a system line: who joined or left


class Mailbox(Item, discriminator="MBOX"):
    version = NumberAttribute(default=0)
    unread = NumberAttribute(default=0)
    changed_at = UnicodeAttribute(null=True)
