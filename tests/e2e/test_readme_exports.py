"""The README's export walkthrough, run as written (bash + curl) against the local stack: a manager's
A-level customers as an XLSX answered at once (only her team's, codes as names), all of them as CSV
through a job and its presigned link (with a BOM), and the administrator's export of this month's log."""
from __future__ import annotations

import csv
import io
import re
import subprocess

from openpyxl import load_workbook

from .readme import bash_block

TEAM = {"孙丽", "李娜", "张伟"}  # 孙丽 (sales manager, 本人及下属) and her reps


def test_given_the_readme_export_walkthrough_when_run_as_written_then_the_files_hold_her_scope(stack, tmp_path):
    sunli = stack.login("13800000003")
    assert stack.eventually(lambda: stack.call("GET", "/v1/customers?limit=1", sunli).json()["items"], timeout=60, every=0.5), \
        "the demo customers never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("#### Export on `make dev`"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", f"set -e\n{script}"], capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "efbbbf",
                                       "succeeded"], run.stdout

    ws = load_workbook(io.BytesIO((tmp_path / "customers.xlsx").read_bytes())).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows and {r["客户级别"] for r in rows} == {"A（重点客户）"}
    assert {r["负责人"] for r in rows} <= TEAM

    text = (tmp_path / "customers.csv").read_bytes().decode("utf-8-sig")
    every = list(csv.DictReader(io.StringIO(text)))
    assert len(every) > len(rows) and {r["负责人"] for r in every} <= TEAM

    liuyang = stack.login("13800000001")
    month = stack.call("GET", "/v1/audit", liuyang).json()["items"]
    exported = [e for e in month if e["action"] == "export" and e["entity"] == "export"]
    assert len(exported) >= 2
