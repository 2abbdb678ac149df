"""The README's tasks walkthrough, run as written (bash + curl) against the local stack: 孙丽 assigns
李娜 a task due tonight, 李娜 finds it in her 今天 view, comments with an @mention, completes it, and
孙丽 approves the completion."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_tasks_walkthrough_when_run_as_written_then_the_task_is_done_as_shown(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("#### Tasks (任务)"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["回复华为的技术澄清", "[]", "awaiting_approval", "done"], run.stdout
    sunli, lina = stack.login("13800000003"), stack.login("13800000004")
    kinds = [n["kind"] for n in stack.call("GET", "/v1/notifications", sunli).json()["items"]]
    assert "mention" in kinds and "task_awaiting_approval" in kinds
    kinds = [n["kind"] for n in stack.call("GET", "/v1/notifications", lina).json()["items"]]
    assert "task_assigned" in kinds and "task_completion_approved" in kinds
