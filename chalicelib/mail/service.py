"""Mail (邮件, WORK-5): sending from a record with templates, shared mailboxes, the suppression list and
unsubscribe links, and reading a mail with its visibility rule. Bulk sends: campaigns.py; inbound: inbound.py.

Who sees a mail: its owner's data scope (the engine's), the members of the shared mailbox it is in
(its record team), and whoever may read a record it is linked to (GET /v1/mail/messages/{id}; the
record's timeline lists it through models.MailLink).

A mailbox's members are stamped on each of its mails' record team, so every read path of the engine
(get, lists and search, attachments, timeline, exports) sees them with no mail-specific rule. When an
administrator changes the members (`update_mailbox`), a job (`restamp_job`) walks the mailbox's mails
(models.MailboxMail, a consistent Query in pages) and re-stamps each team: new members added, removed
ones dropped. A mail written while the members change is version-checked against the mailbox (`write`):
it is written with the members the mailbox has when it commits, so the walk never misses it.

Mails in the recycle bin are the mailbox's mails too: their entries stay while they are there, and the
walk re-stamps them as it does the others (their keys stay the bin's: store.update_ops), so a restore
brings a mail back with the members of now. A restore also stamps the members the mailbox has when it
commits (`restoring`, version-checked like a write) and puts the entry back if the mail had none; a
purge takes the entry with the mail (`purging`).
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
from .models import Mailbox, MailboxMail, MailLink, MailSettings, MailTemplate, MessageIndex, Recipient, Suppression

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
    bad = org.check_users(p, members, "member_ids")
    if bad:
        raise ValidationFailed(details=bad)
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


def _mailbox(tenant_id: str, mailbox_id: str, *, consistent: bool = False) -> Mailbox:
    try:
        m = Mailbox.get(*Mailbox.key(tenant_id, mailbox_id), consistent_read=consistent)
    except DoesNotExist:
        raise NotFound("entity.mailbox") from None
    return m


RESTAMP_KIND = "mail_mailbox_members"
MAX_MEMBERS = 200


def update_mailbox(mailbox_id: str, changes: Mapping[str, Any], expected: int) -> dict[str, Any]:
    """PATCH /v1/mail/mailboxes/{id} (mail manage): rename, add and remove members — at the version the
    caller read (409 when stale). A membership change queues the job that re-stamps the record team of
    the mailbox's mails (its id in `job_id`)."""
    p = org.principal()
    p.require(MODULE, "manage")
    m = _mailbox(p.tenant_id, mailbox_id)
    add = list(dict.fromkeys(changes.get("add_member_ids") or []))
    remove = list(dict.fromkeys(changes.get("remove_member_ids") or []))
    problems = org.check_users(p, add, "add_member_ids")
    problems += [detail(f"remove_member_ids.{i}", "conflict", "mail.member_both") for i, u in enumerate(remove) if u in add]
    if problems:
        raise ValidationFailed(details=problems)
    before = list(m.member_ids or [])
    members = [u for u in before if u not in remove] + [u for u in add if u not in before]
    if len(members) > MAX_MEMBERS:
        raise ValidationFailed(details=[detail("add_member_ids", "max_items", "mail.members_max", max=MAX_MEMBERS)])
    values: dict[str, Any] = {"member_ids": members}
    if changes.get("name") is not None:
        values["name"] = changes["name"]
    from ..db import changes as versioned

    versioned.save(m, "MAILBOX", m.id, p.user_id, values, expected)
    out = _mailbox_out(m)
    removed = [u for u in before if u not in members]
    if members != before:
        from ..jobs import service as jobs

        job = jobs.create(p, RESTAMP_KIND, {"mailbox_id": m.id, "removed": removed},
                          label=("邮箱成员变更", "Mailbox members changed"))
        out["job_id"] = job["id"]
    return out


def mailbox_team(team: Mapping[str, Any] | None, members: Iterable[str], owner_id: str,
                 removed: Iterable[str] = ()) -> dict[str, Any]:
    """A mail's record team as its mailbox's members make it: every member reads it (a grant it already
    has is kept as it is), and a removed member who is no longer one loses theirs."""
    members = [u for u in members if u != owner_id]
    gone = set(removed) - set(members)
    out = {u: g for u, g in plain(dict(team or {})).items() if u not in gone}
    for u in members:
        out.setdefault(u, {"access": "read", "until": None})
    return out


def restamp(p: Principal, mailbox: Mailbox, mail_ids: list[str], removed: Iterable[str] = (), attempts: int = 3) -> int:
    """Re-stamp the record team of these mails of `mailbox`, those in the recycle bin included (one
    consistent BatchGetItem, then one versioned write with its log entry per mail whose team moves); how
    many moved. A mail changed meanwhile (edited, deleted, restored) is read again; a purged one is gone."""
    from ..core.errors import Conflict
    from ..ports import events

    moved = 0
    removed = list(removed)
    left = list(mail_ids)
    with events.batched():
        for _ in range(attempts):
            retry: list[str] = []
            for rec in store.batch_get(p.tenant_id, MAIL.entity, left, consistent=True, include_deleted=True):
                team = mailbox_team(rec.team, mailbox.member_ids or [], rec.owner_id, removed)
                if team == plain(dict(rec.team or {})):
                    continue
                ops = store.update_ops(rec, p.user_id, None, int(rec.version), team=team, action="team")
                try:
                    tx.write(ops)
                except Conflict:
                    retry.append(rec.id)
                    continue
                moved += 1
                engine.publish(MAIL, "team_changed", rec, p.user_id, ["team"])
            if not retry:
                break
            left = retry
    return moved


RESTAMP_PAGE = 100


def _index_entries(tenant_id: str, mailbox: Mailbox, after: list[Any] | None) -> list[Any] | None:
    """One page of the mailbox's mails as the mail records say (the index's `mailbox_id`, what the mailbox's
    list reads; every owner), writing the MailboxMail entry of each — mails written before that entry existed
    have none. The position after the page, or None at the end."""
    from ..search.query import EntityQuery, Filter, Scope, SearchRequest
    from ..search.service import run

    res = run(SearchRequest(tenant_id, [EntityQuery(MAIL.entity, Scope(None))], filters=[Filter("mailbox_id", "eq", mailbox.id)],
                            sort=[("created_at", "asc")], limit=RESTAMP_PAGE, after=after))
    with MailboxMail.batch_write() as batch:  # the same key as the mail's own write: putting it again changes nothing
        for h in res.hits:
            created = str(h.source.get("created_at") or "")
            if created:
                batch.save(MailboxMail(pk=mailbox.pk, sk=MailboxMail.sort_key(created, h.id), tenant_id=tenant_id, mail_id=h.id))
    return res.after if len(res.hits) == RESTAMP_PAGE and res.after else None


def restamp_job(ctx: Any) -> bool:
    """The job of a membership change. First the mailbox's mails as their records say (the index, by
    `mailbox_id`) get the MailboxMail entry they lack; then its mails in pages of RESTAMP_PAGE (a consistent
    Query of models.MailboxMail), each page re-stamped against the members the mailbox has then; the
    checkpoint is the phase and the last page done, so a resumed or repeated invocation goes on from there
    (both steps are idempotent)."""
    p = ctx.principal
    p.require(MODULE, "manage")
    prm = ctx.job["params"]
    cp = dict(ctx.checkpoint or {})
    while not cp.get("indexed"):
        position = _index_entries(p.tenant_id, _mailbox(p.tenant_id, prm["mailbox_id"]), cp.get("index_after"))
        cp = {"index_after": position} if position else {"indexed": True}
        ctx.save(checkpoint=cp)
        if position and ctx.time_left() <= 0:
            return False
    after, done, moved = cp.get("after") or "MAIL#", int(cp.get("done") or 0), int(cp.get("moved") or 0)
    pk = Mailbox.key(p.tenant_id, prm["mailbox_id"])[0]
    while True:
        page = [e for e in MailboxMail.query(pk, MailboxMail.sk > after, limit=RESTAMP_PAGE, consistent_read=True)
                if isinstance(e, MailboxMail)]
        if not page:
            break
        mailbox = _mailbox(p.tenant_id, prm["mailbox_id"], consistent=True)  # its members now (a later change has its own job)
        moved += restamp(p, mailbox, [e.mail_id for e in page], prm.get("removed") or [])
        done += len(page)
        after = page[-1].sk
        ctx.save(checkpoint={"indexed": True, "after": after, "done": done, "moved": moved}, done=done)
        if len(page) < RESTAMP_PAGE:
            break
        if ctx.time_left() <= 0:
            return False
    ctx.finish(result={"mails": done, "moved": moved})
    return True


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


class _MailboxMoved(Exception):
    """The mailbox's members changed while a mail of it was being written (write() reads them again)."""


def mailbox_ops(mailbox: Mailbox, rec: store.EntityRecord) -> list[tx.Op]:
    """A mail's place in its mailbox (models.MailboxMail) and the check that the mailbox's members are the
    ones stamped on its team (the version read)."""
    return [tx.put(MailboxMail(pk=mailbox.pk, sk=MailboxMail.sort_key(rec.created_at, rec.id), tenant_id=rec.tenant_id,
                               mail_id=rec.id)),
            tx.check(Mailbox, mailbox.pk, mailbox.sk, Mailbox.version == mailbox.version, on_conflict=_MailboxMoved)]


def restoring(ctx: Any) -> None:
    """Before a mail of a mailbox leaves the recycle bin (engine hook before_restore): its team gets the
    members the mailbox has now (a member added while it was there reads it), checked against the
    mailbox's version in the restore's own transaction (409 when the members changed meanwhile: that
    change's job walks the mail, restore again), and its entry in the mailbox is put back (a mail from
    before the entries existed gets one, so the next change's walk finds it). Removed members were
    dropped by their change's job, which re-stamps mails in the bin too."""
    from ..core.errors import Conflict
    from ..db import audit

    rec = ctx.record
    mailbox_id = (rec.data or {}).get("mailbox_id")
    if not mailbox_id:
        return
    try:
        mailbox = _mailbox(rec.tenant_id, str(mailbox_id), consistent=True)
    except NotFound:
        return
    before = plain(dict(rec.team or {}))
    team = mailbox_team(before, mailbox.member_ids or [], rec.owner_id)
    if team != before:
        rec.team = team
        ctx.extra_ops.append(tx.put(audit.entry(rec.tenant_id, MAIL.entity, rec.id, "team", ctx.principal.user_id,
                                                audit.diff({"team": before or None}, {"team": team}))))
    ctx.extra_ops.extend([tx.put(MailboxMail(pk=mailbox.pk, sk=MailboxMail.sort_key(rec.created_at, rec.id),
                                             tenant_id=rec.tenant_id, mail_id=rec.id)),
                          tx.check(Mailbox, mailbox.pk, mailbox.sk, Mailbox.version == mailbox.version,
                                   on_conflict=Conflict)])


def purging(ctx: Any) -> None:
    """A mail purged from the recycle bin leaves its mailbox's entries with it (engine hook before_purge),
    so a later change's walk does not carry it."""
    rec = ctx.record
    mailbox_id = (rec.data or {}).get("mailbox_id")
    if mailbox_id:
        pk = Mailbox.key(rec.tenant_id, str(mailbox_id))[0]
        ctx.extra_ops.append(tx.delete(MailboxMail(pk=pk, sk=MailboxMail.sort_key(rec.created_at, rec.id),
                                                   tenant_id=rec.tenant_id, mail_id=rec.id)))


def write(p: Principal, values: dict[str, Any], links: list[tuple[str, str]], *, mailbox: Mailbox | None = None,
          owner_id: str | None = None, source: str | None = None, extra: list[tx.Op] | None = None,
          attempts: int = 5) -> dict[str, Any] | None:
    """One mail record, linked to `links`, on their timelines, with its Message-ID indexed and, in a
    mailbox, its members on its team — one transaction. None when the Message-ID is already stored
    (idempotent inbound)."""
    for attempt in range(attempts):
        draft, ops = built(p, values, links, mailbox=mailbox, owner_id=owner_id, source=source)
        try:
            tx.write([*ops, *(extra or [])])
        except _Seen:
            return None
        except _MailboxMoved:
            if attempt == attempts - 1:
                raise
            assert mailbox is not None
            mailbox = _mailbox(p.tenant_id, mailbox.id, consistent=True)
            continue
        engine.finish(draft)
        return engine.out(MAIL, draft.record, p)
    return None  # pragma: no cover - the loop returns or raises


def built(p: Principal, values: dict[str, Any], links: list[tuple[str, str]], *, mailbox: Mailbox | None = None,
          owner_id: str | None = None, source: str | None = None, record_id: str | None = None,
          checked: bool = True) -> tuple[Any, list[tx.Op]]:
    """A mail record checked and built with every write it takes (record and log entry, timeline links,
    the Message-ID index, its mailbox entry and check), not yet committed: (the engine's draft, the ops).
    `checked=False`: without the mailbox's version check (a bulk send checks its batch itself)."""
    body = {**{k: v for k, v in values.items() if v not in (None, "", [])},
            "links": [{"record": {"entity": e.lower(), "id": r}} for e, r in links]}
    if owner_id:
        body["owner_id"] = owner_id
    r = _Resolver(p, {(e.lower(), i) for e, i in links})
    wc, custom, owner = engine.checked(MAIL, p, body, r)
    draft = engine.built(MAIL, p, wc, custom, owner, record_id)
    rec = draft.record
    if mailbox is not None:
        rec.team = mailbox_team({}, mailbox.member_ids or [], owner)
    at = rec.created_at
    ops = [*draft.ops, *link_ops(p.tenant_id, rec.id, links, direction=values["direction"], subject=values.get("subject"),
                                 from_addr=values.get("from_addr"), thread_id=values.get("thread_id"), at=at)]
    if values.get("message_id"):
        ops.append(index_op(p.tenant_id, values["message_id"], rec.id, values.get("thread_id") or values["message_id"], source,
                            owner_id=rec.owner_id, mailbox_id=values.get("mailbox_id")))
    if mailbox is not None:
        ops += mailbox_ops(mailbox, rec)[: 2 if checked else 1]
    return draft, ops


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
    out = write(p, values, links, mailbox=mailbox)
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
                       "status": r.status, "mail_id": r.mail_id, "message_id": r.message_id, "error": r.error,
                       "updated_at": r.updated_at}
                      for r in items if isinstance(r, Recipient)], "next_cursor": nxt}
