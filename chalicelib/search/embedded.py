"""The embedded search engine: SQLite (FTS5) in one local file, no server.

Used on one machine (the local stack, tests) when no OpenSearch URL is configured. It
implements the same `SearchRequest` semantics as the OpenSearch adapter (tests/search/
runs one contract suite on both):

- docs: one row per document (index, tenant, id, version, owner, created) plus one column
  per single-valued field, `c_<field>`, added the first time a field is indexed: numbers
  and dates (epoch ms) as REAL, the rest as TEXT. Filters, sort and facets on these are
  column predicates over narrow rows (no join), which keeps a 100k-record tenant fast.
- src: the document source returned by hits, kept apart so scans stay narrow.
- vals: values of multi-valued fields (tags, multiselect) and, for text/prefix fields, the
  normalised value an exact match compares (`norm`).
- team: record team grants (user, until) for the data-scope filter.
- fts: FTS5 over "field__term" tokens made by analysis.py, so a text query can be limited
  to the fields the caller may read.
- tomb: versions of deleted documents (kept 25 h, longer than a stream record lives), so a
  replayed older index operation cannot bring a deleted record back.

One connection per thread (WAL mode); every bulk call is one transaction.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import analysis, schema
from .query import (
    ANY,
    OPS,
    Aggregation,
    Bucket,
    EntityQuery,
    Filter,
    Hit,
    IndexOp,
    SearchRequest,
    SearchResult,
    default_sort,
    empty,
    period_label,
    sorted_buckets,
)
from .values import facet_key, highlight, to_millis

TOMBSTONE_SECONDS = 25 * 3600
SCOPE_SET_ROWS = 3000  # scopes up to this many rows limit a text match as a row-id set
COMBINED_GROUPS = 5000  # value combinations one grouped facet scan may return
_DDL = """
CREATE TABLE IF NOT EXISTS docs(rid INTEGER PRIMARY KEY, idx TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL,
    version INTEGER NOT NULL, owner TEXT, created INTEGER, UNIQUE(idx, tenant, id));
CREATE TABLE IF NOT EXISTS src(rid INTEGER PRIMARY KEY, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS docs_owner ON docs(tenant, idx, owner, created);
CREATE INDEX IF NOT EXISTS docs_newest ON docs(tenant, idx, created DESC, id);
CREATE TABLE IF NOT EXISTS vals(rid INTEGER NOT NULL, field TEXT NOT NULL, kw TEXT, num REAL, norm TEXT);
CREATE INDEX IF NOT EXISTS vals_kw ON vals(field, kw, rid);
CREATE INDEX IF NOT EXISTS vals_num ON vals(field, num, rid);
CREATE INDEX IF NOT EXISTS vals_rid ON vals(rid, field);
CREATE INDEX IF NOT EXISTS vals_norm ON vals(norm, field, rid) WHERE norm IS NOT NULL;
CREATE TABLE IF NOT EXISTS team(rid INTEGER NOT NULL, user TEXT NOT NULL, until TEXT);
CREATE INDEX IF NOT EXISTS team_user ON team(user, rid);
CREATE INDEX IF NOT EXISTS team_rid ON team(rid);
CREATE TABLE IF NOT EXISTS tomb(idx TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    at REAL NOT NULL, PRIMARY KEY(idx, tenant, id));
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, tokenize="unicode61 remove_diacritics 0 tokenchars '_'");
"""


def _q(term: str) -> str:
    """One FTS5 string token (quoted, quotes doubled)."""
    return '"' + term.replace('"', '""') + '"'


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@contextmanager
def _snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction around a search's statements: its rows, counts and sources come
    from one state of the index. In autocommit each SELECT saw the latest commit, so an
    indexer committing between the page's rows and their sources (the stream consumer runs
    in a thread of its own) left a hit without a source: a KeyError, the search a 503."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")  # a read transaction: nothing to keep or undo


class EmbeddedIndex:
    name = "embedded"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._columns: set[str] = set()
        self._analyzed_docs = 0
        self._ddl = threading.Lock()
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.ensure()

    # ---- connection -------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA cache_size=-131072")  # 128 MB: a 100k-record tenant's scans stay in memory
            db.execute("PRAGMA mmap_size=268435456")
            self._local.db = db
        return db

    def ensure(self) -> None:
        self._db().executescript(_DDL)
        self._load_columns()

    def _load_columns(self) -> None:
        self._columns = {r[1] for r in self._db().execute("PRAGMA table_info(docs)").fetchall()}

    def _column(self, field: str) -> str | None:
        """The quoted docs column of a single-valued field, or None while no document has it."""
        name = f"c_{field}"
        if name not in self._columns:
            self._load_columns()  # another connection or process may have added it
            if name not in self._columns:
                return None
        return f'd."{name}"'

    def _add_columns(self, db: sqlite3.Connection, fields: list[str], es: schema.EntitySchema) -> None:
        missing = [f for f in fields if f"c_{f}" not in self._columns]
        if missing:
            self._load_columns()
        for f in missing:
            if f"c_{f}" not in self._columns:
                kind = es.kind(f)
                affinity = "REAL" if kind in (schema.NUMBER, schema.DATE) else "TEXT"
                db.execute(f'ALTER TABLE docs ADD COLUMN "c_{f}" {affinity}')
                self._columns.add(f"c_{f}")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def refresh(self) -> None:
        """Writes are visible when bulk() returns (nothing to do)."""

    # ---- writes -----------------------------------------------------------------------
    def bulk(self, ops: list[IndexOp]) -> dict[str, int]:
        """Apply index/delete operations; an op older than what the index holds is skipped."""
        counts = {"indexed": 0, "deleted": 0, "skipped": 0}
        if not ops:
            return counts
        db = self._db()
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                counts[self._apply(db, op, now)] += 1
            db.execute("DELETE FROM tomb WHERE at < ?", (now - TOMBSTONE_SECONDS,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._maybe_analyze(db)
        return counts

    def _maybe_analyze(self, db: sqlite3.Connection) -> None:
        """Refresh the planner's statistics when the index has doubled since the last time:
        without them SQLite walks a large tenant through an index (row by row) where one
        sequential scan is 5x faster."""
        n = db.execute("SELECT max(rid) FROM docs").fetchone()[0] or 0
        if n >= 1000 and n >= 2 * self._analyzed_docs:
            db.execute("ANALYZE")
            self._analyzed_docs = n

    def _apply(self, db: sqlite3.Connection, op: IndexOp, now: float) -> str:
        idx = schema.get(op.entity).index
        row = db.execute("SELECT rid, version FROM docs WHERE idx=? AND tenant=? AND id=?", (idx, op.tenant_id, op.id)).fetchone()
        tomb = db.execute("SELECT version FROM tomb WHERE idx=? AND tenant=? AND id=?", (idx, op.tenant_id, op.id)).fetchone()
        current = max(row[1] if row else -1, tomb[0] if tomb else -1)
        same = op.replace and op.action == "index" and row is not None and row[1] == op.version and not (tomb and tomb[0] >= op.version)
        if op.version <= current and not same:
            return "skipped"
        if row:
            self._remove(db, row[0])
        if op.action == "delete":
            db.execute("INSERT OR REPLACE INTO tomb(idx, tenant, id, version, at) VALUES (?,?,?,?,?)",
                       (idx, op.tenant_id, op.id, op.version, now))
            return "deleted"
        db.execute("DELETE FROM tomb WHERE idx=? AND tenant=? AND id=?", (idx, op.tenant_id, op.id))
        self._insert(db, idx, op)
        return "indexed"

    @staticmethod
    def _remove(db: sqlite3.Connection, rid: int) -> None:
        for table in ("vals", "team"):
            db.execute(f"DELETE FROM {table} WHERE rid=?", (rid,))  # noqa: S608 - fixed table names
        db.execute("DELETE FROM fts WHERE rowid=?", (rid,))
        db.execute("DELETE FROM src WHERE rid=?", (rid,))
        db.execute("DELETE FROM docs WHERE rid=?", (rid,))

    @staticmethod
    def _stored(kind: str, v: Any) -> Any:
        if kind == schema.DATE:
            return to_millis(v)
        if kind == schema.NUMBER:
            return float(v)
        if kind == schema.BOOLEAN:
            return "true" if v in (True, "true", 1) else "false"
        return str(v)

    def _insert(self, db: sqlite3.Connection, idx: str, op: IndexOp) -> None:
        es = schema.get(op.entity)
        doc = op.document or {}
        values: dict[str, Any] = {f: v for f, v in doc.get("values", {}).items() if es.kind(f) is not None and v is not None}
        single = {f: v for f, v in values.items() if not es.is_multi(f) and not isinstance(v, list)}
        self._add_columns(db, list(single), es)
        names = ", ".join(f'"c_{f}"' for f in single)
        cur = db.execute(f"INSERT INTO docs(idx, tenant, id, version, owner, created{', ' + names if names else ''}) "  # noqa: S608
                         f"VALUES ({', '.join('?' * (6 + len(single)))})",
                         (idx, op.tenant_id, op.id, op.version, values.get("owner_id"), to_millis(values.get("created_at")),
                          *(self._stored(es.kind(f), v) for f, v in single.items())))
        rid = cur.lastrowid
        db.execute("INSERT INTO src(rid, source) VALUES (?, ?)", (rid, json.dumps(doc.get("source", {}), ensure_ascii=False, default=str)))
        rows, tokens = [], []
        for field, value in values.items():
            kind = es.kind(field)
            many = field not in single
            for v in (value if isinstance(value, list) else [value]):
                if v is None:
                    continue
                if many:
                    stored = self._stored(kind, v)
                    rows.append((rid, field, None, stored, None) if isinstance(stored, float) else (rid, field, stored, None, None))
                if kind == schema.TEXT:
                    s = str(v)
                    rows.append((rid, field, None, None, analysis.normalize(s).strip()))
                    tokens += [f"{field}__{t}" for t in analysis.index_tokens(s)]
                elif kind == schema.PREFIX:
                    term = analysis.prefix_term(str(v))
                    rows.append((rid, field, None, None, term))
                    if term:
                        tokens.append(f"{field}__{term}")
        db.executemany("INSERT INTO vals(rid, field, kw, num, norm) VALUES (?,?,?,?,?)", list(dict.fromkeys(rows)))
        db.executemany("INSERT INTO team(rid, user, until) VALUES (?,?,?)",
                       [(rid, m["user_id"], m.get("until")) for m in doc.get("team", [])
                        if m.get("access") in ("read", "write")])
        db.execute("INSERT INTO fts(rowid, body) VALUES (?, ?)", (rid, " ".join(tokens)))

    def drop_tenant(self, tenant_id: str) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            for (rid,) in db.execute("SELECT rid FROM docs WHERE tenant=?", (tenant_id,)).fetchall():
                self._remove(db, rid)
            db.execute("DELETE FROM tomb WHERE tenant=?", (tenant_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def versions(self, tenant_id: str, entity: str) -> dict[str, int]:
        idx = schema.get(entity).index
        return dict(self._db().execute("SELECT id, version FROM docs WHERE tenant=? AND idx=?", (tenant_id, idx)).fetchall())

    # ---- queries ----------------------------------------------------------------------
    def search(self, req: SearchRequest) -> SearchResult:
        if not req.entities:
            return SearchResult([], 0)
        db = self._db()
        with _snapshot(db):
            return self._search(db, req)

    def search_many(self, reqs: list[SearchRequest]) -> list[SearchResult]:
        """Several requests on one read snapshot: their figures come from one state of the index."""
        db = self._db()
        with _snapshot(db):
            return [self._search(db, r) if r.entities else SearchResult([], 0) for r in reqs]

    def _search(self, db: sqlite3.Connection, req: SearchRequest) -> SearchResult:
        where, params = self._where(req)
        text = req.text.strip()
        match = self._match(req, text) if text else None
        if text and match is None:
            return empty(req)
        limit_to = self._match_scope(req)
        base = _Base.of(match, where, params, scored=False, limit_to=limit_to)
        if req.figures_only:
            facets, _total = self._facets(db, req, base)
            found = self._figures(db, req, base)
            return SearchResult([], 0, facets, {}, None, {name: found[name] for name in req.aggregations})
        facets, total = self._facets(db, req, base)
        if total is None:
            total = db.execute(*base.sql("count(*)")).fetchone()[0]
        hits, after = self._hits(db, req, _Base.of(match, where, params, scored=True, limit_to=limit_to), text, match is not None)
        counts: dict[str, int] = {}
        if req.entity_counts:
            rows = dict(db.execute(*base.sql("d.idx, count(*)", tail="GROUP BY d.idx")).fetchall())
            counts = {e.entity: rows.get(schema.get(e.entity).index, 0) for e in req.entities}
        aggregations = {name: self._aggregate(db, req, base, agg) for name, agg in req.aggregations.items()}
        return SearchResult(hits, total, facets, counts, after, aggregations)

    def _keys(self, req: SearchRequest, agg: Aggregation) -> list[str]:
        """The SQL of a grouped aggregation's keys: the `by` columns, then the period's day (computed
        from the epoch-ms column at the aggregation's UTC offset)."""
        if any(req.is_multi(f) for f in agg.by):
            raise ValueError("aggregations group by single-valued fields only")
        keys = [("d.created" if f == "created_at" else self._column(f)) or "NULL" for f in agg.by]
        if agg.period:
            column = ("d.created" if agg.date_field == "created_at" else self._column(agg.date_field or "")) or "NULL"
            sign, hours, minutes = agg.utc_offset[0], int(agg.utc_offset[1:3]), int(agg.utc_offset[4:6])
            moment = f"{column} / 1000, 'unixepoch', '{sign}{hours * 60 + minutes} minutes'"
            keys.append(f"CASE WHEN {column} IS NULL THEN NULL ELSE strftime('%Y-%m-%d', {moment}) END")
        return keys

    def _condition(self, req: SearchRequest, agg: Aggregation) -> tuple[str, list[Any]]:
        """An aggregation's own conditions as one SQL expression ("1" without any)."""
        cond, params = "1", []
        for f in agg.filters:
            fsql, fp = self._filter(req, f)
            cond, params = f"{cond} AND {fsql}", [*params, *fp]
        return cond, params

    def _grouped(self, req: SearchRequest, agg: Aggregation, rows: list[tuple]) -> list[Bucket]:
        """Rows of (keys…, count, sums…) -> the aggregation's buckets (days merged into its period)."""
        n = len(agg.by) + (1 if agg.period else 0)
        merged: dict[tuple, Bucket] = {}
        for row in rows:
            key = {f: facet_key(req.kind(f), v) for f, v in zip(agg.by, row, strict=False)}
            if agg.period:
                day = row[len(agg.by)]
                key["period"] = None if day is None else period_label(agg.period, int(day[:4]), int(day[5:7]), int(day[8:10]))
            count, totals = row[n], row[n + 1:n + 1 + len(agg.sums)]
            if not count:
                continue
            b = merged.setdefault(tuple(key.items()), Bucket(key, 0, {f: 0.0 for f in agg.sums}))
            b.count += count
            for f, v in zip(agg.sums, totals, strict=True):
                b.sums[f] = round(b.sums[f] + (v or 0), 6)
        return sorted_buckets(list(merged.values()), agg)

    def _aggregate(self, db, req: SearchRequest, base: _Base, agg: Aggregation) -> list[Bucket]:
        """One grouped scan: GROUP BY the keys, counting and summing (under the aggregation's own conditions)."""
        keys = self._keys(req, agg)
        sums = [f"sum({self._column(f) or 'NULL'})" for f in agg.sums]
        select = ", ".join([*keys, "count(*)", *sums])
        tail = f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
        cond, cparams = self._condition(req, agg)
        rows = db.execute(*base.sql(select, tail=f"AND {cond} {tail}", tail_params=cparams)).fetchall()
        return self._grouped(req, agg, rows)

    def _figures(self, db, req: SearchRequest, base: _Base) -> dict[str, list[Bucket]]:
        """A figures-only request's aggregations in as few scans as possible: the ungrouped ones (a
        count and sums each, under conditions of their own) ride along one grouped aggregation's scan —
        every condition a CASE inside count() and sum(), the grouped one's keys computed only for its
        rows — so the caller's rows are read once per grouped aggregation (once when there is none)."""
        flat = {n: a for n, a in req.aggregations.items() if not a.by and not a.period}
        grouped = [n for n in req.aggregations if n not in flat]
        out = {n: self._aggregate(db, req, base, req.aggregations[n]) for n in grouped[1:]}
        lead = req.aggregations[grouped[0]] if grouped else None
        select: list[str] = []
        sparams: list[Any] = []
        width, nkeys = 0, 0
        if lead is not None:
            gcond, gparams = self._condition(req, lead)
            keys = self._keys(req, lead)
            nkeys = len(keys)
            select += [f"CASE WHEN {gcond} THEN 1 ELSE 0 END", *(f"CASE WHEN {gcond} THEN {k} END" for k in keys),
                       f"count(CASE WHEN {gcond} THEN 1 END)",
                       *(f"sum(CASE WHEN {gcond} THEN {self._column(f) or 'NULL'} END)" for f in lead.sums)]
            sparams += gparams * (1 + nkeys + 1 + len(lead.sums))
            width = len(select)
        for agg in flat.values():
            cond, cparams = self._condition(req, agg)
            select.append(f"count(CASE WHEN {cond} THEN 1 END)")
            sparams += cparams
            for f in agg.sums:
                select.append(f"sum(CASE WHEN {cond} THEN {self._column(f) or 'NULL'} END)")
                sparams += cparams
        if not select:
            return out
        tail = f"GROUP BY {', '.join(str(i + 1) for i in range(1 + nkeys))}" if lead is not None else ""
        rows = db.execute(*base.sql(", ".join(select), sparams, tail=tail)).fetchall()
        if lead is not None:
            out[grouped[0]] = self._grouped(req, lead, [r[1:width] for r in rows if r[0] == 1])
        i = width
        for name, agg in flat.items():
            count = sum(r[i] or 0 for r in rows)
            totals = [sum(r[i + 1 + j] or 0 for r in rows) for j in range(len(agg.sums))]
            i += 1 + len(agg.sums)
            out[name] = [Bucket({}, count, {f: round(v, 6) for f, v in zip(agg.sums, totals, strict=True)})] if count else []
        return out

    def _where(self, req: SearchRequest) -> tuple[str, list[Any]]:
        clauses, params = ["d.tenant = ?"], [req.tenant_id]
        scopes = []
        # a text match, or the few rows holding duplicate keys (dup_company …: near-unique values), drives
        # the scan: the scope is then checked per row instead of materialising every row the caller may see
        per_row = bool(req.text.strip()) or any(self._keyed(req, f, dup_only=True) for f in req.filters)
        for eq in req.entities:
            sql, p = self._scope(eq, req.tenant_id, per_row)
            for f in eq.filters:  # this entity's own conditions
                fsql, fp = self._filter(req, f)
                sql, p = f"({sql} AND {fsql})", [*p, *fp]
            scopes.append(sql)
            params += p
        clauses.append("(" + " OR ".join(scopes) + ")")
        for f in req.filters:
            sql, p = self._filter(req, f)
            clauses.append(sql)
            params += p
        return " AND ".join(clauses), params

    @staticmethod
    def _scope_set(eq: EntityQuery, tenant_id: str) -> tuple[str, list[Any]] | None:
        """The rows one entity's scope allows, as a row-id set: the owners' rows through
        docs_owner plus the caller's unexpired grants. None when the scope is the whole entity."""
        s = eq.scope
        if s.owners is None and not s.only_team:
            return None
        sets, params = [], []
        if not s.only_team:
            sets.append("SELECT rid FROM docs WHERE tenant = ? AND idx = ? AND owner IN (SELECT value FROM json_each(?))")
            params += [tenant_id, schema.get(eq.entity).index, json.dumps(sorted(s.owners or ()))]
        if s.team_user and not s.only_owners:
            sets.append("SELECT rid FROM team WHERE user = ? AND (until IS NULL OR until > ?)")
            params += [s.team_user, s.now]
        return (" UNION ".join(sets) or "SELECT NULL WHERE 0"), params

    def _scope(self, eq: EntityQuery, tenant_id: str, per_row: bool) -> tuple[str, list[Any]]:
        """Owners OR unexpired team grants. Without a text query the scope drives the scan as
        one set of row ids (an OR inside the scan would walk the whole tenant; the union reads
        only the owners' and the grants' rows). With a text query the (already scoped) match
        drives, and each of its rows is checked (`per_row`)."""
        idx = schema.get(eq.entity).index
        s = eq.scope
        if per_row and (s.owners is not None or s.only_team):
            parts, params = [], []
            if not s.only_team:
                parts.append("d.owner IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(sorted(s.owners or ())))
            if s.team_user and not s.only_owners:
                parts.append("d.rid IN (SELECT rid FROM team WHERE user = ? AND (until IS NULL OR until > ?))")
                params += [s.team_user, s.now]
            return f"(d.idx = ? AND ({' OR '.join(parts) or '0'}))", [idx, *params]
        rows = self._scope_set(eq, tenant_id)
        if rows is None:
            return "(d.idx = ?)", [idx]
        return f"(d.idx = ? AND d.rid IN ({rows[0]}))", [idx, *rows[1]]

    def _filter(self, req: SearchRequest, f: Filter) -> tuple[str, list[Any]]:
        if f.op == ANY:
            return self._any(req, f.value)
        if f.op not in OPS:
            raise ValueError(f"unknown operator {f.op}")
        kind = req.kind(f.field)
        numeric = kind in (schema.NUMBER, schema.DATE)
        if req.is_multi(f.field):
            col = "num" if numeric else "kw"
            target, frame = col, "d.rid IN (SELECT rid FROM vals WHERE field = ? AND {})"
            fparams: list[Any] = [f.field]
        else:
            column = self._column(f.field)
            if column is None:  # no document has this field yet: everything is missing it
                return ("1" if f.op == "missing" else "0"), []
            target, frame, fparams = column, "{}", []
        if f.op == "exists":
            return frame.format(f"{target} IS NOT NULL"), fparams
        if f.op == "missing":
            if frame != "{}":
                return "d.rid NOT IN (SELECT rid FROM vals WHERE field = ? AND (kw IS NOT NULL OR num IS NOT NULL))", fparams
            return f"{target} IS NULL", []
        if f.op == "eq":
            return frame.format(f"{target} = ?"), [*fparams, self._stored(kind, f.value)]
        if f.op == "in":
            values = [self._stored(kind, v) for v in f.value]
            return frame.format(f"{target} IN ({', '.join('?' * len(values))})"), [*fparams, *values]
        if f.op == "contains":
            return frame.format(f"{target} LIKE ? ESCAPE '\\'"), [*fparams, _like(str(f.value))]
        ops = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
        conds, params = [], list(fparams)
        for k, v in (f.value or {}).items():
            conds.append(f"{target} {ops[k]} ?")
            params.append(self._stored(kind, v))
        return frame.format(" AND ".join(conds) or "1"), params

    @staticmethod
    def _keyed(req: SearchRequest, f: Filter, dup_only: bool = False) -> bool:
        """Equality on a multi-valued keyword field (or one of several): answered from vals_kw."""
        if f.op == ANY:
            return bool(f.value) and all(EmbeddedIndex._keyed(req, g, dup_only) for g in f.value)
        return f.op in ("eq", "in") and req.is_multi(f.field) and req.kind(f.field) == schema.KEYWORD \
            and (not dup_only or f.field.startswith(schema.DUP_PREFIX))

    def _any(self, req: SearchRequest, filters: tuple[Filter, ...]) -> tuple[str, list[Any]]:
        """One of several conditions. Equality on multi-valued keyword fields (e.g. the duplicate
        keys dup_company, dup_phone …) becomes one row-id subquery on `vals`, which a selective
        check drives from (vals_kw) instead of walking the caller's scope."""
        keyed = [g for g in filters if g.op != ANY and self._keyed(req, g)]
        parts = [self._filter(req, g) for g in filters if g not in keyed]
        if keyed:
            conds, params = [], []
            for g in keyed:
                values = [str(v) for v in (g.value if g.op == "in" else [g.value])]
                conds.append(f"(field = ? AND kw IN ({', '.join('?' * len(values))}))")
                params += [g.field, *values]
            parts.append((f"d.rid IN (SELECT rid FROM vals WHERE {' OR '.join(conds)})", params))
        return "(" + (" OR ".join(sql for sql, _ in parts) or "0") + ")", [p for _, ps in parts for p in ps]

    def _match_scope(self, req: SearchRequest) -> tuple[str, list[Any]] | None:
        """A condition on the text match's rows (`fts.rowid`) limiting them to the caller's
        rows, so relevance (bm25) is computed only for rows the caller may see. A small scope
        (a rep's own records) is a row-id set; a wide one (a director's 50 reports) is checked
        per matched row instead of materialising tens of thousands of ids."""
        parts, params = [], []
        for eq in req.entities:
            s = eq.scope
            if s.owners is None and not s.only_team:
                return None
            idx = schema.get(eq.entity).index
            owners = json.dumps(sorted(s.owners or ()))
            if not s.only_team:
                size = self._db().execute("SELECT count(*) FROM docs WHERE tenant = ? AND idx = ? AND owner IN "
                                          "(SELECT value FROM json_each(?))", (req.tenant_id, idx, owners)).fetchone()[0]
                if size <= SCOPE_SET_ROWS:
                    parts.append("+rowid IN (SELECT rid FROM docs WHERE tenant = ? AND idx = ? AND owner IN (SELECT value FROM json_each(?)))")
                else:
                    parts.append("EXISTS (SELECT 1 FROM docs o WHERE o.rid = fts.rowid AND o.tenant = ? AND o.idx = ? "
                                 "AND o.owner IN (SELECT value FROM json_each(?)))")
                params += [req.tenant_id, idx, owners]
            if s.team_user and not s.only_owners:
                parts.append("+rowid IN (SELECT rid FROM team WHERE user = ? AND (until IS NULL OR until > ?))")
                params += [s.team_user, s.now]
        return "(" + (" OR ".join(parts) or "0") + ")", params

    def _match(self, req: SearchRequest, text: str) -> str | None:
        """FTS5 expression: every query term in some readable text field, or a prefix field starting with the query."""
        text_fields = req.readable("text_fields")
        alternatives = []
        tokens = analysis.query_tokens(text)
        if tokens and text_fields:
            alternatives.append(" AND ".join("(" + " OR ".join(_q(f"{f}__{t}") for f in text_fields) + ")" for t in tokens))
        term = analysis.prefix_term(text)
        if len(term) >= 2:
            alternatives += [_q(f"{f}__{term}") + " *" for f in req.readable("prefix_fields")]
        if not alternatives:
            return None
        return " OR ".join(f"({a})" for a in alternatives)

    def _exact_sql(self, req: SearchRequest, text: str) -> tuple[str, list[Any]]:
        """1 for rows whose readable text/prefix field equals the query (normalised), else 0."""
        fields = req.readable("exact_fields")
        if not fields:
            return "0", []
        norms = [analysis.normalize(text).strip(), analysis.prefix_term(text)]
        return ("d.rid IN (SELECT rid FROM vals WHERE norm IN (?, ?) AND norm IS NOT NULL "
                f"AND field IN ({', '.join('?' * len(fields))}))", [*norms, *fields])

    def _hits(self, db, req: SearchRequest, base: _Base, text: str, matched: bool):
        sort = default_sort(req)
        field, direction = sort[0]
        limit = max(1, req.limit)
        if field == "_score":
            offset = int(req.after[1]) if req.after and req.after[0] == "@offset" else 0
            exact, eparams = self._exact_sql(req, text)
            score = "m.score" if matched else "0"
            rows = db.execute(*base.sql(f"d.rid, d.idx, d.id, {exact} AS exact, {score} AS score", eparams,
                                        tail="ORDER BY exact DESC, score ASC, d.id ASC LIMIT ? OFFSET ?",
                                        tail_params=[limit + 1, offset])).fetchall()
            more = len(rows) > limit
            hits = self._with_sources(db, req, [(r[0], r[1], r[2], []) for r in rows[:limit]], text)
            return hits, (["@offset", offset + limit] if more else None)
        if field == "created_at":  # never missing: ordered straight from the docs_newest index
            value_sql = "d.created"
        else:
            if req.is_multi(field):
                raise ValueError(f"cannot sort by the multi-valued field {field}")
            value_sql = self._column(field) or "NULL"
        desc = direction == "desc"
        cmp = "<" if desc else ">"
        order = f"{value_sql} {'DESC' if desc else 'ASC'}, d.id ASC"
        if field != "created_at":
            order = f"({value_sql} IS NULL) ASC, {order}"
        cond, cparams = "", []
        if req.after:
            v0, id0 = req.after[0], req.after[1]
            if v0 is None:
                cond, cparams = f"AND ({value_sql} IS NULL AND d.id > ?)", [id0]
            else:
                cond = f"AND (({value_sql} IS NOT NULL AND ({value_sql} {cmp} ? OR ({value_sql} = ? AND d.id > ?))) OR {value_sql} IS NULL)"
                cparams = [v0, v0, id0]
        rows = db.execute(*base.sql(f"d.rid, d.idx, d.id, {value_sql}", tail=f"{cond} ORDER BY {order} LIMIT ?",
                                    tail_params=[*cparams, limit + 1])).fetchall()
        more = len(rows) > limit
        hits = self._with_sources(db, req, [(r[0], r[1], r[2], [r[3], r[2]]) for r in rows[:limit]], text)
        return hits, (hits[-1].sort if more and hits else None)

    def _with_sources(self, db, req: SearchRequest, rows: list[tuple[int, str, str, list[Any]]], text: str) -> list[Hit]:
        """Sources of one page, read by rowid after ordering (the scan never carries them)."""
        if not rows:
            return []
        sources = dict(db.execute("SELECT rid, source FROM src WHERE rid IN (SELECT value FROM json_each(?))",
                                  (json.dumps([r[0] for r in rows]),)).fetchall())
        return [self._hit(req, idx, rid_id, sources[rid], text, sort) for rid, idx, rid_id, sort in rows]

    def _hit(self, req: SearchRequest, idx: str, rid: str, source: str, text: str, sort: list[Any]) -> Hit:
        entity = next(e.entity for e in req.entities if schema.get(e.entity).index == idx)
        src = json.loads(source)
        hl = {}
        if req.highlight and text:
            eq = next(e for e in req.entities if e.entity == entity)
            hl = highlight(src, list(eq.text_fields) + list(eq.prefix_fields), text)
        return Hit(entity, rid, src, hl, sort)

    def _facets(self, db, req: SearchRequest, base: _Base) -> tuple[dict[str, list[tuple[Any, int]]], int | None]:
        """Facet counts; single-valued facets and the total come from one grouped scan when
        the value combinations are few (the usual dictionary-coded fields), else one query each."""
        single = [f for f in req.facets if not req.is_multi(f) and (f == "created_at" or self._column(f))]
        out: dict[str, list[tuple[Any, int]]] = {}
        total = None
        if single:
            cols = ["d.created" if f == "created_at" else self._column(f) for f in single]
            rows = db.execute(*base.sql(f"{', '.join(cols)}, count(*)", tail=f"GROUP BY {', '.join(cols)} LIMIT {COMBINED_GROUPS + 1}")).fetchall()
            if len(rows) <= COMBINED_GROUPS:
                total = sum(r[-1] for r in rows)
                for i, f in enumerate(single):
                    counts: dict[Any, int] = {}
                    for r in rows:
                        if r[i] is not None:
                            counts[r[i]] = counts.get(r[i], 0) + r[-1]
                    kind = req.kind(f)
                    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:req.facet_size]
                    out[f] = [(facet_key(kind, k), n) for k, n in ranked]
        for f in req.facets:
            if f not in out:
                out[f] = self._facet(db, req, f, base)
        return out, total

    def _facet(self, db, req: SearchRequest, field: str, base: _Base) -> list[tuple[Any, int]]:
        kind = req.kind(field)
        if req.is_multi(field):
            col = "num" if kind in (schema.NUMBER, schema.DATE) else "kw"
            sql = (f"{base.with_sql} SELECT v.{col}, count(*) AS n FROM vals v WHERE v.field = ? AND v.{col} IS NOT NULL "
                   f"AND v.rid IN (SELECT d.rid FROM docs d {base.join_sql} WHERE {base.where}) "
                   f"GROUP BY v.{col} ORDER BY n DESC, v.{col} ASC LIMIT ?")
            rows = db.execute(sql, [*base.with_params, field, *base.where_params, req.facet_size]).fetchall()
        else:
            column = "d.created" if field == "created_at" else self._column(field)
            if column is None:
                return []
            rows = db.execute(*base.sql(f"{column}, count(*) AS n", tail=f"AND {column} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 ASC LIMIT ?",
                                        tail_params=[req.facet_size])).fetchall()
        return [(facet_key(kind, k), n) for k, n in rows]


@dataclass
class _Base:
    """The parts every statement of one search shares (match CTE, joins, filters), composed
    so that parameters always line up with their placeholders."""

    with_sql: str
    with_params: list[Any]
    join_sql: str
    where: str
    where_params: list[Any]

    @classmethod
    def of(cls, match: str | None, where: str, params: list[Any], *, scored: bool,
           limit_to: tuple[str, list[Any]] | None = None) -> _Base:
        """The full-text match runs once, first (materialised), limited to the caller's rows
        when that set is known; documents join to its rows. bm25() costs more than the match
        itself, so only the ranked page computes it (and only for rows the caller may see)."""
        if not match:
            return cls("", [], "", where, params)
        score = "bm25(fts)" if scored else "0"
        within, wparams = (f" AND {limit_to[0]}", limit_to[1]) if limit_to else ("", [])
        return cls(f"WITH m(rid, score) AS MATERIALIZED (SELECT rowid, {score} FROM fts WHERE fts MATCH ?{within})",
                   [match, *wparams], "JOIN m ON m.rid = d.rid", where, params)

    def sql(self, select: str, select_params: list[Any] | None = None, *, join: str = "", join_params: list[Any] | None = None,
            tail: str = "", tail_params: list[Any] | None = None) -> tuple[str, list[Any]]:
        text = f"{self.with_sql} SELECT {select} FROM docs d {self.join_sql} {join} WHERE {self.where} {tail}"  # noqa: S608
        return text, [*self.with_params, *(select_params or []), *(join_params or []), *self.where_params, *(tail_params or [])]
