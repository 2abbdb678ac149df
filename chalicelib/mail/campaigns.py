"""Bulk sends (群发, WORK-5): a job (chalicelib/jobs) that walks a filtered list of customers or contacts
in the caller's data scope and sends each one the template, rendered with that record's values.

Per recipient (models.Recipient, keyed by the record): written `queued` before the send (a conditional
put: a resumed or redelivered job never sends to a record twice), then settled: `sent` — the mail is a
`mail` record like a single send's (direction out, the campaign, the recipient, linked to the contact and
its customer, on their timelines, its Message-ID indexed so a reply threads to it, in the sending
mailbox), written with its send-log row in batch writes of FLUSH_EVERY mails —, `skipped_unsubscribed`
(on the suppression list, checked at send time), `skipped_no_address`, or `failed`. A recipient left
`queued` by an invocation that died before its batch was written is marked `failed` (interrupted) rather
than sent again: a bulk mail is sent at most once. Sends are paced to CRM_MAIL_SEND_PER_SECOND (SES's rate).
Every bulk mail carries a signed unsubscribe link and List-Unsubscribe / List-Unsubscribe-Post headers.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import PutError

from ..core import clock
from ..core.errors import DomainError, ValidationFailed, detail
from ..core.settings import get_settings
from ..db import tx
from ..engine import registry
from ..org import service as org
from . import mime, service
from .entity import MAIL
from .models import Recipient

KIND = "mail_campaign"
TYPES = ("customer", "contact")
SAVE_EVERY = 200


def start(body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v1/mail/campaigns: check the template and the list, then queue the job."""
    from ..exports import service as exports
    from ..jobs import service as jobs

    p = org.principal()
    p.require(service.MODULE, "create")
    service.require_sending()
    if body["type"] not in TYPES:
        raise ValidationFailed(details=[detail("type", "option", "mail.campaign_type")])
    d = registry.find(body["type"], p.tenant_id)
    assert d is not None
    p.require(d.module, "list")
    service.sending_mailbox(p, body.get("mailbox_id"))
    tpl = service.template_of(p.tenant_id, body)
    for key in ("subject", "body_text", "body_html"):  # syntax now, variables per recipient
        if tpl.get(key):
            service.templates.compile_(tpl[key], key, html=key == "body_html")
    params = exports.selection(None, {"q": body.get("q"), "filters": body.get("filters"), "scope": body.get("scope"),
                                      "view": body.get("view"), "sort": "created_at"})
    total = exports.count(p, d, params)
    job = jobs.create(p, KIND, {"type": d.name, "list": params, "template": tpl, "name": body.get("name") or tpl["subject"],
                                "mailbox_id": body.get("mailbox_id")},
                      total=total, label=("群发邮件", "Bulk mail"))
    return shown(job)


def shown(job: Mapping[str, Any]) -> dict[str, Any]:
    result = job.get("result") or {}
    return {"id": job["id"], "status": job["status"], "name": (job.get("params") or {}).get("name"),
            "type": (job.get("params") or {}).get("type"), "progress": job["progress"],
            "counts": result.get("counts") or {}, "created_by": job["created_by"], "created_at": job["created_at"],
            "finished_at": job.get("finished_at"), "error": job.get("error")}


def get(campaign_id: str) -> dict[str, Any]:
    from ..jobs import service as jobs

    p = org.principal()
    return shown(jobs.as_dict(jobs.readable(p, campaign_id, KIND)))


class _Pace:
    """At most `rate` sends a second, spread evenly."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.next = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)
        self.next = max(self.next, now) + self.gap


class _Written:
    """The sent mails of a run not yet written: each a `mail` record (its log entry, timeline links,
    Message-ID index, mailbox entry) and its send-log row, put together with batch writes every
    FLUSH_EVERY mails (and before the invocation returns, or fails), not one transaction per mail."""

    def __init__(self, p: Any, mailbox: Any) -> None:
        self.p, self.mailbox = p, mailbox
        self.drafts: list[Any] = []
        self.items: list[Any] = []

    def add(self, draft: Any, ops: list[tx.Op], r: Recipient) -> None:
        assert all(op.kind == "put" for op in ops), "a mail's writes are plain puts"
        self.drafts.append(draft)
        self.items += [op.model for op in ops]
        self.items.append(r)
        if len(self.drafts) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.drafts:
            return
        from ..db import batch
        from ..ports import events

        drafts, items = self.drafts, self.items
        self.drafts, self.items = [], []
        batch.put_all(items)
        with events.batched():
            for draft in drafts:
                service.engine.finish(draft)
        if self.mailbox is not None:  # members changed since this run read them: these mails follow at once
            now = service._mailbox(self.p.tenant_id, self.mailbox.id, consistent=True)
            if now.version != self.mailbox.version:
                gone = [u for u in self.mailbox.member_ids or [] if u not in (now.member_ids or [])]
                service.restamp(self.p, now, [d.record.id for d in drafts], gone)
                self.mailbox = now


FLUSH_EVERY = 25


def run(ctx: Any) -> bool:
    """The job's runner (see the module docstring)."""
    from ..exports import service as exports

    job, p = ctx.job, ctx.principal
    prm = job["params"]
    d = registry.find(prm["type"], p.tenant_id)
    assert d is not None
    p.require(service.MODULE, "create")
    counts: dict[str, int] = dict((ctx.checkpoint or {}).get("counts") or {})
    done = int((ctx.checkpoint or {}).get("done") or 0)
    pace = _Pace(get_settings().mail_send_per_second)
    mailbox = service.sending_mailbox(p, prm.get("mailbox_id"))
    sender = mailbox.address if mailbox else service.default_address(p.tenant_id)
    sender_name = mailbox.name if mailbox else org.user_name(p.tenant_id, p.user_id)
    domain = service.tenant_domain(p.tenant_id)
    secret = service._secret(p.tenant_id)  # the unsubscribe links' key, read once
    written = _Written(p, mailbox)
    seen = 0
    try:
        for shown_rec in exports.records(p, d, prm["list"], page_size=500):
            seen += 1
            status = _one(p, d, shown_rec, job["id"], prm["template"], sender, sender_name, domain, pace,
                          written, secret)
            if status is None:
                continue  # settled by an earlier invocation
            counts[status] = counts.get(status, 0) + 1
            done += 1
            if done % SAVE_EVERY == 0:
                written.flush()
                ctx.save(checkpoint={"counts": counts, "done": done}, done=done, errors=counts.get("failed", 0))
            if ctx.time_left() <= 0:
                written.flush()
                ctx.save(checkpoint={"counts": counts, "done": done}, done=done, errors=counts.get("failed", 0))
                return False
    finally:
        written.flush()  # what was sent is written, even when this invocation fails
    ctx.save(checkpoint={"counts": counts, "done": done}, done=done, errors=counts.get("failed", 0))
    ctx.finish(result={"counts": counts, "walked": seen})
    return True


def _one(p: Any, d: Any, shown_rec: Mapping[str, Any], campaign_id: str, tpl: Mapping[str, Any], sender: str,
         sender_name: str | None, domain: str, pace: _Pace, written: _Written, secret: bytes | None = None) -> str | None:
    tenant = p.tenant_id
    address = next((str(shown_rec.get(f)).strip().lower() for f in service.ADDRESS_FIELDS if shown_rec.get(f)), None)
    if address and "*" in address:
        address = None  # masked for this sender: not an address they may use
    now = clock.now_iso()
    r = Recipient(pk=Recipient.partition(tenant, campaign_id), sk=f"R#{shown_rec['id']}", tenant_id=tenant,
                  campaign_id=campaign_id, record_id=shown_rec["id"], entity=d.entity, address=address,
                  name=str(shown_rec.get(d.title_field) or "")[:200] or None, status="queued", updated_at=now)
    try:
        r.save(condition=Recipient.pk.does_not_exist())
    except PutError:
        existing = Recipient.get(r.pk, r.sk, consistent_read=True)
        if existing.status != "queued":
            return None
        existing.update(actions=[Recipient.status.set("failed"), Recipient.error.set("interrupted"),
                                 Recipient.updated_at.set(now)])
        return "failed"
    if not address:
        return _settle(r, "skipped_no_address")
    if service.suppressed(tenant, address):
        return _settle(r, "skipped_unsubscribed")
    token = service.unsubscribe_token(tenant, address, campaign_id, secret)
    link = service.unsubscribe_url(token)
    shown = {f.key: shown_rec.get(f.key) for f in d.fields if f.key in shown_rec}  # the row as the sender sees it
    try:
        content = service.rendered(tpl, service.variables_of(p, {**shown, "id": shown_rec["id"]}, {"unsubscribe_url": link}))
    except ValidationFailed as e:
        return _settle(r, "failed", e.code or "MAIL_TEMPLATE_VARIABLE")
    text = f"{content['body_text']}\n\n--\n退订 / Unsubscribe: {link}\n"
    message_id = mime.new_message_id(domain)
    raw = mime.build(sender=sender, sender_name=sender_name, to=[address], subject=content["subject"], text=text,
                     html=content["body_html"], message_id=message_id, unsubscribe_url=link, reply_to=sender,
                     date=clock.now())
    mailbox = written.mailbox
    values = {"direction": "out", "subject": content["subject"], "from_addr": sender, "from_name": sender_name,
              "to": address, "body_text": text[:100_000],
              "body_html": (content["body_html"] or None) and content["body_html"][:150_000], "message_id": message_id,
              "thread_id": message_id, "mailbox_id": mailbox.id if mailbox else None, "campaign_id": campaign_id,
              "status": "sent", "sent_at": clock.now_iso()}
    links = [(d.entity, shown_rec["id"]), *service._related_links(tenant, d, shown_rec)]
    try:  # the record is built and checked before the mail leaves: a mail that went out always has its record
        draft, ops = service.built(p, values, links, mailbox=mailbox, checked=False)
    except DomainError as e:
        return _settle(r, "failed", e.code or "MAIL_RECORD_INVALID")
    pace.wait()
    try:
        from ..ports import mail as port

        port.send_raw(raw, sender, [address])
    except Exception as e:  # noqa: BLE001 - one recipient's failure is logged on its row, the rest go on
        return _settle(r, "failed", str(e)[:300])
    r.status, r.mail_id, r.message_id, r.updated_at = "sent", draft.record.id, message_id, clock.now_iso()
    written.add(draft, ops, r)
    return "sent"


def _settle(r: Recipient, status: str, error: str | None = None) -> str:
    actions = [Recipient.status.set(status), Recipient.updated_at.set(clock.now_iso())]
    if error:
        actions.append(Recipient.error.set(error))
    r.update(actions=actions)
    return status


__all__ = ["KIND", "MAIL", "get", "run", "start"]
