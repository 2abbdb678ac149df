"""The README's backup walkthrough, run as written (bash + curl) against the local stack: a tenant of
its own is backed up by its administrator (a job the bus driver runs), the manifest is read through
its presigned link, and a platform operator restores the backup into a new tenant code where the
same administrator signs in and finds the customer; the tenant's inbound channel comes back disabled and
without a secret until the administrator rotates it and enables it. The demo company is not touched."""
from __future__ import annotations

import re
import subprocess
import sys

from .readme import ROOT, bash_block


def test_given_the_readme_backup_when_run_as_written_then_the_restored_tenant_holds_the_customer(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Backups on `make dev`"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", sys.executable)  # the interpreter this suite runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, cwd=ROOT, env=stack.env)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["succeeded", "1", "1", "queued", "succeeded", "备份演示客户", "False False",
                                      "true"], run.stdout
