"""The README's examples as the e2e tests run them: the first ```bash block after a heading or
sentence, and its curl commands as argument lists."""
from __future__ import annotations

import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bash_block(after: str) -> str:
    """The first bash block following the text `after` in README.md."""
    text = (ROOT / "README.md").read_text()
    body = text[text.index(after):]
    start = body.index("```bash") + len("```bash")
    return body[start:body.index("```", start)]


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
