"""Mail items besides the `mail` records themselves (entity.py): mailboxes, the links that put a mail
on the timelines of the records it concerns, the suppression list, per-recipient send logs of bulk
sends, and the tenant's mail settings.

Key design:
- Mailbox:      pk = T#<t>#MAILBOX#<id>, sk = "#"          -> a mailbox by id: one GetItem.
                gsi1pk = T#<t>#MAILBOXES, gsi1sk = <address> -> the tenant's mailboxes (admins), one Query.
                gsi2pk = T#<t>#MAILADDR#<address>, gsi2sk = "#" -> the mailbox of an inbound address, one Query.
- MailLink:     pk = T#<t>#MAIL#<mail id>, sk = LINK#<ENTITY>#<record id>
                gsi3pk = the record's collection (engine store.parent_partition), gsi3sk = MAIL#<at>#<mail id>
                -> a record's mails in its timeline: the same Query of its collection as its children.
- Suppression:  pk = T#<t>#MAILSUPP, sk = <address (lower case)> -> is an address unsubscribed: one GetItem;
                the list: one Query.
- Recipient:    pk = T#<t>#CAMPAIGN#<job id>, sk = R#<record id> -> a bulk send's log, one Query;
                written (queued) before the send and settled after (with the `mail` record it sent):
                a resumed job never sends twice.
- MailSettings: pk = T#<t>#MAILSET, sk = "#" -> the tenant's unsubscribe signing secret.
- Thread index: pk = T#<t>#MAILMSGID#<Message-ID>, sk = "#" -> the mail holding a Message-ID (threads,
                inbound idempotency), written with the mail.
- MailboxMail:  pk = T#<t>#MAILBOX#<id> (the mailbox's own partition), sk = MAIL#<created>#<mail id>
                -> a mailbox's mails, oldest first, read consistently in pages: what the job that re-stamps
                their record team after a membership change walks (written with the mail).
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned

RECORD_SK = "#"


class Mailbox(Versioned, discriminator="MAILBOX"):
    id = UnicodeAttribute()
    address = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute(default="shared")  # shared | personal
    member_ids = ListAttribute(of=UnicodeAttribute, default=list)
    owner_id = UnicodeAttribute()  # whose mails they are in the record engine (the data scope's owner)

    def values(self) -> dict:  # what the audit log compares (db.changes)
        return {"name": self.name, "member_ids": list(self.member_ids or []), "owner_id": self.owner_id}

    @staticmethod
    def key(tenant_id: str, mailbox_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "MAILBOX", mailbox_id), RECORD_SK

    @staticmethod
    def listing(tenant_id: str) -> str:
        return keys.k(tenant_id, "MAILBOXES")

    @staticmethod
    def by_address(tenant_id: str, address: str) -> str:
        return keys.k(tenant_id, "MAILADDR", address.lower())


class MailboxMail(Item, discriminator="MAILBOXMAIL"):
    """A mail in a mailbox (its record team follows the mailbox's members: service.restamp)."""

    mail_id = UnicodeAttribute()

    @staticmethod
    def sort_key(created_at: str, mail_id: str) -> str:
        return f"MAIL#{created_at}#{mail_id}"


class MailLink(Item, discriminator="MAILLINK"):
    """A mail shown in a linked record's timeline (engine.service.timeline reads `timeline_entry`)."""

    mail_id = UnicodeAttribute()
    entity = UnicodeAttribute()
    record_id = UnicodeAttribute()
    direction = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    from_addr = UnicodeAttribute(null=True)
    thread_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    def timeline_entry(self) -> dict:
        return {"at": self.created_at, "kind": "mail", "id": self.mail_id, "direction": self.direction,
                "title": self.subject, "from": self.from_addr, "thread_id": self.thread_id}


class Suppression(Item, discriminator="MAILSUPP"):
    address = UnicodeAttribute()
    reason = UnicodeAttribute(default="unsubscribed")
    campaign_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    @staticmethod
    def partition(tenant_id: str) -> str:
        return keys.k(tenant_id, "MAILSUPP")


class Recipient(Item, discriminator="MAILRCPT"):
    campaign_id = UnicodeAttribute()
    record_id = UnicodeAttribute()
    entity = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # queued | sent | skipped_unsubscribed | skipped_no_address | failed
    mail_id = UnicodeAttribute(null=True)  # the `mail` record sent
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()

    @staticmethod
    def partition(tenant_id: str, campaign_id: str) -> str:
        return keys.k(tenant_id, "CAMPAIGN", campaign_id)


class MailSettings(Item, discriminator="MAILSET"):
    secret = UnicodeAttribute()
    extra = JSONAttribute(default=dict)

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "MAILSET"), RECORD_SK


class MessageIndex(Item, discriminator="MAILMSGID"):
    mail_id = UnicodeAttribute()
    thread_id = UnicodeAttribute()
    source = UnicodeAttribute(null=True)  # the S3 key of an inbound mail
    owner_id = UnicodeAttribute(null=True)  # whose mail it is (a reply goes to them)
    mailbox_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, message_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "MAILMSGID", message_id.strip().strip("<>").lower()[:300]), RECORD_SK


class MailTemplate(Versioned, discriminator="MAILTPL"):
    """A saved template: pk = T#<t>#MAILTPL#<id>, sk = "#"; gsi1pk = T#<t>#MAILTPLS -> the tenant's templates."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    subject = UnicodeAttribute()
    body_text = UnicodeAttribute()
    body_html = UnicodeAttribute(null=True)

    @staticmethod
    def key(tenant_id: str, template_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "MAILTPL", template_id), RECORD_SK

    @staticmethod
    def listing(tenant_id: str) -> str:
        return keys.k(tenant_id, "MAILTPLS")
