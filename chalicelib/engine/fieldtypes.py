"""The one field-type engine (PLAT-4): every value of every record, custom field,
custom-object field and form field is checked and normalised here.

A field is a `FieldSpec` (type + rules). `validate(specs, data, resolver)` returns the
clean values or raises one ValidationFailed listing every bad field by its path
(`items.0.amount`), with messages entirely in the caller's language. What needs the
tenant (users, departments, dictionary codes, referenced records, uploaded files) is
asked of a `Resolver`, so the rules stay pure and unit-testable.

Ranges: numbers are never negative unless the field allows it (`allow_negative`), percents
stay ≤ 100 unless the field's `max` says otherwise, dates and instants stay within
1900-01-01 … 2200-12-31 unless the field's `min` / `max` say otherwise.

Cross-field rules (`rules`): plain data on a record type, custom object or form, checked
after the fields themselves (a field with its own error is not checked again):
  {"kind": "range", "start": "start_at", "end": "end_at", "strict": false}   end ≥ start (dates, instants or numbers)
  {"kind": "sum", "total": "amount", "table": "items", "column": "amount"}   total = Σ rows.column (exact decimals)
  {"kind": "compare", "field": "days", "op": "gt", "value": 0}             gt | gte | lt | lte | eq | ne
  {"kind": "span", "start": "start", "end": "end", "field": "days", "unit": "days"}
        the field fits in the period: ≤ calendar days covered (tenant time zone) or ≤ hours between
  {"kind": "required_if", "field": "repay_date", "when": "loan_type", "equals": "loan"}   (equals: a value or a list)
`rule_problems` checks an admin's rule definitions before they are saved.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..core import context, i18n
from ..core.errors import Problem, ValidationFailed
from ..core.inputs import DATE_MAX, DATE_MIN

TYPES = ("text", "textarea", "tags", "number", "decimal", "money", "percent", "date", "datetime", "boolean", "select", "multiselect",
         "user", "department", "email", "mobile", "phone", "url", "region", "address", "file", "image", "reference", "table", "users")
NUMERIC = ("number", "decimal", "money", "percent")
TEXTUAL = ("text", "textarea", "email", "mobile", "phone", "url")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000, "email": 120, "phone": 30, "url": 300}
DEFAULT_PRECISION = {"number": 0, "decimal": 4, "money": 2, "percent": 2}
LIMIT = Decimal("1e15")  # 15 digits stay exact in every store and JSON reader
MAX_TABLE_ROWS = 200
MAX_TAGS = 20  # items of a tags (or users) field unless it declares its own max_items
LISTS = ("multiselect", "tags", "users")  # list values indexed as multi-valued keywords
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
    min: Any = None  # numbers: value; text: -; dates: ISO date (default 1900-01-01)
    max: Any = None  # numbers: value (percent: default 100); dates: ISO date (default 2200-12-31)
    allow_negative: bool = False  # numbers: values below zero are refused unless set (balances, adjustments)
    min_length: int | None = None
    max_length: int | None = None
    precision: int | None = None  # decimal places (number: whole unless given, decimal 4, money 2, percent 2)
    options: tuple[tuple[str, str, str], ...] = ()  # inline (code, 中文, English) for select / multiselect
    dictionary: str | None = None  # or the dictionary type the codes come from
    entity: str | None = None  # reference: the record type (customer, contact, obj:<key> …); None = any
    entities: tuple[str, ...] = ()  # reference without `entity`: the record types it may name (a follow-up's lead/customer/contact)
    columns: tuple[FieldSpec, ...] = ()  # table: the typed columns of each row
    max_rows: int = MAX_TABLE_ROWS
    max_items: int = MAX_TAGS  # tags, users: how many items (a type's own list of ids or dates declares its real limit)
    hidden: bool = False  # not drawn in forms/lists by default (the value is kept and served)
    order: int = 0
    mask: bool = False  # masked (138****1234) for roles whose rule says masked; see permissions
    searchable: bool = False  # full text (text/textarea) or prefix (mobile/phone/email)
    filterable: bool = True
    sortable: bool = True
    readonly: bool = False  # maintained by the module's rules (e.g. locked); refused in create/patch bodies
    remind_days_before: int | None = None  # date fields: remind the owner N days before (custom objects)
    description: str = ""
    # a text field holding the id of one of the tenant's settings (a customer's pool): tenant id -> {id: name}.
    # Exports and prints show the name (an id it does not know as itself); the API and the index keep the id.
    names: Callable[[str], Mapping[str, str]] | None = field(default=None, compare=False, repr=False)

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
        return self.type in (*LISTS, "file", "image")


class Resolver(Protocol):
    """What validation needs to know about the tenant."""

    def user_ok(self, user_id: str) -> bool: ...
    def unknown_users(self, user_ids: list[str]) -> set[str]: ...  # of these, the ids that are no active user (one read)
    def department_ok(self, department_id: str) -> bool: ...
    def code_ok(self, dictionary: str, code: str) -> bool: ...
    def record_ok(self, entity: str, record_id: str) -> bool: ...
    def file_ok(self, ref: Any) -> dict[str, Any] | None: ...  # a file id or {id}; its metadata when usable
    def region_name(self, code: str) -> str | None: ...


class Invalid(Problem):
    """One bad value: its kind, an i18n message key and its parameters."""

    def __init__(self, kind: str, key: str, **params: Any) -> None:
        super().__init__(key, kind, **params)


locale = context.locale  # the caller's language, for messages built here


def error(path: str, kind: str, key: str, **params: Any) -> dict[str, Any]:
    return {"field": path, "type": kind, "message": i18n.text(key, locale(), **params)}


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def clears(f: FieldSpec, value: Any) -> bool:
    """The value removes the field's value: null or "", or the empty shape of the field's own kind
    ([] for lists and tables, {} for an address); an empty shape of another kind is a type error."""
    if value is None or value == "":
        return True
    if value == []:
        return f.multi or f.type == "table"
    if value == {}:
        return f.type == "address"
    return False


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
    if rounded < 0 and not f.allow_negative:
        raise Invalid("range", "field.negative")
    low, high = _number_bounds(f)
    if low is not None and rounded < Decimal(str(low)):
        raise Invalid("range", "field.min", min=low)
    if high is not None and rounded > Decimal(str(high)):
        raise Invalid("range", "field.max", max=high)
    return rounded


def _number_bounds(f: FieldSpec) -> tuple[Any, Any]:
    low = f.min if f.min is not None else (None if f.allow_negative else 0)
    high = f.max if f.max is not None else (100 if f.type == "percent" else None)
    return low, high


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
    """Within the field's min/max days (instants by their UTC day), by default 1900-01-01 … 2200-12-31."""
    low = str(f.min)[:10] if f.min is not None else DATE_MIN
    high = str(f.max)[:10] if f.max is not None else DATE_MAX
    if iso[:10] < low:
        raise Invalid("range", "field.date_min", min=low)
    if iso[:10] > high:
        raise Invalid("range", "field.date_max", max=high)


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
            if not isinstance(value, list):
                raise Invalid("type", "field.tags")
            if len(value) > f.max_items:
                raise Invalid("length", "field.max_items", max=f.max_items)
            return list(dict.fromkeys(_text(FieldSpec(f.key, "text", max_length=f.max_length or 30), v) for v in value))
        if t == "user":
            if not isinstance(value, str) or not r.user_ok(value):
                raise Invalid("not_found", "field.user")
            return value
        if t == "users":
            return _users(f, value, r, path, errors)
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
            if f.entities and entity not in f.entities:
                raise Invalid("type", "field.reference_type", entity=" / ".join(f.entities))
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


def _users(f: FieldSpec, value: Any, r: Resolver, path: str, errors: list[dict[str, Any]]) -> list[str] | None:
    """User ids of the tenant's active users, each once, in the order given; a bad one is named by its
    position (`participant_ids.1`). The users are checked together (one read of the tenant's people)."""
    if not isinstance(value, list):
        raise Invalid("type", "field.users")
    if len(value) > f.max_items:
        raise Invalid("length", "field.max_items", max=f.max_items)
    if any(not isinstance(v, str) or not v.strip() for v in value):
        raise Invalid("type", "field.users")
    ids = [v.strip() for v in value]
    bad = r.unknown_users(list(dict.fromkeys(ids)))
    if bad:
        label = f.label_in(locale())
        errors += [error(f"{path}.{i}", "not_found", "field.user", label=label) for i, v in enumerate(ids) if v in bad]
        return None
    return list(dict.fromkeys(ids))


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
        if clears(f, v):
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


def validate(specs: Iterable[FieldSpec], data: Mapping[str, Any], r: Resolver, *, creating: bool, prefix: str = "",
             rules: Iterable[Mapping[str, Any]] = (), current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The checked values of `data` (None = remove the value); defaults fill in on create and
    required fields must be present on create (on update, only clearing one is refused).

    `rules` (cross-field) are checked on the record as it will be: `current` (the stored values,
    on update) with the checked changes on top. On update only the rules that involve a changed
    field are checked, so records older than a rule stay editable."""
    specs = list(specs)
    errors: list[dict[str, Any]] = []
    out = _validate(specs, data, r, prefix, errors, creating=creating)
    rules = list(rules)
    if rules:
        failed = {e["field"][len(prefix):].split(".")[0] for e in errors}
        merged = {k: v for k, v in {**(current or {}), **out}.items() if not empty(v)}
        check_rules(specs, rules, merged, errors, prefix=prefix, touched=None if creating else set(data), failed=failed)
    if errors:
        raise ValidationFailed(details=errors)
    return out


# ---- cross-field rules -------------------------------------------------------------------------
RULES: dict[str, dict[str, bool]] = {  # kind -> parameter -> required
    "range": {"start": True, "end": True, "strict": False},
    "sum": {"total": True, "table": True, "column": True},
    "compare": {"field": True, "op": True, "value": True},
    "span": {"start": True, "end": True, "field": True, "unit": False},
    "required_if": {"field": True, "when": True, "equals": True},
}
_FIELDS = {"range": ("start", "end"), "sum": ("total", "table"), "compare": ("field",), "span": ("start", "end", "field"),
           "required_if": ("field", "when")}
OPS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
       "eq": lambda a, b: a == b, "ne": lambda a, b: a != b}
SPAN_UNITS = ("days", "hours")


def rule_fields(rule: Mapping[str, Any]) -> set[str]:
    """The record's fields a rule reads (its detail table for a sum)."""
    return {str(rule[k]) for k in _FIELDS.get(str(rule.get("kind")), ()) if rule.get(k) is not None}


def _family(f: FieldSpec | None) -> str | None:
    if f is None:
        return None
    return "number" if f.type in NUMERIC else f.type if f.type in ("date", "datetime") else None


def _ordered(f: FieldSpec, v: Any) -> Any:
    """A checked (or stored) value in an order that compares: numbers exactly, instants as instants."""
    if f.type in NUMERIC:
        return Decimal(str(v))
    if f.type == "datetime":
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    return str(v)[:10]


def _num(v: Any) -> str:
    return format(Decimal(str(v)).normalize(), "f") if _is_number(v) else str(v)


def _local_day(f: FieldSpec, v: Any) -> date:
    if f.type == "date":
        return date.fromisoformat(str(v)[:10])
    from ..core.settings import get_settings

    return _ordered(f, v).astimezone(ZoneInfo(get_settings().default_timezone)).date()


def _rule_error(rule: Mapping[str, Any], by_key: dict[str, FieldSpec], values: Mapping[str, Any]) -> tuple[str, str, str, dict] | None:
    """(field, kind, message key, parameters) of the rule's violation, or None."""
    kind = rule["kind"]
    label = {k: f.label_in(locale()) for k, f in by_key.items()}
    if kind == "range":
        start, end = by_key[rule["start"]], by_key[rule["end"]]
        a, b = values.get(start.key), values.get(end.key)
        if a is None or b is None:
            return None
        strict = bool(rule.get("strict"))
        lo, hi = _ordered(start, a), _ordered(end, b)
        if hi > lo or (hi == lo and not strict):
            return None
        key = f"rule.range_{'number' if start.type in NUMERIC else 'date'}{'_strict' if strict else ''}"
        return end.key, "range", key, {"start": label[start.key], "end": label[end.key]}
    if kind == "sum":
        total, table = by_key[rule["total"]], by_key[rule["table"]]
        column = next(c for c in table.columns if c.key == rule["column"])
        t = values.get(total.key)
        if t is None:
            return None
        rows = values.get(table.key) or []
        summed = sum((Decimal(str(row[column.key])) for row in rows if isinstance(row, Mapping) and not empty(row.get(column.key))),
                     Decimal(0))
        if Decimal(str(t)) == summed:
            return None
        shown = format(summed.quantize(Decimal(1).scaleb(-total.places)), "f")
        return total.key, "sum", "rule.sum", {"total": label[total.key], "table": label[table.key],
                                               "column": column.label_in(locale()), "sum": shown}
    if kind == "compare":
        f = by_key[rule["field"]]
        v = values.get(f.key)
        if v is None or OPS[rule["op"]](Decimal(str(v)), Decimal(str(rule["value"]))):
            return None
        return f.key, "range", f"rule.compare.{rule['op']}", {"field": label[f.key], "value": _num(rule["value"])}
    if kind == "span":
        start, end, f = by_key[rule["start"]], by_key[rule["end"]], by_key[rule["field"]]
        a, b, v = values.get(start.key), values.get(end.key), values.get(f.key)
        if a is None or b is None or v is None or _ordered(end, b) < _ordered(start, a):
            return None  # an inverted period is the range rule's to tell
        unit = rule.get("unit") or "days"
        if unit == "hours" and start.type == "datetime":
            most = Decimal(str((_ordered(end, b) - _ordered(start, a)).total_seconds())) / 3600
        else:
            most = Decimal((_local_day(end, b) - _local_day(start, a)).days + 1) * (24 if unit == "hours" else 1)
        if Decimal(str(v)) <= most:
            return None
        return f.key, "range", f"rule.span.{unit}", {"field": label[f.key], "start": label[start.key], "end": label[end.key],
                                                     "max": _num(most.quantize(Decimal("0.01")))}
    if kind == "required_if":
        f, when = by_key[rule["field"]], by_key[rule["when"]]
        expected = rule["equals"] if isinstance(rule["equals"], list) else [rule["equals"]]
        if values.get(when.key) not in expected or values.get(f.key) is not None:
            return None
        shown = next((zh if locale() != "en" else en for c, zh, en in when.options if c == values.get(when.key)),
                     str(values.get(when.key)))
        return f.key, "missing", "rule.required_if", {"field": label[f.key], "when": label[when.key], "option": shown}
    return None


def check_rules(specs: Iterable[FieldSpec], rules: Iterable[Mapping[str, Any]], values: Mapping[str, Any],
                errors: list[dict[str, Any]], *, prefix: str = "", touched: set[str] | None = None,
                failed: Iterable[str] = ()) -> None:
    """Append the violations of `rules` by the (checked) `values`; rules about a field that has
    an error of its own, or (on update) that involve none of the `touched` fields, are skipped.
    A rule that names a field the definition no longer has is skipped (definitions are checked
    when saved: rule_problems)."""
    by_key = {f.key: f for f in specs}
    failed = set(failed)
    for rule in rules:
        keys = rule_fields(rule)
        if rule.get("kind") not in RULES or not keys <= set(by_key) or keys & failed:
            continue
        if touched is not None and not keys & touched:
            continue
        try:
            found = _rule_error(rule, by_key, values)
        except (StopIteration, KeyError, TypeError, ValueError, InvalidOperation):
            continue  # a stale or malformed definition tells nothing about the data
        if found:
            path, kind, key, params = found
            errors.append(error(f"{prefix}{path}", kind, key, **params))


def rule_problems(specs: Iterable[FieldSpec], rules: Any, path: str = "rules") -> list[dict[str, Any]]:
    """What is wrong with the rule definitions an admin wrote (before they are saved)."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        return [error(path, "type", "field.list")]
    by_key = {f.key: f for f in specs}
    out: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        out += _rule_problems(rule, f"{path}.{i}", by_key)
    return out


def _rule_problems(rule: Any, p: str, by_key: dict[str, FieldSpec]) -> list[dict[str, Any]]:  # noqa: C901 - one branch per kind
    if not isinstance(rule, Mapping):
        return [error(p, "type", "field.object")]
    kind = rule.get("kind")
    if kind not in RULES:
        return [error(f"{p}.kind", "option", "rule.kind")]
    params = RULES[kind]
    out = [error(f"{p}.{k}", "unknown", "field.unknown") for k in rule if k != "kind" and k not in params]
    out += [error(f"{p}.{k}", "missing", "field.missing") for k, needed in params.items() if needed and rule.get(k) in (None, "")]
    if out:
        return out

    def field_of(name: str) -> FieldSpec | None:
        f = by_key.get(rule[name]) if isinstance(rule[name], str) else None
        if f is None:
            out.append(error(f"{p}.{name}", "unknown", "field.unknown"))
        return f

    def need(name: str, f: FieldSpec | None, families: tuple[str, ...]) -> bool:
        if f is not None and _family(f) not in families:
            out.append(error(f"{p}.{name}", "type", "rule.field_type"))
            return False
        return f is not None

    if kind in ("range", "span"):
        start, end = field_of("start"), field_of("end")
        families = ("date", "datetime") if kind == "span" else ("date", "datetime", "number")
        if need("start", start, families) and need("end", end, families):
            if start is end:
                out.append(error(f"{p}.end", "duplicate", "rule.same_field"))
            elif _family(start) != _family(end):
                out.append(error(f"{p}.end", "type", "rule.same_kind"))
        if "strict" in rule and not isinstance(rule["strict"], bool):
            out.append(error(f"{p}.strict", "type", "rule.boolean"))
        if kind == "span":
            need("field", field_of("field"), ("number",))
            if rule.get("unit") is not None and rule["unit"] not in SPAN_UNITS:
                out.append(error(f"{p}.unit", "option", "field.option"))
    elif kind == "sum":
        need("total", field_of("total"), ("number",))
        table = field_of("table")
        if table is not None and table.type != "table":
            out.append(error(f"{p}.table", "type", "rule.field_type"))
        elif table is not None:
            column = next((c for c in table.columns if c.key == rule["column"]), None)
            if column is None or column.type not in NUMERIC:
                out.append(error(f"{p}.column", "unknown", "rule.column"))
    elif kind == "compare":
        need("field", field_of("field"), ("number",))
        if rule["op"] not in OPS:
            out.append(error(f"{p}.op", "option", "field.option"))
        if not _is_number(rule["value"]) or isinstance(rule["value"], str):
            out.append(error(f"{p}.value", "type", "rule.value"))
    elif kind == "required_if":
        field_of("field")
        when = field_of("when")
        values = rule["equals"] if isinstance(rule["equals"], list) else [rule["equals"]]
        scalar = bool(values) and all(isinstance(v, (str, int, float, bool)) for v in values)
        codes = {c for c, _, _ in when.options} if when is not None and when.options else None
        if not scalar or (codes is not None and not set(map(str, values)) <= codes):
            out.append(error(f"{p}.equals", "option", "rule.equals"))
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
        low, high = (Decimal(str(f.min)), Decimal(str(f.max))) if f.type in NUMERIC else (str(f.min)[:10], str(f.max)[:10])
        if low > high:
            out.append(error(f"{path}.min", "range", "field.min_max"))
    if bounds and f.type in NUMERIC and f.min is not None and Decimal(str(f.min)) < 0 and not f.allow_negative:
        out.append(error(f"{path}.min", "range", "field.negative_min"))
    if f.default is not None and bounds and f.type not in ("table", "file", "image", "reference", "user", "users", "department", "region") \
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
    elif t == "multiselect":
        base = {"type": "array", "items": {"type": "string"}}
    elif t == "tags":
        base = {"type": "array", "items": {"type": "string"}, "maxItems": f.max_items}
    elif t == "users":
        base = {"type": "array", "items": {"type": "string", "description": "user id"}, "maxItems": f.max_items}
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
        low, high = _number_bounds(f)
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

    def unknown_users(self, user_ids: list[str]) -> set[str]:
        return {u for u in user_ids if u not in self.users}

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


def setting_name(f: FieldSpec, tenant_id: str, value: str, cache: dict[Any, dict[str, str]]) -> str:
    """The name of the tenant setting a `names` field holds (a pool's name), its names read once per
    `cache` (a file, a print); the id itself when no setting has it."""
    if f.names not in cache:
        cache[f.names] = dict(f.names(tenant_id))
    return cache[f.names].get(value) or value
