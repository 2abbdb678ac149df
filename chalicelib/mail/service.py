"""Mail (邮件, WORK-5): sending from a record with templates, shared mailboxes, the suppression list and
unsubscribe links, and reading a mail with its visibility rule. Bulk sends: campaigns.py; inbound: inbound.py.

Who sees a mail: its owner's data scope (the engine's), the members of the shared mailbox it is in
(its record team), and whoever may read a record it is linked to (GET /v1/mail/messages/{id}; the
record's timeline lists it through models.MailLink).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from ..core import clock, ids
from ..core.errors import Forbidden, NotFound, Unavailable, ValidationFailed, detail
from ..core.permissions import Principal
from ..core.settings import get_settings
from ..db import query, tx
from ..db.base import plain
from ..engine import registry, store, visibility
from ..engine import service as engine
from ..org import service as org
from . import mime, templates
from .entity import MAIL
from .models import Mailbox, MailLink, MailSettings, MailTemplate, MessageIndex, Recipient, Suppression

MODULE = "mail"
ADDRESS_FIELDS = ("email",)  # the record fields that hold an address (contacts, customers, leads)


# ---- addresses and the tenant ----------------------------------------------------------------------
def tenant_domain(tenant_id: str) -> str:
    """Every tenant sends from and receives at its own subdomain of the mail domain: <tenant>.<domain>."""
    return f"{tenant_id.lower()}.{get_settings().mail_domain}"


def default_address(tenant_id: str) -> str:
    return f"mail@{tenant_domain(tenant_id)}"


def tenant_of(address: str) -> str | None:
    """The tenant an inbound address belongs to (<anything>@<tenant>.<mail domain>), if any."""
    _, _, host = address.lower().rpartition("@")
    suffix = "." + get_settings().mail_domain.lower()
    if host.endswith(suffix):
        sub = host[: -len(suffix)]
        return sub if sub and "." not in sub else None
    return None


def _norm(address: str | None) -> str:
    return (address or "").strip().lower()


# ---- settings: the unsubscribe secret ---------------------------------------------------------------
def _secret(tenant_id: str, *, create: bool = True) -> bytes:
    """The tenant's unsubscribe signing key, made on its first bulk mail (`create=False`: a link's check never
    writes anything — an unknown tenant has none, and its links are all the same 404)."""
    pk, sk = MailSettings.key(tenant_id)
    try:
        return MailSettings.get(pk, sk).secret.encode()
    except DoesNotExist:
        if not create:
            raise
    item = MailSettings(pk=pk, sk=sk, tenant_id=tenant_id, secret=secrets.token_urlsafe(32), extra={})
    try:
        item.save(condition=MailSettings.pk.does_not_exist())
    except PutError:
        return MailSettings.get(pk, sk, consistent_read=True).secret.encode()
    return item.secret.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(tenant_id: str, address: str, campaign_id: str | None, secret: bytes | None = None) -> str:
    payload = _b64(json.dumps({"a": _norm(address), "c": campaign_id}, separators=(",", ":")).encode())
    key = secret or _secret(tenant_id)
    sig = _b64(hmac.new(key, f"{tenant_id}.{payload}".encode(), hashlib.sha256).digest()[:20])
    return f"{tenant_id}.{payload}.{sig}"


def unsubscribe_url(token: str) -> str:
    return f"{get_settings().mail_public_url.rstrip('/')}/v1/mail/unsubscribe/{token}"


def _verify(token: str) -> tuple[str, str, str | None]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 1000:
        raise NotFound("mail.unsubscribe_link")
    tenant_id, payload, sig = parts
    try:
        want = _b64(hmac.new(_secret(tenant_id, create=False), f"{tenant_id}.{payload}".encode(), hashlib.sha256).digest()[:20])
        data = json.loads(_unb64(payload))
    except Exception:  # noqa: BLE001 - any malformed token is the same 404
        raise NotFound("mail.unsubscribe_link") from None
    if not hmac.compare_digest(want, sig) or not isinstance(data, dict) or not data.get("a"):
        raise NotFound("mail.unsubscribe_link")
    return tenant_id, str(data["a"]), data.get("c")


def unsubscribe(token: str) -> dict[str, Any]:
    """The signed link of a bulk mail: the address goes on the tenant's suppression list (idempotent)."""
    tenant_id, address, campaign_id = _verify(token)
    item = Suppression(pk=Suppression.partition(tenant_id), sk=address, tenant_id=tenant_id, address=address,
                       campaign_id=campaign_id, created_at=clock.now_iso())
    try:
        item.save(condition=Suppression.pk.does_not_exist())
    except PutError:
        pass  # already unsubscribed
    from ..core.permissions import mask

    return {"address": mask(address), "unsubscribed": True}


def unsubscribe_status(token: str) -> dict[str, Any]:
    """GET of the link: what it would do, writing nothing — mail scanners and link previews open every
    link of a mail, so only the POST (the page's button, or the RFC 8058 one-click POST) unsubscribes."""
    tenant_id, address, _ = _verify(token)
    from ..core.permissions import mask

    return {"address": mask(address), "unsubscribed": suppressed(tenant_id, address)}


def suppressed(tenant_id: str, address: str) -> bool:
    try:
        Suppression.get(Suppression.partition(tenant_id), _norm(address))
        return True
    except DoesNotExist:
        return False


def suppress(address: str) -> dict[str, Any]:
    """An administrator puts an address on the suppression list (someone asked not to get mail)."""
    p = org.principal()
    p.require(MODULE, "manage")
    address = _norm(address)
    item = Suppression(pk=Suppression.partition(p.tenant_id), sk=address, tenant_id=p.tenant_id, address=address,
                       reason="manual", created_at=clock.now_iso())
    try:
        item.save(condition=Suppression.pk.does_not_exist())
    except PutError:
        item = Suppression.get(item.pk, item.sk)
    return {"address": item.address, "reason": item.reason, "campaign_id": item.campaign_id, "created_at": item.created_at}


def suppressions(limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    items, nxt = query.page(Suppression, Suppression.partition(p.tenant_id), limit=limit, cursor=cursor)
    return {"items": [{"address": s.address, "reason": s.reason, "campaign_id": s.campaign_id, "created_at": s.created_at}
                      for s in items if isinstance(s, Suppression)], "next_cursor": nxt}


# ---- mailboxes --------------------------------------------------------------------------------------
def _mailbox_out(m: Mailbox) -> dict[str, Any]:
    return {"id": m.id, "address": m.address, "name": m.name, "kind": m.kind, "member_ids": list(m.member_ids or []),
            "owner_id": m.owner_id, "version": m.version, "created_at": m.created_at}


def create_mailbox(body: Mapping[str, Any]) -> dict[str, Any]:
    """A shared team mailbox (admins: mail manage). Its address is on the tenant's mail domain."""
    p = org.principal()
    p.require(MODULE, "manage")
    local = _norm(body["local_part"])
    address = f"{local}@{tenant_domain(p.tenant_id)}"
    members = list(dict.fromkeys(body.get("member_ids") or []))
    bad = [u for u in members if u not in p.org.users or not p.org.users[u].active]
    if bad:
        raise ValidationFailed(details=[detail("member_ids", "not_found", "field.user")])
    if list(Mailbox.gsi2.query(Mailbox.by_address(p.tenant_id, address), limit=1)):
        raise ValidationFailed("MAILBOX_TAKEN", address=address, details=[detail("local_part", "unique", "mail.mailbox_taken")])
    now, mid = clock.now_iso(), ids.new_id()
    pk, sk = Mailbox.key(p.tenant_id, mid)
    m = Mailbox(pk=pk, sk=sk, tenant_id=p.tenant_id, id=mid, address=address, name=body["name"], kind="shared",
                member_ids=members, owner_id=body.get("owner_id") or p.user_id, created_at=now, created_by=p.user_id,
                updated_at=now, updated_by=p.user_id, gsi1pk=Mailbox.listing(p.tenant_id), gsi1sk=address,
                gsi2pk=Mailbox.by_address(p.tenant_id, address), gsi2sk="#")
    m.save(condition=Mailbox.pk.does_not_exist())
    return _mailbox_out(m)


def _mailbox(tenant_id: str, mailbox_id: str) -> Mailbox:
    try:
        m = Mailbox.get(*Mailbox.key(tenant_id, mailbox_id))
    except DoesNotExist:
        raise NotFound("entity.mailbox") from None
    return m


def mailbox_by_address(tenant_id: str, address: str) -> Mailbox | None:
    for m in Mailbox.gsi2.query(Mailbox.by_address(tenant_id, _norm(address)), limit=1):
        if isinstance(m, Mailbox):
            return m
    return None


def _may_use(p: Principal, m: Mailbox) -> bool:
    return p.user_id == m.owner_id or p.user_id in (m.member_ids or []) or p.can(MODULE, "manage")


def sending_mailbox(p: Principal, mailbox_id: str | None) -> Mailbox | None:
    """The shared mailbox a mail goes out from (None: the sender's own address): it must exist and the
    sender must be its owner, a member or a mail administrator — for one mail and for every bulk send,
    checked when it is asked for and again when the job sends (membership may have changed)."""
    if not mailbox_id:
        return None
    mailbox = _mailbox(p.tenant_id, mailbox_id)
    if not _may_use(p, mailbox):
        raise Forbidden()
    return mailbox


def list_mailboxes() -> dict[str, Any]:
    """Admins: every mailbox; others: the mailboxes they are members of."""
    p = org.principal()
    p.require(MODULE, "read")
    items = [m for m in Mailbox.gsi1.query(Mailbox.listing(p.tenant_id)) if isinstance(m, Mailbox)]
    return {"items": [_mailbox_out(m) for m in items if _may_use(p, m)]}


def mailbox_messages(mailbox_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """A mailbox's mails for its members (their record team grants), newest first."""
    p = org.principal()
    m = _mailbox(p.tenant_id, mailbox_id)
    if not _may_use(p, m):
        raise NotFound("entity.mailbox")
    from ..search import service as search
    from ..search.query import Filter

    q = {**params, "conditions": [Filter("mailbox_id", "eq", m.id)], "sort": params.get("sort") or "-created_at"}
    return search.list_page(p, engine.search_schema(MAIL), q, lambda src, who: engine.present(MAIL, src, who))


# ---- templates --------------------------------------------------------------------------------------
def _template_out(t: MailTemplate) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "subject": t.subject, "body_text": t.body_text, "body_html": t.body_html,
            "version": t.version, "created_at": t.created_at, "updated_at": t.updated_at}


def create_template(body: Mapping[str, Any]) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    templates.compile_(body["subject"], "subject")
    templates.compile_(body["body_text"], "body_text")
    if body.get("body_html"):
        templates.compile_(body["body_html"], "body_html", html=True)
    now, tid = clock.now_iso(), ids.new_id()
    pk, sk = MailTemplate.key(p.tenant_id, tid)
    t = MailTemplate(pk=pk, sk=sk, tenant_id=p.tenant_id, id=tid, name=body["name"], subject=body["subject"],
                     body_text=body["body_text"], body_html=body.get("body_html"), created_at=now, created_by=p.user_id,
                     updated_at=now, updated_by=p.user_id, gsi1pk=MailTemplate.listing(p.tenant_id), gsi1sk=f"{now}#{tid}")
    t.save(condition=MailTemplate.pk.does_not_exist())
    return _template_out(t)


def list_templates() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    return {"items": [_template_out(t) for t in MailTemplate.gsi1.query(MailTemplate.listing(p.tenant_id))
                      if isinstance(t, MailTemplate)]}


def template_of(tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The subject and bodies to render: a saved template's, or the request's own; 422 when neither."""
    if body.get("template_id"):
        try:
            t = MailTemplate.get(*MailTemplate.key(tenant_id, str(body["template_id"])))
        except DoesNotExist:
            raise ValidationFailed(details=[detail("template_id", "not_found", "mail.template_unknown")]) from None
        return {"subject": t.subject, "body_text": t.body_text, "body_html": t.body_html}
    if not body.get("subject") or not (body.get("body_text") or body.get("body_html")):
        raise ValidationFailed(details=[detail("template_id", "missing", "mail.template_or_body")])
    return {"subject": body["subject"], "body_text": body.get("body_text"), "body_html": body.get("body_html")}


def variables(p: Principal, d: Any, rec: store.EntityRecord, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a template may use: the record as the sender may see it (hidden fields absent)."""
    return variables_of(p, {**visibility.values(p, d, plain(rec.data or {})), "id": rec.id}, extra)


def variables_of(p: Principal, shown: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The same from a record already shaped for the sender (a list's row: engine.present)."""
    return {"record": dict(shown), "sender": {"name": org.user_name(p.tenant_id, p.user_id)},
            "today": clock.now().date().isoformat(), **(extra or {})}


def rendered(tpl: Mapping[str, Any], variables_: dict[str, Any]) -> dict[str, Any]:
    subject = (templates.render(tpl["subject"], variables_, "subject") or "").replace("\n", " ").strip()[:300]
    html = templates.render(tpl.get("body_html"), variables_, "body_html", html=True) if tpl.get("body_html") else None
    text = templates.render(tpl.get("body_text"), variables_, "body_text") if tpl.get("body_text") else None
    if text is None and html is not None:
        text = mime.html_to_text(html)
    return {"subject": subject, "body_text": text or "", "body_html": html}


# ---- writing a mail ---------------------------------------------------------------------------------
def link_ops(tenant_id: str, mail_id: str, links: Iterable[tuple[str, str]], *, direction: str, subject: str | None,
             from_addr: str | None, thread_id: str | None, at: str) -> list[tx.Op]:
    """The mail on each linked record's timeline (models.MailLink, in the record's collection)."""
    ops = []
    for entity, record_id in dict.fromkeys((e.upper(), r) for e, r in links):
        ops.append(tx.put(MailLink(
            pk=store.record_key(tenant_id, MAIL.entity, mail_id)[0], sk=f"LINK#{entity}#{record_id}", tenant_id=tenant_id,
            mail_id=mail_id, entity=entity, record_id=record_id, direction=direction, subject=subject, from_addr=from_addr,
            thread_id=thread_id, created_at=at, gsi3pk=store.parent_partition(tenant_id, entity, record_id),
            gsi3sk=f"MAIL#{at}#{mail_id}")))
    return ops


def index_op(tenant_id: str, message_id: str, mail_id: str, thread_id: str, source: str | None = None, *,
             owner_id: str | None = None, mailbox_id: str | None = None) -> tx.Op:
    pk, sk = MessageIndex.key(tenant_id, message_id)
    return tx.put(MessageIndex(pk=pk, sk=sk, tenant_id=tenant_id, mail_id=mail_id, thread_id=thread_id, source=source,
                               owner_id=owner_id, mailbox_id=mailbox_id),
                  condition=MessageIndex.pk.does_not_exist(), on_conflict=lambda: _Seen())


class _Seen(Exception):
    """This Message-ID is already stored (a redelivered inbound mail)."""


def links_of(tenant_id: str, mail_id: str) -> list[tuple[str, str]]:
    """The records a mail (or a bulk send's message) is linked to: one Query of its link items."""
    pk = store.record_key(tenant_id, MAIL.entity, mail_id)[0]
    return [(i.entity, i.record_id) for i in MailLink.query(pk, MailLink.sk.startswith("LINK#")) if isinstance(i, MailLink)]


def message(tenant_id: str, message_id: str | None) -> MessageIndex | None:
    if not message_id:
        return None
    try:
        return MessageIndex.get(*MessageIndex.key(tenant_id, message_id))
    except DoesNotExist:
        return None


def write(p: Principal, values: dict[str, Any], links: list[tuple[str, str]], *, members: Iterable[str] = (),
          owner_id: str | None = None, source: str | None = None, extra: list[tx.Op] | None = None) -> dict[str, Any] | None:
    """One mail record, linked to `links`, on their timelines, with its Message-ID indexed — one transaction.
    None when the Message-ID is already stored (idempotent inbound)."""
    body = {**{k: v for k, v in values.items() if v not in (None, "", [])},
            "links": [{"record": {"entity": e.lower(), "id": r}} for e, r in links]}
    if owner_id:
        body["owner_id"] = owner_id
    r = _Resolver(p, {(e.lower(), i) for e, i in links})
    wc, custom, owner = engine.checked(MAIL, p, body, r)
    draft = engine.built(MAIL, p, wc, custom, owner)
    rec = draft.record
    rec.team = {u: {"access": "read", "until": None} for u in dict.fromkeys(members) if u != owner}
    at = rec.created_at
    ops = [*draft.ops, *link_ops(p.tenant_id, rec.id, links, direction=values["direction"], subject=values.get("subject"),
                                 from_addr=values.get("from_addr"), thread_id=values.get("thread_id"), at=at), *(extra or [])]
    if values.get("message_id"):
        ops.append(index_op(p.tenant_id, values["message_id"], rec.id, values.get("thread_id") or values["message_id"], source,
                            owner_id=rec.owner_id, mailbox_id=values.get("mailbox_id")))
    try:
        tx.write(ops)
    except _Seen:
        return None
    engine.finish(draft)
    return engine.out(MAIL, rec, p)


class _Resolver(engine.TenantResolver):
    """Links the mail service found itself (by address, by thread) are good without the actor's read right:
    who may read them is decided when they are read."""

    def __init__(self, p: Principal, known: set[tuple[str, str]]) -> None:
        super().__init__(p)
        for e, i in known:
            self.expecting(e, i)
            self.expecting(e.upper(), i)


def _send(raw: bytes, sender: str, recipients: list[str]) -> str:
    from ..ports import mail as port

    try:
        return port.send_raw(raw, sender, recipients)
    except Exception as e:  # noqa: BLE001 - the provider refused or is away: the caller hears 503
        from ..core.observability import logger

        logger.warning("mail not sent", extra={"error": str(e)[:300]})
        raise Unavailable("MAIL_SEND_FAILED") from None


def require_sending() -> None:
    """Mail is sent only where the deployment has a mail service (CRM_MAIL_ENABLED; off in the China
    regions, which have no SES): otherwise 503 MAIL_DISABLED, before anything is queued or logged."""
    if not get_settings().mail_enabled:
        raise Unavailable("MAIL_DISABLED")


def send_from_record(body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v1/mail/send: one mail about a record (to its address unless `to` is given), rendered from a
    template with the record's values as the sender may see them; logged on the record's timeline."""
    p = org.principal()
    p.require(MODULE, "create")
    require_sending()
    ref = body["record"]
    d = registry.find(str(ref["entity"]), p.tenant_id)
    if d is None:
        raise ValidationFailed(details=[detail("record.entity", "unknown", "object.unknown_type")])
    rec = engine.load(d, p, str(ref["id"]), "read")
    variables_ = variables(p, d, rec)
    to = [_norm(a) for a in (body.get("to") or []) if a]
    if not to:
        address = next((variables_["record"].get(f) for f in ADDRESS_FIELDS if variables_["record"].get(f)), None)
        if not address:
            raise ValidationFailed(details=[detail("to", "missing", "mail.no_address")])
        to = [_norm(address)]
    cc = [_norm(a) for a in (body.get("cc") or []) if a]
    content = rendered(template_of(p.tenant_id, body), variables_)
    mailbox = sending_mailbox(p, body.get("mailbox_id"))
    sender = mailbox.address if mailbox else default_address(p.tenant_id)
    sender_name = mailbox.name if mailbox else org.user_name(p.tenant_id, p.user_id)
    message_id = mime.new_message_id(tenant_domain(p.tenant_id))
    earlier = message(p.tenant_id, body.get("in_reply_to")) if body.get("in_reply_to") else None
    thread = earlier.thread_id if earlier else message_id
    raw = mime.build(sender=sender, sender_name=sender_name, to=to, cc=cc, subject=content["subject"],
                     text=content["body_text"], html=content["body_html"], message_id=message_id,
                     in_reply_to=body.get("in_reply_to"), reply_to=sender, date=clock.now())
    _send(raw, sender, [*to, *cc])
    values = {"direction": "out", "subject": content["subject"], "from_addr": sender, "from_name": sender_name,
              "to": ", ".join(to), "cc": ", ".join(cc) or None, "body_text": content["body_text"][:100_000],
              "body_html": (content["body_html"] or None) and content["body_html"][:150_000], "message_id": message_id,
              "in_reply_to": body.get("in_reply_to"), "thread_id": thread, "mailbox_id": mailbox.id if mailbox else None,
              "status": "sent", "sent_at": clock.now_iso()}
    links = [(d.entity, rec.id), *_related_links(p.tenant_id, d, rec)]
    out = write(p, values, links, members=(mailbox.member_ids if mailbox else ()))
    assert out is not None
    return out


def _related_links(tenant_id: str, d: Any, rec: store.EntityRecord | Mapping[str, Any]) -> list[tuple[str, str]]:
    """A contact's mail is also its customer's."""
    if d.name == "contact":
        data = rec if isinstance(rec, Mapping) else (rec.data or {})
        ref = data.get("customer")
        if isinstance(ref, Mapping) and ref.get("id"):
            return [("CUSTOMER", str(ref["id"]))]
    return []


# ---- reading a mail ---------------------------------------------------------------------------------
def get_mail(mail_id: str) -> dict[str, Any]:
    """A mail for whoever may read it (engine scope / mailbox team), or read a record it is linked to."""
    p = org.principal()
    rec = store.get(p.tenant_id, MAIL.entity, mail_id, MAIL.name_key)
    if p.can(MODULE, "read") and p.record_access(MAIL.module, rec.owner_id, rec.team, clock.now_iso()) is not None:
        return engine.out(MAIL, rec, p)
    for row in (rec.data or {}).get("links") or []:
        ref = (row or {}).get("record") or {}
        d = registry.find(str(ref.get("entity") or ""), p.tenant_id)
        if d is None:
            continue
        try:
            engine.load(d, p, str(ref.get("id")), "read")
        except (NotFound, Forbidden):
            continue
        shown = engine.out(MAIL, rec, p)
        return {**shown, "access": "read"}
    raise NotFound(MAIL.name_key)


def recipients(campaign_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    p = org.principal()
    from ..jobs import service as jobs

    jobs.readable(p, campaign_id, "mail_campaign")
    items, nxt = query.page(Recipient, Recipient.partition(p.tenant_id, campaign_id), limit=limit, cursor=cursor)
    return {"items": [{"record": {"entity": r.entity.lower(), "id": r.record_id}, "address": r.address, "name": r.name,
                       "status": r.status, "mail_id": r.mail_id, "error": r.error, "updated_at": r.updated_at}
                      for r in items if isinstance(r, Recipient)], "next_cursor": nxt}
