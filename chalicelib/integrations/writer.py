"""One inbound delivery's items written as import rows: each JSON object becomes a row of cells
through the channel's mapping (payload key, "a.b" for nested keys -> column key of
tabular.columns(..., "import")) and goes down the import's own write path (imports/runner.py
`Run`: cell parsing, the create checks as the channel's user — permissions, data scope, field
rules, validation, the type's rules —, the tenant's duplicate rules with skip / overwrite /
create, ownership limits, the operation log, domain events). Only what differs is here: the rows
come from a request instead of a file, each item's fate is answered (created / updated / skipped /
rejected), and nothing is kept of a rejected item but its reasons.

Lookups: a payload value may name a record by one of its fields rather than by its title or id (a
caller's mobile -> the customer, a contract number -> the contract): `resolve()` finds it among the
records the channel's user may read (one search request) and the row carries its id.

Record ids derive from (channel, delivery, item index): a delivery received again after a crash
finds the items it already wrote and counts them as created, as a resumed import does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..core import clock, i18n
from ..core.context import RequestContext, acting_as
from ..core.permissions import FieldAccess, Principal
from ..engine import store
from ..engine.definition import EntityDef
from ..imports import rows as rows_
from ..imports import runner
from ..ports import events

MAX_LOOKUP_HITS = 2  # more than one record found is "ambiguous"


@dataclass
class Outcome:
    index: int
    status: str  # created | updated | skipped | rejected
    id: str | None = None
    errors: list[dict[str, Any]] | None = None

    def out(self) -> dict[str, Any]:
        o: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id:
            o["id"] = self.id
        if self.errors:
            o["errors"] = self.errors
        return o


# ---- payloads -> cells -----------------------------------------------------------------------------
def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON object under its dotted path ({"a": {"b": 1}} -> {"a.b": 1}); a list is a leaf."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, path))
            else:
                out[path] = v
    return out


def value_at(obj: Any, path: str) -> Any:
    """The value at a dotted path ("customer.mobile"); a key that itself holds a dot is found too."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, dot, rest = path.partition(".")
    if dot and isinstance(obj, dict) and head in obj:
        return value_at(obj[head], rest)
    return None


def cell(value: Any) -> Any:
    """A JSON value as a spreadsheet cell: numbers stay numbers (money exact: Decimal), lists become
    "a, b" (multiselects, tags), objects their JSON text (which no column reads: the row says so)."""
    if value is None or isinstance(value, (str, bool, int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return ", ".join(str(cell(v)) for v in value if v is not None)
    return json.dumps(value, ensure_ascii=False, default=str)


# ---- lookups ---------------------------------------------------------------------------------------
def lookup_target(p: Principal, type_: str, field: str) -> EntityDef | None:
    """The record type a lookup names, if the field is one of its fields the user may read."""
    from ..engine import registry

    d = registry.find(type_, p.tenant_id) or registry.find(registry.CUSTOM_PREFIX + type_, p.tenant_id)
    if d is None or d.field(field) is None:
        return None
    return d


def resolve(p: Principal, type_: str, field: str, value: Any) -> list[str]:
    """The ids (at most MAX_LOOKUP_HITS) of the records of `type_` whose `field` holds `value`, among
    those `p` may read; phone numbers in any spelling (+86, spaces, dashes) through the duplicate
    checks' phone key."""
    from ..core.errors import DomainError
    from ..duplicates import normalize
    from ..duplicates import service as duplicates
    from ..engine import service as engine
    from ..search import rules as search_rules
    from ..search import service as search
    from ..search.query import SearchRequest

    d = lookup_target(p, type_, field)
    text = str(cell(value) if value is not None else "").strip()
    if d is None or not text or not p.can(d.module, "read") or p.field_access(d.module, field) < FieldAccess.MASKED:
        return []
    if d.duplicates.get(field) == "phone":
        key = normalize.key("phone", text)
        if key is None:
            return []
        wanted = {"phone": {key: [field]}}
        q = duplicates.entity_query(d, search_rules.scope_for(p, d.module, now=clock.now_iso()), ["phone"], wanted)
        res = search.run(SearchRequest(p.tenant_id, [q], filters=[duplicates.any_key(wanted)], limit=MAX_LOOKUP_HITS))
        return [h.id for h in res.hits]
    try:
        page = search.list_page(p, engine.search_schema(d), {"filters": [{"field": field, "op": "eq", "value": text}],
                                                            "limit": MAX_LOOKUP_HITS}, lambda src, who: {"id": src["id"]})
    except DomainError:
        return []
    return [r["id"] for r in page["items"]]


# ---- the write ---------------------------------------------------------------------------------------
class _Delivery:
    """What the import's write path reads of an import: an id and a time that, with a row number,
    give each created record its id."""

    def __init__(self, delivery_key: str, received_at: str) -> None:
        self.id, self.created_at = delivery_key, received_at
        self.file_name, self.format = "inbound", "json"


class Rows(runner.Run):
    """The import's per-chunk write path, told each row's fate."""

    def __init__(self, p: Principal, d: EntityDef, headers: list[str], mapping: dict[str, str | None], mode: str,
                 locale: str, delivery_key: str, received_at: str, resumed: bool) -> None:
        super().__init__(None, p, d, _Delivery(delivery_key, received_at), {"duplicates": mode, "mapping": mapping, "run": 1},
                         {"row": 0, "total": 0, **dict.fromkeys(runner.COUNTS, 0)}, locale, resumed)
        from ..tabular import columns as tcols

        self.lookup = tcols.Lookup(p)
        self.columns = rows_.columns(d, p, locale, self.lookup)
        self.plan = rows_.plan(headers, self.columns, mapping)
        self.outcomes: dict[int, Outcome] = {}

    def record_id(self, row: int) -> str:
        return runner.record_id(self.imp, row)  # type: ignore[arg-type]

    # the write path's events, per row
    def reject(self, row: int, cells: list[Any], errors: list[dict[str, Any]]) -> None:
        self.cp["rejected"] += 1
        self.outcomes[row] = Outcome(row, "rejected", errors=errors)

    def create(self, n: int, cells: list[Any], values: dict[str, Any], wc: Any, custom: dict[str, Any], owner: str,
               wanted: Any) -> None:
        self.outcomes[n] = Outcome(n, "created", self.record_id(n))
        super().create(n, cells, values, wc, custom, owner, wanted)

    def overwrite(self, n: int, cells: list[Any], values: dict[str, Any], wanted: Any, target: str,
                  earlier_row: int | None) -> None:
        self.outcomes[n] = Outcome(n, "updated", target)
        super().overwrite(n, cells, values, wanted, target, earlier_row)

    def write(self, batch: list[tuple[int, list[Any]]]) -> list[Outcome]:
        """Every row of `batch` ((index, cells)) through the import's path; each row's outcome."""
        with acting_as(RequestContext(self.p.tenant_id, self.p.user_id, self.locale)), events.batched():
            if self.resumed:  # a delivery received again: the items its first attempt wrote
                ids = {self.record_id(n): n for n, _ in batch}
                for rec in store.batch_get(self.p.tenant_id, self.d.entity, list(ids)):
                    self.outcomes[ids[rec.id]] = Outcome(ids[rec.id], "created", rec.id)
            self.process(batch)
            self.flush(self.c)
            self._forget(self.c)  # a refused row's keys are free again, as after an import's chunk
            events.flush()
        return [self.outcomes.get(n) or Outcome(n, "skipped") for n, _ in batch]


def not_writable(locale: str) -> str:
    return i18n.text("integrations.not_writable", locale)
