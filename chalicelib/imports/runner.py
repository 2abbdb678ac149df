"""The import job (chalicelib/jobs runner "import"): reads the uploaded file in chunks and writes
its rows through the engine's create pipeline, many rows per DynamoDB transaction.

Per chunk (CHUNK rows): each row's cells are parsed (tabular) and checked like a create
(engine.checked: permissions, the owner within the caller's data scope, field rules, validation,
the type's rules) with one TenantResolver; then one search request finds the records already
holding any duplicate key of the chunk (dedupe.py), and the file's own earlier rows are matched
in memory. The rows to create are built (engine.built: numbering, derived values, hooks, unique
values, duplicate leases, audit entries) and committed in TransactWriteItems of at most 100
items, with the type's holdings summed per counter (customers' ownership limits count every
imported row). A cancelled transaction is retried row by row to find the rows refused. Domain
events go out ten per PutEvents call.

Crash and resume: every row's record id is derived from (import, row number) and its put is
conditioned on the item not existing; the checkpoint (rows consumed, counts) is saved after each
committed chunk. A resumed run reads the file again, skips what the checkpoint covers, and finds
the rows of the interrupted chunk that were already written (one BatchGetItem per 100 rows):
they count as created and are not written again.
"""
from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ..core import clock, ids
from ..core.context import RequestContext, acting_as
from ..core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from ..db import audit, tx
from ..db.base import plain
from ..duplicates import service as duplicates
from ..engine import registry, store
from ..engine import service as engine
from ..ports import events
from ..ports import files as storage
from . import rows as rows_
from .dedupe import Dedupe
from .models import Import, RowError

CHUNK = 500  # rows read, checked and looked up together
TX_ITEMS = 100  # DynamoDB's limit of items per transaction
LOW_SECONDS = 60  # stop at a chunk boundary when less of the invocation is left
COUNTS = ("created", "overwritten", "skipped", "rejected")
STAMP_ATTEMPTS = 3


def record_id(imp: Import, row: int) -> str:
    """The id of the record a row creates: the same in every attempt of every run of this import."""
    at = datetime.fromisoformat(imp.created_at.replace("Z", "+00:00"))
    return ids.derived_id(int(at.timestamp() * 1000), f"{imp.id}#{row}")


def count_rows(f: Any, fmt: str) -> int:
    from ..tabular import sheets

    n = 0
    for i, cells in enumerate(sheets.read_rows(f, fmt)):
        if i and not blank(cells):
            n += 1
    return n


def blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def run(ctx: Any) -> bool:
    job = ctx.job
    params = job["params"]
    tenant_id, p = job["tenant_id"], ctx.principal
    imp = Import.get(*Import.key(tenant_id, params["import_id"]), consistent_read=True)
    d = registry.find(imp.entity, tenant_id)
    if d is None:
        raise NotFound("entity.record_type")
    locale = params.get("locale") or "zh-CN"
    with acting_as(RequestContext(tenant_id, p.user_id, locale)), tempfile.TemporaryFile() as f, events.batched():
        storage.download(imp.file_key, f)
        f.seek(0)
        cp = dict(ctx.checkpoint or {})
        resumed = bool(cp.get("row")) or bool(params.get("rerun"))
        if "total" not in cp:
            total = count_rows(f, imp.format)
            f.seek(0)
            cp = {"row": 0, "total": total, **dict.fromkeys(COUNTS, 0)}
            ctx.save(checkpoint=cp, done=0, errors=0, total=total)
        r = Run(ctx, p, d, imp, params, cp, locale, resumed)
        return r.go(f)


class Run:
    def __init__(self, ctx: Any, p: Any, d: Any, imp: Import, params: dict[str, Any], cp: dict[str, Any], locale: str,
                 resumed: bool) -> None:
        self.ctx, self.p, self.d, self.imp, self.cp, self.locale = ctx, p, d, imp, cp, locale
        self.dry = bool(params.get("dry_run"))
        self.mode = params.get("duplicates") or "skip"
        self.mapping = params.get("mapping") or {}
        self.run_no = int(params.get("run") or 1)
        self.rerun = bool(params.get("rerun"))
        self.resumed = resumed
        self.dedupe = Dedupe(p.tenant_id, d)
        self.group: list[dict[str, Any]] = []
        self.group_ops = 0
        self.group_keys: set[tuple[str, str]] = set()
        self.group_owners: set[str] = set()
        self.rejected: list[RowError] = []

    # ---- the file ----------------------------------------------------------------------------
    def go(self, f: Any) -> bool:
        from ..tabular import sheets

        reader = sheets.read_rows(f, self.imp.format)
        try:
            return self._rows(reader)
        finally:
            reader.close()  # before the file it reads is closed (a run that stops early)

    def _rows(self, reader: Any) -> bool:
        from ..tabular import columns as tcols

        headers = [str(h if h is not None else "").strip() for h in next(reader, [])]
        self.lookup = tcols.Lookup(self.p)  # one per file: users, dictionaries and titles read once
        self.plan = rows_.plan(headers, rows_.columns(self.d, self.p, self.locale, self.lookup), self.mapping)
        consumed = 0
        for _ in range(int(self.cp["row"])):  # what the checkpoint covers
            if next(reader, None) is None:
                break
            consumed += 1
        batch: list[tuple[int, list[Any]]] = []
        for cells in reader:
            consumed += 1
            if not blank(cells):
                batch.append((consumed + 1, list(cells)))  # the header is row 1
            if len(batch) >= CHUNK:
                self.chunk(batch, consumed)
                batch = []
                if self.ctx.time_left() < LOW_SECONDS:
                    return False
        if batch or consumed != self.cp["row"]:
            self.chunk(batch, consumed)
        self.finished()
        return True

    def chunk(self, batch: list[tuple[int, list[Any]]], consumed: int) -> None:
        self.process(batch)
        self.flush()
        if self.rejected:
            with RowError.batch_write() as w:
                for e in self.rejected:
                    w.save(e)
            self.rejected = []
        events.flush()
        self.cp["row"] = consumed
        self.resumed = self.rerun  # only the first chunk after a resume can hold rows already written
        done = sum(int(self.cp[k]) for k in COUNTS)
        self.ctx.save(checkpoint=dict(self.cp), done=done, errors=int(self.cp["rejected"]), total=int(self.cp["total"]))

    # ---- one chunk -----------------------------------------------------------------------------
    def process(self, batch: list[tuple[int, list[Any]]]) -> None:
        p, d = self.p, self.d
        written: set[str] = set()
        if self.resumed and not self.dry:
            written = {r.id for r in store.batch_get(p.tenant_id, d.entity, [record_id(self.imp, n) for n, _ in batch])}
        resolver = engine.TenantResolver(p)  # one per chunk: the records rows name are read once
        ready = []
        for n, cells in batch:
            values, errors = rows_.body(self.plan, cells, self.lookup, self.locale)
            if errors:
                self.reject(n, cells, errors)
                continue
            try:
                wc, custom, owner = engine.checked(d, p, values, resolver)
            except DomainError as e:
                self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
                continue
            wanted = self.dedupe.keys(wc.values)
            if record_id(self.imp, n) in written:  # written before the crash
                self.cp["created"] += 1
                self.dedupe.take(wanted, record_id(self.imp, n), n)
                continue
            ready.append((n, cells, values, wc, custom, owner, wanted))
        existing = self.dedupe.existing([r[-1] for r in ready]) if self.dedupe.active and ready else {}
        for n, cells, values, wc, custom, owner, wanted in ready:
            m = self.dedupe.match(wanted, existing)
            if m.record_id and self.mode == "skip":
                self.cp["skipped"] += 1
            elif m.record_id and self.mode == "overwrite":
                self.overwrite(n, cells, values, wanted, m.record_id, m.earlier_row)
            elif m.blocked:
                e = duplicates.blocked_error(d, wc.values, m.blocked)
                self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
            elif self.dry:
                self.cp["created"] += 1
                self.dedupe.take(wanted, record_id(self.imp, n), n)
            else:
                self.create(n, cells, values, wc, custom, owner, wanted)

    def reject(self, row: int, cells: list[Any], errors: list[dict[str, Any]]) -> None:
        self.cp["rejected"] += 1
        self.rejected.append(RowError(RowError.partition(self.p.tenant_id, self.imp.id, self.run_no), f"{row:09d}",
                                      tenant_id=self.p.tenant_id, row=row, cells=[_cell(c) for c in cells], errors=errors))

    # ---- writes ----------------------------------------------------------------------------------
    def create(self, n: int, cells: list[Any], values: dict[str, Any], wc: Any, custom: dict[str, Any], owner: str,
               wanted: Any) -> None:
        rid = record_id(self.imp, n)
        try:
            draft = engine.built(self.d, self.p, wc, custom, owner, rid, holdings=False)
        except DomainError as e:
            self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
            return
        keys_ = {_key(op) for op in draft.ops}
        owners = self.group_owners | {owner}
        reserve = len(owners) if self.d.hooks.holdings else 0
        if self.group and (self.group_ops + len(draft.ops) + reserve > TX_ITEMS or keys_ & self.group_keys):
            self.flush()
        self.group.append({"row": n, "cells": cells, "values": values, "draft": draft, "wanted": wanted})
        self.group_ops += len(draft.ops)
        self.group_keys |= keys_
        self.group_owners.add(owner)
        self.dedupe.take(wanted, rid, n)

    def flush(self) -> None:
        group, self.group = self.group, []
        self.group_ops, self.group_keys, self.group_owners = 0, set(), set()
        if not group:
            return
        ops = [op for g in group for op in g["draft"].ops]
        ops += engine.holdings_of(self.d, self.p.tenant_id, [g["draft"].record for g in group])
        try:
            tx.write(ops)
        except (DomainError, PynamoDBException):
            for g in group:  # which rows were refused: each on its own
                self.one(g)
            return
        for g in group:
            engine.finish(g["draft"])
            self.cp["created"] += 1

    def one(self, g: dict[str, Any]) -> None:
        draft = g["draft"]
        for attempt in range(STAMP_ATTEMPTS):
            try:
                tx.write([*draft.ops, *engine.holdings_of(self.d, self.p.tenant_id, [draft.record])])
            except engine.StaleStamp:  # a record this row stamps changed meanwhile: build the row again
                if attempt == STAMP_ATTEMPTS - 1:
                    break
                try:
                    wc, custom, owner = engine.checked(self.d, self.p, g["values"], engine.TenantResolver(self.p))
                    draft = engine.built(self.d, self.p, wc, custom, owner, draft.record.id, holdings=False)
                except DomainError as e:
                    self._refused(g, e)
                    return
                continue
            except DomainError as e:
                if type(e) is Conflict and self._exists(draft.record.id):
                    self.cp["created"] += 1  # written by an earlier attempt
                    return
                self._refused(g, e)
                return
            engine.finish(draft)
            self.cp["created"] += 1
            return
        self._refused(g, Conflict())

    def _refused(self, g: dict[str, Any], e: DomainError) -> None:
        self.dedupe.drop(g["wanted"], g["draft"].record.id)
        self.reject(g["row"], g["cells"], rows_.errors_of(self.plan, e, self.locale))

    def _exists(self, rid: str) -> bool:
        try:
            store.get(self.p.tenant_id, self.d.entity, rid, self.d.name_key, consistent=True)
        except NotFound:
            return False
        return True

    def overwrite(self, n: int, cells: list[Any], values: dict[str, Any], wanted: Any, target: str, earlier_row: int | None) -> None:
        """覆盖: the matching record takes the row's non-empty values (its owner stays), if the caller may change it."""
        if earlier_row is not None:
            self.flush()  # the earlier row's record is committed first
        changes = {k: v for k, v in values.items() if k != "owner_id"}
        try:
            try:
                rec = engine.load(self.d, self.p, target, "update")
            except (Forbidden, NotFound):
                raise ValidationFailed("IMPORT_OVERWRITE_FORBIDDEN") from None
            if not self.dry:
                engine.update_record(self.d, self.p, rec, changes, int(rec.version), check_duplicates=False)
        except DomainError as e:
            self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
            return
        self.cp["overwritten"] += 1
        self.dedupe.take(wanted, target, n)

    # ---- the end -------------------------------------------------------------------------------
    def finished(self) -> None:
        counts = {k: int(self.cp[k]) for k in ("total", *COUNTS)}
        result = {**counts, "dry_run": self.dry, "run": self.run_no, "duplicates": self.mode}
        imp = self.imp
        ops = [tx.update(imp, actions=[Import.result.set(result), Import.finished_run.set(self.run_no),
                                       Import.updated_at.set(clock.now_iso())],
                         condition=Import.finished_run.does_not_exist() | (Import.finished_run < self.run_no))]
        if not self.dry:  # the import in the operation log, with its counts (each record has its own entry)
            ops.append(tx.put(audit.entry(self.p.tenant_id, "import", imp.id, "import", self.p.user_id,
                                          [{"field": k, "before": None, "after": v} for k, v in counts.items()],
                                          note=f"{self.d.name}: {imp.file_name}")))
        try:
            tx.write(ops)
        except Conflict:
            pass  # an earlier attempt finished this run and logged it
        self.ctx.finish(result=result)


def _key(op: tx.Op) -> tuple[str, str]:
    if op.kind == "check":
        return op.model[1], op.model[2]
    return op.model.pk, op.model.sk


def _cell(c: Any) -> Any:
    v = plain(c)
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
