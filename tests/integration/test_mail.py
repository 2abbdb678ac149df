"""Mail (WORK-5) through the API on moto: sending from a record with templates, bulk mail with unsubscribe
links and a send log, inbound mail from S3 linked by address and thread, shared team mailboxes."""
from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from urllib.parse import urlparse

import pytest

from chalicelib.core.settings import environment, get_settings


def _sent() -> list:
    """The raw mails moto's SES accepted."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region].sent_messages)


def _parsed(msg) -> EmailMessage:
    return BytesParser(policy=default).parsebytes(msg.raw_data.encode() if isinstance(msg.raw_data, str) else msg.raw_data)


def _run_jobs() -> None:
    from chalicelib.jobs import service as jobs

    jobs.run_queued()


def _deliver_inbound() -> int:
    from devstack.drivers import S3QueueDriver

    return S3QueueDriver().run_once()


@pytest.fixture()
def crm(api, sales_team):
    t = sales_team
    rep = t["tokens"]["rep1"]
    cust = api.call("POST", "/v1/customers", rep, {"name": "华光<科技>有限公司", "email": "boss@huaguang.example"})
    assert cust.status_code == 201, cust.data
    c1 = api.call("POST", "/v1/contacts", rep, {"name": "王芳", "customer": cust.data["id"], "email": "wang.fang@huaguang.example"})
    c2 = api.call("POST", "/v1/contacts", rep, {"name": "刘强", "customer": cust.data["id"], "email": "liu@huaguang.example"})
    c3 = api.call("POST", "/v1/contacts", rep, {"name": "无邮箱", "customer": cust.data["id"]})
    assert c1.status_code == c2.status_code == c3.status_code == 201
    api.pump()  # indexed (the local stack's indexer follows within a second)
    _deliver_inbound()  # S3's test event of the bucket's new notification
    return {**t, "customer": cust.data["id"], "contacts": [c1.data["id"], c2.data["id"], c3.data["id"]]}


def _inbound(sender: str, to: str, subject: str, *, in_reply_to: str | None = None, attachment: bytes | None = None,
             message_id: str = "<reply-1@huaguang.example>") -> bytes:
    m = EmailMessage()
    m["From"] = f"王芳 <{sender}>"
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = message_id
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    m.set_content("好的，附件是我们的需求说明。\n王芳")
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="pdf", filename="需求说明.pdf")
    return m.as_bytes()


def test_given_a_customer_when_a_rep_sends_from_it_then_ses_gets_the_rendered_mail_and_its_timeline_shows_it(api, crm):
    rep = crm["tokens"]["rep1"]
    r = api.call("POST", "/v1/mail/send", rep, {
        "record": {"entity": "customer", "id": crm["customer"]}, "subject": "致 {{ record.name }}",
        "body_text": "您好 {{ record.name }}，我是{{ sender.name }}。", "body_html": "<p>您好 {{ record.name }}</p>"})
    assert r.status_code == 201, r.data
    assert r.data["status"] == "sent" and r.data["direction"] == "out"
    assert r.data["to"] == "boss@huaguang.example"
    sent = _sent()
    assert len(sent) == 1
    msg = _parsed(sent[0])
    assert msg["Subject"] == "致 华光<科技>有限公司"
    assert msg["Message-ID"] == r.data["message_id"]
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "华光&lt;科技&gt;有限公司" in html  # auto-escaped in HTML
    assert "我是李娜" in msg.get_body(preferencelist=("plain",)).get_content()
    timeline = api.call("GET", f"/v1/customers/{crm['customer']}/timeline", rep).data["items"]
    mails = [i for i in timeline if i["kind"] == "mail"]
    assert mails and mails[0]["id"] == r.data["id"] and mails[0]["title"] == "致 华光<科技>有限公司"
    # the customer's owner's manager reads the mail (scope); a rep of the same team without the customer does not
    assert api.call("GET", f"/v1/mail/messages/{r.data['id']}", crm["tokens"]["manager"]).status_code == 200
    assert api.call("GET", f"/v1/mail/messages/{r.data['id']}", crm["tokens"]["rep2"]).status_code == 404


def test_given_a_template_naming_an_unknown_field_when_sending_then_422_names_it(api, crm):
    rep = crm["tokens"]["rep1"]
    r = api.call("POST", "/v1/mail/send", rep, {"record": {"entity": "customer", "id": crm["customer"]},
                                                "subject": "Hi {{ record.nope }}", "body_text": "x"},
                 headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.data
    assert r.data["code"] == "MAIL_TEMPLATE_VARIABLE" and "nope" in r.data["message"]
    bad = api.call("POST", "/v1/mail/send", rep, {"record": {"entity": "customer", "id": crm["customer"]},
                                                  "subject": "{% if %}", "body_text": "x"})
    assert bad.status_code == 422 and bad.data["code"] == "MAIL_TEMPLATE_SYNTAX"
    unsafe = api.call("POST", "/v1/mail/send", rep, {"record": {"entity": "customer", "id": crm["customer"]},
                                                     "subject": "{{ record.__class__.__mro__ }}", "body_text": "x"})
    assert unsafe.status_code == 422
    # a template's own errors and attempts to make it huge are the template's fault: 422, never a failed request
    for body, code in (("{{ 1/0 }}", "MAIL_TEMPLATE_RENDER"), ("{{ record.name + 1 }}", "MAIL_TEMPLATE_RENDER"),
                       ("{{ 'x' * 10**9 }}", "MAIL_TEMPLATE_UNSAFE"), ("{{ 9 ** 99999 }}", "MAIL_TEMPLATE_UNSAFE"),
                       ("{% for c in record.name %}{{ record.name * 9000 }}{% endfor %}", "MAIL_TEMPLATE_RENDER")):
        r = api.call("POST", "/v1/mail/send", rep, {"record": {"entity": "customer", "id": crm["customer"]},
                                                    "subject": "s", "body_text": body})
        assert (r.status_code, r.data["code"]) == (422, code), (body, r.data)
        assert r.data["details"][0]["field"] == "body_text"
    assert _sent() == []


def test_given_an_unsubscribed_contact_when_a_bulk_mail_goes_out_then_it_is_skipped_and_a_reply_lands_on_the_timeline(api, crm):
    rep = crm["tokens"]["rep1"]
    with environment(CRM_MAIL_SEND_PER_SECOND="1000"):
        first = api.call("POST", "/v1/mail/campaigns", rep, {
            "type": "contact", "subject": "{{ record.name }}，新品发布", "body_text": "{{ record.name }} 您好",
            "filters": [{"field": "name", "op": "eq", "value": "刘强"}]})
        assert first.status_code == 202, first.data
        _run_jobs()
        assert api.call("GET", f"/v1/mail/campaigns/{first.data['id']}", rep).data["counts"] == {"sent": 1}
        mail = _parsed(_sent()[-1])
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = mail["List-Unsubscribe"].strip("<>")
        assert link in mail.get_content()
        # one-click unsubscribe (RFC 8058): a form POST, no token
        path = urlparse(link).path
        # opening the link (a mail scanner, a preview) unsubscribes nobody; the POST does
        assert api.call("GET", path).data == {"address": api.call("GET", path).data["address"], "unsubscribed": False}
        r = api.http.post(path, headers={"Content-Type": "application/x-www-form-urlencoded"},
                          body="List-Unsubscribe=One-Click")
        assert r.status_code == 200, r.body
        assert api.call("GET", path).data["unsubscribed"] is True
        assert api.call("GET", path[:-4] + "AAAA").status_code == 404  # a forged token
        # the bulk mail to every contact of mine: 刘强 skipped, 无邮箱 skipped, 王芳 sent
        before = len(_sent())
        bulk = api.call("POST", "/v1/mail/campaigns", rep, {"type": "contact", "subject": "{{ record.name }}，邀请函",
                                                            "body_text": "{{ record.name }} 您好"})
        assert bulk.status_code == 202 and bulk.data["progress"]["total"] == 3
        _run_jobs()
    got = api.call("GET", f"/v1/mail/campaigns/{bulk.data['id']}", rep).data
    assert got["status"] == "succeeded"
    assert got["counts"] == {"sent": 1, "skipped_unsubscribed": 1, "skipped_no_address": 1}
    log = api.call("GET", f"/v1/mail/campaigns/{bulk.data['id']}/recipients", rep).data["items"]
    assert sorted(i["status"] for i in log) == ["sent", "skipped_no_address", "skipped_unsubscribed"]
    assert len(_sent()) == before + 1
    sent = _parsed(_sent()[-1])
    assert sent["To"] == "wang.fang@huaguang.example"
    # another delivery of the job's message sends nothing again
    from chalicelib.jobs import service as jobs

    assert jobs.run(crm["id"], bulk.data["id"]) is None
    assert len(_sent()) == before + 1
    # 王芳 replies with an attachment: on her timeline, her customer's, in the thread of the bulk mail
    from chalicelib.ports import mail as port

    raw = _inbound("wang.fang@huaguang.example", sent["From"].addresses[0].addr_spec, "Re: 邀请函",
                   in_reply_to=sent["Message-ID"], attachment=b"%PDF-1.7 needs")
    port.put_inbound("inbound/msg-1", raw)
    assert _deliver_inbound() == 1
    timeline = api.call("GET", f"/v1/contacts/{crm['contacts'][0]}/timeline", rep).data["items"]
    replies = [i for i in timeline if i["kind"] == "mail" and i["direction"] == "in"]
    assert len(replies) == 1 and replies[0]["title"] == "Re: 邀请函"
    assert replies[0]["thread_id"] == sent["Message-ID"]
    reply = api.call("GET", f"/v1/mail/messages/{replies[0]['id']}", rep).data
    assert reply["owner_id"] == crm["rep1"]  # the bulk mail's sender holds the reply
    assert reply["attachments"][0]["name"] == "需求说明.pdf"
    linked = {(row["record"]["entity"], row["record"]["id"]) for row in reply["links"]}
    assert ("contact", crm["contacts"][0]) in linked and ("customer", crm["customer"]) in linked
    cust_tl = api.call("GET", f"/v1/customers/{crm['customer']}/timeline", rep).data["items"]
    assert any(i["kind"] == "mail" and i["id"] == reply["id"] for i in cust_tl)
    # the same object delivered again writes nothing
    port.put_inbound("inbound/msg-1", raw)
    _deliver_inbound()
    again = api.call("GET", f"/v1/contacts/{crm['contacts'][0]}/timeline", rep).data["items"]
    assert len([i for i in again if i["kind"] == "mail" and i["direction"] == "in"]) == 1


def test_given_ses_verdicts_then_a_virus_is_dropped_and_an_unauthenticated_from_is_linked_to_no_record(api, crm):
    from chalicelib.ports import mail as port

    admin, rep = crm["admin"], crm["tokens"]["rep1"]
    box = api.call("POST", "/v1/mail/mailboxes", admin, {"name": "销售支持", "local_part": "sales", "member_ids": [crm["rep1"]]}).data

    def arrives(key: str, message_id: str, **verdicts: str) -> None:
        raw = _inbound("wang.fang@huaguang.example", box["address"], key, message_id=message_id)
        headers = "".join(f"X-SES-{k.upper()}-Verdict: {v}\r\n" for k, v in verdicts.items()).encode()
        port.put_inbound(f"inbound/{key}", headers + raw)  # SES puts its headers first
        _deliver_inbound()

    arrives("virus", "<v-1@x.example>", spam="PASS", virus="FAIL", spf="PASS", dkim="PASS")
    arrives("forged", "<f-1@x.example>", spam="PASS", virus="PASS", spf="FAIL", dkim="FAIL")
    arrives("genuine", "<g-1@x.example>", spam="PASS", virus="PASS", spf="FAIL", dkim="PASS")
    boxed = {m["subject"]: m for m in api.call("GET", f"/v1/mail/mailboxes/{box['id']}/messages", rep).data["items"]}
    assert set(boxed) == {"forged", "genuine"}  # the infected one is not kept
    timeline = api.call("GET", f"/v1/contacts/{crm['contacts'][0]}/timeline", rep).data["items"]
    assert [i["title"] for i in timeline if i["kind"] == "mail"] == ["genuine"]  # a forged From reaches no record
    assert not api.call("GET", f"/v1/mail/messages/{boxed['forged']['id']}", rep).data["links"]


def test_given_a_shared_mailbox_when_a_mail_arrives_then_its_members_see_it_and_others_do_not(api, crm):
    admin = crm["admin"]
    box = api.call("POST", "/v1/mail/mailboxes", admin, {"name": "销售支持", "local_part": "sales",
                                                         "member_ids": [crm["rep1"]]})
    assert box.status_code == 201, box.data
    assert box.data["address"] == f"sales@{crm['id']}.{get_settings().mail_domain}"
    assert api.call("POST", "/v1/mail/mailboxes", admin, {"name": "x", "local_part": "sales"}).status_code == 422
    assert api.call("POST", "/v1/mail/mailboxes", crm["tokens"]["rep1"], {"name": "x", "local_part": "y"}).status_code == 403
    from chalicelib.ports import mail as port

    port.put_inbound("inbound/msg-2", _inbound("someone@unknown.example", box.data["address"], "询价",
                                               message_id="<ask-1@unknown.example>"))
    assert _deliver_inbound() == 1
    mine = api.call("GET", f"/v1/mail/mailboxes/{box.data['id']}/messages", crm["tokens"]["rep1"])
    assert mine.status_code == 200, mine.data
    assert [m["subject"] for m in mine.data["items"]] == ["询价"]
    assert api.call("GET", f"/v1/mail/messages/{mine.data['items'][0]['id']}", crm["tokens"]["rep1"]).status_code == 200
    assert api.call("GET", f"/v1/mail/mailboxes/{box.data['id']}/messages", crm["tokens"]["rep2"]).status_code == 404
    assert api.call("GET", f"/v1/mail/messages/{mine.data['items'][0]['id']}", crm["tokens"]["rep2"]).status_code == 404
    assert [b["id"] for b in api.call("GET", "/v1/mail/mailboxes", crm["tokens"]["rep1"]).data["items"]] == [box.data["id"]]
    assert api.call("GET", "/v1/mail/mailboxes", crm["tokens"]["rep2"]).data["items"] == []
    # only its members send from it: one mail or a bulk send alike
    own = api.call("POST", "/v1/customers", crm["tokens"]["rep2"], {"name": "张伟的客户", "email": "a@zhang.example"}).data
    mail = {"record": {"entity": "customer", "id": own["id"]}, "subject": "s", "body_text": "b", "mailbox_id": box.data["id"]}
    assert api.call("POST", "/v1/mail/send", crm["tokens"]["rep2"], mail).status_code == 403
    assert api.call("POST", "/v1/mail/send", crm["tokens"]["rep2"], {**mail, "mailbox_id": None}).status_code == 201
    bulk = {"type": "customer", "subject": "s", "body_text": "b", "mailbox_id": box.data["id"]}
    assert api.call("POST", "/v1/mail/campaigns", crm["tokens"]["rep2"], bulk).status_code == 403
    assert api.call("POST", "/v1/mail/campaigns", crm["tokens"]["rep2"], {**bulk, "mailbox_id": "nope"}).status_code == 404
    assert api.call("POST", "/v1/mail/campaigns", crm["tokens"]["rep1"], bulk).status_code == 202


def test_given_an_inbound_mail_for_no_tenant_then_it_is_dropped(api, crm):
    from chalicelib.ports import mail as port

    port.put_inbound("inbound/msg-3", _inbound("a@b.example", "x@elsewhere.example", "spam"))
    assert _deliver_inbound() == 1  # handled (dropped), not retried


def test_given_a_sender_whose_field_rules_hide_a_field_when_a_template_names_it_then_422_and_nothing_is_sent(api, sales_team):
    admin = sales_team["admin"]
    role = api.call("POST", "/v1/org/roles", admin, {
        "name": "外包销售", "actions": {"customers": ["create", "list", "read"], "mail": ["create", "list", "read"]},
        "scopes": {"customers": "self", "mail": "self"}, "fields": {"customers": {"level": "hidden", "mobile": "masked"}}})
    assert role.status_code == 201, role.data
    user = api.call("POST", "/v1/org/users", admin, {"name": "外包小王", "mobile": "13900000020", "department_id": sales_team["sales"],
                                                     "role_ids": [role.data["id"]], "password": "Passw0rd!2026"})
    assert user.status_code == 201, user.data
    token = api.call("POST", "/v1/auth/login", body={"tenant_id": sales_team["id"], "mobile": "13900000020",
                                                     "password": "Passw0rd!2026"}).data["id_token"]
    cust = api.call("POST", "/v1/customers", admin, {"name": "机密客户", "email": "c@secret.example", "level": "A",
                                                     "mobile": "13912345678", "owner_id": user.data["id"]}).data
    hidden = api.call("POST", "/v1/mail/send", token, {"record": {"entity": "customer", "id": cust["id"]},
                                                       "subject": "等级 {{ record.level }}", "body_text": "x"})
    assert hidden.status_code == 422 and hidden.data["code"] == "MAIL_TEMPLATE_VARIABLE", hidden.data
    masked = api.call("POST", "/v1/mail/send", token, {"record": {"entity": "customer", "id": cust["id"]},
                                                       "subject": "电话 {{ record.mobile }}", "body_text": "x"})
    assert masked.status_code == 201, masked.data
    assert masked.data["subject"] == "电话 139****5678"
    assert len(_sent()) == 1
