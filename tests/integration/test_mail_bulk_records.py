"""Bulk mail (WORK-5) sends real `mail` records: each sent mail of a campaign is a record like a single send's
(direction out, the campaign, the recipient, status, linked to the contact and its customer), written in the
job's batches; the timeline entry and the send log open it, a reply threads to it, unsubscribed and addressless
contacts are skipped as before, and a mailbox's members read the mails it sent."""
from __future__ import annotations

import json
from urllib.parse import quote

from chalicelib.core.settings import environment
from tests.integration import test_mail
from tests.integration.test_mail import _deliver_inbound, _inbound, _parsed, _run_jobs, _sent

crm = test_mail.crm  # the same customer with three contacts (王芳, 刘强 and one without an address)


def _campaign(api, token: str, body: dict) -> dict:
    with environment(CRM_MAIL_SEND_PER_SECOND="1000"):
        r = api.call("POST", "/v1/mail/campaigns", token, {"type": "contact", "subject": "{{ record.name }}，邀请函",
                                                           "body_text": "{{ record.name }} 您好", **body})
        assert r.status_code == 202, r.data
        _run_jobs()
    got = api.call("GET", f"/v1/mail/campaigns/{r.data['id']}", token).data
    assert got["status"] == "succeeded", got
    return got


def test_given_a_bulk_mail_then_each_sent_mail_is_a_record_that_the_timeline_and_the_send_log_open(api, crm):
    rep = crm["tokens"]["rep1"]
    assert api.call("POST", "/v1/mail/suppressions", crm["admin"], {"address": "liu@huaguang.example"}).status_code == 201
    got = _campaign(api, rep, {})
    assert got["counts"] == {"sent": 1, "skipped_unsubscribed": 1, "skipped_no_address": 1}
    log = {i["name"]: i for i in api.call("GET", f"/v1/mail/campaigns/{got['id']}/recipients", rep).data["items"]}
    assert log["刘强"]["mail_id"] is None and log["无邮箱"]["mail_id"] is None
    row = log["王芳"]
    sent = _parsed(_sent()[-1])
    assert row["message_id"] == sent["Message-ID"]
    mail = api.call("GET", f"/v1/mail/messages/{row['mail_id']}", rep)
    assert mail.status_code == 200, mail.data
    m = mail.data
    assert (m["direction"], m["status"], m["campaign_id"], m["to"]) == ("out", "sent", got["id"], "wang.fang@huaguang.example")
    assert m["subject"] == "王芳，邀请函" and m["message_id"] == sent["Message-ID"] and m["thread_id"] == sent["Message-ID"]
    assert m["owner_id"] == crm["rep1"] and "王芳 您好" in m["body_text"]
    linked = {(x["record"]["entity"], x["record"]["id"]) for x in m["links"]}
    assert linked == {("contact", crm["contacts"][0]), ("customer", crm["customer"])}
    # the timelines' entry is that record
    for path in (f"/v1/contacts/{crm['contacts'][0]}/timeline", f"/v1/customers/{crm['customer']}/timeline"):
        entries = [i for i in api.call("GET", path, rep).data["items"] if i["kind"] == "mail"]
        assert [i["id"] for i in entries] == [row["mail_id"]], path
    # a record like any mail: the engine's routes, lists by campaign, the owner's manager reads it, a colleague does not
    assert api.call("GET", f"/v1/mails/{row['mail_id']}", rep).status_code == 200
    wanted = quote(json.dumps([{"field": "campaign_id", "op": "eq", "value": got["id"]}]))
    listed = api.call("GET", f"/v1/mails?filters={wanted}", rep)
    assert listed.status_code == 200 and [i["id"] for i in listed.data["items"]] == [row["mail_id"]], listed.data
    assert api.call("GET", f"/v1/mail/messages/{row['mail_id']}", crm["tokens"]["manager"]).status_code == 200
    assert api.call("GET", f"/v1/mail/messages/{row['mail_id']}", crm["tokens"]["rep2"]).status_code == 404
    # another delivery of the job's message writes and sends nothing more
    from chalicelib.jobs import service as jobs

    before = (len(_sent()), api.call("GET", "/v1/mails", rep).data["total"])
    assert jobs.run(crm["id"], got["id"]) is None
    assert (len(_sent()), api.call("GET", "/v1/mails", rep).data["total"]) == before
    # 王芳 replies: In-Reply-To is that record's Message-ID, so the reply is in its thread and answers it
    from chalicelib.mail import service
    from chalicelib.ports import mail as port

    port.put_inbound("inbound/re-1", _inbound("wang.fang@huaguang.example", sent["From"].addresses[0].addr_spec,
                                               "Re: 邀请函", in_reply_to=sent["Message-ID"]))
    assert _deliver_inbound() == 1
    assert service.message(crm["id"], sent["Message-ID"]).mail_id == row["mail_id"]
    api.pump()
    replies = [i for i in api.call("GET", f"/v1/contacts/{crm['contacts'][0]}/timeline", rep).data["items"]
               if i["kind"] == "mail" and i["direction"] == "in"]
    assert len(replies) == 1 and replies[0]["thread_id"] == m["thread_id"]
    reply = api.call("GET", f"/v1/mail/messages/{replies[0]['id']}", rep).data
    assert reply["in_reply_to"] == m["message_id"] and reply["owner_id"] == crm["rep1"]


def test_given_a_bulk_mail_from_a_shared_mailbox_then_its_members_read_the_mails_and_follow_its_membership(api, crm):
    admin, rep = crm["admin"], crm["tokens"]["rep1"]
    box = api.call("POST", "/v1/mail/mailboxes", admin, {"name": "市场部", "local_part": "market",
                                                         "member_ids": [crm["rep1"], crm["manager"]]}).data
    got = _campaign(api, rep, {"mailbox_id": box["id"], "filters": [{"field": "name", "op": "eq", "value": "王芳"}]})
    assert got["counts"] == {"sent": 1}
    mail_id = api.call("GET", f"/v1/mail/campaigns/{got['id']}/recipients", rep).data["items"][0]["mail_id"]
    boxed = api.call("GET", f"/v1/mail/mailboxes/{box['id']}/messages", crm["tokens"]["manager"]).data["items"]
    assert [i["id"] for i in boxed] == [mail_id]
    assert _parsed(_sent()[-1])["From"].addresses[0].addr_spec == box["address"]
    # a member joins: after the re-stamping job, the bulk mail is theirs to read too
    assert api.call("GET", f"/v1/mail/messages/{mail_id}", crm["tokens"]["rep2"]).status_code == 404
    r = api.call("PATCH", f"/v1/mail/mailboxes/{box['id']}", admin, {"add_member_ids": [crm["rep2"]], "version": box["version"]})
    assert r.status_code == 200, r.data
    _run_jobs()
    assert api.call("GET", f"/v1/mail/messages/{mail_id}", crm["tokens"]["rep2"]).status_code == 200


def test_given_a_mail_record_that_cannot_be_built_then_that_recipient_is_not_sent_to_and_the_rest_go_on(api, crm, monkeypatch):
    """The bulk send builds (and checks) each mail's record before the mail leaves: a build error fails that
    row with nothing sent, never after a sent mail."""
    from chalicelib.core.errors import ValidationFailed
    from chalicelib.mail import service

    real = service.built

    def refuse_wang(p, values, links, **kw):
        if values.get("to") == "wang.fang@huaguang.example":
            raise ValidationFailed("MAIL_RECORD_INVALID")
        return real(p, values, links, **kw)

    monkeypatch.setattr(service, "built", refuse_wang)
    rep = crm["tokens"]["rep1"]
    before = len(_sent())
    got = _campaign(api, rep, {})
    assert got["counts"] == {"failed": 1, "sent": 1, "skipped_no_address": 1}, got
    sent = [_parsed(m)["To"] for m in _sent()[before:]]
    assert sent == ["liu@huaguang.example"]  # 王芳's mail never left
    log = {i["name"]: i for i in api.call("GET", f"/v1/mail/campaigns/{got['id']}/recipients", rep).data["items"]}
    assert log["王芳"]["status"] == "failed" and log["王芳"]["mail_id"] is None
    assert log["刘强"]["status"] == "sent" and log["刘强"]["mail_id"]
