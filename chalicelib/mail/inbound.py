"""Inbound mail (收信): SES receiving writes each mail to the mail bucket (inbound/…); S3 tells
functions/inbound_mail.py, which calls `receive(bucket, key)`.

1. Read (size-limited) and parse with the standard library (mime.parse).
2. The tenant: from a recipient address on <tenant>.<mail domain> (To, Cc, Delivered-To).
3. The thread: In-Reply-To, then References, against the Message-IDs the tenant sent or received
   (models.MessageIndex) -> the earlier mail's thread, owner, mailbox and linked records.
4. Links by address: contacts, customers and leads whose e-mail is the sender's (the duplicate-check
   keys of the search index, within the tenant), a contact's customer, and that customer's open
   opportunities.
5. Whose mail: the earlier mail's owner, else the mailbox addressed (a shared mailbox: its owner, read
   by its members), else the owner of the first linked record; nobody -> dropped (logged).
6. Attachments saved through the files service (as the mail's owner) and attached to the mail.
Idempotent: the Message-ID (or, without one, the S3 key) is stored once; a redelivery writes nothing.

SES's verdicts: a mail with a virus is dropped; one whose sender is not authenticated (spam, or neither
SPF nor DKIM passed: anyone can write a customer's address in From) is kept for whom it reached (the
thread's owner or the mailbox addressed) but linked to no record, so a forged mail never lands on a
customer's timeline or in the hands of its owner.
"""
from __future__ import annotations

import hashlib
from typing import Any

from ..core import context
from ..core.observability import logger
from ..core.settings import get_settings
from ..engine import registry
from ..org import service as org
from . import mime, service

LINK_TYPES = ("contact", "customer", "lead")


def receive(bucket: str | None, key: str) -> str:
    """One inbound mail object -> 'stored' | 'duplicate' | 'dropped' | 'too_large'."""
    from ..ports import mail as port

    try:
        raw = port.read_inbound(key, bucket, get_settings().mail_inbound_max_bytes)
    except ValueError:
        logger.warning("inbound mail over the size limit", extra={"key": key})
        return "too_large"
    return receive_raw(raw, key)


def receive_raw(raw: bytes, source: str) -> str:
    parsed = mime.parse(raw)
    if parsed.infected:
        logger.warning("inbound mail with a virus dropped", extra={"key": source})
        return "dropped"
    tenant_id = next((t for a in [*parsed.to, *parsed.cc, *parsed.delivered_to] if (t := service.tenant_of(a))), None)
    if tenant_id is None or not _tenant_exists(tenant_id):
        logger.warning("inbound mail for no tenant", extra={"key": source})
        return "dropped"
    message_id = parsed.message_id or f"<s3.{hashlib.sha256(source.encode()).hexdigest()[:32]}@{service.tenant_domain(tenant_id)}>"
    if service.message(tenant_id, message_id) is not None:
        return "duplicate"
    earlier = None
    for ref in [parsed.in_reply_to, *reversed(parsed.references)]:
        earlier = service.message(tenant_id, ref)
        if earlier is not None:
            break
    links: list[tuple[str, str]] = []
    if parsed.authenticated:
        links = service.links_of(tenant_id, earlier.mail_id) if earlier else []
        links += [x for x in by_address(tenant_id, parsed.from_addr) if x not in links]
    mailbox = None
    for a in [*parsed.to, *parsed.cc, *parsed.delivered_to]:
        if service.tenant_of(a) == tenant_id:
            mailbox = service.mailbox_by_address(tenant_id, a)
            if mailbox is not None:
                break
    if mailbox is None and earlier is not None and earlier.mailbox_id:
        try:
            mailbox = service._mailbox(tenant_id, earlier.mailbox_id)
        except Exception:  # noqa: BLE001 - the mailbox was removed: the mail still lands with its owner
            mailbox = None
    owner = (earlier.owner_id if earlier else None) or (mailbox.owner_id if mailbox else None) or _owner_of(tenant_id, links)
    users = org.load(tenant_id).snapshot.users
    if not owner or owner not in users or not users[owner].active:
        logger.warning("inbound mail with nobody to hold it", extra={"key": source, "tenant_id": tenant_id})
        return "dropped"
    with context.acting_as(context.RequestContext(tenant_id=tenant_id, user_id=owner)):
        p = org.principal()
        files = [_save(p, a) for a in parsed.attachments]
        values = {"direction": "in", "subject": parsed.subject, "from_addr": parsed.from_addr,
                  "from_name": (parsed.from_name or "")[:200] or None, "to": ", ".join(parsed.to)[:4000],
                  "cc": ", ".join(parsed.cc)[:4000] or None, "body_text": parsed.text, "message_id": message_id[:300],
                  "in_reply_to": parsed.in_reply_to, "thread_id": earlier.thread_id if earlier else message_id[:300],
                  "mailbox_id": mailbox.id if mailbox else None, "status": "received",
                  "sent_at": parsed.date.isoformat() if parsed.date else None,
                  "attachments": [f["id"] for f in files] or None}
        out = service.write(p, values, links[:50], mailbox=mailbox, owner_id=owner,
                            source=source)
    return "stored" if out is not None else "duplicate"


def _tenant_exists(tenant_id: str) -> bool:
    try:
        return bool(org.load(tenant_id).snapshot.users)
    except Exception:  # noqa: BLE001 - an unknown tenant
        return False


def _save(p: Any, a: mime.Attachment) -> dict[str, Any]:
    from ..files import service as files

    return files.save_bytes(p.tenant_id, p.user_id, a.name, a.content_type, a.data)


def by_address(tenant_id: str, address: str | None) -> list[tuple[str, str]]:
    """Contacts, customers and leads of the tenant whose e-mail is `address` (whoever owns them), a
    contact's customer, and the open opportunities of those customers."""
    if not address:
        return []
    from ..duplicates import normalize
    from ..engine import store
    from ..search import service as search
    from ..search.query import EntityQuery, Filter, Scope, SearchRequest

    keys = normalize.field_keys({"email": "email"}, {"email": address}).get("email") or set()
    if not keys:
        return []
    field = normalize.index_field("email")
    queries = [EntityQuery(d.entity, Scope(owners=None), filters=(Filter(field, "in", sorted(keys)),))
               for name in LINK_TYPES if (d := registry.find(name)) is not None]
    res = search.run(SearchRequest(tenant_id, queries, limit=20))
    out: list[tuple[str, str]] = []
    customers: list[str] = []
    for h in res.hits:
        entity = h.entity.upper()
        out.append((entity, h.id))
        if entity == "CUSTOMER":
            customers.append(h.id)
        ref = h.source.get("customer")
        if entity == "CONTACT" and isinstance(ref, dict) and ref.get("id"):
            customers.append(str(ref["id"]))
            out.append(("CUSTOMER", str(ref["id"])))
    for cid in dict.fromkeys(customers):
        for child in store.collection(tenant_id, "CUSTOMER", cid):
            if child.entity == "OPPORTUNITY" and not child.deleted_at and \
                    (child.data or {}).get("status", "open") in ("open", None, ""):
                out.append(("OPPORTUNITY", child.id))
    return list(dict.fromkeys(out))


def _owner_of(tenant_id: str, links: list[tuple[str, str]]) -> str | None:
    from ..engine import store

    for entity, record_id in links:
        d = registry.find(entity)
        if d is None:
            continue
        try:
            return store.get(tenant_id, d.entity, record_id, d.name_key).owner_id
        except Exception:  # noqa: BLE001 - gone meanwhile
            continue
    return None
