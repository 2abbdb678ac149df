"""API contract of mail (邮件, WORK-5)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import StrictBody
from ..core.pagination import Page, PageQuery
from ..core.patch import Patch
from ..search.schemas import Condition

Address = Annotated[str, Field(min_length=3, max_length=254, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")]
TEMPLATE_HELP = ("Jinja2 (sandboxed; HTML auto-escaped): {{ record.<field> }} — the record's fields as you may see them "
                 "(a hidden field is refused), {{ sender.name }}, {{ today }}; bulk mail also {{ unsubscribe_url }}")


class MailRecordRef(StrictBody):
    entity: str = Field(min_length=1, max_length=60, description="record type: customer, contact, lead, opportunity …")
    id: str = Field(min_length=1, max_length=64)


class MailContent(StrictBody):
    template_id: str | None = Field(None, max_length=64, description="a saved template; or subject and a body here")
    subject: str | None = Field(None, min_length=1, max_length=1000, description=TEMPLATE_HELP)
    body_text: str | None = Field(None, max_length=100_000)
    body_html: str | None = Field(None, max_length=150_000)
    mailbox_id: str | None = Field(None, max_length=64, description="send from a shared mailbox I am a member of")


class MailSendIn(MailContent):
    record: MailRecordRef = Field(description="the record the mail is about: its values fill the template, its timeline logs it")
    to: list[Address] | None = Field(None, max_length=50, description="default: the record's e-mail")
    cc: list[Address] | None = Field(None, max_length=50)
    in_reply_to: str | None = Field(None, max_length=300, description="the Message-ID answered (same thread)")


class MailMessageOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    direction: str
    subject: str | None = None
    from_addr: str | None = None
    to: str | None = None
    message_id: str | None = None
    thread_id: str | None = None
    status: str | None = None
    links: list[dict[str, Any]] | None = None
    owner_id: str
    access: str


class MailCampaignIn(MailContent):
    type: Literal["customer", "contact"] = Field(description="who receives it: the records of this type the list shows")
    name: str | None = Field(None, max_length=200)
    q: str | None = Field(None, max_length=100, description="full-text query, as in the list")
    filters: list[Condition] = Field(default_factory=list, max_length=50, description="conditions, as the list's `filters`")
    view: str | None = Field(None, max_length=40)
    scope: Literal["visible", "mine", "team"] | None = None


class MailCampaignOut(BaseModel):
    id: str
    status: str
    name: str | None = None
    type: str | None = None
    progress: dict[str, Any]
    counts: dict[str, int] = Field(default_factory=dict, description="recipients by status: sent, skipped_unsubscribed, "
                                                                     "skipped_no_address, failed")
    created_by: str
    created_at: str
    finished_at: str | None = None
    error: str | None = None


class MailRecipientOut(BaseModel):
    record: dict[str, str]
    address: str | None = None
    name: str | None = None
    status: Literal["queued", "sent", "skipped_unsubscribed", "skipped_no_address", "failed"]
    mail_id: str | None = Field(None, description="the mail record sent (GET /v1/mail/messages/{id})")
    message_id: str | None = Field(None, description="its Message-ID")
    error: str | None = None
    updated_at: str


class MailRecipientPage(Page[MailRecipientOut]):
    pass


class MailboxIn(StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    local_part: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$",
                            description="the part before @: the address is <local_part>@<tenant>.<mail domain>")
    member_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list, max_length=200)
    owner_id: str | None = Field(None, max_length=40, description="whose mails they are (default: you)")


UserId = Annotated[str, Field(min_length=1, max_length=40)]


class MailboxPatch(Patch, StrictBody):
    model_config = ConfigDict(str_strip_whitespace=True)
    name: str = Field(None, min_length=1, max_length=100)  # type: ignore[assignment] - absent: unchanged; null: 422
    add_member_ids: list[UserId] = Field(default_factory=list, max_length=200,
                                         description="active users of the tenant who join: they read the mailbox's mails")
    remove_member_ids: list[UserId] = Field(default_factory=list, max_length=200,
                                            description="members who leave: they no longer read its mails")
    version: int | None = Field(None, ge=1, description="the version read (or If-Match)")


class MailboxOut(BaseModel):
    id: str
    address: str
    name: str
    kind: str
    member_ids: list[str]
    owner_id: str
    version: int
    created_at: str
    job_id: str | None = Field(None, description="after a membership change: the job re-stamping the mailbox's mails "
                                                 "(GET /v1/jobs/{id})")


class MailboxList(BaseModel):
    items: list[MailboxOut]


class MailPageQuery(PageQuery):
    q: str | None = Field(None, max_length=100)


class MailMessagePage(BaseModel):
    model_config = ConfigDict(extra="allow")
    items: list[dict[str, Any]]
    next_cursor: str | None = None
    total: int = 0


class MailTemplateIn(StrictBody):
    name: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=1000, description=TEMPLATE_HELP)
    body_text: str = Field(min_length=1, max_length=100_000)
    body_html: str | None = Field(None, max_length=150_000)


class MailTemplateOut(BaseModel):
    id: str
    name: str
    subject: str
    body_text: str
    body_html: str | None = None
    version: int
    created_at: str
    updated_at: str


class MailTemplateList(BaseModel):
    items: list[MailTemplateOut]


class MailUnsubscribeOut(BaseModel):
    address: str = Field(description="masked")
    unsubscribed: bool


class MailSuppressionOut(BaseModel):
    address: str
    reason: str
    campaign_id: str | None = None
    created_at: str


class MailSuppressionIn(StrictBody):
    address: Address


class MailSuppressionPage(Page[MailSuppressionOut]):
    pass
