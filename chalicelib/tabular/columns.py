"""The columns of a record type in a spreadsheet, as one caller may read (export) or write
(import) them, and the two ways across: a stored value shown in a cell (`Column.show`) and a
cell's text read back into a stored value (`parse`).

Field rules (core/permissions) decide the columns: a hidden field has none; a masked one is
flagged and shown masked exactly as the API masks it (permissions.mask, the function behind
engine.service.present, which the exporter feeds the rows through — masking twice changes
nothing). On import only the fields the caller may edit on create are columns: read-only,
derived and numbered fields are left out.

Cells speak as people do: dictionary codes as their names in the caller's language, users and
departments by name, records by their title, money with two places, dates as dates (typed
cells in XLSX). `Lookup` holds what that needs of the tenant (dictionaries, users,
departments, record titles), read once per file.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ..core import clock, i18n
from ..core.permissions import FieldAccess, Principal, mask
from ..core.settings import get_settings
from ..engine.definition import EntityDef
from ..engine.fieldtypes import NUMERIC, FieldSpec, setting_name

Cell = str | int | float | Decimal | date | datetime | None
SPLIT = re.compile(r"\s*[,，;；、\n]\s*")
YES = {"是", "true", "yes", "y", "1", "√", "✓", "对", "t"}
NO = {"否", "false", "no", "n", "0", "×", "✗", "错", "f"}
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system (its phantom 1900-02-29 included)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a text cell starting so is written with a leading ' (sheets.py)
STAMPS = ("created_by", "created_at", "updated_at")
NOT_IMPORTED = ("table", "file", "image")  # a cell cannot carry rows or uploaded files
LOCALES = ("zh-CN", "en")


class CellError(ValueError):
    """A cell that does not read as its column's value: an i18n key and its parameters."""

    def __init__(self, message_key: str, **params: Any) -> None:
        super().__init__(message_key)
        self.key = message_key
        self.params = params

    def text(self, locale: str) -> str:
        return i18n.text(self.key, locale, **self.params)


def _in(locale: str, pair: tuple[str, str]) -> str:
    zh, en = pair
    return (en or zh) if locale == "en" else (zh or en)


def _word(key: str, locale: str) -> str:
    return i18n.text(key, locale)


# ---- what a file needs of the tenant -------------------------------------------------------------
class Lookup:
    """The tenant's dictionaries, users, departments and record titles, read once for a whole file
    (an export of 100,000 rows names each user, code and referenced record from memory)."""

    MAX_TITLES = 20_000

    def __init__(self, p: Principal) -> None:
        from ..org import service as org

        self.p = p
        self.tenant_id = p.tenant_id
        data = org.load(p.tenant_id)
        self.users = {u.id: u for u in data.users.values()}
        self.departments = {d.id: d for d in data.departments.values()}
        self._dicts: dict[str, list[tuple[str, str, str]]] = {}
        self._every: dict[str, dict[str, tuple[str, str]]] = {}
        self._titles: dict[tuple[str, str], str | None] = {}
        self._named: dict[Any, dict[str, str]] = {}
        self._by_title: dict[tuple[str, str], list[str]] = {}
        self._users_by: dict[str, list[str]] | None = None
        self._depts_by: dict[str, list[str]] | None = None

    # stored -> shown
    def dictionary(self, dict_type: str) -> list[tuple[str, str, str]]:
        """(code, 中文, English) of the dictionary's enabled items, in order."""
        if dict_type not in self._dicts:
            from ..dictionaries import service as dictionaries

            self._dicts[dict_type] = [(i.code, i.label, i.label_en or i.label)
                                      for i in dictionaries.enabled_items(self.tenant_id, dict_type)]
        return self._dicts[dict_type]

    def code_name(self, dict_type: str, code: str, locale: str) -> str | None:
        """The name of any item of a dictionary, a disabled one too (records keep the codes they hold)."""
        if dict_type not in self._every:
            from ..dictionaries import service as dictionaries

            self._every[dict_type] = {i.code: (i.label, i.label_en or i.label)
                                      for i in dictionaries.enabled_items(self.tenant_id, dict_type, disabled_too=True)}
        names = self._every[dict_type].get(code)
        return None if names is None else names[1] if locale == "en" else names[0]

    def user_name(self, user_id: str) -> str:
        u = self.users.get(user_id)
        return u.name if u is not None else user_id

    def department_name(self, department_id: str) -> str:
        d = self.departments.get(department_id)
        return d.name if d is not None else department_id

    def named(self, f: FieldSpec, value: str) -> str:
        """The name of the setting a `names` field holds (a pool's name), read once per file; the id when unknown."""
        return setting_name(f, self.tenant_id, value, self._named)

    def title(self, entity: str, record_id: str) -> str:
        """A referenced record's title as the caller may see it; its id when they may not read it."""
        key = (entity.lower(), record_id)
        if key not in self._titles:
            if len(self._titles) >= self.MAX_TITLES:
                self._titles.clear()
            self._titles[key] = self._read_title(*key)
        return self._titles[key] or record_id

    def _read_title(self, entity: str, record_id: str) -> str | None:
        from ..core.errors import NotFound
        from ..engine import registry, store, visibility

        d = registry.find(entity, self.tenant_id)
        if d is None or not self.p.can(d.module, "read"):
            return None
        try:
            rec = store.get(self.tenant_id, d.entity, record_id, d.name_key)
        except NotFound:
            return None
        if self.p.record_access(d.module, rec.owner_id, rec.team, clock.now_iso()) is None:
            return None
        return visibility.title(self.p, d, (rec.data or {}).get(d.title_field))

    # shown -> stored
    def user_id(self, text: str) -> str:
        if text in self.users:
            return text
        if self._users_by is None:
            self._users_by = {}
            for u in self.users.values():
                if u.status != "active":
                    continue
                for k in {u.name, u.mobile}:
                    if k:
                        self._users_by.setdefault(k, []).append(u.id)
        found = self._users_by.get(text) or []
        if len(found) > 1:
            raise CellError("tabular.user_ambiguous", value=text)
        if not found:
            raise CellError("tabular.user", value=text)
        return found[0]

    def department_id(self, text: str) -> str:
        if text in self.departments:
            return text
        if self._depts_by is None:
            self._depts_by = {}
            for d in self.departments.values():
                self._depts_by.setdefault(d.name, []).append(d.id)
        found = self._depts_by.get(text) or []
        if len(found) > 1:
            raise CellError("tabular.department_ambiguous", value=text)
        if not found:
            raise CellError("tabular.department", value=text)
        return found[0]

    def record_id(self, entity: str, text: str) -> str:
        """A record of `entity` the caller may list, by its id or its exact title."""
        key = (entity.lower(), text)
        if key not in self._by_title:
            self._by_title[key] = self._find(entity, text)
        found = self._by_title[key]
        if len(found) > 1:
            raise CellError("tabular.reference_ambiguous", value=text)
        if not found:
            raise CellError("tabular.reference", value=text)
        return found[0]

    def _find(self, entity: str, text: str) -> list[str]:
        from ..core.errors import DomainError
        from ..engine import registry
        from ..engine import service as engine
        from ..search import service as search

        d = registry.find(entity, self.tenant_id)
        if d is None:
            return []
        if self.title(entity, text) != text:  # an id the caller may read
            return [text]
        try:
            page = search.list_page(self.p, engine.search_schema(d), {"q": text[:100], "limit": 20},
                                    lambda src, who: engine.present(d, src, who))
        except DomainError:
            return []
        return [r["id"] for r in page["items"] if str(r.get(d.title_field) or "").strip() == text]


# ---- columns -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str  # field key ("name"), "custom.<key>" for a custom field, "owner_id" for the owner
    label: str  # header in `locale`
    labels: tuple[str, str]  # (zh-CN, en): for matching a file's headers
    type: str  # the field type (fieldtypes.TYPES), "user" for the owner
    required: bool = False
    choices: tuple[str, ...] = ()  # allowed values as a person writes them, in `locale`
    masked: bool = False  # export: shown masked for this caller
    spec: FieldSpec | None = field(default=None, compare=False, repr=False)
    options: tuple[tuple[str, str, str], ...] = field(default=(), compare=False, repr=False)  # (code, 中文, English)
    locale: str = field(default="zh-CN", compare=False, repr=False)
    lookup: Lookup | None = field(default=None, compare=False, repr=False)

    @property
    def multi(self) -> bool:
        return self.type in ("multiselect", "tags", "users")

    @property
    def places(self) -> int:
        return self.spec.places if self.spec is not None else 0

    def show(self, value: Any) -> Cell:
        """A stored (or API-presented) value as a cell: codes as names, users by name, money with two places,
        dates as dates, instants as local date-times (the tenant's time zone)."""
        if value is None or value == "" or value == [] or value == {}:
            return None
        if self.masked:
            return str(mask(value))
        if self.spec is not None and self.spec.names is not None:
            return self.lookup.named(self.spec, str(value)) if self.lookup else str(value)
        t = self.type
        try:
            if t in NUMERIC:
                d = Decimal(str(value))
                return int(d) if self.places == 0 and d == d.to_integral_value() else \
                    d.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)
            if t == "date":
                return date.fromisoformat(str(value)[:10])
            if t == "datetime":
                return clock.parse_iso(str(value)).astimezone(_tz()).replace(tzinfo=None)
        except (InvalidOperation, ValueError):
            return str(value)
        if t == "boolean":
            return _word("tabular.yes" if value else "tabular.no", self.locale)
        if t == "select":
            return self._name(value)
        if t == "multiselect":
            return self._join(self._name(v) for v in _listed(value))
        if t == "tags":
            return self._join(str(v) for v in _listed(value))
        if t == "user":
            return self.lookup.user_name(str(value)) if self.lookup else str(value)
        if t == "users":
            return self._join(self.lookup.user_name(str(v)) if self.lookup else str(v) for v in _listed(value))
        if t == "department":
            return self.lookup.department_name(str(value)) if self.lookup else str(value)
        if t == "region":
            return str(value.get("name") or value.get("code")) if isinstance(value, Mapping) else str(value)
        if t == "address":
            if not isinstance(value, Mapping):
                return str(value)
            region = value.get("region")
            where = region.get("name") if isinstance(region, Mapping) else None
            return " ".join(str(x) for x in (where, value.get("text")) if x) or None
        if t == "reference":
            if isinstance(value, Mapping):
                entity, rid = str(value.get("entity") or ""), str(value.get("id") or "")
                return self.lookup.title(entity, rid) if self.lookup and entity and rid else rid
            return str(value)
        if t in ("file", "image"):
            return self._join(str(f.get("name") or f.get("id")) if isinstance(f, Mapping) else str(f) for f in _listed(value))
        if t == "table":
            return json.dumps(value, ensure_ascii=False, default=str)
        return str(value)

    def _name(self, code: Any) -> str:
        for c, zh, en in self.options:
            if c == code:
                return en if self.locale == "en" else zh
        if self.spec is not None and self.spec.dictionary and self.lookup is not None:  # an item disabled since
            return self.lookup.code_name(self.spec.dictionary, str(code), self.locale) or str(code)
        return str(code)

    def _join(self, parts: Iterable[str]) -> str:
        return ("; " if self.locale == "en" else "、").join(parts)

    def note(self) -> str:
        """What an import template says about the column (a comment on its header)."""
        lines = []
        if self.required:
            lines.append(_word("tabular.required_note", self.locale))
        if self.choices:
            lines.append(i18n.text("tabular.choices_note", self.locale, choices="、".join(self.choices)
                                   if self.locale != "en" else ", ".join(self.choices)))
        if self.multi:
            lines.append(_word("tabular.multi_note", self.locale))
        if self.type in ("date", "datetime"):
            lines.append(_word(f"tabular.{self.type}_note", self.locale))
        if self.type in ("user", "users"):
            lines.append(_word("tabular.user_note", self.locale))
        return "\n".join(lines)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


def _options(f: FieldSpec, lookup: Lookup) -> tuple[tuple[str, str, str], ...]:
    if f.type == "boolean":
        return (("true", "是", "Yes"), ("false", "否", "No"))
    if f.type not in ("select", "multiselect"):
        return ()
    if f.options:
        return tuple(f.options)
    return tuple(lookup.dictionary(f.dictionary)) if f.dictionary else ()


def _column(key: str, f: FieldSpec, locale: str, lookup: Lookup, *, required: bool, masked: bool = False) -> Column:
    options = _options(f, lookup)
    zh, en = f.label_in("zh-CN"), f.label_in("en")
    return Column(key=key, label=en if locale == "en" else zh, labels=(zh, en), type=f.type, required=required,
                  choices=tuple(en if locale == "en" else zh for _, zh, en in options), masked=masked, spec=f,
                  options=options, locale=locale, lookup=lookup)


def _meta(key: str, type_: str, locale: str, lookup: Lookup) -> Column:
    zh, en = (i18n.text(f"tabular.{key.removesuffix('_id')}", loc) for loc in LOCALES)
    spec = FieldSpec(key, type_, (zh, en))
    return Column(key=key, label=en if locale == "en" else zh, labels=(zh, en), type=type_, spec=spec, locale=locale, lookup=lookup)


def columns(d: EntityDef, p: Principal, purpose: str = "export", locale: str = "zh-CN",
            lookup: Lookup | None = None) -> list[Column]:
    """The columns of record type `d` for `p`.

    export: the fields `p` may read (hidden ones absent; masked ones flagged), then the custom
    fields, then the owner (负责人), created by/at and updated at.
    import: the fields `p` may write on create (read-only, derived and numbered fields absent;
    files and detail tables cannot come from a cell), the custom fields, then the owner."""
    if purpose not in ("import", "export"):
        raise ValueError(f"purpose: import or export, not {purpose}")
    lookup = lookup or Lookup(p)
    importing = purpose == "import"
    out: list[Column] = []
    numbered = d.features.number_field if d.features.numbering else None
    for f in d.fields:
        access = p.field_access(d.module, f.key)
        if access is FieldAccess.HIDDEN:
            continue
        if importing:
            if access is not FieldAccess.EDIT or f.readonly or f.key == numbered or f.type in NOT_IMPORTED:
                continue
            out.append(_column(f.key, f, locale, lookup, required=f.required and f.default is None))
        else:
            out.append(_column(f.key, f, locale, lookup, required=f.required, masked=access is FieldAccess.MASKED))
    if d.features.custom_fields:
        from ..fields import service as fields

        for cf in fields.definitions(p.tenant_id, d.entity):
            if not cf.active:
                continue
            f = fields.spec(cf)
            key = f"custom.{f.key}"
            access = p.field_access(d.module, key)
            if access is FieldAccess.HIDDEN or (importing and (access is not FieldAccess.EDIT or f.type in NOT_IMPORTED)):
                continue
            out.append(_column(key, f, locale, lookup, required=importing and f.required,
                               masked=not importing and access is FieldAccess.MASKED))
    if d.features.owner:
        out.append(_meta("owner_id", "user", locale, lookup))
    if not importing:
        out += [_meta("created_by", "user", locale, lookup), _meta("created_at", "datetime", locale, lookup),
                _meta("updated_at", "datetime", locale, lookup)]
    return out


def value_of(col: Column, record: Mapping[str, Any]) -> Any:
    """The column's value in a record as the API presents it (custom values under `custom`)."""
    if col.key.startswith("custom."):
        return (record.get("custom") or {}).get(col.key[7:])
    return record.get(col.key)


def cells(cols: list[Column], record: Mapping[str, Any]) -> list[Cell]:
    """One spreadsheet row of a presented record (engine.service.present: field rules applied)."""
    return [c.show(value_of(c, record)) for c in cols]


def match_headers(headers: list[str], cols: list[Column]) -> list[Column | None]:
    """The column each header names (its label in either language or its key; a template's * and
    spaces ignored); None for a header that names none."""
    by: dict[str, Column] = {}
    for c in cols:
        for name in (c.key, *c.labels):
            by.setdefault(_norm(name), c)
    return [by.get(_norm(h)) for h in headers]


def _norm(text: Any) -> str:
    return re.sub(r"\s+", "", str(text or "")).lstrip("*＊").casefold()


# ---- cells back to stored values (import) --------------------------------------------------------
def parse(col: Column, cell: Any, lookup: Lookup | None = None) -> Any:  # noqa: C901 - one branch per type
    """The stored value a cell means (None for an empty cell); CellError when it means none.

    Selects take codes or names in either language; booleans 是/否/true/1…; dates yyyy-mm-dd,
    yyyy/m/d, yyyy年m月d日 or Excel dates; users by name, mobile or id; multiselects and tags
    split on , ， ; 、. The engine's field validation still checks the result (ranges, lengths)."""
    lookup = lookup or col.lookup
    if isinstance(cell, str):
        cell = cell.strip()
        if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
            cell = cell[1:]  # the quote an export put before a formula-like text
    if cell is None or cell == "":
        return None
    t = col.type
    if t in NUMERIC:
        return _number(cell, t)
    if t == "date":
        return _date(cell).isoformat()
    if t == "datetime":
        return clock.iso(_datetime(cell))
    if t == "boolean":
        return _boolean(cell)
    if t == "select":
        return _code(col, _text(cell))
    if t == "multiselect":
        return list(dict.fromkeys(_code(col, part) for part in _parts(cell)))
    if t == "tags":
        return list(dict.fromkeys(_parts(cell)))
    if t == "user":
        return _need(lookup).user_id(_text(cell))
    if t == "users":
        return list(dict.fromkeys(_need(lookup).user_id(part) for part in _parts(cell)))
    if t == "department":
        return _need(lookup).department_id(_text(cell))
    if t == "region":
        from ..dictionaries import regions

        code = regions.code_of(_text(cell).replace(" ", "/"))
        if code is None:
            raise CellError("tabular.region", value=_text(cell))
        return {"code": code}
    if t == "address":
        return {"text": _text(cell)}
    if t == "reference":
        entity = col.spec.entity if col.spec is not None else None
        if not entity and col.spec is not None and col.spec.entities:
            return _any_reference(col.spec.entities, _text(cell), _need(lookup))
        if not entity:
            raise CellError("tabular.unsupported")
        return {"entity": entity, "id": _need(lookup).record_id(entity, _text(cell))}
    if t in NOT_IMPORTED:
        raise CellError("tabular.unsupported")
    if t == "mobile":
        return re.sub(r"[\s\-]", "", _text(cell))
    return _text(cell)


def _any_reference(entities: Iterable[str], text: str, lookup: Lookup) -> dict[str, str]:
    """A reference that may name a record of several types (a follow-up's lead, customer or contact):
    the one record of any of them the cell names by id or title."""
    found = []
    for entity in entities:
        try:
            found.append({"entity": entity, "id": lookup.record_id(entity, text)})
        except CellError as e:
            if e.key == "tabular.reference_ambiguous":
                raise
    if len(found) > 1:
        raise CellError("tabular.reference_ambiguous", value=text)
    if not found:
        raise CellError("tabular.reference", value=text)
    return found[0]


def _need(lookup: Lookup | None) -> Lookup:
    if lookup is None:
        raise ValueError("this column needs a Lookup of the tenant")
    return lookup


def _text(cell: Any) -> str:
    """A cell as text; a whole number Excel stored as a float (13800000000.0) without its .0."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    return str(cell).strip()


def _parts(cell: Any) -> list[str]:
    return [p for p in SPLIT.split(_text(cell)) if p]


def _number(cell: Any, t: str) -> Decimal:
    if isinstance(cell, bool):
        raise CellError("tabular.number", value=str(cell))
    if isinstance(cell, (int, Decimal)):
        return Decimal(cell)
    if isinstance(cell, float):
        return Decimal(repr(cell))
    text = re.sub(r"[\s,，¥￥$]", "", str(cell)).removeprefix("RMB").removesuffix("元")
    percent = text.endswith("%")
    try:
        d = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise CellError("tabular.number", value=str(cell)) from None
    if not d.is_finite():
        raise CellError("tabular.number", value=str(cell))
    return d if not percent or t == "percent" else d / 100


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME = re.compile(r"^(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}(?:\.\d+)?))?秒?$")


def _excel_day(serial: float) -> datetime:
    if not 1 <= serial < 2_958_466:  # 1900-01-01 … 9999-12-31
        raise ValueError(serial)
    return datetime.combine(EXCEL_EPOCH, time.min) + timedelta(days=serial)


def _date(cell: Any) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    try:
        if isinstance(cell, (int, float)) and not isinstance(cell, bool):
            return _excel_day(float(cell)).date()
        text = _text(cell)
        m = _DATE.match(text.split(" ")[0].split("T")[0])
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        if re.fullmatch(r"\d{1,7}(\.\d+)?", text):
            return _excel_day(float(text)).date()
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        pass
    raise CellError("tabular.date", value=_text(cell))


def _datetime(cell: Any) -> datetime:
    """An instant: a zone-less time is the tenant's local time."""
    local: datetime | None = None
    try:
        if isinstance(cell, datetime):
            local = cell
        elif isinstance(cell, date):
            local = datetime.combine(cell, time.min)
        elif isinstance(cell, (int, float)) and not isinstance(cell, bool):
            local = _excel_day(float(cell))
        else:
            text = _text(cell)
            if re.fullmatch(r"\d{1,7}\.\d+", text):
                local = _excel_day(float(text))
            else:
                try:
                    local = datetime.fromisoformat(text.replace("Z", "+00:00"))
                except ValueError:
                    day, _, rest = text.partition(" ")
                    local = datetime.combine(_date(day), _clock_time(rest.strip()))
    except (ValueError, CellError):
        raise CellError("tabular.datetime", value=_text(cell)) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=_tz())
    return local.astimezone(UTC)


def _clock_time(text: str) -> time:
    if not text:
        return time.min
    m = _TIME.match(text)
    if not m:
        raise ValueError(text)
    return time(int(m[1]), int(m[2]), int(float(m[3] or 0)))


def _boolean(cell: Any) -> bool:
    if isinstance(cell, bool):
        return cell
    text = _text(cell).casefold()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError("tabular.boolean", value=_text(cell))


def _code(col: Column, text: str) -> str:
    wanted = text.casefold()
    for code, zh, en in col.options:
        if wanted in (code.casefold(), zh.casefold(), en.casefold()):
            return code
    raise CellError("tabular.option", value=text, choices=("、" if col.locale != "en" else ", ").join(col.choices))
