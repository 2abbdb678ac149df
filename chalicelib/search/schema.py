"""What each record type's index holds, derived from its definition (engine/definition.py).

The field types decide the kind of each field (select, user, text … -> keyword, numbers ->
number, dates -> date, booleans -> boolean, multiselect/tags -> multi-valued keyword);
`searchable` text fields are full text (Chinese analysis, also exact/sortable) and
searchable mobile/phone/email fields match by prefix.

Custom fields (PLAT-4) live in fixed typed slots, `cf_<kind><n>` (cf_n3 = the third
number field of this tenant's entity); the slot is assigned when the field is defined and
never reused, so every tenant shares one mapping with a bounded number of fields and a
new custom field never needs a mapping change or a reindex.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..engine import registry

TEXT, KEYWORD, PREFIX, NUMBER, DATE, BOOLEAN = "text", "keyword", "prefix", "number", "date", "boolean"
KINDS = (TEXT, KEYWORD, PREFIX, NUMBER, DATE, BOOLEAN)
SLOT_LETTER = {TEXT: "t", KEYWORD: "k", PREFIX: "p", NUMBER: "n", DATE: "d", BOOLEAN: "b"}
MULTI_LETTER = "m"  # multi-valued keyword slots (multiselect): cf_m1 …
SLOTS_PER_KIND = 40
DUP_PREFIX = "dup_"  # duplicate-key fields: dup_company, dup_person, dup_phone, dup_email

# fields every document has (besides the entity's own)
META = {"id": KEYWORD, "owner_id": KEYWORD, "created_by": KEYWORD, "updated_by": KEYWORD,
        "created_at": DATE, "updated_at": DATE}


@dataclass(frozen=True)
class EntitySchema:
    entity: str  # CUSTOMER
    module: str  # customers (permission module)
    fields: dict[str, str]  # field -> kind (built-in + meta)
    multi: frozenset[str]  # multi-valued fields
    aliases: Mapping[str, str] = field(default_factory=dict)  # custom objects: API field -> slot (cf_k1 …)
    object_key: str | None = None  # custom objects: every query keeps to this object (`object` field)
    # 查重 (EntityDef.duplicates): record field -> kind; documents carry dup_<kind> keyword fields with the
    # normalised keys (multi-valued). They are for duplicate checks only: not API fields, so no list
    # can filter, sort or count by them (rules.index_field knows only `fields`).
    duplicates: Mapping[str, str] = field(default_factory=dict)

    @property
    def record_entity(self) -> str:
        """The records' own entity (CUSTOMER, OBJ_AD_ORDER): what saved views and logs are keyed by."""
        return f"OBJ_{self.object_key.upper()}" if self.object_key else self.entity

    @property
    def name(self) -> str:
        """The record type as the API names it (customer, obj_ad_order)."""
        return f"obj_{self.object_key}" if self.object_key else self.entity.lower()

    @property
    def index(self) -> str:
        return self.entity.lower()

    @property
    def dup_fields(self) -> frozenset[str]:
        """The duplicate-key fields of this type's documents (dup_company, dup_phone …)."""
        return frozenset(DUP_PREFIX + kind for kind in self.duplicates.values())

    def kind(self, field: str) -> str | None:
        if field in self.fields:
            return self.fields[field]
        if field in self.dup_fields:
            return KEYWORD
        return slot_kind(field)

    def is_multi(self, field: str) -> bool:
        return field in self.multi or field.startswith(f"cf_{MULTI_LETTER}") or field in self.dup_fields

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


# field type (engine/fieldtypes.py) -> index kind; types absent here (address, files, tables) are not indexed
_KIND_OF_TYPE = {
    "number": NUMBER, "decimal": NUMBER, "money": NUMBER, "percent": NUMBER, "date": DATE, "datetime": DATE,
    "boolean": BOOLEAN, "select": KEYWORD, "multiselect": KEYWORD, "tags": KEYWORD, "user": KEYWORD, "users": KEYWORD, "department": KEYWORD,
    "url": KEYWORD, "region": KEYWORD, "reference": KEYWORD, "text": KEYWORD, "textarea": KEYWORD, "mobile": KEYWORD,
    "phone": KEYWORD, "email": KEYWORD,
}


def kind_of(field_type: str, searchable: bool) -> str | None:
    """The index kind of a field: searchable text is full text, searchable mobile/phone/email match by prefix."""
    if searchable and field_type in ("text", "textarea"):
        return TEXT
    if searchable and field_type in ("mobile", "phone", "email"):
        return PREFIX
    return _KIND_OF_TYPE.get(field_type)


OBJECT = "OBJECT"  # the one index every tenant's custom objects share (values in typed slots)


def schema_for(d) -> EntitySchema:
    """The index mapping of a record type (engine.definition.EntityDef)."""
    if d.custom:
        return EntitySchema(OBJECT, d.module, {**META, "object": KEYWORD}, frozenset(), dict(d.index_slots), d.object_key)
    fields: dict[str, str] = dict(META)
    multi = set()
    for f in d.fields:
        kind = kind_of(f.type, f.searchable)
        if kind is None or not (f.filterable or f.searchable):
            continue
        fields[f.key] = kind
        if f.type in ("multiselect", "tags", "users"):
            multi.add(f.key)
    return EntitySchema(d.entity, d.module, fields, frozenset(multi), duplicates=dict(d.duplicates))


_built: dict[str, EntitySchema] = {}


def schemas() -> dict[str, EntitySchema]:
    """Every searchable record type (the standard definitions the manifest installed)."""
    defs = registry.standard()
    if set(_built) != {d.entity for d in defs.values()} | {OBJECT}:
        _built.clear()
        _built.update({d.entity: schema_for(d) for d in defs.values()})
        _built[OBJECT] = EntitySchema(OBJECT, "objects", {**META, "object": KEYWORD}, frozenset())
    return _built


def standard() -> dict[str, EntitySchema]:
    """The schemas of the standard record types (without the shared custom-object index)."""
    return {k: v for k, v in schemas().items() if k != OBJECT}


def get(entity: str) -> EntitySchema:
    return schemas()[entity.upper()]
