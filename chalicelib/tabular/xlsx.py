"""Uploaded XLSX files read safely: the zip is checked before any part of it is opened, and the
header row is read without reading the sheet.

- check(f): the archive's entries are counted and each part's uncompressed size, the total and the
  compression ratio are held to limits (a 100 KB "zip bomb" can hold gigabytes of XML), before
  openpyxl or anything else decompresses a byte. Refusals are TooLarge (a limit, named) or
  sheets.FormatError (not a zip).
- first_row(f, max_columns, max_length): the first sheet's first row, parsed with expat from the
  start of the sheet's XML, stopping at the end of that row — no <dimension> scan of the sheet, no
  shared-string table read whole (only the strings the row names, streamed until the last of
  them). A row wider than `max_columns` cells or a cell longer than `max_length` characters stops
  the parse at once (HeaderTooLarge), so a 100 MB header cell is never held in memory.

Only the standard library: used by the API path (the import's mapping), where openpyxl is not loaded.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from typing import IO, Any
from xml.parsers import expat

MAX_ENTRIES = 1000  # parts in the archive (a workbook has a few dozen)
MAX_PART = 512 * 1024 * 1024  # uncompressed bytes of one worksheet's XML (streamed)
MAX_LOADED_PART = 100 * 1024 * 1024  # uncompressed bytes of a part read whole (shared strings)
MAX_OTHER_PART = 16 * 1024 * 1024  # any other part (styles, workbook, relationships, …)
MAX_TOTAL = 1024 * 1024 * 1024  # uncompressed bytes of all parts together
MAX_RATIO = 100  # uncompressed / compressed of a part larger than RATIO_FROM
RATIO_FROM = 1024 * 1024
FEED = 64 * 1024  # bytes given to the XML parser at a time

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COLUMN = re.compile(r"^([A-Z]{1,3})")


class TooLarge(ValueError):
    """The archive is beyond one of the limits: `limit` names it (entries, part, total, ratio), `value` its size."""

    def __init__(self, limit: str, value: str) -> None:
        super().__init__(f"{limit}: {value}")
        self.limit, self.value = limit, value


class HeaderTooLarge(ValueError):
    """The header row has more cells than allowed (`what` = "columns") or a cell longer than allowed ("length")."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def check(f: IO[bytes]) -> None:
    """Refuse an archive before it is opened by anything that decompresses it (see the module docstring)."""
    from .sheets import FormatError

    start = f.tell()
    try:
        with zipfile.ZipFile(f) as z:
            infos = z.infolist()
            if len(infos) > MAX_ENTRIES:
                raise TooLarge("entries", str(MAX_ENTRIES))
            total = 0
            for i in infos:
                name = i.filename.lower()
                if name.startswith("xl/worksheets/"):
                    limit = MAX_PART
                elif name.startswith("xl/sharedstrings"):
                    limit = MAX_LOADED_PART
                else:
                    limit = MAX_OTHER_PART
                if i.file_size > limit:
                    raise TooLarge("part", _mb(limit))
                total += i.file_size
                if total > MAX_TOTAL:
                    raise TooLarge("total", _mb(MAX_TOTAL))
                if i.file_size > RATIO_FROM and i.file_size > MAX_RATIO * max(1, i.compress_size):
                    raise TooLarge("ratio", f"{MAX_RATIO}:1")
            # the limits above go by a part's name; what a reader loads whole goes by where the package
            # points (a workbook or a shared-string table may be named like a worksheet): those are
            # held to their own limits here (_read holds the relationships and the workbook)
            try:
                _sheet, shared = _first_sheet(z)
            except (KeyError, ValueError, SyntaxError):
                return  # no readable workbook: the reader says so (FormatError)
            if shared is not None and z.getinfo(shared).file_size > MAX_LOADED_PART:
                raise TooLarge("part", _mb(MAX_LOADED_PART))
    except zipfile.BadZipFile as e:
        raise FormatError(str(e)) from None
    finally:
        f.seek(start)


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    """A part read whole (relationships, the workbook): never more than MAX_OTHER_PART, whatever its name."""
    if z.getinfo(name).file_size > MAX_OTHER_PART:
        raise TooLarge("part", _mb(MAX_OTHER_PART))
    return z.read(name)


# ---- the header row ----------------------------------------------------------------------------
def _parse(z: zipfile.ZipFile, name: str, parser: Any, done: Any) -> None:
    """Feed a part to `parser` until `done()` or its end."""
    with z.open(name) as src:
        while not done():
            data = src.read(FEED)
            if not data:
                parser.Parse(b"", True)
                return
            parser.Parse(data, False)


class _Stop(Exception):
    pass


def _local(tag: str) -> str:
    return tag.rsplit(" ", 1)[-1]  # expat with namespace_separator=" ": "ns local"


def _first_sheet(z: zipfile.ZipFile) -> tuple[str, str | None]:
    """The first worksheet's part (chartsheets skipped, as the row reader does: sheets._first_sheet)
    and the shared strings' part (None: none)."""
    import xml.etree.ElementTree as ET

    rels_of: dict[str, str] = {}
    charts: set[str] = set()
    shared = None
    base = "xl"
    names = set(z.namelist())
    workbook = "xl/workbook.xml"
    try:
        root = ET.fromstring(_read(z, "_rels/.rels"))
        for r in root:
            if r.get("Type", "").endswith("/officeDocument"):
                workbook = r.get("Target", workbook).lstrip("/")
                base = posixpath.dirname(workbook)
    except KeyError:
        pass
    rels_name = posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels")
    if rels_name in names:
        for r in ET.fromstring(_read(z, rels_name)):
            target = r.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            rels_of[r.get("Id", "")] = path
            if "chartsheet" in r.get("Type", ""):
                charts.add(r.get("Id", ""))
            if r.get("Type", "").endswith("/sharedStrings"):
                shared = path
    sheet = None
    for el in ET.fromstring(_read(z, workbook)).iter(f"{{{MAIN_NS}}}sheet"):
        rid = el.get(f"{{{REL_NS}}}id")
        if rid in rels_of and rid not in charts and rels_of[rid] in names:
            sheet = rels_of[rid]
            break
    if sheet is None:
        raise KeyError("no worksheet")
    return sheet, shared if shared in names else None


def _column(ref: str | None, default: int) -> int:
    m = _COLUMN.match(ref or "")
    if not m:
        return default
    n = 0
    for ch in m.group(1):
        n = n * 26 + ord(ch) - 64
    return n


def first_row(f: IO[bytes], max_columns: int, max_length: int) -> list[Any]:
    """The first sheet's first row (cells as text, numbers as int / float, booleans as bool; trailing
    empty cells dropped); [] when the sheet's first row is not row 1 or there is none. Raises
    HeaderTooLarge, or sheets.FormatError for a file that is not a readable workbook. The file
    should have passed check()."""
    from .sheets import FormatError

    start = f.tell()
    try:
        with zipfile.ZipFile(f) as z:
            sheet, shared = _first_sheet(z)
            cells = _row(z, sheet, max_columns, max_length)
            wanted = {v for _t, v in cells.values() if _t == "s"}
            strings = _strings(z, shared, wanted, max_length) if wanted and shared else {}
    except (zipfile.BadZipFile, KeyError, ValueError, expat.ExpatError, SyntaxError) as e:  # ElementTree's ParseError
        if isinstance(e, (HeaderTooLarge, TooLarge)):
            raise
        raise FormatError(str(e)) from None
    finally:
        f.seek(start)
    if not cells:
        return []
    out: list[Any] = [""] * max(cells)
    for col, (kind, value) in cells.items():
        out[col - 1] = _value(kind, value, strings)
    while out and (out[-1] is None or (isinstance(out[-1], str) and not out[-1].strip())):
        out.pop()
    return out


def _value(kind: str, value: Any, strings: dict[int, str]) -> Any:
    if kind == "s":
        return strings.get(value, "")
    if kind == "b":
        return value.strip() in ("1", "true")
    if kind == "n":
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "e" not in text.lower() and "." not in text else number
    return value


def _row(z: zipfile.ZipFile, sheet: str, max_columns: int, max_length: int) -> dict[int, tuple[str, Any]]:
    """{column number: (kind, value)} of the sheet's first <row>, if it is row 1."""
    cells: dict[int, tuple[str, Any]] = {}
    state: dict[str, Any] = {"in_row": False, "done": False, "cell": None, "text": None, "col": 0, "is": False}
    limit = max_length * 4 + 64  # raw text (whitespace, XML) of one cell before it is refused unread

    def begin(tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "row":
            if state["in_row"] or state["done"]:
                return
            r = attrs.get("r")
            if r is not None and r.strip() != "1":
                state["done"] = True
                raise _Stop
            state["in_row"] = True
        elif not state["in_row"]:
            return
        elif name == "c":
            state["col"] = _column(attrs.get("r"), state["col"] + 1)
            if state["col"] > max_columns:
                raise HeaderTooLarge("columns")
            state["cell"] = attrs.get("t", "n")
            state["text"], state["n"] = [], 0
        elif name == "is":
            state["is"] = True
        elif name in ("v", "t") and state["cell"] is not None:
            if name == "t" and not state["is"]:
                return
            state["collect"] = True

    def end(tag: str) -> None:
        name = _local(tag)
        if not state["in_row"]:
            return
        if name in ("v", "t"):
            state["collect"] = False
        elif name == "is":
            state["is"] = False
        elif name == "c" and state["cell"] is not None:
            text = "".join(state["text"])
            kind = state["cell"]
            if kind == "s":
                try:
                    cells[state["col"]] = ("s", int(text.strip()))
                except ValueError:
                    cells[state["col"]] = ("str", "")
            elif text:
                if len(text.strip()) > max_length:
                    raise HeaderTooLarge("length")
                cells[state["col"]] = ("b" if kind == "b" else "n" if kind == "n" else "str", text)
            state["cell"], state["text"] = None, None
        elif name == "row":
            state["done"] = True
            raise _Stop

    _stream(z, sheet, state, begin, end, limit)
    return cells if state["in_row"] else {}


def _strings(z: zipfile.ZipFile, part: str, wanted: set[int], max_length: int) -> dict[int, str]:
    """The shared strings numbered in `wanted`, streamed up to the last of them (phonetic runs left out)."""
    last = max(wanted)
    out: dict[int, str] = {}
    state: dict[str, Any] = {"i": -1, "text": None, "collect": False, "rph": 0, "done": False}
    limit = max_length * 4 + 64

    def begin(tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "si":
            state["i"] += 1
            state["text"], state["n"] = ([] if state["i"] in wanted else None), 0
        elif name == "rPh":
            state["rph"] += 1
        elif name == "t" and state["text"] is not None and not state["rph"]:
            state["collect"] = True

    def end(tag: str) -> None:
        name = _local(tag)
        if name == "t":
            state["collect"] = False
        elif name == "rPh":
            state["rph"] -= 1
        elif name == "si":
            if state["text"] is not None:
                text = "".join(state["text"])
                if len(text.strip()) > max_length:
                    raise HeaderTooLarge("length")
                out[state["i"]] = text
            state["text"] = None
            if state["i"] >= last:
                state["done"] = True
                raise _Stop

    _stream(z, part, state, begin, end, limit)
    return out


def _stream(z: zipfile.ZipFile, part: str, state: dict[str, Any], begin: Any, end: Any, limit: int) -> None:
    """Parse a part with these element handlers until `state["done"]`; the text of the element being
    collected (`state["collect"]`) goes to `state["text"]`, and more than `limit` characters of it is too large."""
    def chars(data: str) -> None:
        if state.get("collect") and state["text"] is not None:
            state["text"].append(data)
            state["n"] += len(data)
            if state["n"] > limit:
                raise HeaderTooLarge("length")

    p = expat.ParserCreate(namespace_separator=" ")
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = begin, end, chars
    try:
        _parse(z, part, p, lambda: state["done"])
    except _Stop:
        pass
