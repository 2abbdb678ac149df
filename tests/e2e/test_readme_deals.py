"""The README's deals walkthrough, run as written (bash + curl) against the local stack: a line's
price for a level-A customer, an opportunity priced on the server, a stage move, the director's
board and forecast (which count the demo's opportunities and the new one)."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_deals_walkthrough_when_run_as_written_then_prices_and_figures_are_as_shown(stack):
    lina = stack.login("13800000004")
    assert stack.eventually(lambda: stack.call("GET", "/v1/products", lina).json()["items"], timeout=60, every=0.5), \
        "the demo catalogue never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Deals on `make dev`"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    out = run.stdout.splitlines()
    assert out[:4] == ["10260", "123120", "61560", "方案报价"], out
    assert int(out[4]) >= 6  # the demo's five open opportunities and this run's (and earlier runs')
