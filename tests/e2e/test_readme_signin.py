"""The README's two-step sign-in walkthrough, run as written (bash + curl) against the local stack: a
tenant of its own requires MFA, the administrator's password-only token stops (MFA_REQUIRED), she enrols an authenticator (the code computed by
`python -m chalicelib.signin.totp`, RFC 6238) and signs in again with a code; a used code is refused.
The demo company is not touched."""
from __future__ import annotations

import re
import subprocess
import sys

from .readme import ROOT, bash_block


def test_given_the_readme_sign_in_when_run_as_written_then_enrolment_and_a_code_sign_in_work(stack):
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block("### Sign-in and MFA"), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", sys.executable)  # the interpreter this suite runs on
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT, env=stack.env)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert run.stdout.splitlines() == ["true", "MFA_REQUIRED", "MFA_SETUP", "Bearer", "MFA_CODE_INVALID", "true"], run.stdout
