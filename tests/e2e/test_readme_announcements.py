"""The README's announcements walkthrough, run as written against the local stack: columns, a pinned
notice for one department with its body cleaned, the reader in the audience notified (by the job) and
reading it, the one outside it answered 404, and who has read it."""
from __future__ import annotations

from .test_readme_messages import _run


def test_given_the_readme_announcements_walkthrough_when_run_as_written_then_audience_and_receipts_hold(stack):
    run = _run(stack, "#### Announcements (公告)")
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["新闻", "<p>目标 <b>500 万</b></p>", "新公告：四季度销售目标", "404", "1 1 李娜"], run.stdout
