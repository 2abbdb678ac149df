"""The README's printing walkthrough, run as written (bash + curl) against the local stack: the demo's
contract template, a contract fetched as a PDF through Chalice's local HTTP server (bytes intact: it
parses, in the CJK font), and the print in the operation log."""
from __future__ import annotations

import io
import re
import subprocess

from pypdf import PdfReader

from .readme import bash_block


def test_given_the_readme_printing_walkthrough_when_run_as_written_then_the_pdf_arrives_whole(stack, tmp_path):
    lina = stack.login("13800000004")
    assert stack.eventually(lambda: stack.call("GET", "/v1/contracts?q=华为", lina).json()["items"], timeout=60, every=0.5), \
        "the demo contracts never reached the search index"
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Printing on `make dev`"), count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["销售合同", "200 application/pdf", "%PDF-", "print"], run.stdout
    reader = PdfReader(io.BytesIO((tmp_path / "contract.pdf").read_bytes()))
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in reader.pages))
    assert "华夏智联科技有限公司" in text and "华为CRM一期合同" in text and "产品明细" in text
