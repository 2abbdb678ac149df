"""The README's work reports walkthrough, run as written (bash + curl) against the local stack: who has not
submitted, a daily report with its template's sections, the one-report-per-day rule, submit, a review that
reaches the author's inbox, a colleague kept out, and the reminder schedule switched on."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_work_reports_walkthrough_when_run_as_written_then_each_answer_is_as_shown(stack):
    rep = stack.login("13800000007")
    assert stack.eventually(lambda: stack.call("GET", "/v1/customers?q=云帆", rep).json()["items"], timeout=60, every=0.5), \
        "the demo customers never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("#### Work reports (工作报告)"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["王芳", "今日工作", "WORK_REPORT_EXISTS", "submitted", "方案报价前先给我过目",
                                       "work_report.reviewed", "404", "true"], run.stdout
