"""The embedded search engine: SQLite (FTS5) in one local file, no server.

Used on one machine (the local stack, tests) when no OpenSearch URL is configured. It
implements the same `SearchRequest` semantics as the OpenSearch adapter (tests/search/
runs one contract suite on both):

- docs: one row per document (index, tenant, id, version, owner, created, source JSON).
- vals: one row per field value; `kw` for keyword/text/boolean values, `num` for numbers
  and dates (epoch ms), `norm` for text/prefix fields (what an exact match compares).
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
from typing import Any

from . import analysis, schema
from .query import OPS, EntityQuery, Filter, Hit, IndexOp, SearchRequest, SearchResult, default_sort
from .values import facet_key, highlight, to_millis

TOMBSTONE_SECONDS = 25 * 3600
_DDL = """
CREATE TABLE IF NOT EXISTS docs(rid INTEGER PRIMARY KEY, idx TEXT NOT NULL, tenant TEXT NOT NULL, id TEXT NOT NULL,
    version INTEGER NOT NULL, owner TEXT, created INTEGER, source TEXT NOT NULL, UNIQUE(idx, tenant, id));
CREATE INDEX IF NOT EXISTS docs_owner ON docs(tenant, idx, owner, created);
CREATE INDEX IF NOT EXISTS docs_created ON docs(tenant, idx, created);
CREATE TABLE IF NOT EXISTS vals(rid INTEGER NOT NULL, field TEXT NOT NULL, kw TEXT, num REAL, norm TEXT);
CREATE INDEX IF NOT EXISTS vals_kw ON vals(field, kw, rid);
CREATE INDEX IF NOT EXISTS vals_num ON vals(field, num, rid);
CREATE INDEX IF NOT EXISTS vals_rid ON vals(rid, field);
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


class EmbeddedIndex:
    name = "embedded"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
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
            self._local.db = db
        return db

    def ensure(self) -> None:
        self._db().executescript(_DDL)

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
        return counts

    def _apply(self, db: sqlite3.Connection, op: IndexOp, now: float) -> str:
        idx = schema.get(op.entity).index
        row = db.execute("SELECT rid, version FROM docs WHERE idx=? AND tenant=? AND id=?", (idx, op.tenant_id, op.id)).fetchone()
        tomb = db.execute("SELECT version FROM tomb WHERE idx=? AND tenant=? AND id=?", (idx, op.tenant_id, op.id)).fetchone()
        current = max(row[1] if row else -1, tomb[0] if tomb else -1)
        if op.version <= current:
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
        db.execute("DELETE FROM docs WHERE rid=?", (rid,))

    def _insert(self, db: sqlite3.Connection, idx: str, op: IndexOp) -> None:
        es = schema.get(op.entity)
        doc = op.document or {}
        values: dict[str, Any] = doc.get("values", {})
        cur = db.execute("INSERT INTO docs(idx, tenant, id, version, owner, created, source) VALUES (?,?,?,?,?,?,?)",
                         (idx, op.tenant_id, op.id, op.version, values.get("owner_id"), to_millis(values.get("created_at")),
                          json.dumps(doc.get("source", {}), ensure_ascii=False, default=str)))
        rid = cur.lastrowid
        rows, tokens = [], []
        for field, value in values.items():
            kind = es.kind(field)
            if kind is None:
                continue
            for v in (value if isinstance(value, list) else [value]):
                if v is None:
                    continue
                if kind in (schema.NUMBER, schema.DATE):
                    num = to_millis(v) if kind == schema.DATE else float(v)
                    rows.append((rid, field, None, num, None))
                elif kind == schema.BOOLEAN:
                    rows.append((rid, field, "true" if v else "false", None, None))
                elif kind == schema.TEXT:
                    s = str(v)
                    rows.append((rid, field, s, None, analysis.normalize(s).strip()))
                    tokens += [f"{field}__{t}" for t in analysis.index_tokens(s)]
                elif kind == schema.PREFIX:
                    s = str(v)
                    term = analysis.prefix_term(s)
                    rows.append((rid, field, s, None, term))
                    if term:
                        tokens.append(f"{field}__{term}")
                else:
                    rows.append((rid, field, str(v), None, None))
        db.executemany("INSERT INTO vals(rid, field, kw, num, norm) VALUES (?,?,?,?,?)", rows)
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
        where, params = self._where(req)
        text = req.text.strip()
        match = self._match(req, text) if text else None
        if text and match is None:
            return SearchResult([], 0, {f: [] for f in req.facets}, {e.entity: 0 for e in req.entities} if req.entity_counts else {})
        join = "JOIN fts ON fts.rowid = d.rid AND fts.body MATCH ?" if match else ""
        jparams = [match] if match else []
        base = f"FROM docs d {join} WHERE {where}"
        total = db.execute(f"SELECT count(*) {base}", jparams + params).fetchone()[0]  # noqa: S608 - built from fixed parts
        hits, after = self._hits(db, req, base, jparams + params, text, match is not None)
        facets = {f: self._facet(db, req, f, base, jparams + params) for f in req.facets}
        counts: dict[str, int] = {}
        if req.entity_counts:
            rows = dict(db.execute(f"SELECT d.idx, count(*) {base} GROUP BY d.idx", jparams + params).fetchall())  # noqa: S608
            counts = {e.entity: rows.get(schema.get(e.entity).index, 0) for e in req.entities}
        return SearchResult(hits, total, facets, counts, after)

    def _where(self, req: SearchRequest) -> tuple[str, list[Any]]:
        clauses, params = ["d.tenant = ?"], [req.tenant_id]
        scopes = []
        for eq in req.entities:
            sql, p = self._scope(eq)
            scopes.append(sql)
            params += p
        clauses.append("(" + " OR ".join(scopes) + ")")
        for f in req.filters:
            sql, p = self._filter(req, f)
            clauses.append(sql)
            params += p
        return " AND ".join(clauses), params

    @staticmethod
    def _scope(eq: EntityQuery) -> tuple[str, list[Any]]:
        s = eq.scope
        parts, params = [], []
        if not s.only_team:
            if s.owners is None:
                parts.append("1")
            else:
                parts.append("d.owner IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(sorted(s.owners)))
        if s.team_user and not s.only_owners:
            parts.append("d.rid IN (SELECT rid FROM team WHERE user = ? AND (until IS NULL OR until > ?))")
            params += [s.team_user, s.now]
        if not parts:
            parts.append("0")
        return f"(d.idx = ? AND ({' OR '.join(parts)}))", [schema.get(eq.entity).index, *params]

    def _kind(self, req: SearchRequest, field: str) -> str:
        kinds = {schema.get(e.entity).kind(field) for e in req.entities} - {None}
        if not kinds:
            raise ValueError(f"unknown field {field}")
        return kinds.pop()

    def _filter(self, req: SearchRequest, f: Filter) -> tuple[str, list[Any]]:
        if f.op not in OPS:
            raise ValueError(f"unknown operator {f.op}")
        kind = self._kind(req, f.field)
        sub = "d.rid IN (SELECT rid FROM vals WHERE field = ? AND {})"
        numeric = kind in (schema.NUMBER, schema.DATE)

        def conv(v: Any) -> Any:
            if kind == schema.DATE:
                return to_millis(v)
            if kind == schema.NUMBER:
                return float(v)
            if kind == schema.BOOLEAN:
                return "true" if v in (True, "true", "1", 1) else "false"
            return str(v)

        col = "num" if numeric else "kw"
        if f.op == "exists":
            return "d.rid IN (SELECT rid FROM vals WHERE field = ?)", [f.field]
        if f.op == "missing":
            return "d.rid NOT IN (SELECT rid FROM vals WHERE field = ?)", [f.field]
        if f.op == "eq":
            return sub.format(f"{col} = ?"), [f.field, conv(f.value)]
        if f.op == "in":
            values = [conv(v) for v in f.value]
            return sub.format(f"{col} IN (SELECT value FROM json_each(?))"), [f.field, json.dumps(values)]
        if f.op == "contains":
            return sub.format("kw LIKE ? ESCAPE '\\'"), [f.field, _like(str(f.value))]
        ops = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
        conds, params = [], [f.field]
        for k, v in (f.value or {}).items():
            conds.append(f"{col} {ops[k]} ?")
            params.append(conv(v))
        return sub.format(" AND ".join(conds) or "1"), params

    @staticmethod
    def _readable(req: SearchRequest, attr: str) -> set[str]:
        return {f for e in req.entities for f in getattr(e, attr)}

    def _match(self, req: SearchRequest, text: str) -> str | None:
        """FTS5 expression: every query term in some readable text field, or a prefix field starting with the query."""
        text_fields = sorted(self._readable(req, "text_fields"))
        alternatives = []
        tokens = analysis.query_tokens(text)
        if tokens and text_fields:
            alternatives.append(" AND ".join("(" + " OR ".join(_q(f"{f}__{t}") for f in text_fields) + ")" for t in tokens))
        term = analysis.prefix_term(text)
        if len(term) >= 2:
            alternatives += [_q(f"{f}__{term}") + " *" for f in sorted(self._readable(req, "prefix_fields"))]
        if not alternatives:
            return None
        return " OR ".join(f"({a})" for a in alternatives)

    def _exact_sql(self, req: SearchRequest, text: str) -> tuple[str, list[Any]]:
        fields = sorted(self._readable(req, "exact_fields"))
        if not fields:
            return "0", []
        norms = [analysis.normalize(text).strip(), analysis.prefix_term(text)]
        return ("EXISTS (SELECT 1 FROM vals x WHERE x.rid = d.rid AND x.field IN (SELECT value FROM json_each(?)) "
                "AND x.norm IN (?, ?))", [json.dumps(fields), *norms])

    def _hits(self, db, req: SearchRequest, base: str, params: list[Any], text: str, matched: bool):
        sort = default_sort(req)
        field, direction = sort[0]
        limit = max(1, req.limit)
        if field == "_score":
            offset = int(req.after[1]) if req.after and req.after[0] == "@offset" else 0
            exact, eparams = self._exact_sql(req, text)
            score = "bm25(fts)" if matched else "0"
            sql = (f"SELECT d.idx, d.id, d.source, {exact} AS exact, {score} AS score {base} "
                   f"ORDER BY exact DESC, score ASC, d.id ASC LIMIT ? OFFSET ?")
            rows = db.execute(sql, eparams + params + [limit + 1, offset]).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            hits = [self._hit(req, r[0], r[1], r[2], text, []) for r in rows]
            return hits, (["@offset", offset + limit] if more else None)
        kind = self._kind(req, field) if field != "created_at" else schema.DATE
        numeric = kind in (schema.NUMBER, schema.DATE)
        if field == "created_at":
            value_sql, join = "d.created", ""
        else:
            value_sql = "s.num" if numeric else "s.kw"
            join = "LEFT JOIN vals s ON s.rid = d.rid AND s.field = ?"
        desc = direction == "desc"
        cmp = "<" if desc else ">"
        order = f"({value_sql} IS NULL) ASC, {value_sql} {'DESC' if desc else 'ASC'}, d.id ASC"
        cond, cparams = "1", []
        if req.after:
            v0, id0 = req.after[0], req.after[1]
            if v0 is None:
                cond, cparams = f"({value_sql} IS NULL AND d.id > ?)", [id0]
            else:
                cond = f"(({value_sql} IS NOT NULL AND ({value_sql} {cmp} ? OR ({value_sql} = ? AND d.id > ?))) OR {value_sql} IS NULL)"
                cparams = [v0, v0, id0]
        from_sql = base.replace("FROM docs d", f"FROM docs d {join}", 1)
        jp = [field] if join else []
        sql = f"SELECT d.idx, d.id, d.source, {value_sql} {from_sql} AND {cond} ORDER BY {order} LIMIT ?"
        rows = db.execute(sql, jp + params + cparams + [limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        hits = [self._hit(req, r[0], r[1], r[2], text, [r[3], r[1]]) for r in rows]
        return hits, (hits[-1].sort if more and hits else None)

    def _hit(self, req: SearchRequest, idx: str, rid: str, source: str, text: str, sort: list[Any]) -> Hit:
        entity = next(e.entity for e in req.entities if schema.get(e.entity).index == idx)
        src = json.loads(source)
        hl = {}
        if req.highlight and text:
            eq = next(e for e in req.entities if e.entity == entity)
            hl = highlight(src, list(eq.text_fields) + list(eq.prefix_fields), text)
        return Hit(entity, rid, src, hl, sort)

    def _facet(self, db, req: SearchRequest, field: str, base: str, params: list[Any]) -> list[tuple[Any, int]]:
        kind = self._kind(req, field)
        col = "num" if kind in (schema.NUMBER, schema.DATE) else "kw"
        sql = (f"SELECT v.{col}, count(DISTINCT v.rid) AS n FROM vals v WHERE v.field = ? AND v.rid IN (SELECT d.rid {base}) "
               f"GROUP BY v.{col} ORDER BY n DESC, v.{col} ASC LIMIT ?")
        rows = db.execute(sql, [field] + params + [req.facet_size]).fetchall()
        return [(facet_key(kind, k), n) for k, n in rows]
