"""What each entity's index holds, generated from the record models.

A record class (db/records.Record) lists its business FIELDS; the attribute types decide
the kind of each field (UnicodeAttribute -> keyword, numbers -> number, booleans ->
boolean, lists of strings -> multi-valued keyword). `SEARCH_TEXT` marks the fields that
are full text (Chinese analysis, also exact/sortable) and `SEARCH_PREFIX` the ones that
match by prefix (mobile, phone, email).

Custom fields (PLAT-4) live in fixed typed slots, `cf_<kind><n>` (cf_n3 = the third
number field of this tenant's entity); the slot is assigned when the field is defined and
never reused, so every tenant shares one mapping with a bounded number of fields and a
new custom field never needs a mapping change or a reindex.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute

from ..db.base import DecimalAttribute

TEXT, KEYWORD, PREFIX, NUMBER, DATE, BOOLEAN = "text", "keyword", "prefix", "number", "date", "boolean"
KINDS = (TEXT, KEYWORD, PREFIX, NUMBER, DATE, BOOLEAN)
SLOT_LETTER = {TEXT: "t", KEYWORD: "k", PREFIX: "p", NUMBER: "n", DATE: "d", BOOLEAN: "b"}
MULTI_LETTER = "m"  # multi-valued keyword slots (multiselect): cf_m1 …
SLOTS_PER_KIND = 40

# fields every document has (besides the entity's own)
META = {"id": KEYWORD, "owner_id": KEYWORD, "created_by": KEYWORD, "updated_by": KEYWORD,
        "created_at": DATE, "updated_at": DATE}


@dataclass(frozen=True)
class EntitySchema:
    entity: str  # CUSTOMER
    module: str  # customers (permission module)
    fields: dict[str, str]  # field -> kind (built-in + meta)
    multi: frozenset[str]  # multi-valued fields

    @property
    def index(self) -> str:
        return self.entity.lower()

    def kind(self, field: str) -> str | None:
        if field in self.fields:
            return self.fields[field]
        return slot_kind(field)

    def is_multi(self, field: str) -> bool:
        return field in self.multi or field.startswith(f"cf_{MULTI_LETTER}")

    def text_fields(self) -> list[str]:
        return [f for f, k in self.fields.items() if k == TEXT]

    def prefix_fields(self) -> list[str]:
        return [f for f, k in self.fields.items() if k == PREFIX]


def slot_kind(field: str) -> str | None:
    """cf_n3 -> number; anything else -> None."""
    if field.startswith("cf_") and len(field) > 4 and field[4:].isdigit():
        if field[3] == MULTI_LETTER:
            return KEYWORD
        return next((k for k, letter in SLOT_LETTER.items() if letter == field[3]), None)
    return None


def slot_name(kind: str, n: int, multi: bool = False) -> str:
    return f"cf_{MULTI_LETTER if multi else SLOT_LETTER[kind]}{n}"


def _kind_of(attr) -> tuple[str, bool]:
    if isinstance(attr, BooleanAttribute):
        return BOOLEAN, False
    if isinstance(attr, (DecimalAttribute, NumberAttribute)):
        return NUMBER, False
    if isinstance(attr, ListAttribute):
        return KEYWORD, True
    return KEYWORD, False


def schema_for(cls) -> EntitySchema:
    attrs = cls.get_attributes()
    fields: dict[str, str] = dict(META)
    multi = set()
    for name in cls.FIELDS:
        kind, many = _kind_of(attrs[name])
        if name in getattr(cls, "SEARCH_TEXT", ()):
            kind = TEXT
        elif name in getattr(cls, "SEARCH_PREFIX", ()):
            kind = PREFIX
        fields[name] = kind
        if many:
            multi.add(name)
    return EntitySchema(cls.ENTITY, cls.MODULE, fields, frozenset(multi))


# modules whose record classes are searchable (importing them registers the classes)
RECORD_MODULES = ("chalicelib.customers.models",)


@lru_cache(maxsize=1)
def _schemas() -> dict[str, EntitySchema]:
    import importlib

    from ..db import records

    for m in RECORD_MODULES:
        importlib.import_module(m)

    return {e: schema_for(c) for e, c in records.registry().items() if getattr(c, "SEARCHABLE", True)}


def schemas() -> dict[str, EntitySchema]:
    """Every searchable entity (modules register their record classes on import)."""
    return _schemas()


def get(entity: str) -> EntitySchema:
    return schemas()[entity.upper()]
