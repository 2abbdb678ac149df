"""The README's shared-mailbox walkthrough, run as written (bash + curl) against the local stack: a tenant of its own
makes a shared mailbox, an inquiry with a file arrives, one member joins and another leaves, and after the
re-stamping job each reads (or no longer reads) the mail by id, as a record, its attachments and the file's download,
then the lists follow."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_mailbox_walkthrough_when_run_as_written_then_the_mail_follows_the_members(stack):
    run = run_block(stack, "#### Shared mailboxes (共享邮箱)", timeout=180)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == [
        "200 200 200 200 ",
        "404 404 404 404 ",
        "409",
        "404 404 404 404 ",
        "200 200 200 200 ",
        "['RFQ']",
        "[]",
    ], run.stdout

