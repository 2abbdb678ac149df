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


MAX_CELL = 32_767  # characters of a cell whose field declares no length (Excel's own limit of a cell)
MAX_VALUE_SHOWN = 60  # characters of a cell repeated in a message about it


def limit_of(col: Any) -> int:
    """The most characters a cell of this column may hold: its field's max length, else MAX_CELL."""
    spec = getattr(col, "spec", None)
    n = spec.max_len if spec is not None else None
    return n if n else MAX_CELL


def body(pl: Plan, cells: list[str], lookup: Any, locale: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A create's body from one row's cells, and the cells that could not be read ([{column, message}]):
    a cell longer than its field allows (or than MAX_CELL) is refused before it is read."""
    from ..core import i18n
    from ..tabular import columns as tcols

    out: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for i, col in pl.by_index.items():
        cell = cells[i] if i < len(cells) else ""
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        if isinstance(cell, str) and len(cell.strip()) > limit_of(col):
            errors.append({"column": pl.headers[i], "message": i18n.text("imports.cell_too_long", locale,
                                                                          length=len(cell.strip()), max=limit_of(col))})
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
    """The cell's error, the cell's text in it cut to MAX_VALUE_SHOWN characters."""
    from ..core import i18n

    params = {k: (v[:MAX_VALUE_SHOWN - 1] + "…" if isinstance(v, str) and len(v) > MAX_VALUE_SHOWN else v)
              for k, v in e.params.items()}
    return i18n.text(e.key, locale, **params)


def merged(pl: Plan, cell_errors: list[dict[str, Any]], e: DomainError | None, locale: str) -> list[dict[str, Any]]:
    """Every reason of a row at once: its cells that could not be read, then what the create's checks
    found in the rest (a check on a column whose cell was not read is left out: that cell's own
    reason says more), in the file's column order."""
    bad = {x["column"] for x in cell_errors}
    more = [x for x in errors_of(pl, e, locale) if x["column"] is None or x["column"] not in bad] if e is not None else []
    order = {h: i for i, h in enumerate(pl.headers)}
    seen, out = set(), []
    for x in sorted(cell_errors + more, key=lambda x: order.get(x["column"], len(order)) if x["column"] is not None else len(order) + 1):
        k = (x["column"], x["message"])
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


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
