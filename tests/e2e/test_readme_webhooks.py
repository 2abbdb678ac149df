"""The README's webhooks walkthrough, run as written (bash + curl + the Python receiver it shows) against
the local stack: a tenant of its own registers a loopback receiver, a new customer arrives signed, the
receiver's own check verifies it, and the delivery log shows one successful attempt."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_webhooks_walkthrough_when_run_as_written_then_the_customer_arrives_signed(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Webhooks on `make dev`"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", "python")  # the interpreter the stack runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**stack.env, "PATH": _path()})
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["customers.customer.created verified", "succeeded 1 204"], run.stdout


def _path() -> str:
    import os
    import sys

    return f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
