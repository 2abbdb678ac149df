"""The README's examples as the e2e tests run them: the first ```bash block after a heading or
sentence, and its curl commands as argument lists."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def bash_block(after: str) -> str:
    """The first bash block following the text `after` in README.md."""
    text = (ROOT / "README.md").read_text()
    body = text[text.index(after):]
    start = body.index("```bash") + len("```bash")
    return body[start:body.index("```", start)]


def run_block(stack: Any, after: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the bash block after `after` as written, against the local stack `stack`: its `API=` line
    points at the stack, `.venv/bin/python` is the interpreter the stack runs on (first on PATH)."""
    script = re.sub(r"^API=\S+", f"API={stack.url}", bash_block(after), count=1, flags=re.M)
    script = script.replace(".venv/bin/python", "python")
    path = f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**stack.env, "PATH": path})


def words(block: str) -> list[str]:
    """The block as the shell splits it (continuation lines joined, comments dropped)."""
    return shlex.split(block.replace("\\\n", " "), comments=True)


def curl_commands(block: str) -> list[list[str]]:
    """Every `curl …` of the block as its arguments."""
    commands: list[list[str]] = []
    for tok in words(block):
        if tok == "curl":
            commands.append([])
        elif commands:
            commands[-1].append(tok)
    return commands
