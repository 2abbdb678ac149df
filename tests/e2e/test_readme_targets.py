"""The README's targets walkthrough, run as written (bash + curl) against the local stack: the demo's
sales plan, 李娜's achievement and commission statement of this month, 孙丽's department and the
territory of 深圳市南山区."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

from .readme import ROOT, bash_block


def test_given_the_readme_targets_walkthrough_when_run_as_written_then_the_figures_are_as_shown(stack):
    lina = stack.login("13800000004")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the demo's payments are dated on its day
    month = today.isoformat()[:7]
    assert stack.eventually(lambda: stack.call("GET", f"/v1/commission/statements?period={month}", lina).json()["items"][0]["lines"],
                            timeout=60, every=0.5), "the demo's payments never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Targets, achievement and commission on `make dev`"),
                    count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == [f"{today.year} 年度销售计划", "100000.00", "销售一部", "6000.00", "深圳"], run.stdout
