"""The import job (chalicelib/jobs runner "import"): reads the uploaded file in chunks and writes
its rows through the engine's create pipeline, in batches.

Per chunk (CHUNK rows): each row's cells are parsed (tabular) and checked like a create
(engine.checked: permissions, the owner within the caller's data scope, field rules, validation,
the type's rules) with one TenantResolver; then one search request finds the records already
holding any duplicate key of the chunk (dedupe.py), and the file's own earlier rows are matched
in memory. The rows to create are built (engine.built: numbering, derived values, hooks, unique
values, duplicate leases, audit entries), then written together at the end of the chunk:

1. Ownership (the type's holdings hook; customers' limits): one conditional counter write per
   owner for all of that owner's rows, summed, in one transaction with a Reservation item that
   names the rows and their holdings. An owner without room for all of them is left to step 5.
2. Duplicate leases (block rules, duplicates.lease_ops): conditional puts of the lease items
   only, as many rows' as a transaction takes (100 items). A row whose lease another writer holds
   is refused (409 DUPLICATE, the cancellation reason names the item) and the others are sent again.
3. Records and their operation-log entries: BatchWriteItem, 25 items a call, unprocessed items
   sent again with back-off (db/batch.py) — no conditions: see "Crash and resume".
4. What the reservation counted for rows not written (refused at step 2) is given back, in one
   transaction that deletes the Reservation. Domain events go out ten per PutEvents call.
5. Rows whose writes are not only record, entry and leases (a unique value, a file link, a type's
   own writes, a record it stamps), the rows of an owner at their limit, and every row of the first
   chunk after a resume go through TransactWriteItems of at most 100 items — record put on
   attribute_not_exists, holdings conditioned on the limit —; a cancelled transaction is retried
   row by row to find the rows refused.

The writes of a chunk (steps 1-5, its rejected rows, its events, then the checkpoint) run in one
writer thread while the run's thread reads, checks, matches and builds the next chunk, so the job's
own work and the table's overlap instead of taking turns. Chunks are still written one after the
other, in order, and a chunk's counts join the checkpoint only once it is written. The next chunk is
matched against the file's earlier rows before those are written: when a row of the chunk being
written is refused (another writer held its key) and a row of the next one has the same key, the
next one is built again (Run._again) — it meets the fate it would have met one chunk at a time. 覆盖
(a row updates the record it matches while the chunk is built), dry runs and re-runs (every chunk
may hold rows written before, and settles what earlier runs left) go one chunk at a time.

Why block rules stay strict without a per-tenant "import running" guard: the lease of a key is what
an API create of the same key conditions its own transaction on, and the import claims it (step 2)
before its record exists. An API write that claimed the key first makes the import's lease put fail
(that row is refused, as a create would be); one that comes after finds the import's lease (409
DUPLICATE), though the search index cannot know the import's record yet. A guard would instead make
every writer of the tenant wait or fail for the minutes an import runs, to protect only the keys in
the file, which the leases already protect one by one, at two items a row.

Crash and resume: every row's record id is derived from (import, row number); the job's lease lets
one invocation run it at a time, and the checkpoint (rows consumed, counts) is saved after each
chunk. So only the chunk in flight when an invocation stopped can hold rows already written: a
resumed run (a later invocation of the job, or a re-run) first gives back the reservations left
(for their rows not written, read consistently; a run whose last attempt failed leaves its own to
the import's next run), then reads the first chunk's ids (BatchGetItem,
consistent): rows found count as created and are not written again, the others are written in
transactions on attribute_not_exists, so a record someone changed since is never overwritten. Every
later chunk holds only ids no one has written, which is why steps 3's puts need no condition.
"""
from __future__ import annotations

import contextvars
import json
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ..core import clock, ids
from ..core.context import RequestContext, acting_as
from ..core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from ..db import audit, batch, tx
from ..db.audit import AuditEntry
from ..db.base import plain
from ..db.unique import UniqueValue
from ..duplicates import service as duplicates
from ..engine import registry, store
from ..engine import service as engine
from ..ports import events
from ..ports import files as storage
from . import rows as rows_
from .dedupe import Dedupe
from .models import MAX_COLUMNS_KEPT, Import, Reservation, RowError, RowSkipped, bounded

CHUNK = 500  # rows read, checked and looked up together
TX_ITEMS = 100  # DynamoDB's limit of items per transaction
WORKERS = 4  # calls of a chunk's batch writes and lease transactions in flight at once
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


def _counted(f: Any, fmt: str) -> int:
    """count_rows, a file the readers refuse told as the import's 422 (the job fails with it, translated)."""
    from ..tabular import sheets, xlsx
    from . import service

    try:
        return count_rows(f, fmt)
    except (sheets.FormatError, xlsx.TooLarge) as e:
        raise service.file_error(e, fmt) from None


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
    with acting_as(RequestContext(tenant_id, p.user_id, locale)), tempfile.TemporaryFile() as f, \
            events.batched(hold=CHUNK, workers=WORKERS):
        storage.download(imp.file_key, f)
        f.seek(0)
        cp = dict(ctx.checkpoint or {})
        # a run that started before (a crash, a stop at a chunk boundary, even within its first chunk)
        resumed = bool(cp.get("row")) or bool(params.get("rerun")) or int(getattr(ctx.job_item, "attempts", 0) or 0) > 1
        if "total" not in cp:
            total = _counted(f, imp.format)
            f.seek(0)
            cp = {"row": 0, "total": total, **dict.fromkeys(COUNTS, 0)}
            ctx.save(checkpoint=cp, done=0, errors=0, total=total)
        r = Run(ctx, p, d, imp, params, cp, locale, resumed)
        return r.go(f)


@dataclass
class Chunk:
    """One chunk of the file on its way: read and built by the run's thread, then written (by the
    writer while the next chunk is built). What it changes is its own until it is committed: its
    counts join the checkpoint's, and the checkpoint moves past its rows, only when it is written."""

    rows: list[tuple[int, list[Any]]]
    consumed: int  # the file's rows read once this chunk is done (the checkpoint's `row`)
    resumed: bool  # may hold rows an earlier attempt wrote
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    rejected: list[RowError] = field(default_factory=list)
    skipped: list[RowSkipped] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # rows built, to write
    keys: set[tuple[str, str]] = field(default_factory=set)  # the duplicate keys of its rows that were matched
    dropped: list[tuple[Any, str]] = field(default_factory=list)  # rows refused when written: (wanted, record id)


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
        self.c = Chunk([], int(cp.get("row") or 0), resumed)  # the chunk being read and built
        self.reservation: Reservation | None = None
        # the writes of chunk N overlap the reading and building of chunk N+1 (one writer thread: the
        # chunks are committed in order). Not when a row may write during its building (覆盖 updates
        # the record it matches) or every chunk may hold rows written before (a re-run): one at a time.
        self.overlap = self.mode != "overwrite" and not self.rerun and not self.dry
        self.writer: ThreadPoolExecutor | None = None
        self.inflight: Future | None = None

    # ---- the file ----------------------------------------------------------------------------
    def go(self, f: Any) -> bool:
        from ..tabular import sheets, xlsx
        from . import service

        self.headers = service.read_headers(f, self.imp.format)  # the limits of the mapping call, again
        reader = sheets.read_rows(f, self.imp.format)
        try:
            return self._rows(reader)
        except (sheets.FormatError, xlsx.TooLarge) as e:
            raise service.file_error(e, self.imp.format) from None
        finally:
            try:
                self.settled(quiet=True)  # nothing is left writing when the invocation ends, even on an error
            finally:
                if self.writer is not None:
                    self.writer.shutdown(wait=True)
                reader.close()  # before the file it reads is closed (a run that stops early)

    def _rows(self, reader: Any) -> bool:
        from ..tabular import columns as tcols

        next(reader, None)  # the header row, read by go() within its limits
        headers = self.headers
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
                    self.settled()
                    return False
        if batch or consumed != self.c.consumed:
            self.chunk(batch, consumed)
        self.settled()
        self.finished()
        return True

    def chunk(self, batch: list[tuple[int, list[Any]]], consumed: int) -> None:
        """Read and build a chunk, then write it: now, or in the writer while the next is built."""
        self.c = c = Chunk(batch, consumed, self.resumed)
        self.resumed = self.rerun  # only the first chunk after a resume can hold rows already written
        if c.resumed or not self.overlap:
            self.settled()  # what a resumed chunk reads first (reservations left, rows written) is settled
        self.process(batch)
        dropped = self.settled()
        if dropped and self._clashes(c, dropped):
            c = self._again(c)
        if not self.overlap:
            self.commit(c)
            return
        if self.writer is None:
            self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self.inflight = self.writer.submit(contextvars.copy_context().run, self.commit, c)

    def settled(self, quiet: bool = False) -> list[tuple[Any, str]]:
        """Wait for the chunk being written (its error raised, unless `quiet`: an error is already on
        its way); the rows it had refused are forgotten by the duplicate matching. Returns them."""
        fut, self.inflight = self.inflight, None
        if fut is None:
            return []
        try:
            c = fut.result()
        except BaseException:
            if quiet:
                return []
            raise
        return self._forget(c)

    def _forget(self, c: Chunk) -> list[tuple[Any, str]]:
        dropped, c.dropped = c.dropped, []
        for wanted, rid in dropped:
            self.dedupe.drop(wanted, rid)
        return dropped

    @staticmethod
    def _clashes(c: Chunk, dropped: list[tuple[Any, str]]) -> bool:
        """Did the chunk just built match any key of a row the chunk before it had refused (it was
        built while that one was written, as if the refused row had been taken)?"""
        gone = {(kind, key) for wanted, _rid in dropped for kind, by_key in wanted.items() for key in by_key}
        return bool(gone & c.keys)

    def _again(self, c: Chunk) -> Chunk:
        """Build a chunk again, now that the one before it is written (rare: a row of that one was
        refused — another writer held its key — and a row of this one has the same key). Its rows'
        keys are given back first; numbers its records drew stay unused (a gap, as a retried create leaves)."""
        for g in c.pending:
            self.dedupe.drop(g["wanted"], g["draft"].record.id)
        self.c = again = Chunk(c.rows, c.consumed, c.resumed)
        self.process(again.rows)
        return again

    def commit(self, c: Chunk) -> Chunk:
        """Write a built chunk, then move the checkpoint past it (with its counts)."""
        with events.batched(hold=CHUNK, workers=WORKERS):  # the chunk's own events, sent before the checkpoint moves
            self.flush(c)
            if c.rejected or c.skipped:
                with RowError.batch_write() as w:
                    for e in [*c.rejected, *c.skipped]:
                        w.save(e)
                c.rejected, c.skipped = [], []
        for k in COUNTS:
            self.cp[k] = int(self.cp[k]) + c.counts[k]
        c.counts = dict.fromkeys(COUNTS, 0)
        self.cp["row"] = c.consumed
        done = sum(int(self.cp[k]) for k in COUNTS)
        self.ctx.save(checkpoint=dict(self.cp), done=done, errors=int(self.cp["rejected"]), total=int(self.cp["total"]))
        if not self.overlap:
            self._forget(c)
        return c

    # ---- one chunk -----------------------------------------------------------------------------
    def process(self, batch: list[tuple[int, list[Any]]]) -> None:
        """Read, check, match and build the rows of the current chunk (self.c); nothing of it is written."""
        p, d, c = self.p, self.d, self.c
        written: set[str] = set()
        if c.resumed and not self.dry:
            self.settle()
            written = _stored(p.tenant_id, d.entity, [record_id(self.imp, n) for n, _ in batch])
        resolver = engine.TenantResolver(p)  # one per chunk: the records rows name are read once
        ready = []
        for n, cells in batch:
            values, errors = rows_.body(self.plan, cells, self.lookup, self.locale)
            try:  # a row with cells not read is checked too: all its reasons are told at once
                wc, custom, owner = engine.checked(d, p, values, resolver)
            except DomainError as e:
                self.reject(n, cells, rows_.merged(self.plan, errors, e, self.locale))
                continue
            if errors:
                self.reject(n, cells, errors)
                continue
            wanted = self.dedupe.keys(wc.values)
            if record_id(self.imp, n) in written:  # written before the crash
                c.counts["created"] += 1
                self.dedupe.take(wanted, record_id(self.imp, n), n)
                continue
            ready.append((n, cells, values, wc, custom, owner, wanted))
        existing = self.dedupe.existing([r[-1] for r in ready]) if self.dedupe.active and ready else {}
        for n, cells, values, wc, custom, owner, wanted in ready:
            c.keys.update((kind, key) for kind, by_key in wanted.items() for key in by_key)
            m = self.dedupe.match(wanted, existing)
            if m.record_id and self.mode == "skip":
                self.skip(n, m)
            elif m.record_id and self.mode == "overwrite":
                self.overwrite(n, cells, values, wanted, m.record_id, m.earlier_row)
            elif m.blocked:
                e = duplicates.blocked_error(d, wc.values, m.blocked)
                self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
            elif self.dry:
                c.counts["created"] += 1
                self.dedupe.take(wanted, record_id(self.imp, n), n)
            else:
                self.create(n, cells, values, wc, custom, owner, wanted)

    def reject(self, row: int, cells: list[Any], errors: list[dict[str, Any]], c: Chunk | None = None) -> None:
        c = c or self.c
        c.counts["rejected"] += 1
        kept, reasons, cut = bounded([_cell(x) for x in cells[:MAX_COLUMNS_KEPT]], errors)
        c.rejected.append(RowError(RowError.partition(self.p.tenant_id, self.imp.id, self.run_no), f"{row:09d}",
                                   tenant_id=self.p.tenant_id, row=row, cells=kept, errors=reasons,
                                   truncated=int(cut or len(cells) > MAX_COLUMNS_KEPT)))

    def skip(self, row: int, m: Any) -> None:
        """A row skipped as a duplicate: counted, and kept with the record it matched (GET …/skipped)."""
        c = self.c
        c.counts["skipped"] += 1
        columns = [self.plan.header_of.get(f) or self.plan.label_of.get(f) or f for f in m.fields][:20]
        c.skipped.append(RowSkipped(RowSkipped.partition(self.p.tenant_id, self.imp.id, self.run_no), f"{row:09d}",
                                    tenant_id=self.p.tenant_id, row=row, record_id=m.record_id, earlier_row=m.earlier_row,
                                    columns=[str(x)[:200] for x in columns]))

    # ---- writes ----------------------------------------------------------------------------------
    def create(self, n: int, cells: list[Any], values: dict[str, Any], wc: Any, custom: dict[str, Any], owner: str,
               wanted: Any) -> None:
        rid = record_id(self.imp, n)
        try:
            draft = engine.built(self.d, self.p, wc, custom, owner, rid, holdings=False)
        except DomainError as e:
            self.reject(n, cells, rows_.errors_of(self.plan, e, self.locale))
            return
        self.c.pending.append({"row": n, "cells": cells, "values": values, "draft": draft, "wanted": wanted, "chunk": self.c})
        self.dedupe.take(wanted, rid, n)

    def flush(self, c: Chunk) -> None:
        """Write the rows of a chunk built so far: in batches (see the module docstring), but the first
        chunk after a resume and the rows whose writes must all be checked, which go in transactions."""
        pending, c.pending = c.pending, []
        if not pending:
            return
        fast = [] if c.resumed else [g for g in pending if _batchable(g["draft"])]
        quick = {id(g) for g in fast}
        slow = [g for g in pending if id(g) not in quick]
        if fast:
            slow += self._batched(fast)
        if slow:
            self._transacted(sorted(slow, key=lambda g: g["row"]))

    # rows written in transactions (record, log entry, leases, holdings: all conditional) -----------
    def _transacted(self, rows: list[dict[str, Any]]) -> None:
        group: list[dict[str, Any]] = []
        ops_n, keys_, owners = 0, set(), set()
        holds = bool(self.d.hooks.holdings)
        for g in rows:
            mine = {_key(op) for op in g["draft"].ops}
            owner = g["draft"].record.owner_id
            if group and (ops_n + len(g["draft"].ops) + (len(owners | {owner}) if holds else 0) > TX_ITEMS or mine & keys_):
                self._transact(group)
                group, ops_n, keys_, owners = [], 0, set(), set()
            group.append(g)
            ops_n += len(g["draft"].ops)
            keys_ |= mine
            owners.add(owner)
        if group:
            self._transact(group)

    def _transact(self, group: list[dict[str, Any]]) -> None:
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
            g["chunk"].counts["created"] += 1

    # rows written in batches ------------------------------------------------------------------------
    def _batched(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Holdings reserved per owner, leases claimed, then records and log entries put without
        conditions; returns the rows left for transactions (their owner has no room for all)."""
        reserved, slow = self._reserve(rows)
        taken = self._claim(reserved)
        written = {id(g) for g in taken}
        batch.put_all((op.model for g in taken for op in g["draft"].ops if not _is_lease(op)), workers=WORKERS)
        for g in taken:
            engine.finish(g["draft"])
            g["chunk"].counts["created"] += 1
        self._release([g for g in reserved if id(g) not in written])
        return slow

    def _reserve(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One conditional counter write per owner for all their rows (the type's holdings hook
        summed), with a Reservation item naming the rows, in one transaction. An owner without room
        for all of their rows is left out: their rows go through transactions, row by row as far as
        the limit lets them."""
        if not self.d.hooks.holdings:
            return rows, []
        left, slow = list(rows), []
        while left:
            by_owner: dict[str, list[dict[str, Any]]] = {}
            for g in left:
                by_owner.setdefault(g["draft"].record.owner_id, []).append(g)
            ops, owner_of = [], []
            for owner, gs in by_owner.items():
                for op in engine.holdings_of(self.d, self.p.tenant_id, [g["draft"].record for g in gs]):
                    ops.append(op)
                    owner_of.append(owner)
            held = [[g["row"], g["draft"].record.id, store.holding(g["draft"].record)] for g in left]
            marker = Reservation(Reservation.partition(self.p.tenant_id, self.imp.id, self.run_no), f"{left[0]['row']:09d}",
                                 tenant_id=self.p.tenant_id, held=json.dumps(held, ensure_ascii=False, default=str))
            failed = tx.refused([tx.put(marker, condition=Reservation.pk.does_not_exist()), *ops])
            if not failed:
                self.reservation = marker
                return left, slow
            if 0 in failed:
                raise Conflict()  # a reservation of these rows is still held: settled when a run resumes
            full = {owner_of[i - 1] for i in failed}
            slow += [g for g in left if g["draft"].record.owner_id in full]
            left = [g for g in left if g["draft"].record.owner_id not in full]
        return [], slow

    def _claim(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows' duplicate leases, conditional puts only, as many rows' as a transaction takes
        (WORKERS transactions in flight: rows of a chunk never share a lease key — the file's own
        duplicates were matched in memory); a row whose lease another writer holds is refused
        (409 DUPLICATE) and the other rows of its transaction are sent again."""
        taken: list[dict[str, Any]] = []
        groups: list[list[dict[str, Any]]] = [[]]
        count, keys_ = 0, set()
        now = clock.now()
        fresh = UniqueValue.pk.does_not_exist() | (UniqueValue.expires_at < now)
        for g in rows:
            leases = [op for op in g["draft"].ops if _is_lease(op)]
            if not leases:
                taken.append(g)
                continue
            for op in leases:  # a row never tried before holds no lease of its own: free = none, or expired
                op.condition = fresh  # (one condition for the chunk: its moment, a little stricter than each row's)
            mine = {_key(op) for op in leases}
            if groups[-1] and (count + len(leases) > TX_ITEMS or mine & keys_):
                groups.append([])
                count, keys_ = 0, set()
            groups[-1].append(g)
            count += len(leases)
            keys_ |= mine
        groups = [gs for gs in groups if gs]
        firsts = batch.in_parallel(lambda gs: tx.refused(_leases(gs)[0]), groups, WORKERS) if len(groups) > 1 else \
            [tx.refused(_leases(gs)[0]) for gs in groups]
        for gs, failed in zip(groups, firsts, strict=True):
            taken += self._claim_group(gs, failed)
        return sorted(taken, key=lambda g: g["row"])

    def _claim_group(self, group: list[dict[str, Any]], failed: list[int]) -> list[dict[str, Any]]:
        """A group whose lease transaction was tried (`failed`: the refused items): its refused rows
        out, the rest tried again until a transaction goes through."""
        while group:
            ops, row_of = _leases(group)
            if not failed:
                return group
            refused = {id(row_of[i]): ops[i] for i in failed}
            for g in group:
                if id(g) in refused:
                    op = refused[id(g)]
                    self._refused(g, op.on_conflict() if op.on_conflict else Conflict())
            group = [g for g in group if id(g) not in refused]
            failed = tx.refused(_leases(group)[0]) if group else []
        return []

    def _release(self, unused: list[dict[str, Any]]) -> None:
        """Give back what the reservation counted for rows not written, and drop the reservation."""
        marker, self.reservation = self.reservation, None
        if marker is None:
            return
        back = self._give_back([store.holding(g["draft"].record) for g in unused])
        tx.write([tx.delete(marker, condition=Reservation.pk.exists()), *back])

    def _give_back(self, held: list[Any]) -> list[tx.Op]:
        d = self.d
        changes_ = [(h, None) for h in held if h is not None]
        if not changes_:
            return []
        if d.hooks.holdings_many is not None:
            return list(d.hooks.holdings_many(self.p.tenant_id, changes_))
        return [op for before, after in changes_ for op in d.hooks.holdings(self.p.tenant_id, before, after)]

    def settle(self) -> None:
        """A resumed run, or a run of an import run before: reservations an earlier attempt left (it
        stopped between reserving and giving back; the last attempt of a run that failed) are given
        back for their rows not written (consistent reads of the rows)."""
        if not self.d.hooks.holdings:
            return
        left = [m for run_no in range(1, self.run_no + 1)
                for m in Reservation.query(Reservation.partition(self.p.tenant_id, self.imp.id, run_no), consistent_read=True)]
        for marker in left:
            held = json.loads(marker.held)
            written = _stored(self.p.tenant_id, self.d.entity, [rid for _row, rid, _h in held])
            back = self._give_back([h for _row, rid, h in held if rid not in written])
            try:
                tx.write([tx.delete(marker, condition=Reservation.pk.exists()), *back])
            except Conflict:
                pass  # given back meanwhile

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
                    g["chunk"].counts["created"] += 1  # written by an earlier attempt
                    return
                self._refused(g, e)
                return
            engine.finish(draft)
            g["chunk"].counts["created"] += 1
            return
        self._refused(g, Conflict())

    def _refused(self, g: dict[str, Any], e: DomainError) -> None:
        c = g["chunk"]
        c.dropped.append((g["wanted"], g["draft"].record.id))  # forgotten by the matching once the chunk is written
        self.reject(g["row"], g["cells"], rows_.errors_of(self.plan, e, self.locale), c)

    def _exists(self, rid: str) -> bool:
        try:
            store.get(self.p.tenant_id, self.d.entity, rid, self.d.name_key, consistent=True)
        except NotFound:
            return False
        return True

    def overwrite(self, n: int, cells: list[Any], values: dict[str, Any], wanted: Any, target: str, earlier_row: int | None) -> None:
        """覆盖: the matching record takes the row's non-empty values (its owner stays), if the caller may change it."""
        if earlier_row is not None:
            self.flush(self.c)  # the earlier row's record is committed first
            self._forget(self.c)
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
        self.c.counts["overwritten"] += 1
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


def _leases(group: list[dict[str, Any]]) -> tuple[list[tx.Op], list[dict[str, Any]]]:
    """The lease puts of rows, and the row of each."""
    ops, row_of = [], []
    for g in group:
        for op in g["draft"].ops:
            if _is_lease(op):
                ops.append(op)
                row_of.append(g)
    return ops, row_of


def _is_lease(op: tx.Op) -> bool:
    """A duplicate rule's lease (duplicates.lease_ops): a conditional put of a UniqueValue that expires."""
    return op.kind == "put" and isinstance(op.model, UniqueValue) and op.model.expires_at is not None


def _batchable(draft: Any) -> bool:
    """A row whose writes are its record, its log entry and leases: the record and entry may be
    put without conditions (ids only this import derives), the leases are claimed first. Any other
    write (a unique value, a file link, a record it stamps, a type's own) keeps the row in a transaction."""
    rec = draft.record
    for op in draft.ops:
        if op.model is rec and op.kind == "put":
            continue
        if op.kind == "put" and isinstance(op.model, AuditEntry) and op.condition is None and op.model.record_id == rec.id:
            continue
        if _is_lease(op):
            continue
        return False
    return True


def _stored(tenant_id: str, entity: str, record_ids: list[str]) -> set[str]:
    """Which of these records exist, in any state (consistent reads, 100 keys a call)."""
    found: set[str] = set()
    keys_ = [store.record_key(tenant_id, entity, i) for i in dict.fromkeys(record_ids)]
    for r in store.EntityRecord.batch_get(keys_, consistent_read=True):
        if isinstance(r, store.EntityRecord) and r.entity == entity:
            found.add(r.id)
    return found


def _key(op: tx.Op) -> tuple[str, str]:
    if op.kind == "check":
        return op.model[1], op.model[2]
    return op.model.pk, op.model.sk


def _cell(c: Any) -> Any:
    v = plain(c)
    return v if v is None or isinstance(v, (str, int, float, bool)) else str(v)
