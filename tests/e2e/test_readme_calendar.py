"""The README's calendar walkthrough, run as written (bash + curl) against the local stack: a tenant of its own,
a rep's customer visit, the manager's weekly meeting with both reps warned of the conflict (naming the visit) and
then forced, the rep's month with the recurring meeting expanded, and her iCalendar feed by its secret link."""
from __future__ import annotations

from .readme import run_block


def test_given_the_readme_calendar_walkthrough_when_run_as_written_then_the_conflict_is_named_and_forced(stack):
    run = run_block(stack, "#### Calendar (日程)", timeout=180)
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == [
        "拜访华为 True", "EVENT_CONFLICT [('李娜', ['拜访华为'])]", "销售周会 FREQ=WEEKLY;COUNT=4;BYDAY=MO",
        "[('拜访华为', None), ('销售周会', '2030-03-04'), ('销售周会', '2030-03-11'), ('销售周会', '2030-03-18'), "
        "('销售周会', '2030-03-25')]", "2"], run.stdout
