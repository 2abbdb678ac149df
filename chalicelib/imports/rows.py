"""From a file's cells to a create's body: the column mapping (auto-matched by label in zh-CN or
en, or by field key; the user's last mapping offered again) and each cell parsed by the spreadsheet
package (tabular.columns.parse), errors told per column in the starter's language."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.errors import DomainError
from ..core.permissions import Principal
from ..engine.definition import EntityDef


def columns(d: EntityDef, p: Principal, locale: str, lookup: Any = None) -> list[Any]:
    """The columns a caller may import into (tabular.columns: writable fields, custom fields, owner)."""
    from ..tabular import columns as tcols

    return tcols.columns(d, p, purpose="import", locale=locale, lookup=lookup)


def suggest(headers: list[str], cols: list[Any], saved: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """header -> column key: the user's saved choice for that header first, then the column whose
    label (either language) or key the header names (tabular.match_headers); None for a header
    that names nothing. A column is taken by one header at most."""
    from ..tabular import columns as tcols

    known = {c.key for c in cols}
    auto = tcols.match_headers(headers, cols)
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for h, col in zip(headers, auto, strict=True):
        if h in out or not str(h).strip():
            continue
        if saved is not None and h in saved and (saved[h] is None or saved[h] in known):
            key = saved[h]
        else:
            key = col.key if col is not None else None
        if key in taken:
            key = None
        out[h] = key
        if key:
            taken.add(key)
    return out


@dataclass
class Plan:
    """How one file's rows become bodies: column index -> Column, and the header of each field."""

    headers: list[str]
    by_index: dict[int, Any]
    header_of: dict[str, str] = field(default_factory=dict)  # field key ("name", "custom.x", "owner_id") -> header
    label_of: dict[str, str] = field(default_factory=dict)  # field key -> its label (for fields not in the file)


def plan(headers: list[str], cols: list[Any], mapping: dict[str, str | None]) -> Plan:
    by_key = {c.key: c for c in cols}
    by_index: dict[int, Any] = {}
    header_of: dict[str, str] = {}
    for i, h in enumerate(headers):
        key = mapping.get(h)
        if key and key in by_key and key not in header_of:
            by_index[i] = by_key[key]
            header_of[key] = h
    return Plan(headers, by_index, header_of, {c.key: c.label for c in cols})


def body(pl: Plan, cells: list[str], lookup: Any, locale: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A create's body from one row's cells, and the cells that could not be read ([{column, message}])."""
    from ..tabular import columns as tcols

    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for i, col in pl.by_index.items():
        cell = cells[i] if i < len(cells) else ""
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            value = tcols.parse(col, cell.strip() if isinstance(cell, str) else cell, lookup)
        except tcols.CellError as e:
            errors.append({"column": pl.headers[i], "message": _cell_message(e, locale)})
            continue
        if value is None:
            continue
        if col.key.startswith("custom."):
            out.setdefault("custom", {})[col.key[7:]] = value
        else:
            out[col.key] = value
    return out, errors


def _cell_message(e: Any, locale: str) -> str:
    return e.text(locale)


def errors_of(pl: Plan, e: DomainError, locale: str) -> list[dict[str, Any]]:
    """A refused create's reasons, each on the column of its field (the field's label when the file
    has no such column)."""
    details = e.details if isinstance(e.details, list) else []
    out = []
    for det in details:
        if isinstance(det, dict) and det.get("message"):
            f = str(det.get("field") or "")
            key = f if f in pl.header_of or f in pl.label_of else f.split(".")[0]
            if f.startswith("custom.") and f not in pl.header_of:
                key = f
            out.append({"column": pl.header_of.get(key) or pl.label_of.get(key) or (f or None), "message": det["message"]})
    if not out:
        out.append({"column": None, "message": e.message(locale)})
    return out
