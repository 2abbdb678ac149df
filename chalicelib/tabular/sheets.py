"""Streaming CSV and XLSX readers and writers: a file is never held whole in memory.

- read_rows(f, "csv" | "xlsx"): rows of cell texts. CSV: UTF-8 with or without BOM, else
  GB18030 (what Excel on a Chinese Windows saves), a physical line at most MAX_LINE characters;
  XLSX: the zip checked first (xlsx.check: entries, part sizes, compression ratio), then openpyxl
  read-only, first sheet, rows streamed without the whole-sheet <dimension> scan.
- header_row(f, fmt, max_columns, max_length): the first row only, bounded: CSV from the file's
  first HEADER_BYTES, XLSX parsed from the start of the sheet's XML (xlsx.first_row).
- writer(f, "csv" | "xlsx", title): CSV in UTF-8 with a BOM (Excel opens it as UTF-8);
  XLSX through openpyxl's write-only workbook (rows go to a temporary file as they come),
  with typed cells: numbers as numbers (money with two places), dates as dates.
- template(d, p, fmt, locale): an import template: required headers marked *, each select
  column's allowed values as a comment on its header and as a drop-down (data validation)
  drawn from a hidden sheet of values.

Text cells that start like a formula (= + - @) are written as text — XLSX: a string cell,
never a formula; CSV: with a leading ' — so an exported file cannot run anything in the
reader's spreadsheet (parse() drops that quote again).

openpyxl is imported when a workbook is read or written, never with the API's modules.
"""
from __future__ import annotations

import codecs
import csv
import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from ..core import i18n
from .columns import FORMULA_START, Column
from .xlsx import HeaderTooLarge  # one error for both readers' header rows (xlsx.py: the standard library only)

FORMATS = ("csv", "xlsx")
BOM = codecs.BOM_UTF8
SNIFF = 256 * 1024  # bytes read to tell UTF-8 from GB18030
MAX_LINE = 2_000_000  # characters of one physical line of a CSV (a quoted cell may span several)
HEADER_BYTES = 1024 * 1024  # bytes of a CSV its header row must end within
NUMBER_FORMAT = {"money": "#,##0.00", "percent": "0.00", "decimal": "0.####", "number": "0"}
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
MAX_WIDTH = 50
MAX_LIST_FORMULA = 255  # Excel's limit on an inline list ("a,b,c") of a data validation
CHOICES_SHEET = "_choices"


class FormatError(ValueError):
    """The file is not a readable CSV / XLSX."""


# ---- reading ---------------------------------------------------------------------------------------
def read_rows(binary_file: IO[bytes], fmt: str) -> Iterator[list[Any]]:
    """Every row of the file's first sheet, as a list of cells (trailing empty cells dropped; an empty
    row is []). CSV cells are text; XLSX cells keep what the workbook typed: text, int, float,
    bool, datetime (parse() reads each)."""
    if fmt == "csv":
        return _csv_rows(binary_file)
    if fmt == "xlsx":
        return _xlsx_rows(binary_file)
    raise ValueError(f"format: csv or xlsx, not {fmt}")


def _seekable(f: IO[bytes]) -> IO[bytes]:
    if f.seekable():
        return f
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    shutil.copyfileobj(f, spooled)
    spooled.seek(0)
    return spooled  # type: ignore[return-value]


def encoding_of(sample: bytes) -> str:
    """utf-8-sig with a BOM; utf-8 when the sample decodes as UTF-8; else gb18030."""
    if sample.startswith(BOM):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a character cut at the end is fine
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _csv_rows(binary_file: IO[bytes]) -> Iterator[list[Any]]:
    f = _seekable(binary_file)
    start = f.tell()
    encoding = encoding_of(f.read(SNIFF))
    f.seek(start)
    text = io.TextIOWrapper(f, encoding=encoding, newline="")
    try:
        for row in csv.reader(_lines(text)):
            while row and not row[-1].strip():
                row.pop()
            yield row
    except (UnicodeDecodeError, csv.Error) as e:
        raise FormatError(str(e)) from None
    finally:
        text.detach()


def _lines(text: IO[str]) -> Iterator[str]:
    """The physical lines of a CSV, each at most MAX_LINE characters (a longer one is never held whole)."""
    while True:
        line = text.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise FormatError(f"a line longer than {MAX_LINE} characters")
        yield line


def _xlsx_rows(binary_file: IO[bytes]) -> Iterator[list[Any]]:
    from zipfile import BadZipFile

    from . import xlsx

    f = _seekable(binary_file)
    xlsx.check(f)
    try:
        wb, ws = _first_sheet(f)
    except (BadZipFile, KeyError, OSError, ValueError, IndexError) as e:
        raise FormatError(str(e)) from None
    try:
        for values in ws.iter_rows(values_only=True):
            row = list(values)
            while row and (row[-1] is None or (isinstance(row[-1], str) and not row[-1].strip())):
                row.pop()
            yield ["" if v is None else v for v in row]
    finally:
        wb.close()


def _first_sheet(f: IO[bytes]) -> tuple[Any, Any]:
    """openpyxl's read-only workbook and its first worksheet, read as load_workbook(read_only=True)
    would, less what a row reader does not need (properties, theme, the other sheets) and without
    the worksheet's size: openpyxl finds it by scanning the whole sheet when it has no <dimension>
    (seconds for a small file of millions of empty rows), and some writers record a wrong one.
    The rows are read as they are, to the sheet's end."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:  # no dimension scan (see above)
            self._max_row = self._max_column = None

    reader = ExcelReader(f, read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)  # number formats: which numbers are dates
    for sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return reader.wb, Sheet(reader.wb, sheet.name, rel.target, reader.shared_strings)
    reader.archive.close()
    raise KeyError("no worksheet")


def header_row(binary_file: IO[bytes], fmt: str, max_columns: int, max_length: int) -> list[Any]:
    """The file's first row (as read_rows gives it), read within bounds: HeaderTooLarge when it has
    more than `max_columns` cells or a cell longer than `max_length` characters; FormatError (or
    xlsx.TooLarge) for an unreadable file. The file is left where it was."""
    f = _seekable(binary_file)
    start = f.tell()
    try:
        if fmt == "xlsx":
            from . import xlsx

            xlsx.check(f)
            row = xlsx.first_row(f, max_columns, max_length)
        elif fmt == "csv":
            row = _csv_header(f, max_columns)
        else:
            raise ValueError(f"format: csv or xlsx, not {fmt}")
    finally:
        f.seek(start)
    if len(row) > max_columns:
        raise HeaderTooLarge("columns")
    if any(isinstance(c, str) and len(c.strip()) > max_length for c in row):
        raise HeaderTooLarge("length")
    return row


def _csv_header(f: IO[bytes], max_columns: int) -> list[str]:
    head = f.read(HEADER_BYTES)
    whole = len(head) < HEADER_BYTES
    encoding = encoding_of(head[:SNIFF])
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=whole)
    except UnicodeDecodeError as e:
        raise FormatError(str(e)) from None
    buf = io.StringIO(text, newline="")
    try:
        row = next(csv.reader(buf), [])
    except csv.Error:
        raise HeaderTooLarge("length") from None  # a cell past the csv module's field limit
    if not whole and buf.tell() >= len(text):  # the row did not end within HEADER_BYTES
        raise HeaderTooLarge("columns" if len(row) > max_columns else "length")
    while row and not row[-1].strip():
        row.pop()
    return row


# ---- writing ---------------------------------------------------------------------------------------
def _label(c: Column | str, required_mark: bool) -> str:
    if isinstance(c, str):
        return c
    return f"*{c.label}" if required_mark and c.required else c.label


class CsvWriter:
    def __init__(self, binary_file: IO[bytes]) -> None:
        binary_file.write(BOM)
        self._text = io.TextIOWrapper(binary_file, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text)
        self.rows = 0

    def header(self, cols: Sequence[Column | str], required_mark: bool = False, notes: bool = False) -> None:
        self._csv.writerow([_csv_cell(_label(c, required_mark)) for c in cols])  # labels are admins' text: no formulas

    def row(self, values: Sequence[Any]) -> None:
        self._csv.writerow([_csv_cell(v) for v in values])
        self.rows += 1

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the caller's file stays open


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    s = str(v)
    return "'" + s if isinstance(v, str) and s.startswith(FORMULA_START) else s


class XlsxWriter:
    def __init__(self, binary_file: IO[bytes], title: str) -> None:
        from openpyxl import Workbook

        self._file = binary_file
        self._wb = Workbook(write_only=True)
        self._ws = self._wb.create_sheet(_sheet_title(title))
        self._formats: list[str | None] = []
        self.rows = 0

    def header(self, cols: Sequence[Column | str], required_mark: bool = False, notes: bool = False) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.comments import Comment
        from openpyxl.styles import Font, PatternFill
        from openpyxl.utils import get_column_letter

        ws = self._ws
        self._formats = [_format_of(c) for c in cols]
        for i, c in enumerate(cols, start=1):
            width = min(MAX_WIDTH, max(10, len(_label(c, required_mark)) * 2 + 4))
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        bold, red = Font(bold=True), Font(bold=True, color="C00000")
        fill = PatternFill("solid", fgColor="F2F2F2")
        cells = []
        for c in cols:
            cell = WriteOnlyCell(ws, value=_label(c, required_mark))
            cell.data_type = "s"
            cell.font = red if required_mark and isinstance(c, Column) and c.required else bold
            cell.fill = fill
            if notes and isinstance(c, Column) and c.note():
                cell.comment = Comment(c.note(), "CRM", width=240, height=120)
            cells.append(cell)
        ws.append(cells)
        if notes:
            self._validations([c for c in cols if isinstance(c, Column)])

    def _validations(self, cols: list[Column]) -> None:
        """A drop-down of allowed values on each select / boolean column (rows 2 … 100,001)."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation

        listed = [(i, c) for i, c in enumerate(cols, start=1) if c.choices and c.type in ("select", "boolean")]
        if not listed:
            return
        values = self._wb.create_sheet(CHOICES_SHEET)
        values.sheet_state = "hidden"
        longest = max(len(c.choices) for _, c in listed)
        from openpyxl.cell import WriteOnlyCell

        def text(v: str | None) -> Any:
            if v is None:
                return None
            cell = WriteOnlyCell(values, value=v)
            cell.data_type = "s"  # an item named "=…" stays text
            return cell

        for r in range(longest):
            values.append([text(c.choices[r] if r < len(c.choices) else None) for _, c in listed])
        for n, (i, c) in enumerate(listed, start=1):
            letter = get_column_letter(n)
            dv = DataValidation(type="list", formula1=f"{CHOICES_SHEET}!${letter}$1:${letter}${len(c.choices)}",
                                allow_blank=True, showErrorMessage=True)
            dv.error = i18n.text("tabular.choices_note", c.locale, choices=", ".join(c.choices))[:255]
            dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}100001")
            self._ws.data_validations.append(dv)

    def row(self, values: Sequence[Any]) -> None:
        from openpyxl.cell import WriteOnlyCell

        out: list[Any] = []
        for i, v in enumerate(values):
            fmt = self._formats[i] if i < len(self._formats) else None
            if isinstance(v, str) and (v.startswith(FORMULA_START) or fmt):
                cell = WriteOnlyCell(self._ws, value=v)
                cell.data_type = "s"  # text, never a formula
                out.append(cell)
            elif fmt and isinstance(v, (int, float, Decimal, date)):
                cell = WriteOnlyCell(self._ws, value=v)
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(v)
        self._ws.append(out)
        self.rows += 1

    def close(self) -> None:
        self._wb.save(self._file)


def _format_of(c: Column | str) -> str | None:
    if not isinstance(c, Column) or c.masked:
        return None
    if c.type == "date":
        return DATE_FORMAT
    if c.type == "datetime":
        return DATETIME_FORMAT
    if c.type in NUMBER_FORMAT:
        return "#,##0.00" if c.type == "money" else ("0" if c.places == 0 else "0." + "0" * c.places)
    return None


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\").strip("'") or "Sheet1"
    return cleaned[:31]


@contextmanager
def writer(binary_file: IO[bytes], fmt: str, sheet_title: str = "Sheet1") -> Iterator[CsvWriter | XlsxWriter]:
    """A writer of rows into `binary_file` (left open): `w.header(cols)`, then `w.row([...])` per row."""
    if fmt == "csv":
        w: CsvWriter | XlsxWriter = CsvWriter(binary_file)
    elif fmt == "xlsx":
        w = XlsxWriter(binary_file, sheet_title)
    else:
        raise ValueError(f"format: csv or xlsx, not {fmt}")
    yield w
    w.close()


def template(d: Any, p: Any, fmt: str, locale: str = "zh-CN") -> bytes:
    """The import template of record type `d` for `p` (engine.definition.EntityDef, Principal)."""
    from .columns import columns

    buf = io.BytesIO()
    with writer(buf, fmt, d.label_in(locale)) as w:
        w.header(columns(d, p, "import", locale), required_mark=True, notes=True)
    return buf.getvalue()
