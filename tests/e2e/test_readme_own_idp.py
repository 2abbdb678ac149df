"""The README's own-identity-provider example (Deploying to the China regions), run as written against the
local stack: a demo user signs in, the token's header names its key, and the JWKS lists that key. Read-only
on the demo data (a sign-in)."""
from __future__ import annotations

import re
import subprocess

from .readme import ROOT, bash_block


def test_given_the_readme_jwks_example_when_run_as_written_then_the_tokens_kid_is_published(stack):
    block = bash_block("Locally the own identity provider is what `make dev` runs")
    script = re.sub(r"^API=\S+", f"API={stack.url}", block, count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT, env=stack.env)
    assert run.returncode == 0 and not run.stderr, run.stderr
    kid, published = run.stdout.splitlines()
    assert kid and kid in published.split()
