"""The README's dashboard walkthrough, run as written (bash + curl) against the local stack: the
director's whole dashboard of his people, a rep's `company` clamped to his own records, the
forgotten-customer buckets and a manager's pending approvals."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_dashboard_walkthrough_when_run_as_written_then_the_figures_are_as_shown(stack):
    director = stack.login("13800000002")
    assert stack.eventually(lambda: stack.call("GET", "/v1/opportunities", director).json()["items"], timeout=60, every=0.5), \
        "the demo opportunities never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### The dashboard on `make dev`"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    out = run.stdout.splitlines()
    assert out[:5] == ["需求确认", "1", "540000", "0", "180"], out  # 540000: the demo's targets of his people
    assert int(out[5]) >= 1  # the demo's pending contract waits for 孙丽 (and any other demo approval of hers)
