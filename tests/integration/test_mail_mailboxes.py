"""Shared team mailboxes (WORK-5) whose members change: PATCH /v1/mail/mailboxes/{id} renames and adds or
removes members at the version read, and a job re-stamps the mailbox's mails, so that a new member reads them
and a removed one no longer does on every read path (by id, the engine's get, lists and search, the mailbox's
list, the mail's timeline, its attachments and the download of an attachment)."""
from __future__ import annotations

from email.message import EmailMessage

import pytest


def _run_jobs() -> None:
    from chalicelib.jobs import service as jobs

    jobs.run_queued()


def _deliver_inbound() -> int:
    from devstack.drivers import S3QueueDriver

    return S3QueueDriver().run_once()


def _arrives(key: str, to: str, subject: str, message_id: str) -> None:
    from chalicelib.ports import mail as port

    m = EmailMessage()
    m["From"] = "客户 <buyer@unknown.example>"
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = message_id
    m.set_content("请看附件中的询价单。")
    m.add_attachment(b"%PDF-1.7 inquiry", maintype="application", subtype="pdf", filename="询价单.pdf")
    port.put_inbound(f"inbound/{key}", m.as_bytes())
    assert _deliver_inbound() >= 1


@pytest.fixture()
def box(api, sales_team):
    """A shared mailbox of the administrator with 李娜 (rep1) as its member, holding one inbound mail with a file."""
    t = sales_team
    _deliver_inbound()  # S3's test event of the bucket's new notification
    made = api.call("POST", "/v1/mail/mailboxes", t["admin"], {"name": "销售支持", "local_part": "support",
                                                               "member_ids": [t["rep1"]]})
    assert made.status_code == 201, made.data
    _arrives("ask-1", made.data["address"], "询价", "<ask-1@unknown.example>")
    listed = api.call("GET", f"/v1/mail/mailboxes/{made.data['id']}/messages", t["tokens"]["rep1"])
    assert [m["subject"] for m in listed.data["items"]] == ["询价"], listed.data
    mail = api.call("GET", f"/v1/mail/messages/{listed.data['items'][0]['id']}", t["tokens"]["rep1"]).data
    return {**t, "box": made.data, "mail": mail, "file": mail["attachments"][0]["id"]}


def _sees(api, token: str, b: dict) -> dict[str, bool]:
    """Whether the user reads the mailbox's mail on each read path."""
    mail_id, box_id = b["mail"]["id"], b["box"]["id"]
    listed = api.call("GET", "/v1/mails", token)
    searched = api.call("GET", "/v1/mails?q=询价", token)
    boxed = api.call("GET", f"/v1/mail/mailboxes/{box_id}/messages", token)
    attachments = api.call("GET", f"/v1/mails/{mail_id}/attachments", token)
    return {
        "message": api.call("GET", f"/v1/mail/messages/{mail_id}", token).status_code == 200,
        "record": api.call("GET", f"/v1/mails/{mail_id}", token).status_code == 200,
        "list": listed.status_code == 200 and any(i["id"] == mail_id for i in listed.data["items"]),
        "search": searched.status_code == 200 and any(i["id"] == mail_id for i in searched.data["items"]),
        "mailbox": boxed.status_code == 200 and any(i["id"] == mail_id for i in boxed.data["items"]),
        "timeline": api.call("GET", f"/v1/mails/{mail_id}/timeline", token).status_code == 200,
        "attachments": attachments.status_code == 200,
        "download": api.call("GET", f"/v1/files/{b['file']}/download", token).status_code == 200,
    }


def test_given_a_shared_mailbox_when_a_member_is_added_and_one_removed_then_every_read_path_follows(api, box):
    rep1, rep2 = box["tokens"]["rep1"], box["tokens"]["rep2"]
    assert set(_sees(api, rep1, box).values()) == {True}
    assert set(_sees(api, rep2, box).values()) == {False}
    r = api.call("PATCH", f"/v1/mail/mailboxes/{box['box']['id']}", box["admin"],
                 {"name": "售前支持", "add_member_ids": [box["rep2"]], "remove_member_ids": [box["rep1"]]},
                 headers={"If-Match": f'"{box["box"]["version"]}"'})
    assert r.status_code == 200, r.data
    assert r.data["name"] == "售前支持" and r.data["member_ids"] == [box["rep2"]]
    assert r.data["version"] == box["box"]["version"] + 1 and r.data["job_id"]
    _run_jobs()
    job = api.call("GET", f"/v1/jobs/{r.data['job_id']}", box["admin"]).data
    assert job["status"] == "succeeded", job
    assert _sees(api, rep2, box) == dict.fromkeys(_sees(api, rep2, box), True)
    assert _sees(api, rep1, box) == dict.fromkeys(_sees(api, rep1, box), False)
    # the mailbox lists follow at once: 张伟 has it, 李娜 no longer
    assert [m["id"] for m in api.call("GET", "/v1/mail/mailboxes", rep2).data["items"]] == [box["box"]["id"]]
    assert api.call("GET", "/v1/mail/mailboxes", rep1).data["items"] == []
    # the mail's log says who changed its team
    log = api.call("GET", f"/v1/mails/{box['mail']['id']}/timeline", box["admin"]).data["items"]
    assert any(i["kind"] == "log" and i["action"] == "team" for i in log)
    # a mail arriving afterwards is read by the members of now
    _arrives("ask-2", box["box"]["address"], "再次询价", "<ask-2@unknown.example>")
    api.pump()
    boxed = api.call("GET", f"/v1/mail/mailboxes/{box['box']['id']}/messages", rep2).data["items"]
    assert sorted(m["subject"] for m in boxed) == ["再次询价", "询价"]


def test_given_a_mailbox_patch_then_it_is_version_checked_strict_and_for_administrators_only(api, box):
    path, admin = f"/v1/mail/mailboxes/{box['box']['id']}", box["admin"]
    version = box["box"]["version"]
    assert api.call("PATCH", path, admin, {"name": "x"}).status_code == 428
    stale = api.call("PATCH", path, admin, {"name": "x", "version": version + 5})
    assert stale.status_code == 409, stale.data
    assert api.call("PATCH", path, box["tokens"]["rep1"], {"name": "x", "version": version}).status_code == 403
    unknown = api.call("PATCH", path, admin, {"members": [box["rep2"]], "version": version}, headers={"Accept-Language": "en"})
    assert unknown.status_code == 422 and unknown.data["details"][0]["field"] == "members", unknown.data
    nobody = api.call("PATCH", path, admin, {"add_member_ids": [box["rep2"], "nobody"], "version": version},
                      headers={"Accept-Language": "en"})
    assert nobody.status_code == 422, nobody.data
    assert [d["field"] for d in nobody.data["details"]] == ["add_member_ids.1"]
    both = api.call("PATCH", path, admin, {"add_member_ids": [box["rep2"]], "remove_member_ids": [box["rep2"]],
                                           "version": version})
    assert both.status_code == 422 and both.data["details"][0]["field"] == "remove_member_ids.0", both.data
    assert "成员" in both.data["details"][0]["message"]
    assert api.call("PATCH", "/v1/mail/mailboxes/nope", admin, {"name": "x", "version": 1}).status_code == 404
    # nothing of that changed the mailbox; a rename alone queues no job
    renamed = api.call("PATCH", path, admin, {"name": "客服邮箱", "version": version})
    assert renamed.status_code == 200 and renamed.data.get("job_id") is None, renamed.data
    assert renamed.data["member_ids"] == [box["rep1"]]


def test_given_a_membership_change_while_a_mail_is_written_then_the_mail_gets_the_members_of_now(api, box):
    """A mail written with the members read before a change commits after it: its write is checked against the
    mailbox's version and retried with the new members, so the re-stamping walk can never miss it."""
    from chalicelib.core import context
    from chalicelib.mail import service
    from chalicelib.org import service as org

    stale = service._mailbox(box["id"], box["box"]["id"], consistent=True)
    r = api.call("PATCH", f"/v1/mail/mailboxes/{box['box']['id']}", box["admin"],
                 {"add_member_ids": [box["rep2"]], "version": box["box"]["version"]})
    assert r.status_code == 200, r.data
    with context.acting_as(context.RequestContext(tenant_id=box["id"], user_id=box["box"]["owner_id"])):
        out = service.write(org.principal(), {"direction": "in", "subject": "同时到达", "message_id": "<race@x.example>",
                                               "mailbox_id": stale.id, "status": "received"}, [], mailbox=stale)
    assert out is not None
    assert api.call("GET", f"/v1/mail/messages/{out['id']}", box["tokens"]["rep2"]).status_code == 200


def test_given_a_mail_from_before_mailbox_entries_when_members_change_then_it_is_restamped_too(api, box):
    """A mail written before MailboxMail existed has no entry: the job finds it from the mail records (the
    index by mailbox_id, as the mailbox's list does) and writes the entry it lacked."""
    from chalicelib.mail.models import Mailbox, MailboxMail

    pk = Mailbox.key(box["id"], box["box"]["id"])[0]
    entries = [e for e in MailboxMail.query(pk, MailboxMail.sk.startswith("MAIL#")) if isinstance(e, MailboxMail)]
    assert [e.mail_id for e in entries] == [box["mail"]["id"]]
    entries[0].delete()
    rep1, rep2 = box["tokens"]["rep1"], box["tokens"]["rep2"]
    r = api.call("PATCH", f"/v1/mail/mailboxes/{box['box']['id']}", box["admin"],
                 {"add_member_ids": [box["rep2"]], "remove_member_ids": [box["rep1"]]},
                 headers={"If-Match": f'"{box["box"]["version"]}"'})
    assert r.status_code == 200, r.data
    _run_jobs()
    job = api.call("GET", f"/v1/jobs/{r.data['job_id']}", box["admin"]).data
    assert job["status"] == "succeeded" and job["result"] == {"mails": 1, "moved": 1}, job
    assert _sees(api, rep2, box) == dict.fromkeys(_sees(api, rep2, box), True)
    assert _sees(api, rep1, box) == dict.fromkeys(_sees(api, rep1, box), False)
    again = [e.mail_id for e in MailboxMail.query(pk, MailboxMail.sk.startswith("MAIL#"), consistent_read=True)
             if isinstance(e, MailboxMail)]
    assert again == [box["mail"]["id"]]  # the entry is back: the next change walks it directly


# ---- mails in the recycle bin while the members change ------------------------------------------------
def _delete(api, b: dict) -> None:
    mail_id, admin = b["mail"]["id"], b["admin"]
    version = api.call("GET", f"/v1/mails/{mail_id}", admin).data["version"]
    assert api.call("DELETE", f"/v1/mails/{mail_id}", admin, headers={"If-Match": f'"{version}"'}).status_code == 204


def _change(api, b: dict, add: list[str], remove: list[str]) -> dict:
    version = api.call("GET", "/v1/mail/mailboxes", b["admin"]).data["items"][0]["version"]
    r = api.call("PATCH", f"/v1/mail/mailboxes/{b['box']['id']}", b["admin"],
                 {"add_member_ids": add, "remove_member_ids": remove, "version": version})
    assert r.status_code == 200 and r.data["job_id"], r.data
    return r.data


def _entries(b: dict) -> list[str]:
    from chalicelib.mail.models import Mailbox, MailboxMail

    pk = Mailbox.key(b["id"], b["box"]["id"])[0]
    return [e.mail_id for e in MailboxMail.query(pk, MailboxMail.sk.startswith("MAIL#"), consistent_read=True)
            if isinstance(e, MailboxMail)]


def _everywhere(api, token: str, b: dict, expected: bool) -> None:
    api.pump()  # the index follows what the job wrote
    seen = _sees(api, token, b)
    assert seen == dict.fromkeys(seen, expected), seen


def test_given_a_mail_in_the_recycle_bin_when_members_change_then_it_comes_back_with_the_members_of_now(api, box):
    rep1, rep2, admin, mail_id = box["tokens"]["rep1"], box["tokens"]["rep2"], box["admin"], box["mail"]["id"]
    _delete(api, box)
    _everywhere(api, rep1, box, False)
    r = _change(api, box, [box["rep2"]], [box["rep1"]])
    _run_jobs()
    job = api.call("GET", f"/v1/jobs/{r['job_id']}", admin).data
    assert job["status"] == "succeeded" and job["result"] == {"mails": 1, "moved": 1}, job
    # re-stamped where it is: still in the bin, and nowhere else
    assert [i["id"] for i in api.call("GET", "/v1/recycle-bin", admin).data["items"]] == [mail_id]
    assert api.call("GET", f"/v1/mails/{mail_id}", admin).status_code == 404
    assert all(i["id"] != mail_id for i in api.call("GET", "/v1/mails", admin).data["items"])
    back = api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin)
    assert back.status_code == 200, back.data
    _everywhere(api, rep2, box, True)
    _everywhere(api, rep1, box, False)
    log = [e["action"] for e in api.call("GET", f"/v1/records/mail/{mail_id}/logs", admin).data["items"]]
    assert log[:3] == ["restore", "team", "delete"], log


def test_given_a_restore_before_the_members_job_has_run_then_both_orders_end_with_the_members_of_now(api, box):
    rep1, rep2, admin, mail_id = box["tokens"]["rep1"], box["tokens"]["rep2"], box["admin"], box["mail"]["id"]
    _delete(api, box)
    r = _change(api, box, [box["rep2"]], [box["rep1"]])
    # restored while the change's job is still queued: the restore stamps the members of now itself …
    assert api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin).status_code == 200
    _everywhere(api, rep2, box, True)
    # … and the job, which walks the mail wherever it is, drops the member who left
    _run_jobs()
    assert api.call("GET", f"/v1/jobs/{r['job_id']}", admin).data["status"] == "succeeded"
    _everywhere(api, rep1, box, False)
    _everywhere(api, rep2, box, True)


def test_given_members_changing_while_a_mail_is_restored_then_the_restore_is_refused_and_can_be_repeated(
        api, box, monkeypatch):
    """A restore that read the members before a change committed would bring back the old ones: it is checked
    against the mailbox's version in its own transaction (409), and a second try has the members of now."""
    from chalicelib.mail import service

    admin, mail_id = box["admin"], box["mail"]["id"]
    _delete(api, box)
    stale = service._mailbox(box["id"], box["box"]["id"], consistent=True)
    _change(api, box, [box["rep2"]], [box["rep1"]])
    with monkeypatch.context() as m:
        m.setattr(service, "_mailbox", lambda *a, **k: stale)
        refused = api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin, headers={"Accept-Language": "en"})
    assert refused.status_code == 409, refused.data
    assert [i["id"] for i in api.call("GET", "/v1/recycle-bin", admin).data["items"]] == [mail_id]
    assert api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin).status_code == 200
    _run_jobs()
    _everywhere(api, box["tokens"]["rep2"], box, True)
    _everywhere(api, box["tokens"]["rep1"], box, False)


def test_given_a_purged_mail_then_it_leaves_its_mailbox_and_the_next_change_walks_without_it(api, box):
    admin, mail_id = box["admin"], box["mail"]["id"]
    assert _entries(box) == [mail_id]
    _delete(api, box)
    assert _entries(box) == [mail_id]  # in the bin it is still the mailbox's (a change re-stamps it there)
    assert api.call("DELETE", f"/v1/recycle-bin/mail/{mail_id}", admin).status_code == 204
    assert _entries(box) == []
    r = _change(api, box, [box["rep2"]], [])
    _run_jobs()
    job = api.call("GET", f"/v1/jobs/{r['job_id']}", admin).data
    assert job["status"] == "succeeded" and job["result"] == {"mails": 0, "moved": 0}, job
    assert api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin).status_code == 404


def test_given_a_binned_mail_without_its_mailbox_entry_when_restored_then_the_entry_is_back_for_the_next_change(api, box):
    """A mail deleted before MailboxMail existed has no entry, and the index (where the job looks for mails
    lacking one) holds only live mails: its restore puts the entry back, so the next change walks it."""
    from chalicelib.mail.models import Mailbox, MailboxMail

    admin, mail_id = box["admin"], box["mail"]["id"]
    pk = Mailbox.key(box["id"], box["box"]["id"])[0]
    for e in MailboxMail.query(pk, MailboxMail.sk.startswith("MAIL#")):
        e.delete()
    _delete(api, box)
    assert api.call("POST", f"/v1/recycle-bin/mail/{mail_id}/restore", admin).status_code == 200
    assert _entries(box) == [mail_id]
    _change(api, box, [box["rep2"]], [box["rep1"]])
    _run_jobs()
    _everywhere(api, box["tokens"]["rep2"], box, True)
    _everywhere(api, box["tokens"]["rep1"], box, False)
