"""The README's email walkthrough, run as written (bash + curl) against the local stack: a tenant of its own sends
a mail from a customer (on its timeline), suppresses a contact, sends a bulk mail that skips that contact, and a
reply delivered to the mail bucket lands on the other contact's timeline in the bulk mail's thread."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_mail_walkthrough_when_run_as_written_then_the_reply_lands_on_the_contacts_timeline(stack):
    run = run_block(stack, "#### Email (邮件)", timeout=180)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == [
        "sent boss@huaguang.example 致 华光科技有限公司",
        "['致 华光科技有限公司']",
        "201",
        "succeeded [('sent', 1), ('skipped_unsubscribed', 1)]",
        "[('刘强', 'skipped_unsubscribed'), ('王芳', 'sent')]",
        "out wang.fang@huaguang.example True",
        "[('in', 'Re: invitation'), ('out', '王芳，新品发布会邀请')] 1",
    ], run.stdout

