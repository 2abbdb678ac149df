"""`python -m devstack.token` for a stack on another port (README, next to `make dev`): the token's issuer
names the API port from CRM_API_PORT, so the variables the stack was started with must be set for it too."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _issuer(tmp_path: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "AWS_"))}
    clean.update({"CRM_LOCAL_IDP_KEY_FILE": str(tmp_path / "idp-key.pem"), "CRM_SEARCH_FILE": str(tmp_path / "s.sqlite3"), **env})
    out = subprocess.run([sys.executable, "-m", "devstack.token", "--platform"], cwd=ROOT, env=clean,
                         capture_output=True, text=True, check=True, timeout=60)
    payload = out.stdout.strip().split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iss"]


def test_given_the_ports_of_the_readme_when_a_token_is_signed_then_its_issuer_names_that_api_port(tmp_path):
    assert _issuer(tmp_path, CRM_API_PORT="8100", CRM_MOTO_PORT="5105") == "http://127.0.0.1:8100/local-idp"
    assert _issuer(tmp_path) == "http://127.0.0.1:8000/local-idp"  # without them: the default stack's, refused on 8100
