"""The one field-type engine (PLAT-4): every value of every record, custom field,
custom-object field and form field is checked and normalised here.

A field is a `FieldSpec` (type + rules). `validate(specs, data, resolver)` returns the
clean values or raises one ValidationFailed listing every bad field by its path
(`items.0.amount`), with messages entirely in the caller's language. What needs the
tenant (users, departments, dictionary codes, referenced records, uploaded files) is
asked of a `Resolver`, so the rules stay pure and unit-testable.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from ..core import context, i18n
from ..core.errors import ValidationFailed

TYPES = ("text", "textarea", "tags", "number", "decimal", "money", "percent", "date", "datetime", "boolean", "select", "multiselect",
         "user", "department", "email", "mobile", "phone", "url", "region", "address", "file", "image", "reference", "table")
NUMERIC = ("number", "decimal", "money", "percent")
TEXTUAL = ("text", "textarea", "email", "mobile", "phone", "url")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "email": 120, "phone": 30, "url": 300}
DEFAULT_PRECISION = {"number": 0, "decimal": 4, "money": 2, "percent": 2}
LIMIT = Decimal("1e15")  # 15 digits stay exact in every store and JSON reader
MAX_TABLE_ROWS = 200
MAX_FILES = 20
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\- ]{5,30}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class FieldSpec:
    """One typed field and its rules. Labels are (中文, English)."""

    key: str
    type: str
    label: tuple[str, str] = ("", "")
    required: bool = False
    unique: bool = False  # within the tenant, claimed atomically with the write (engine/store.py)
    default: Any = None
    min: Any = None  # numbers: value; text: -; dates: ISO date
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    precision: int | None = None  # decimal places (number: whole unless given, decimal 4, money 2, percent 2)
    options: tuple[tuple[str, str, str], ...] = ()  # inline (code, 中文, English) for select / multiselect
    dictionary: str | None = None  # or the dictionary type the codes come from
    entity: str | None = None  # reference: the record type (customer, contact, obj:<key> …); None = any
    columns: tuple[FieldSpec, ...] = ()  # table: the typed columns of each row
    max_rows: int = MAX_TABLE_ROWS
    hidden: bool = False  # not drawn in forms/lists by default (the value is kept and served)
    order: int = 0
    mask: bool = False  # masked (138****1234) for roles whose rule says masked; see permissions
    searchable: bool = False  # full text (text/textarea) or prefix (mobile/phone/email)
    filterable: bool = True
    sortable: bool = True
    readonly: bool = False  # maintained by the module's rules (e.g. locked); refused in create/patch bodies
    remind_days_before: int | None = None  # date fields: remind the owner N days before (custom objects)
    description: str = ""

    def label_in(self, locale: str) -> str:
        zh, en = self.label
        return (en or zh or self.key) if locale == "en" else (zh or en or self.key)

    @property
    def max_len(self) -> int | None:
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH.get(self.type)

    @property
    def places(self) -> int:
        return self.precision if self.precision is not None else DEFAULT_PRECISION.get(self.type, 0)

    @property
    def multi(self) -> bool:
        return self.type in ("multiselect", "tags", "file", "image")


class Resolver(Protocol):
    """What validation needs to know about the tenant."""

    def user_ok(self, user_id: str) -> bool: ...
    def department_ok(self, department_id: str) -> bool: ...
    def code_ok(self, dictionary: str, code: str) -> bool: ...
    def record_ok(self, entity: str, record_id: str) -> bool: ...
    def file_ok(self, ref: Any) -> dict[str, Any] | None: ...  # a file id or {id}; its metadata when usable
    def region_name(self, code: str) -> str | None: ...


class Invalid(ValueError):
    """One bad value: an i18n message key and its parameters."""

    def __init__(self, kind: str, key: str, **params: Any) -> None:
        self.kind, self.key, self.params = kind, key, params
        super().__init__(key)


locale = context.locale  # the caller's language, for messages built here


def error(path: str, kind: str, key: str, **params: Any) -> dict[str, Any]:
    return {"field": path, "type": kind, "message": i18n.text(key, locale(), **params)}


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# ---- one value ---------------------------------------------------------------------------
def _decimal(f: FieldSpec, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise Invalid("type", "field.number")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid("type", "field.number") from None
    if not d.is_finite() or abs(d) >= LIMIT:
        raise Invalid("range", "field.number_range")
    places = f.places
    rounded = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)  # 四舍五入
    if f.type == "number" and f.precision is None and rounded != d:
        raise Invalid("type", "field.integer")
    if len(rounded.as_tuple().digits) > 15:  # 15 significant digits stay exact in every store and JSON reader
        raise Invalid("range", "field.number_range")
    low = f.min if f.min is not None else (0 if f.type in ("money", "percent") else None)
    high = f.max if f.max is not None else (100 if f.type == "percent" else None)
    if low is not None and rounded < Decimal(str(low)):
        raise Invalid("range", "field.min", min=low)
    if high is not None and rounded > Decimal(str(high)):
        raise Invalid("range", "field.max", max=high)
    return rounded


def _text(f: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("type", "field.text")
    s = value.strip()
    if f.max_len is not None and len(s) > f.max_len:
        raise Invalid("length", "field.max_length", max=f.max_len)
    if f.min_length is not None and len(s) < f.min_length:
        raise Invalid("length", "field.min_length", min=f.min_length)
    return s


def _date_bounds(f: FieldSpec, iso: str) -> None:
    if f.min is not None and iso < str(f.min):
        raise Invalid("range", "field.min", min=f.min)
    if f.max is not None and iso > str(f.max):
        raise Invalid("range", "field.max", max=f.max)


def _codes(f: FieldSpec, r: Resolver, code: Any) -> str:
    if not isinstance(code, str):
        raise Invalid("option", "field.option")
    if f.options:
        if code not in {c for c, _, _ in f.options}:
            raise Invalid("option", "field.option")
    elif f.dictionary and not r.code_ok(f.dictionary, code):
        raise Invalid("dictionary", "field.dictionary", value=code)
    return code


def _coordinate(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise Invalid("range", "field.coordinates")
    return round(float(value), 6)


def check(f: FieldSpec, value: Any, r: Resolver, path: str, errors: list[dict[str, Any]]) -> Any:  # noqa: C901 - one branch per type
    """One non-empty value of `f`, normalised; problems are appended to `errors` (returns None then)."""
    t = f.type
    try:
        if t in ("text", "textarea"):
            return _text(f, value)
        if t in NUMERIC:
            return _decimal(f, value)
        if t == "date":
            try:
                iso = date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise Invalid("format", "field.date") from None
            _date_bounds(f, iso)
            return iso
        if t == "datetime":
            try:
                dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise Invalid("format", "field.datetime") from None
            if dt.tzinfo is None:
                raise Invalid("format", "field.datetime")
            iso = dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            _date_bounds(f, iso)
            return iso
        if t == "boolean":
            if not isinstance(value, bool):
                raise Invalid("type", "field.boolean")
            return value
        if t == "select":
            return _codes(f, r, value)
        if t == "multiselect":
            if not isinstance(value, list):
                raise Invalid("type", "field.list")
            return list(dict.fromkeys(_codes(f, r, v) for v in value))
        if t == "tags":
            if not isinstance(value, list) or len(value) > 20:
                raise Invalid("type", "field.tags")
            return list(dict.fromkeys(_text(FieldSpec(f.key, "text", max_length=f.max_length or 30), v) for v in value))
        if t == "user":
            if not isinstance(value, str) or not r.user_ok(value):
                raise Invalid("not_found", "field.user")
            return value
        if t == "department":
            if not isinstance(value, str) or not r.department_ok(value):
                raise Invalid("not_found", "field.department")
            return value
        if t == "mobile":
            s = re.sub(r"[\s-]", "", str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
            s = s[3:] if s.startswith("+86") else s
            if not _MOBILE.match(s):
                raise Invalid("format", "field.mobile")
            return s
        if t == "email":
            s = _text(f, value)
            if not _EMAIL.match(s):
                raise Invalid("format", "field.email")
            return s
        if t == "phone":
            s = _text(f, value)
            if not _PHONE.match(s):
                raise Invalid("format", "field.phone")
            return s
        if t == "url":
            s = _text(f, value)
            if not _URL.match(s):
                raise Invalid("format", "field.url")
            return s
        if t == "region":
            code = value.get("code") if isinstance(value, dict) else value
            name = r.region_name(code) if isinstance(code, str) else None
            if name is None:
                raise Invalid("dictionary", "field.region")
            return {"code": code, "name": name}
        if t == "address":
            if not isinstance(value, dict) or set(value) - {"text", "region", "lng", "lat"}:
                raise Invalid("type", "field.address")
            out: dict[str, Any] = {}
            if value.get("text") is not None:
                out["text"] = _text(FieldSpec(f.key, "text", max_length=300), value["text"])
            if value.get("region") is not None:
                out["region"] = check(FieldSpec(f.key, "region"), value["region"], r, f"{path}.region", errors)
            if (value.get("lng") is None) != (value.get("lat") is None):
                raise Invalid("range", "field.coordinates")
            if value.get("lng") is not None:
                out["lng"], out["lat"] = _coordinate(value["lng"], -180, 180), _coordinate(value["lat"], -90, 90)
            if not out:
                raise Invalid("type", "field.address")
            return out
        if t in ("file", "image"):
            items = value if isinstance(value, list) else [value]
            if len(items) > MAX_FILES:
                raise Invalid("length", "field.max_rows", max=MAX_FILES)
            files = []
            for item in items:
                meta = r.file_ok(item) if item else None
                if meta is None:
                    raise Invalid("not_found", "field.file")
                if t == "image" and not str(meta.get("content_type", "")).startswith("image/"):
                    raise Invalid("type", "field.image")
                files.append(meta)
            return files
        if t == "reference":
            entity = f.entity
            rid = value
            if isinstance(value, dict):
                rid = value.get("id")
                entity = entity or value.get("entity")
                if f.entity and value.get("entity") not in (None, f.entity):
                    raise Invalid("type", "field.reference_type", entity=f.entity)
            if not isinstance(rid, str) or not rid or not isinstance(entity, str):
                raise Invalid("type", "field.reference")
            if not r.record_ok(entity, rid):
                raise Invalid("not_found", "field.reference_missing")
            return {"entity": entity, "id": rid}
        if t == "table":
            if not isinstance(value, list):
                raise Invalid("type", "field.table")
            if len(value) > f.max_rows:
                raise Invalid("length", "field.max_rows", max=f.max_rows)
            rows = []
            for i, row in enumerate(value):
                if not isinstance(row, dict):
                    errors.append(error(f"{path}.{i}", "type", "field.row"))
                    continue
                rows.append(_validate(f.columns, row, r, f"{path}.{i}.", errors, creating=True))
            return rows
    except Invalid as e:
        errors.append(error(path, e.kind, e.key, label=f.label_in(locale()), **e.params))
        return None
    raise AssertionError(f"unknown field type {t}")


# ---- a set of values -----------------------------------------------------------------------
def _validate(specs: Iterable[FieldSpec], data: Mapping[str, Any], r: Resolver, prefix: str, errors: list[dict[str, Any]], *,
              creating: bool, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    by_key = {f.key: f for f in specs}
    out: dict[str, Any] = {}
    for k in data:
        if k not in by_key:
            errors.append(error(f"{prefix}{k}", "unknown", "field.unknown"))
    for f in by_key.values():
        given = f.key in data
        if not given and creating and f.default is not None:
            data = {**data, f.key: f.default}
            given = True
        if not given:
            if creating and f.required and not f.readonly:  # read-only fields are filled by the system
                errors.append(error(f"{prefix}{f.key}", "missing", "field.required", label=f.label_in(locale())))
            continue
        v = data[f.key]
        if empty(v):
            if f.required:  # on update only removing a required value counts
                errors.append(error(f"{prefix}{f.key}", "missing", "field.required", label=f.label_in(locale())))
            else:
                out[f.key] = None
            continue
        before = len(errors)
        clean = check(f, v, r, f"{prefix}{f.key}", errors)
        if len(errors) == before:
            out[f.key] = clean
    return out


def validate(specs: Iterable[FieldSpec], data: Mapping[str, Any], r: Resolver, *, creating: bool, prefix: str = "") -> dict[str, Any]:
    """The checked values of `data` (None = remove the value); defaults fill in on create and
    required fields must be present on create (on update, only clearing one is refused)."""
    errors: list[dict[str, Any]] = []
    out = _validate(specs, data, r, prefix, errors, creating=creating)
    if errors:
        raise ValidationFailed(details=errors)
    return out


def stored_files(specs: Iterable[FieldSpec], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every stored file value ({id, name, …}) of file/image fields, detail-table cells included."""
    out: list[dict[str, Any]] = []
    for f in specs:
        v = values.get(f.key)
        if not isinstance(v, list):
            continue
        if f.type in ("file", "image"):
            out += [x for x in v if isinstance(x, Mapping) and x.get("id")]
        elif f.type == "table":
            for row in v:
                if isinstance(row, Mapping):
                    out += stored_files(f.columns, row)
    return out


# ---- definitions of fields (custom fields, custom objects, forms) ------------------------
def spec_problems(f: FieldSpec, path: str) -> list[dict[str, Any]]:
    """What is wrong with a field definition an admin wrote (before it is saved)."""
    out = []
    if not _KEY.match(f.key):
        out.append(error(f"{path}.key", "format", "field.key_format"))
    if f.type not in TYPES:
        out.append(error(f"{path}.type", "option", "field.option"))
    if f.type in ("select", "multiselect") and not f.options and not f.dictionary:
        out.append(error(f"{path}.options", "missing", "field.options_missing"))
    if f.type == "table":
        if not f.columns:
            out.append(error(f"{path}.columns", "missing", "field.columns_missing"))
        seen = set()
        for i, c in enumerate(f.columns):
            if c.type == "table":
                out.append(error(f"{path}.columns.{i}.type", "option", "field.nested_table"))
            if c.key in seen:
                out.append(error(f"{path}.columns.{i}.key", "duplicate", "field.duplicate_key"))
            seen.add(c.key)
            out += spec_problems(c, f"{path}.columns.{i}")
    bounds = True
    for name in ("min", "max"):
        v = getattr(f, name)
        if v is None:
            continue
        if f.type in NUMERIC and not _is_number(v) or f.type in ("date", "datetime") and not _is_date(v) \
                or f.type not in (*NUMERIC, "date", "datetime"):
            out.append(error(f"{path}.{name}", "type", "field.bound_type"))
            bounds = False
    if bounds and f.min is not None and f.max is not None:
        low, high = (Decimal(str(f.min)), Decimal(str(f.max))) if f.type in NUMERIC else (str(f.min), str(f.max))
        if low > high:
            out.append(error(f"{path}.min", "range", "field.min_max"))
    if f.default is not None and bounds and f.type not in ("table", "file", "image", "reference", "user", "department", "region") \
            and not (f.type in ("select", "multiselect") and f.dictionary):
        problems: list[dict[str, Any]] = []
        check(f, f.default, StaticResolver(), f"{path}.default", problems)
        out += problems
    if f.remind_days_before is not None and f.type not in ("date", "datetime"):
        out.append(error(f"{path}.remind_days_before", "type", "field.remind_needs_date"))
    return out


def _is_number(v: Any) -> bool:
    try:
        return not isinstance(v, bool) and Decimal(str(v)).is_finite()
    except InvalidOperation:
        return False


def _is_date(v: Any) -> bool:
    try:
        date.fromisoformat(str(v)[:10])
    except ValueError:
        return False
    return True


def json_schema(f: FieldSpec) -> dict[str, Any]:
    """The JSON Schema of one field's value (OpenAPI of generated routes)."""
    t = f.type
    desc = " / ".join(x for x in f.label if x)
    base: dict[str, Any]
    if t in NUMERIC:
        base = {"type": "integer" if t == "number" else "number"}
    elif t == "boolean":
        base = {"type": "boolean"}
    elif t == "date":
        base = {"type": "string", "format": "date"}
    elif t == "datetime":
        base = {"type": "string", "format": "date-time"}
    elif t in ("multiselect", "tags"):
        base = {"type": "array", "items": {"type": "string"}}
    elif t in ("file", "image"):
        base = {"type": "array", "items": {"type": "object"}}
    elif t in ("region", "address", "reference"):
        base = {"type": "object"}
    elif t == "table":
        base = {"type": "array", "items": {"type": "object", "properties": {c.key: json_schema(c) for c in f.columns}}}
    else:
        base = {"type": "string"}
    if t in ("text", "textarea", "email", "phone", "url") and f.max_len is not None:
        base["maxLength"] = f.max_len
    if f.min_length is not None:
        base["minLength"] = f.min_length
    if t in NUMERIC:
        low = f.min if f.min is not None else (0 if t in ("money", "percent") else None)
        high = f.max if f.max is not None else (100 if t == "percent" else None)
        if low is not None:
            base["minimum"] = float(low)
        if high is not None:
            base["maximum"] = float(high)
    if t == "select" and f.options:
        base["enum"] = [c for c, _, _ in f.options]
    out: dict[str, Any] = {"anyOf": [base, {"type": "null"}]}
    out.update({k: v for k, v in base.items() if k in ("maxLength", "minLength", "minimum", "maximum")})
    if desc:
        out["description"] = desc
    return out


@dataclass
class StaticResolver:
    """A Resolver over plain sets (unit tests, and checks that need no tenant data)."""

    users: set[str] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)
    codes: dict[str, set[str]] = field(default_factory=dict)
    records: set[tuple[str, str]] = field(default_factory=set)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)

    def user_ok(self, user_id: str) -> bool:
        return user_id in self.users

    def department_ok(self, department_id: str) -> bool:
        return department_id in self.departments

    def code_ok(self, dictionary: str, code: str) -> bool:
        return code in self.codes.get(dictionary, set())

    def record_ok(self, entity: str, record_id: str) -> bool:
        return (entity, record_id) in self.records

    def file_ok(self, ref: Any) -> dict[str, Any] | None:
        key = ref.get("id") if isinstance(ref, dict) else ref
        return self.files.get(key) if isinstance(key, str) else None

    def region_name(self, code: str) -> str | None:
        return self.regions.get(code)
