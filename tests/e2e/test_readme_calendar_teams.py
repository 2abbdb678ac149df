"""The README's team calendar walkthrough, run as written (bash + curl) against the local stack: a tenant of
its own, team events of two teams (one private), a rep's team calendars and her team's week, another team's
calendar refused, and the manager's view of both teams without the private event."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from .readme import ROOT, bash_block


def test_given_the_readme_team_calendar_walkthrough_when_run_as_written_then_each_sees_their_teams(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("Team calendars on `make dev`"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", "python")  # the interpreter the stack runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, cwd=ROOT,
                         env={**stack.env, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"})
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == [
        "华东组", "华东组", "华南组", "华南组", "[('华东组', 2)]", "['华东组周会', '拜访上汽']", "TEAM_CALENDAR_NOT_FOUND",
        "[('华东组', 2), ('华南组', 1)]", "['华南组复盘']"], run.stdout
