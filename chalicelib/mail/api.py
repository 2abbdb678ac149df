"""HTTP routes of mail (邮件, WORK-5): send from a record, bulk sends and their send log, unsubscribe (public,
signed), shared mailboxes, templates, the suppression list. Schemas and services load on first use."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "mail"


def _service():  # noqa: ANN202 - the module, imported on first use
    from . import service

    return service


def _campaigns():  # noqa: ANN202
    from . import campaigns

    return campaigns


@route(bp, "/mail/send", "POST", summary="Send one mail about a record (mail:create, read on the record): rendered from a "
       "template with the record's values, logged on its timeline", tag=TAG, body=s.MailSendIn, response=s.MailMessageOut, status=201)
def send(req: ApiRequest) -> dict:
    return _service().send_from_record(req.body.model_dump(exclude_none=True))


@route(bp, "/mail/messages/{mail_id}", summary="One mail: for its owner's data scope, its mailbox's members and whoever "
       "may read a record it is linked to", tag=TAG, response=s.MailMessageOut)
def get_message(req: ApiRequest, mail_id: str) -> dict:
    return _service().get_mail(mail_id)


@route(bp, "/mail/campaigns", "POST", summary="Bulk mail to the customers or contacts a list shows me (a job): "
       "unsubscribed addresses are skipped, each mail has its unsubscribe link", tag=TAG, body=s.MailCampaignIn,
       response=s.MailCampaignOut, status=202)
def create_campaign(req: ApiRequest) -> dict:
    return _campaigns().start(req.body.model_dump(mode="json", exclude_none=True))


@route(bp, "/mail/campaigns/{campaign_id}", summary="A bulk send: status, progress and counts by recipient status", tag=TAG,
       response=s.MailCampaignOut)
def get_campaign(req: ApiRequest, campaign_id: str) -> dict:
    return _campaigns().get(campaign_id)


@route(bp, "/mail/campaigns/{campaign_id}/recipients", summary="A bulk send's log: each recipient's status", tag=TAG,
       query=s.MailPageQuery, response=s.MailRecipientPage)
def campaign_recipients(req: ApiRequest, campaign_id: str) -> dict:
    return _service().recipients(campaign_id, req.query.limit, req.query.cursor)


@route(bp, "/mail/unsubscribe/{token}", summary="The unsubscribe link of a bulk mail: whether the address is unsubscribed "
       "(reading it changes nothing: POST to the same link unsubscribes)", tag=TAG, response=s.MailUnsubscribeOut, public=True)
def unsubscribe_link(req: ApiRequest, token: str) -> dict:
    return _service().unsubscribe_status(token)


@route(bp, "/mail/unsubscribe/{token}", "POST", summary="One-click unsubscribe (RFC 8058 List-Unsubscribe-Post)", tag=TAG,
       response=s.MailUnsubscribeOut, public=True, accepts=("application/x-www-form-urlencoded", "text/plain"))
def unsubscribe_post(req: ApiRequest, token: str) -> dict:
    return _service().unsubscribe(token)


@route(bp, "/mail/mailboxes", summary="Mailboxes: every one for administrators, mine (member) for others", tag=TAG,
       response=s.MailboxList)
def list_mailboxes(req: ApiRequest) -> dict:
    return _service().list_mailboxes()


@route(bp, "/mail/mailboxes", "POST", summary="Create a shared team mailbox (mail:manage)", tag=TAG, body=s.MailboxIn,
       response=s.MailboxOut, status=201)
def create_mailbox(req: ApiRequest) -> dict:
    return _service().create_mailbox(req.body.model_dump())


@route(bp, "/mail/mailboxes/{mailbox_id}", "PATCH", summary="Rename a shared mailbox, add and remove members (mail:manage; "
       "If-Match or `version`): a job re-stamps its mails so that new members read them and removed ones no longer do",
       tag=TAG, body=s.MailboxPatch, response=s.MailboxOut, versioned_write=True)
def update_mailbox(req: ApiRequest, mailbox_id: str) -> dict:
    b = req.body
    return _service().update_mailbox(mailbox_id, b.model_dump(exclude_unset=True, exclude={"version"}),
                                     req.expected_version(b.version))


@route(bp, "/mail/mailboxes/{mailbox_id}/messages", summary="A mailbox's mails, newest first (its members)", tag=TAG,
       query=s.MailPageQuery, response=s.MailMessagePage)
def mailbox_messages(req: ApiRequest, mailbox_id: str) -> dict:
    q = req.query
    return _service().mailbox_messages(mailbox_id, {"q": q.q, "limit": q.limit, "cursor": q.cursor})


@route(bp, "/mail/templates", summary="Mail templates", tag=TAG, response=s.MailTemplateList)
def list_templates(req: ApiRequest) -> dict:
    return _service().list_templates()


@route(bp, "/mail/templates", "POST", summary="Save a mail template (mail:manage)", tag=TAG, body=s.MailTemplateIn,
       response=s.MailTemplateOut, status=201)
def create_template(req: ApiRequest) -> dict:
    return _service().create_template(req.body.model_dump())


@route(bp, "/mail/suppressions", summary="The tenant's suppression list (unsubscribed addresses; mail:manage)", tag=TAG,
       query=s.MailPageQuery, response=s.MailSuppressionPage)
def list_suppressions(req: ApiRequest) -> dict:
    return _service().suppressions(req.query.limit, req.query.cursor)


@route(bp, "/mail/suppressions", "POST", summary="Put an address on the suppression list (mail:manage): no bulk mail "
       "reaches it any more", tag=TAG, body=s.MailSuppressionIn, response=s.MailSuppressionOut, status=201)
def add_suppression(req: ApiRequest) -> dict:
    return _service().suppress(req.body.address)
