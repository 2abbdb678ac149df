"""Printing (打印, UX-2): a record as a PDF laid out by its tenant's print template.

The rules:
- Every standard record type whose definition's `actions` include "print" (contracts, customers,
  quotes …) can be printed: `GET /v1/<path>/{id}/pdf` (engine/api.py) needs the record type's
  `print` action on that record, within the caller's data scope (a record they may not read is 404,
  as everywhere). Fields the caller's role may not read are not printed; masked ones print masked.
- What is printed comes from the tenant's template of that record type (`GET/PUT
  /v1/print-templates/{entity}`, printing:read / printing:manage — administrators): the company
  header (name, address, phone), a title, the fields in their order, the product lines table and
  totals when the record has lines, terms. Without a saved template the record type's default
  applies (`default_fields`).
- Values read as a person writes them, in the caller's language (Accept-Language): labels, money
  with two decimals and thousands separators (¥1,234,567.00), dates (2026年11月23日), select and
  dictionary labels, users and departments by name, references by the referenced record's title
  (when the caller may read that record; otherwise "无权查看").
- Every print is in the record's operation log (action `print`, the template's title as note).
- Returned as the PDF itself (`Content-Type: application/pdf`) to a request whose Accept names
  application/pdf (or */*); anything else is 406 — API Gateway returns binary bodies only to an
  Accept that names the binary type (app.py registers application/pdf as one).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context
from ..core.api import accepts
from ..core.errors import NotAcceptable, NotFound, ValidationFailed, detail
from ..core.observability import metric
from ..core.permissions import FieldAccess, Principal, mask
from ..core.settings import get_settings
from ..db import audit, changes, tx
from ..db.base import plain
from ..dictionaries import service as dictionaries
from ..engine import registry, store, visibility
from ..engine.definition import EntityDef
from ..engine.fieldtypes import FieldSpec, setting_name
from ..fields import service as custom_fields
from ..org import service as org
from .models import PrintTemplate

MODULE = "printing"
PRINT = "print"
PDF = "application/pdf"
OWNER = "owner_id"
LINES = "lines"
TOTALS = ("lines_total", "discount_rate", "amount")  # printed under the lines table when the record has lines
NOT_IN_TEMPLATES = ("table", "file", "image")  # tables print as the lines table only; files are not printable
OWNER_LABEL = ("负责人", "Owner")


# ---- which record types print, and what a template may name -----------------------------------
def printable(d: EntityDef) -> bool:
    return PRINT in d.actions and bool(d.path) and not d.custom


def _definition(entity: str) -> EntityDef:
    d = registry.standard().get(entity.lower())
    if d is None or not printable(d):
        raise NotFound("entity.record_type")
    return d


def _custom_specs(tenant_id: str, d: EntityDef) -> dict[str, FieldSpec]:
    if not d.features.custom_fields:
        return {}
    return {f"custom.{f.key}": custom_fields.spec(f) for f in custom_fields.definitions(tenant_id, d.entity)}


def choices(tenant_id: str, d: EntityDef, locale: str) -> list[dict[str, str]]:
    """Every field a template of `d` may print, with its label in `locale`."""
    out = [{"key": f.key, "label": f.label_in(locale)} for f in d.fields if f.type not in NOT_IN_TEMPLATES]
    out.append({"key": OWNER, "label": OWNER_LABEL[1] if locale == "en" else OWNER_LABEL[0]})
    out += [{"key": k, "label": s.label_in(locale)} for k, s in _custom_specs(tenant_id, d).items()]
    return out


def default_fields(d: EntityDef) -> list[str]:
    """A sensible print of a record type: its number, then every field a person fills in (no detail
    tables, files or map positions; no totals when it has product lines: they print under them),
    its approval status when it is approved, and its owner."""
    has_lines = d.field(LINES) is not None
    keep: list[str] = []
    for f in d.fields:
        if f.type in (*NOT_IN_TEMPLATES, "address", "boolean") or (has_lines and f.key in TOTALS):
            continue
        if f.readonly and f.key not in (d.features.number_field, "approval_status", "state"):
            continue
        keep.append(f.key)
    if d.features.number_field in keep:  # the number first
        keep.remove(d.features.number_field)
        keep.insert(0, d.features.number_field)
    return [*keep, OWNER]


# ---- templates ------------------------------------------------------------------------------
def _stored(tenant_id: str, d: EntityDef) -> PrintTemplate | None:
    try:
        return PrintTemplate.get(*PrintTemplate.key(tenant_id, d.name))
    except DoesNotExist:
        return None


def _template_out(tenant_id: str, d: EntityDef, item: PrintTemplate | None) -> dict[str, Any]:
    base = {"entity": d.name, "title": None, "company_name": None, "company_address": None, "company_phone": None,
            "footer": None, "fields": default_fields(d), "show_lines": True, "default": True, "version": 0}
    if item is not None:
        base.update({**item.values(), "default": False, "version": int(item.version)})
    return {**base, "available_fields": choices(tenant_id, d, context.locale())}


def get_template(entity: str) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    d = _definition(entity)
    return _template_out(p.tenant_id, d, _stored(p.tenant_id, d))


def put_template(entity: str, body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """Save the template (printing:manage). Fields must be the record type's (422 naming each one that is
    not, `fields.<i>`); the first save needs no version, later ones do (If-Match or `version`)."""
    p = org.principal()
    p.require(MODULE, "manage")
    d = _definition(entity)
    known = {c["key"] for c in choices(p.tenant_id, d, "zh-CN")}
    problems, seen = [], set()
    for i, key in enumerate(body["fields"]):
        if key not in known:
            problems.append(detail(f"fields.{i}", "unknown", "print.unknown_field", name=key, entity=d.name_key))
        elif key in seen:
            problems.append(detail(f"fields.{i}", "duplicate", "print.field_twice", name=key))
        seen.add(key)
    if problems:
        raise ValidationFailed(details=problems)
    values = {"entity": d.name, **{k: body.get(k) or None for k in ("title", "company_name", "company_address", "company_phone",
                                                                   "footer")},
              "fields": list(body["fields"]), "show_lines": bool(body.get("show_lines", True))}
    item = changes.put_setting(PrintTemplate, PrintTemplate.key(p.tenant_id, d.name), p.tenant_id, p.user_id, "print_template",
                               d.name, values, expected)
    return _template_out(p.tenant_id, d, item)


# ---- values as a person reads them ------------------------------------------------------------
def _decimal(v: Any) -> Decimal | None:
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None


def number(v: Any) -> str:
    """1,234 · 1,234.5 (no trailing zeros)."""
    d = _decimal(v)
    if d is None:
        return str(v)
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d.normalize():,f}"


def money(v: Any) -> str:
    """¥1,234,567.00: two decimals, half up, thousands separated."""
    from ..products.lines import money as cents

    d = _decimal(v)
    return str(v) if d is None else f"¥{cents(d):,.2f}"


def percent(v: Any) -> str:
    return f"{number(v)}%"


def day(v: Any, locale: str) -> str:
    s = str(v)[:10]
    try:
        y, m, d = (int(x) for x in s.split("-"))
    except ValueError:
        return str(v)
    return s if locale == "en" else f"{y}年{m}月{d}日"


def moment(v: Any, tz: ZoneInfo) -> str:
    """A date-time in the tenant's time zone: 2026-11-23 09:30."""
    try:
        at = clock.parse_iso(str(v))
    except ValueError:
        return str(v)
    return (at.astimezone(tz) if at.tzinfo else at).strftime("%Y-%m-%d %H:%M")


class Reader:
    """Formats one record's values for `p` in `locale`; looks referenced records up in batches."""

    def __init__(self, p: Principal, locale: str) -> None:
        self.p, self.locale = p, locale
        self.tz = ZoneInfo(get_settings().default_timezone)
        self.org = org.load(p.tenant_id)
        self.titles: dict[tuple[str, str], str] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self._named: dict[Any, dict[str, str]] = {}

    def yes_no(self, v: Any) -> str:
        return ("Yes" if v else "No") if self.locale == "en" else ("是" if v else "否")

    def sep(self) -> str:
        return ", " if self.locale == "en" else "、"

    def user(self, user_id: Any) -> str:
        u = self.org.users.get(str(user_id))
        return u.name if u is not None else str(user_id)

    def option(self, f: FieldSpec, code: Any) -> str:
        for c, zh, en in f.options:
            if c == code:
                return en if self.locale == "en" and en else zh
        if f.dictionary:
            return dictionaries.label_in(self.p.tenant_id, f.dictionary, str(code), self.locale) or str(code)
        return str(code)

    def fetch(self, refs: list[tuple[str, str]]) -> None:
        """Read the referenced records (one BatchGetItem per record type) and keep their titles as the
        caller may see them: "无权查看" for a record outside their data scope."""
        by_type: dict[str, list[str]] = defaultdict(list)
        for entity, rid in refs:
            if (entity, rid) not in self.titles:
                by_type[entity].append(rid)
        now = clock.now_iso()
        for entity, ids_ in by_type.items():
            d = registry.find(entity, self.p.tenant_id)
            if d is None:
                continue
            for rec in store.batch_get(self.p.tenant_id, d.entity, ids_):
                data = plain(rec.data or {})
                readable = self.p.can(d.module, "read") and \
                    self.p.record_access(d.module, rec.owner_id, plain(rec.team or {}), now) is not None
                if readable:
                    self.titles[(entity, rec.id)] = visibility.title(self.p, d, data.get(d.title_field), self.locale) or ""
                    self.records[(entity, rec.id)] = visibility.values(self.p, d, data)
        for entity, rid in refs:
            self.titles.setdefault((entity, rid), "Not visible to you" if self.locale == "en" else "无权查看")

    def ref(self, v: Any) -> str:
        if isinstance(v, Mapping) and v.get("entity") and v.get("id"):
            return self.titles.get((str(v["entity"]), str(v["id"])), "")
        return ""

    def text(self, f: FieldSpec, v: Any) -> str:
        """One value as printed ('' when empty)."""
        if v is None or v == "" or v == []:
            return ""
        if f.names is not None:  # the id of a setting (a pool): its name
            return setting_name(f, self.p.tenant_id, str(v), self._named)
        t = f.type
        if t == "money":
            return money(v)
        if t == "percent":
            return percent(v)
        if t in ("number", "decimal"):
            return number(v)
        if t == "date":
            return day(v, self.locale)
        if t == "datetime":
            return moment(v, self.tz)
        if t == "boolean":
            return self.yes_no(v)
        if t == "select":
            return self.option(f, v)
        if t == "multiselect":
            return self.sep().join(self.option(f, x) for x in (v if isinstance(v, list) else [v]))
        if t == "tags":
            return self.sep().join(str(x) for x in (v if isinstance(v, list) else [v]))
        if t == "user":
            return self.user(v)
        if t == "users":
            return self.sep().join(self.user(x) for x in (v if isinstance(v, list) else [v]))
        if t == "department":
            dept = self.org.departments.get(str(v))
            return dept.name if dept is not None else str(v)
        if t == "region":
            return str(v.get("name") or v.get("code") or "") if isinstance(v, Mapping) else str(v)
        if t == "address":
            return str(v.get("text") or "") if isinstance(v, Mapping) else str(v)
        if t == "reference":
            return self.ref(v)
        if t in ("file", "image"):
            return self.sep().join(str(x.get("name", "")) for x in (v if isinstance(v, list) else [v]) if isinstance(x, Mapping))
        return str(v)

    def shown(self, module: str, key: str, f: FieldSpec, v: Any) -> str | None:
        """The value as the caller may see it: None when hidden from them, masked when masked."""
        access = self.p.field_access(module, key)
        if access is FieldAccess.HIDDEN:
            return None
        if access is FieldAccess.MASKED:
            return "" if v in (None, "", []) else str(mask(v))
        return self.text(f, v)


# ---- the print ------------------------------------------------------------------------------
def accepts_pdf(accept: str | None) -> bool:
    return accepts(accept, PDF)


def _label(locale: str, pair: tuple[str, str]) -> str:
    return pair[1] if locale == "en" else pair[0]


def document(d: EntityDef, p: Principal, rec: store.EntityRecord, tpl: Mapping[str, Any], locale: str) -> Any:
    """The render/pdf Document of one record (texts ready, field rules applied)."""
    from ..render import pdf
    from ..tenants import service as tenants

    data = plain(rec.data or {})
    custom = plain(rec.custom or {})
    specs = {f.key: f for f in d.fields}
    extra = _custom_specs(p.tenant_id, d)
    r = Reader(p, locale)
    wanted = list(tpl["fields"])
    lines_field = d.field(LINES)
    show_lines = bool(tpl.get("show_lines", True)) and lines_field is not None and \
        p.field_access(d.module, LINES) is not FieldAccess.HIDDEN
    lines = [x for x in (data.get(LINES) or []) if isinstance(x, Mapping)] if show_lines else []

    refs = [(str(v["entity"]), str(v["id"])) for k in wanted for v in [data.get(k)]
            if k in specs and specs[k].type == "reference" and isinstance(v, Mapping) and v.get("id") and v.get("entity")]
    refs += [("product", str(x["product"]["id"])) for x in lines if isinstance(x.get("product"), Mapping) and x["product"].get("id")]
    r.fetch(refs)

    fields: list[tuple[str, str]] = []
    long_labels = set()
    for key in wanted:
        if key == OWNER:
            fields.append((_label(locale, OWNER_LABEL), r.user(rec.owner_id)))
            continue
        f = specs.get(key) or extra.get(key)
        if f is None or f.type in NOT_IN_TEMPLATES:
            continue  # a field removed since the template was saved
        value = custom.get(key[7:]) if key.startswith("custom.") else data.get(key)
        shown = r.shown(d.module, key, f, value)
        if shown is None:
            continue
        label = f.label_in(locale)
        fields.append((label, shown))
        if f.type == "textarea":
            long_labels.add(label)

    table = None
    totals: list[tuple[str, str]] = []
    if show_lines and lines:
        cols = {c.key: c for c in lines_field.columns}
        heads = (("产品", "Product"), ("单位", "Unit"), ("单价", "Price"), ("数量", "Quantity"), ("折扣", "Discount"),
                 ("小计", "Subtotal"))
        rows = []
        for x in lines:
            pid = str((x.get("product") or {}).get("id") or "")
            product = r.records.get(("product", pid), {})
            unit = product.get("unit")
            rows.append((
                r.titles.get(("product", pid), ""),
                r.option(FieldSpec("unit", "select", dictionary="unit"), unit) if unit else "",
                r.text(cols["unit_price"], x.get("unit_price")),
                r.text(cols["quantity"], x.get("quantity")),
                r.text(cols["discount"], x.get("discount")) if x.get("discount") else "",
                r.text(cols["subtotal"], x.get("subtotal")),
            ))
        columns = tuple(pdf.Column(_label(locale, h), w, a) for h, w, a in zip(
            heads, (34, 8, 15, 11, 9, 17), ("LEFT", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT"), strict=True))
        table = pdf.Table(_label(locale, lines_field.label), columns, tuple(rows))
        for key in TOTALS:
            f = specs.get(key)
            if f is None or data.get(key) is None:
                continue
            shown = r.shown(d.module, key, f, data.get(key))
            if shown:
                totals.append((f.label_in(locale), shown))

    tenant_name = tenants.name_of(p.tenant_id)
    company_lines = tuple(x for x in (
        tpl.get("company_address") and f"{_label(locale, ('地址', 'Address'))}：{tpl['company_address']}",
        tpl.get("company_phone") and f"{_label(locale, ('电话', 'Phone'))}：{tpl['company_phone']}") if x)
    number_key = d.features.number_field
    subtitle_parts = []
    for key in (number_key, d.title_field):
        f = specs.get(key) if key else None
        if f is not None:
            shown = r.shown(d.module, key, f, data.get(key))
            if shown:
                subtitle_parts.append(shown)
    title = tpl.get("title") or d.label_in(locale)
    now = clock.now()
    printed_at = now.astimezone(r.tz).strftime("%Y-%m-%d %H:%M")
    who = r.user(p.user_id)
    return pdf.Document(
        company=tpl.get("company_name") or tenant_name or p.tenant_id,
        company_lines=company_lines,
        title=title,
        subtitle=" · ".join(dict.fromkeys(subtitle_parts)),
        fields=tuple(fields),
        table=table,
        totals=tuple(totals),
        footer_text=tpl.get("footer") or "",
        page_label="Page {page} of {pages}" if locale == "en" else "第 {page} 页，共 {pages} 页",
        printed=f"Printed by {who} at {printed_at}" if locale == "en" else f"打印：{who}  {printed_at}",
        author=who,
        created_at=now,
        long_fields=frozenset(long_labels),
    )


def print_record(d: EntityDef, record_id: str, accept: str | None) -> tuple[bytes, str]:
    """The record as a PDF and its file name; logged as `print` in the record's operation log."""
    from ..engine import service as engine
    from ..render import pdf

    if not accepts_pdf(accept):
        raise NotAcceptable(media=PDF)
    p = org.principal()
    rec = engine.load(d, p, record_id, PRINT)
    locale = context.locale()
    stored = _stored(p.tenant_id, d)
    tpl = stored.values() if stored is not None else {"fields": default_fields(d), "show_lines": True}
    doc = document(d, p, rec, tpl, locale)
    body = pdf.render(doc)
    tx.write([tx.put(audit.entry(p.tenant_id, d.entity, rec.id, "print", p.user_id, [], note=doc.title))])
    metric(f"{d.name}.printed")
    number_key = d.features.number_field
    readable = number_key and p.field_access(d.module, number_key) >= FieldAccess.READ  # the name shows no hidden number
    name = plain(rec.data or {}).get(number_key) if readable else None
    return body, f"{name or d.name + '-' + rec.id}.pdf"


def disposition(filename: str) -> str:
    """inline; an ASCII name for old clients and the real one (RFC 6266 / 5987)."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
