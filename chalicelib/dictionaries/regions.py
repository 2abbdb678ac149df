"""The region dictionary the product ships (行政区划: 省/市/区县, regions.tsv): what the region
field type checks codes against and names them by, and what clients draw cascaders from.

Read once per container, on first use (about 3,350 rows, a few milliseconds); the same for
every tenant, so it is data of the product, not of a tenant.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FILE = Path(__file__).with_name("regions.tsv")
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}  # levels that name no place


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    rows: dict[str, tuple[str, str]] = {}
    children: dict[str, list[str]] = {}
    for line in FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, name, parent = line.split("\t")
        rows[code] = (name, parent)
        children.setdefault(parent, []).append(code)
    return rows, children


def name(code: str) -> str | None:
    """The full name of a code, province first: 上海市/徐汇区, 广东省/深圳市/南山区; None if unknown."""
    rows, _ = _table()
    parts: list[str] = []
    while code in rows:
        n, code = rows[code]
        if n not in PLACEHOLDERS:
            parts.append(n)
    return "/".join(reversed(parts)) or None


def children(parent: str | None = None) -> list[dict[str, str]]:
    """The regions under `parent` (provinces when None): [{code, name}], by code."""
    rows, kids = _table()
    return [{"code": c, "name": rows[c][0]} for c in sorted(kids.get(parent or "", []))]


def known(code: str) -> bool:
    return code in _table()[0]


def lineage(code: str) -> list[str]:
    """The code and every code above it, nearest first (区 → 市 → 省); [] if unknown."""
    rows, _ = _table()
    out: list[str] = []
    while code in rows and code not in out:
        out.append(code)
        code = rows[code][1]
    return out


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    rows, _ = _table()
    found: dict[str, str] = {}
    for code in sorted(rows):  # a placeholder level (北京市/市辖区) names the same place as its parent: the parent wins
        full = name(code)
        if full:
            found.setdefault(full, code)
    return found


def code_of(text: str) -> str | None:
    """The code of a full region name as `name()` spells it (广东省/深圳市/南山区), or of a code; None if unknown."""
    text = (text or "").strip().strip("/")
    if known(text):
        return text
    return _by_name().get(text)
