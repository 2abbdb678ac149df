"""The README's email walkthrough, run as written (bash + curl) against the local stack: a tenant of its own sends
a mail from a customer (on its timeline), suppresses a contact, sends a bulk mail that skips that contact, and a
reply delivered to the mail bucket lands on the other contact's timeline in the bulk mail's thread."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_mail_walkthrough_when_run_as_written_then_the_reply_lands_on_the_contacts_timeline(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("#### Email (邮件)"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", "python")  # the interpreter the stack runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, cwd=ROOT,
                         env={**stack.env, "PATH": _path()})
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


def _path() -> str:
    import os
    import sys

    return f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
