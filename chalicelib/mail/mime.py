"""MIME with the standard library's `email` package: the messages we send, and the ones we receive.

Outgoing: text (and HTML when there is one) as multipart/alternative, our own Message-ID, threading
headers for replies, and on bulk mail List-Unsubscribe + List-Unsubscribe-Post (RFC 2369 / RFC 8058).
Incoming: `BytesParser(policy=default)`; addresses, threading headers, the text body (HTML turned to
text when there is no text part: no HTML of outsiders is kept) and attachments, within limits.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import format_datetime, getaddresses
from typing import Any

from ..core.htmltext import html_to_text

MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_TEXT = 100_000
_MSGID = re.compile(r"<[^<>\s]+>")


def new_message_id(domain: str) -> str:
    """<24 random hex digits@domain>: unique (96 random bits) and short enough that the header is not
    folded (make_msgid's time.pid.random ids are, for longer domains, and some receivers compare them raw)."""
    return f"<{uuid.uuid4().hex[:24]}@{domain}>"


def build(*, sender: str, sender_name: str | None, to: list[str], cc: list[str] | None = None, subject: str,
          text: str, html: str | None = None, message_id: str, in_reply_to: str | None = None,
          references: list[str] | None = None, unsubscribe_url: str | None = None, reply_to: str | None = None,
          date: Any = None) -> bytes:
    msg = EmailMessage(policy=default)
    msg["From"] = str(Address(display_name=sender_name or "", addr_spec=sender))
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if date is not None:
        msg["Date"] = format_datetime(date)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join([*(references or []), in_reply_to][-20:])
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text or "")
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_addr: str | None
    from_name: str | None
    to: list[str]
    cc: list[str]
    delivered_to: list[str]
    date: Any
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped_attachments: int = 0
    verdicts: dict[str, str] = field(default_factory=dict)  # SES receiving's: spam, virus, spf, dkim, dmarc -> PASS, FAIL …

    @property
    def infected(self) -> bool:
        return self.verdicts.get("virus") == "FAIL"

    @property
    def authenticated(self) -> bool:
        """Whether the From can be believed: SES found no spam and SPF or DKIM passed. A mail without SES's
        verdicts (the local stack, where nothing scans) counts as believed — in AWS the receipt rule scans
        every mail, and SES's own headers come first (a sender's forged copies further down are not read)."""
        if not self.verdicts:
            return True
        return self.verdicts.get("spam") != "FAIL" and "PASS" in (self.verdicts.get("spf"), self.verdicts.get("dkim"))


VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")


def _ids(value: Any) -> list[str]:
    return _MSGID.findall(str(value or ""))


def _addresses(values: list[Any]) -> list[tuple[str, str]]:
    return [(n, a.strip().lower()) for n, a in getaddresses([str(v) for v in values if v]) if a and "@" in a]


def parse(raw: bytes) -> Parsed:
    msg = BytesParser(policy=default).parsebytes(raw)
    sender = _addresses([msg.get("From")])
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",)) if text_part is None else None
    text = ""
    if text_part is not None:
        text = text_part.get_content()
    elif html_part is not None:
        text = html_to_text(html_part.get_content())
    attachments: list[Attachment] = []
    skipped = 0
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        if len(attachments) >= MAX_ATTACHMENTS or len(data) > MAX_ATTACHMENT_BYTES or not data:
            skipped += 1
            continue
        attachments.append(Attachment(part.get_filename() or "attachment", part.get_content_type(), data))
    try:
        date = msg["Date"].datetime if msg["Date"] is not None else None
    except (AttributeError, TypeError, ValueError):
        date = None
    reply = _ids(msg.get("In-Reply-To"))
    return Parsed(message_id=(_ids(msg.get("Message-ID")) or [None])[0], in_reply_to=reply[0] if reply else None,
                  references=_ids(msg.get("References")), subject=str(msg.get("Subject") or "")[:300],
                  from_addr=sender[0][1] if sender else None, from_name=(sender[0][0] or None) if sender else None,
                  to=[a for _, a in _addresses(msg.get_all("To") or [])],
                  cc=[a for _, a in _addresses(msg.get_all("Cc") or [])],
                  delivered_to=[a for _, a in _addresses((msg.get_all("Delivered-To") or []) + (msg.get_all("X-Original-To") or []))],
                  date=date, text=text.strip()[:MAX_TEXT], attachments=attachments, skipped_attachments=skipped,
                  verdicts={k: str(msg[f"X-SES-{k.upper()}-Verdict"]).strip().upper() for k in VERDICTS
                            if msg[f"X-SES-{k.upper()}-Verdict"] is not None})
