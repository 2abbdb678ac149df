"""The README's team calendar walkthrough, run as written (bash + curl) against the local stack: a tenant of
its own, team events of two teams (one private), a rep's team calendars and her team's week, another team's
calendar refused, and the manager's view of both teams without the private event."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_team_calendar_walkthrough_when_run_as_written_then_each_sees_their_teams(stack):
    run = run_block(stack, "Team calendars on `make dev`", timeout=180)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == [
        "华东组", "华东组", "华南组", "华南组", "[('华东组', 2)]", "['华东组周会', '拜访上汽']", "TEAM_CALENDAR_NOT_FOUND",
        "[('华东组', 2), ('华南组', 1)]", "['华南组复盘']"], run.stdout
