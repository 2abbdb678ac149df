"""The README's messages walkthrough, run as written against the local stack: a tenant of its own, a
direct conversation, a message sent twice with one Idempotency-Key (one message), unread counts, a
long-poll that answers with the next message, and a read marker that clears the count."""
from __future__ import annotations

import subprocess

from .readme import run_block


def _run(stack, heading: str) -> subprocess.CompletedProcess:
    return run_block(stack, heading, timeout=120)


def test_given_the_readme_messages_walkthrough_when_run_as_written_then_counts_poll_and_read_marks_answer(stack):
    run = _run(stack, "#### Messages (内部消息)")
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["1", "下午三点前就行", "0"], run.stdout
