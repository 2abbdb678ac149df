"""The README's group walkthrough, run as written against the local stack: a tenant of its own, a group
with a file, a member added later who reads the line saying he joined but not the file sent before,
and a member leaving, told in the reader's language."""
from __future__ import annotations

from .test_readme_messages import _run


def test_given_the_readme_group_walkthrough_when_run_as_written_then_system_lines_and_file_rights_answer(stack):
    run = _run(stack, "**Groups: who joined, who left, and files from before.**")
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["张伟 加入了群聊", "404 200", "王芳 left"], run.stdout
