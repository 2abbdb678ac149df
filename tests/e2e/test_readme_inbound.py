"""The README's inbound integrations walkthrough, run as written (bash + curl + openssl) against the local
stack: a tenant of its own makes a web-order channel, signs an order with openssl, posts it without a token,
sends it again with the same Idempotency-Key (answered, not written), reads the lead and the delivery log, and
a wrong signature gets 401."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_inbound_walkthrough_when_run_as_written_then_the_order_becomes_one_lead(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Inbound integrations on `make dev`"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", "python")  # the interpreter the stack runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**stack.env, "PATH": _path()})
    assert run.returncode == 0 and not run.stderr, (run.stdout, run.stderr)
    assert run.stdout.splitlines() == ["False ['created']", "True ['created']", "1 王小明 小明商贸", "1 succeeded 1 1", "401"], \
        run.stdout


def _path() -> str:
    import os
    import sys

    return f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
