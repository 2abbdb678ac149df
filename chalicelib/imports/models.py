"""Imports (导入): the uploaded file, its runs, their rejected rows, and each user's column mapping.

Key design:
- Import:        pk = T#<t>#IMPORT#<id>, sk = "#"                    -> one GetItem.
                 gsi1pk = T#<t>#IMPORT#USER#<user>, gsi1sk = <created>#<id> -> my imports, newest last.
- RowError:      pk = T#<t>#IMPORT#<id>#RUN#<run>, sk = <row, 9 digits> -> a run's rejected rows in file
                 order, one Query (paged): the dry run's preview and the rejected-rows file. Written with
                 deterministic keys, so a chunk processed again after a crash writes the same items.
- RowSkipped:    pk = T#<t>#IMPORT#<id>#SKIP#<run>, sk = <row, 9 digits> -> a run's rows skipped as duplicates,
                 with the record each matched (same paging and deterministic keys as RowError).
- ImportMapping: pk = T#<t>#IMPORTMAP#<user>, sk = <record type>      -> the columns a user mapped last time.
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned


class Import(Versioned, discriminator="IMPORT"):
    id = UnicodeAttribute()
    entity = UnicodeAttribute()  # the record type's name (customer, obj_xxx)
    file_name = UnicodeAttribute()
    file_key = UnicodeAttribute()
    format = UnicodeAttribute()  # csv | xlsx
    size = NumberAttribute()
    sha256 = UnicodeAttribute()  # hex
    status = UnicodeAttribute(default="created")  # created | running | dry_run_done | done | failed | cancelled
    runs = NumberAttribute(default=0)  # runs started (each its own job; dry runs included)
    job_id = UnicodeAttribute(null=True)  # the current run's job
    dry_run = NumberAttribute(default=0)  # 1 when the current run is a dry run
    imported = NumberAttribute(default=0)  # 1 once a run that writes has started (rows keep their ids)
    result = JSONAttribute(default=dict)  # the last finished run's counts
    finished_run = NumberAttribute(null=True)  # the last run that finished (its counts are in `result`)
    headers = JSONAttribute(null=True)  # the upload's header row, once read

    @staticmethod
    def key(tenant_id: str, import_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "IMPORT", import_id), "#"

    def values(self) -> dict:
        return {"status": self.status, "runs": self.runs, "job_id": self.job_id}


MAX_CELL = 1000  # characters of one cell a RowError keeps (a longer one is cut and marked)
MAX_CELLS_TEXT = 20_000  # characters of all its cells together (the rest are left empty)
MAX_ERRORS = 50  # reasons of one row
MAX_MESSAGE = 500  # characters of one reason
CUT = "…"


class RowError(Item, discriminator="IMPORTERR"):
    """A rejected row. What it keeps of the upload is bounded (bounded()): a row of any size, even one
    cell of 130,000 characters, makes an item far below DynamoDB's 400 KB."""

    row = NumberAttribute()  # the row number as the spreadsheet shows it (header = 1)
    cells = JSONAttribute(default=list)  # the row as uploaded, each cell at most MAX_CELL characters
    errors = JSONAttribute(default=list)  # [{"column": header or None, "message": text in the starter's language}]
    truncated = NumberAttribute(default=0)  # 1 when cells were cut (a cut cell ends with CUT)

    @staticmethod
    def partition(tenant_id: str, import_id: str, run: int) -> str:
        return keys.k(tenant_id, "IMPORT", import_id, "RUN", str(run))


def _text(v: str, limit: int) -> tuple[str, bool]:
    return (v, False) if len(v) <= limit else (v[:limit - 1] + CUT, True)


def bounded(cells: list[Any], errors: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]], bool]:
    """What a RowError keeps of a row: each cell at most MAX_CELL characters and MAX_CELLS_TEXT in all
    (cells past that left empty), at most MAX_ERRORS reasons of at most MAX_MESSAGE characters; and
    whether anything was cut."""
    out, cut, left = [], False, MAX_CELLS_TEXT
    for c in cells[:MAX_COLUMNS_KEPT]:
        if isinstance(c, str) and c:
            limit = min(MAX_CELL, left)
            c, was = _text(c, limit) if limit > 0 else ("", True)
            left -= len(c)
            cut |= was
        out.append(c)
    cut |= len(cells) > MAX_COLUMNS_KEPT
    reasons = []
    for e in errors[:MAX_ERRORS]:
        column = e.get("column")
        reasons.append({"column": _text(str(column), 200)[0] if column is not None else None,
                        "message": _text(str(e.get("message") or ""), MAX_MESSAGE)[0]})
    return out, reasons, cut


MAX_COLUMNS_KEPT = 500  # cells of a row kept (the header has at most as many: imports.service.MAX_COLUMNS)


class RowSkipped(Item, discriminator="IMPORTSKIP"):
    """A row skipped as a duplicate (duplicates = skip): the record it matched, or the earlier row of
    the file whose record it matched, and the columns whose values matched."""

    row = NumberAttribute()
    record_id = UnicodeAttribute(null=True)  # the record matched (any owner: told only to who may read it)
    earlier_row = NumberAttribute(null=True)  # the file's earlier row it duplicates
    columns = JSONAttribute(default=list)  # headers (or field labels) whose values matched

    @staticmethod
    def partition(tenant_id: str, import_id: str, run: int) -> str:
        return keys.k(tenant_id, "IMPORT", import_id, "SKIP", str(run))


class ImportMapping(Item, discriminator="IMPORTMAP"):
    mapping = JSONAttribute(default=dict)  # header -> column key (None: not imported)

    @staticmethod
    def key(tenant_id: str, user_id: str, entity: str) -> tuple[str, str]:
        return keys.k(tenant_id, "IMPORTMAP", user_id), entity


class Reservation(Item, discriminator="IMPORTRSV"):
    """Ownership counted ahead for rows about to be written in one batch (runner.py): the rows'
    holdings as the type's holdings hook was given them, so that what was not used — rows refused
    afterwards, or never written because the run stopped — is given back exactly once (the item
    goes in the same transaction as the give-back).

    pk = T#<t>#IMPORT#<id>#RESERVED#<run>, sk = <first row, 9 digits>."""

    held = UnicodeAttribute()  # JSON [[row, record id, holding], …]

    @staticmethod
    def partition(tenant_id: str, import_id: str, run: int) -> str:
        return keys.k(tenant_id, "IMPORT", import_id, "RESERVED", str(run))
