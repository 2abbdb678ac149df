"""Synthesize the CDK app once per test session and share the result.

Synthesis runs ``infra/app.py`` in a child process, exactly as ``make synth`` does:
``chalice package`` imports ``app.py`` with the stage's (token-valued) environment and
keeps it in ``sys.modules``, which must not leak into the rest of the test session.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
SYNTH_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Synthesis:
    """The outcome of one ``infra/app.py`` run."""

    outdir: Path
    returncode: int
    output: str
    seconds: float

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{STAGE}.template.json"

    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text(encoding="utf-8"))


def _synth_environment(outdir: Path) -> dict[str, str]:
    """The environment of ``make synth``: dummy credentials, no application settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRM_", "POWERTOOLS_", "AWS_", "CDK_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    })
    return env


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """``infra/app.py -c stage=dev`` into a temporary cloud assembly directory."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py"), "-c", f"stage={STAGE}"],
        cwd=REPO_ROOT,
        env=_synth_environment(outdir),
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
        check=False,
    )
    result = Synthesis(outdir=outdir, returncode=proc.returncode, output=proc.stdout + proc.stderr,
                       seconds=time.monotonic() - started)
    if not result.template_path.exists():
        pytest.fail(f"synthesis produced no template (exit {proc.returncode}):\n{result.output[-6000:]}")
    return result


@pytest.fixture(scope="session")
def template_json(synthesis: Synthesis) -> dict[str, Any]:
    """The synthesized CloudFormation template as plain JSON."""
    return synthesis.template()


@pytest.fixture(scope="session")
def template(template_json: dict[str, Any]):
    """The synthesized template wrapped for ``aws_cdk.assertions``."""
    from aws_cdk.assertions import Template

    return Template.from_json(template_json)
