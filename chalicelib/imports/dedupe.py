"""Duplicates of an import's rows under the tenant's duplicate rules (duplicates/rules.py):
against the records already there — one search request for every key of a chunk, unscoped (a
block counts whoever holds the record; only the row's fate is told, never the record) — and
against the earlier rows of the same file, whose keys are kept in memory because the index
follows the table about a second behind."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..duplicates import normalize
from ..duplicates import service as duplicates
from ..engine.definition import EntityDef
from ..search import service as search
from ..search.query import Scope, SearchRequest

PAGE = 1000  # hits per search page


@dataclass
class Match:
    """What one row is a duplicate of: a record of its own type (existing, or made from an earlier
    row of the file) to skip for or overwrite, and whether a block rule refuses a new record."""

    record_id: str | None = None
    earlier_row: int | None = None
    blocked: list[str] = field(default_factory=list)  # input fields a block rule matched
    fields: list[str] = field(default_factory=list)  # input fields whose key matched `record_id`

    @property
    def found(self) -> bool:
        return self.record_id is not None or bool(self.blocked)


class Dedupe:
    """One per file run: the tenant's rules for the type, and the keys of the rows taken so far."""

    def __init__(self, tenant_id: str, d: EntityDef) -> None:
        self.tenant_id, self.d = tenant_id, d
        kinds = set(d.duplicates.values())
        self.targets = duplicates._targets(tenant_id, d, kinds) if kinds else {}
        own = self.targets.get(d.entity, (d, {}))[1]
        self.own_kinds = set(own)  # kinds that make a row a duplicate of a record of its own type
        self.block_kinds = {k for _t, actions in self.targets.values() for k, a in actions.items() if a == "block"}
        self.seen: dict[tuple[str, str], tuple[str, int]] = {}  # (kind, key) -> (record id, row) of an earlier row

    @property
    def active(self) -> bool:
        return bool(self.targets)

    def keys(self, values: Mapping[str, Any]) -> duplicates.Wanted:
        return duplicates.wanted_keys(self.d, values) if self.active else {}

    def existing(self, wanted_rows: list[duplicates.Wanted]) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """(kind, key) -> [(ENTITY, record id, warn|block)] of the records already there: one
        search request (paged) for the keys of all the rows."""
        wanted: duplicates.Wanted = {}
        for w in wanted_rows:
            for kind, by_key in w.items():
                for key, holders in by_key.items():
                    wanted.setdefault(kind, {}).setdefault(key, holders)
        found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        queries, decl = [], {}
        for entity, (t, actions) in self.targets.items():
            kinds = [k for k in actions if k in wanted]
            if kinds:
                queries.append(duplicates.entity_query(t, Scope(None), kinds, wanted))
                decl[entity] = (t, {f: k for f, k in t.duplicates.items() if k in kinds}, actions)
        if not queries:
            return found
        after = None
        while True:
            res = search.run(SearchRequest(self.tenant_id, queries, filters=[duplicates.any_key(wanted)],
                                           sort=[("created_at", "asc")], limit=PAGE, after=after))
            for h in res.hits:
                t, fields_, actions = decl[h.entity]
                for f, keys_ in normalize.field_keys(fields_, h.source).items():
                    kind = fields_[f]
                    for key in keys_ & set(wanted.get(kind, {})):
                        found.setdefault((kind, key), []).append((h.entity, h.id, actions[kind]))
            if not res.after or len(res.hits) < PAGE:
                return found
            after = res.after

    def match(self, wanted: duplicates.Wanted, existing: Mapping[tuple[str, str], list[tuple[str, str, str]]]) -> Match:
        m = Match()
        blocked: set[str] = set()
        for kind, by_key in wanted.items():
            for key, holders in by_key.items():
                for entity, record_id, action in existing.get((kind, key), ()):
                    if entity == self.d.entity and kind in self.own_kinds and m.record_id is None:
                        m.record_id = record_id
                    if entity == self.d.entity and record_id == m.record_id:
                        m.fields += [f for f in holders if f not in m.fields]
                    if action == "block":
                        blocked |= set(holders)
                earlier = self.seen.get((kind, key))
                if earlier is not None:
                    if m.record_id is None:
                        m.record_id, m.earlier_row = earlier
                    if earlier[0] == m.record_id:
                        m.fields += [f for f in holders if f not in m.fields]
                    if kind in self.block_kinds:
                        blocked |= set(holders)
        m.blocked = [f for f in self.d.duplicates if f in blocked]
        return m

    def take(self, wanted: duplicates.Wanted, record_id: str, row: int) -> None:
        """The row became (or overwrote) `record_id`: later rows with its keys duplicate it."""
        for kind, by_key in wanted.items():
            for key in by_key:
                self.seen.setdefault((kind, key), (record_id, row))

    def drop(self, wanted: duplicates.Wanted, record_id: str) -> None:
        """A row taken a moment ago was refused when written: its keys are free again."""
        for kind, by_key in wanted.items():
            for key in by_key:
                if self.seen.get((kind, key), ("", 0))[0] == record_id:
                    del self.seen[(kind, key)]
