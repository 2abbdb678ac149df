"""The module manifest is what every process runs on: the API and each Lambda, imported
alone in a fresh interpreter, see the same record types, approval hooks, hand-over,
operation-log access and notifications. A Lambda that imports less must not lose a hook."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from functions.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import json, sys, importlib
importlib.import_module(sys.argv[1])
from chalicelib import manifest
print(json.dumps(manifest.snapshot()))
"""


def _snapshot(module: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    out = subprocess.run([sys.executable, "-c", _PROBE, module], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def api_process() -> dict:
    return _snapshot("app")


def test_given_the_api_process_then_every_module_of_the_manifest_is_installed(api_process):
    assert {"customer", "competitor"} <= set(api_process["entities"])
    assert {"CUSTOMER", "COMPETITOR"} <= set(api_process["searchable"])
    assert "APPLICATION" in api_process["approval_hooks"]
    assert {"customers", "competitors"} <= set(api_process["handover"])
    assert api_process["handover_checks"] == ["customers"]  # the ownership limits, before a hand-over moves anything
    assert {"customer", "competitor", "application", "user"} <= set(api_process["audit_access"])
    assert api_process["session"] is True


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.name)
def test_given_a_lambda_imported_alone_when_fresh_then_it_sees_what_the_api_sees(fn, api_process):
    assert _snapshot(fn.handler.rsplit(".", 1)[0]) == api_process


def test_given_the_approval_timer_alone_when_a_form_step_times_out_then_the_application_hook_is_there():
    """The timer auto-passes or auto-rejects a form application's last step: without the forms
    module's status hook in that process the approval would end while the application stays
    pending. The hook must be there although the timer never imports forms itself."""
    seen = _snapshot("functions.approval_timer")
    assert "APPLICATION" in seen["approval_hooks"]
