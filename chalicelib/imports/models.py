"""Imports (导入): the uploaded file, its runs, their rejected rows, and each user's column mapping.

Key design:
- Import:        pk = T#<t>#IMPORT#<id>, sk = "#"                    -> one GetItem.
                 gsi1pk = T#<t>#IMPORT#USER#<user>, gsi1sk = <created>#<id> -> my imports, newest last.
- RowError:      pk = T#<t>#IMPORT#<id>#RUN#<run>, sk = <row, 9 digits> -> a run's rejected rows in file
                 order, one Query (paged): the dry run's preview and the rejected-rows file. Written with
                 deterministic keys, so a chunk processed again after a crash writes the same items.
- ImportMapping: pk = T#<t>#IMPORTMAP#<user>, sk = <record type>      -> the columns a user mapped last time.
"""
from __future__ import annotations

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


class RowError(Item, discriminator="IMPORTERR"):
    row = NumberAttribute()  # the row number as the spreadsheet shows it (header = 1)
    cells = JSONAttribute(default=list)  # the row as uploaded
    errors = JSONAttribute(default=list)  # [{"column": header or None, "message": text in the starter's language}]

    @staticmethod
    def partition(tenant_id: str, import_id: str, run: int) -> str:
        return keys.k(tenant_id, "IMPORT", import_id, "RUN", str(run))


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
