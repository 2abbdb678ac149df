"""Custom objects: admins define a record type at runtime (fields, references, detail tables,
date reminders); the engine serves it at once — routes, search, filters and facets, data
scope, team, field rules, operation log, recycle bin, global search — with no deploy and no
reindex. A definition is read into the same `EntityDef` the standard types declare."""
from __future__ import annotations

from typing import Any

from ..core import context
from ..core.cache import TenantCache
from ..core.errors import NotFound, ValidationFailed
from ..core.observability import metric
from ..core.permissions import ACTIONS, FieldAccess, Principal
from ..core.settings import get_settings
from ..db import changes
from ..db.base import Item, plain
from ..dictionaries import service as dictionaries
from ..engine import fieldtypes, registry
from ..engine import service as engine
from ..engine.definition import EntityDef, Features, approval_fields
from ..numbering import service as numbering
from ..org import service as org
from ..search import schema
from .models import ObjectDefinition, definitions_pk

MODULE = "objects"
PREFIX = registry.CUSTOM_PREFIX
RECORD_ACTIONS = ("create", "update", "list", "read", "delete", "transfer", "team", "import", "export")
UNIQUE_TYPES = ("text", "number", "mobile", "email", "phone", "url")
RESERVED = {"id", "owner_id", "custom", "team", "access", "version", "created_at", "created_by", "updated_at", "updated_by",
            "highlight", "approval_status", "approval_id", "object"}  # what every record carries besides its fields


# ---- definitions, cached per container --------------------------------------------------------
def _load(tenant: str) -> dict[str, ObjectDefinition]:
    return {o.key: o for o in Item.query(definitions_pk(tenant)) if isinstance(o, ObjectDefinition)}


_cache: TenantCache[dict[str, ObjectDefinition]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)
_defs: dict[tuple[str, str, int], EntityDef] = {}


def _spec(f: dict[str, Any], readonly: bool = False) -> fieldtypes.FieldSpec:
    return fieldtypes.FieldSpec(readonly=readonly,
        key=f["key"], type=f["type"], label=(f["label"], f.get("label_en") or f["label"]), required=bool(f.get("required")),
        unique=bool(f.get("unique")), default=f.get("default"), min=f.get("min"), max=f.get("max"), min_length=f.get("min_length"),
        allow_negative=bool(f.get("allow_negative", _negative_min(f))),
        max_length=f.get("max_length"), precision=f.get("precision"), dictionary=f.get("dictionary"), entity=f.get("entity"),
        options=tuple((o["code"], o["label"], o.get("label_en") or o["label"]) for o in f.get("options") or []),
        columns=tuple(_spec(c) for c in f.get("columns") or ()), hidden=bool(f.get("hidden")), order=int(f.get("order") or 0),
        searchable=bool(f.get("searchable")), filterable=bool(f.get("filterable", True)), sortable=bool(f.get("sortable", True)),
        remind_days_before=f.get("remind_days_before"), description=f.get("description") or "")


def _negative_min(f: dict[str, Any]) -> bool:
    """Fields defined before negatives needed their own flag: a negative minimum allowed them."""
    try:
        return f.get("min") is not None and float(f["min"]) < 0
    except (TypeError, ValueError):
        return False


def definition_of(o: ObjectDefinition) -> EntityDef:
    """The engine's view of a stored object definition (cached per version)."""
    key = (o.tenant_id, o.key, int(o.version or 0))
    if key not in _defs:
        _defs[key] = EntityDef(
            name=f"{PREFIX}{o.key}", module=f"{MODULE}.{o.key}", label=(o.label, o.label_en or o.label),
            fields=(*(_spec(f, readonly=f["key"] == (o.numbering or {}).get("field")) for f in o.fields),
                    *(approval_fields() if o.approval else ())), event_module=MODULE, rules=tuple(plain(o.rules) or ()),
            title_field=o.title_field,
            card_fields=tuple(o.card_fields or ()), actions=RECORD_ACTIONS, custom=True, object_key=o.key,
            parent_field=(o.parent or {}).get("field"), parent_cascade=tuple((o.parent or {}).get("cascade") or ()),
            features=Features(custom_fields=False, numbering=(o.numbering or {}).get("rule"),
                              number_field=(o.numbering or {}).get("field"), approval=f"obj:{o.key}" if o.approval else None),
            index_slots={f["key"]: f["slot"] for f in o.fields if f.get("slot")}, version=int(o.version or 0))
    return _defs[key]


def find(tenant_id: str, key: str, fresh: bool = False) -> EntityDef | None:
    """An object's definition (active or not: records of a hidden object stay readable by the system)."""
    o = None if fresh else _cache.get(tenant_id).get(key)
    o = o or _cache.get(tenant_id, fresh=True).get(key)
    return definition_of(o) if o else None


def every(tenant_id: str, include_hidden: bool = False) -> list[EntityDef]:
    return [definition_of(o) for o in sorted(_cache.get(tenant_id).values(), key=lambda o: o.key) if o.active or include_hidden]


def require(key: str) -> EntityDef:
    """The caller's tenant's active object `key`, or 404."""
    d = find(context.current().tenant_id, key)
    if d is None or not _cache.get(context.current().tenant_id)[key].active:
        raise NotFound("entity.custom_object")
    return d


# ---- defining ---------------------------------------------------------------------------------
def out(o: ObjectDefinition) -> dict[str, Any]:
    return {"key": o.key, "type": f"{PREFIX}{o.key}", "label": o.label, "label_en": o.label_en, "fields": plain(o.fields),
            "title_field": o.title_field, "card_fields": list(o.card_fields or []), "parent": plain(o.parent),
            "numbering": plain(o.numbering), "approval": bool(o.approval), "rules": plain(o.rules) or [], "active": bool(o.active),
            "version": o.version, "updated_at": o.updated_at}


def list_objects() -> list[dict[str, Any]]:
    p = org.principal()
    return [out(o) for o in sorted(_cache.get(p.tenant_id, fresh=True).values(), key=lambda o: o.key)
            if p.can(MODULE, "manage") or (o.active and p.can(f"{MODULE}.{o.key}", "list"))]


def get_object(key: str) -> dict[str, Any]:
    p = org.principal()
    o = _cache.get(p.tenant_id, fresh=True).get(key)
    if o is None or not (p.can(MODULE, "manage") or (o.active and p.can(f"{MODULE}.{o.key}", "read"))):
        raise NotFound("entity.custom_object")
    return out(o)


def _problems(p: Principal, key: str, fields: list[dict[str, Any]], title_field: str, card_fields: list[str],
              existing: list[dict[str, Any]] | None, rules: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    known = {f["key"]: f for f in existing or []}
    seen: set[str] = set()
    others = {o for o in _cache.get(p.tenant_id, fresh=True)} | {key}
    for i, f in enumerate(fields):
        path = f"fields.{i}"
        errors += fieldtypes.spec_problems(_spec(f), path)
        if f["key"] in seen:
            errors.append(fieldtypes.error(f"{path}.key", "duplicate", "field.duplicate_key"))
        if f["key"] in RESERVED or f["key"].startswith("cf_"):
            errors.append(fieldtypes.error(f"{path}.key", "reserved", "object.reserved_key"))
        if f.get("unique") and not known.get(f["key"], {}).get("unique", True):
            errors.append(fieldtypes.error(f"{path}.unique", "immutable", "object.unique_later"))
        for j, c in enumerate(f.get("columns") or []):
            if c.get("unique"):
                errors.append(fieldtypes.error(f"{path}.columns.{j}.unique", "type", "object.unique_type"))
        seen.add(f["key"])
        if f["key"] in known and known[f["key"]]["type"] != f["type"]:
            errors.append(fieldtypes.error(f"{path}.type", "immutable", "object.type_fixed"))
        if f.get("unique") and f["type"] not in UNIQUE_TYPES:
            errors.append(fieldtypes.error(f"{path}.unique", "type", "object.unique_type"))
        for col_path, ref in [(path, f), *[(f"{path}.columns.{j}", c) for j, c in enumerate(f.get("columns") or [])]]:
            if ref["type"] == "reference" and ref.get("entity"):
                target = ref["entity"]
                ok = registry.find(target) is not None or (target.startswith(PREFIX) and target[len(PREFIX):] in others)
                if not ok:
                    errors.append(fieldtypes.error(f"{col_path}.entity", "not_found", "object.unknown_type"))
        if f.get("dictionary") and f["type"] not in ("select", "multiselect"):
            errors.append(fieldtypes.error(f"{path}.dictionary", "type", "field.option"))
        for col_path, ref in [(path, f), *[(f"{path}.columns.{j}", c) for j, c in enumerate(f.get("columns") or [])]]:
            if ref.get("dictionary") and not dictionaries.type_exists(p.tenant_id, ref["dictionary"]):
                errors.append(fieldtypes.error(f"{col_path}.dictionary", "not_found", "field.dictionary_type"))
    gone = sorted(set(known) - seen)
    if gone:
        errors.append(fieldtypes.error("fields", "removed", "object.field_removed", keys=", ".join(gone)))
    by_key = {f["key"]: f for f in fields}
    if by_key.get(title_field, {}).get("type") != "text":
        errors.append(fieldtypes.error("title_field", "invalid", "object.title_field"))
    for i, c in enumerate(card_fields):
        if c not in by_key:
            errors.append(fieldtypes.error(f"card_fields.{i}", "unknown", "field.unknown"))
    errors += fieldtypes.rule_problems([_spec(f) for f in fields], rules or [])
    return errors


def _with_slots(fields: list[dict[str, Any]], existing: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each indexable field keeps its slot; a new one takes the next free slot of its kind."""
    old = {f["key"]: f.get("slot") for f in existing or []}
    used = {s for s in old.values() if s}
    out = []
    for f in fields:
        f = {k: v for k, v in f.items() if v not in (None, [], "") or k in ("required", "unique")}
        kind = schema.kind_of(f["type"], bool(f.get("searchable")))
        slot = old.get(f["key"])
        if slot is None and kind is not None:
            multi = f["type"] in ("multiselect", "tags", "users")
            free = [n for n in range(1, schema.SLOTS_PER_KIND + 1) if schema.slot_name(kind, n, multi) not in used]
            if not free:
                raise ValidationFailed("CUSTOM_OBJECT_LIMIT", kind=f"kind.{kind}", limit=schema.SLOTS_PER_KIND)
            slot = schema.slot_name(kind, free[0], multi)
            used.add(slot)
        out.append({**f, **({"slot": slot} if slot else {})})
    return out


def create(body: dict[str, Any]) -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "manage")
    key = body["key"]
    errors = _problems(p, key, body["fields"], body["title_field"], body.get("card_fields") or [], None, body.get("rules") or [])
    if errors:
        raise ValidationFailed(details=errors)
    parent = body.get("parent")
    if parent:
        f = next((f for f in body["fields"] if f["key"] == parent["field"]), None)
        if f is None or f["type"] != "reference" or not f.get("entity") or not f.get("required"):
            raise ValidationFailed(details=[fieldtypes.error("parent.field", "invalid", "object.parent_field")])
    numbered = body.get("numbering")
    if numbered:
        f = next((f for f in body["fields"] if f["key"] == numbered["field"]), None)
        if f is None or f["type"] != "text":
            raise ValidationFailed(details=[fieldtypes.error("numbering.field", "invalid", "object.number_field")])
        if not numbering.exists(p.tenant_id, numbered["rule"]):
            raise ValidationFailed(details=[fieldtypes.error("numbering.rule", "not_found", "object.number_rule")])
    grants = body.get("grants") or {"admin": {"actions": list(RECORD_ACTIONS), "scope": "all"}}
    o = ObjectDefinition(tenant_id=p.tenant_id, key=key, label=body["label"], label_en=body.get("label_en"),
                         fields=_with_slots(body["fields"], None), title_field=body["title_field"],
                         card_fields=body.get("card_fields") or [], parent=parent, numbering=numbered,
                         approval=bool(body.get("approval")), rules=body.get("rules") or [], active=True)
    o.pk, o.sk = definitions_pk(p.tenant_id), key
    changes.stamp(o, p.user_id, new=True)
    role_ops = org.grant_ops(p.tenant_id, p.user_id, f"{MODULE}.{key}", {r: dict(g) for r, g in grants.items()})
    changes.create(o, "custom_object", key, p.user_id, extra=role_ops,
                   on_conflict=lambda: ValidationFailed("DUPLICATE", field="entity.custom_object", value=key))
    _cache.invalidate(p.tenant_id)
    org.invalidate(p.tenant_id)
    metric("objects.definition.created")
    return out(o)


def update(key: str, values: dict[str, Any], expected: int) -> dict[str, Any]:
    """New fields and labels apply at once; a field's key and type never change, so stored
    values and search slots stay valid (no reindex)."""
    p = org.principal()
    p.require(MODULE, "manage")
    o = _cache.get(p.tenant_id, fresh=True).get(key)
    if o is None:
        raise NotFound("entity.custom_object")
    fields = values.get("fields") or plain(o.fields)
    if values.get("rules", []) is None:
        values = {k: v for k, v in values.items() if k != "rules"}
    errors = _problems(p, key, fields, values.get("title_field") or o.title_field,
                       values["card_fields"] if values.get("card_fields") is not None else list(o.card_fields or []),
                       plain(o.fields), values["rules"] if values.get("rules") is not None else plain(o.rules) or [])
    if errors:
        raise ValidationFailed(details=errors)
    if "fields" in values:
        values = {**values, "fields": _with_slots(values["fields"], plain(o.fields))}
    changes.save(o, "custom_object", key, p.user_id, values, expected)
    _cache.invalidate(p.tenant_id)
    return out(o)


# ---- hand-over, metadata ----------------------------------------------------------------------
def handover_all(tenant_id: str, from_user_id: str, to_user_id: str, actor: str) -> int:
    return sum(engine.transfer_all(d, tenant_id, from_user_id, to_user_id, actor) for d in every(tenant_id))


def describe(d: EntityDef, p: Principal, locale: str) -> dict[str, Any]:
    """A record type as a client draws it: fields (with what the caller may do with each),
    relations, actions and the caller's rights."""
    access = {FieldAccess.EDIT: "edit", FieldAccess.READ: "read", FieldAccess.MASKED: "masked"}
    fields = []
    for f in sorted(d.fields, key=lambda f: f.order):
        a = p.field_access(d.module, f.key)
        if a is FieldAccess.HIDDEN:
            continue
        fields.append({"key": f.key, "type": f.type, "label": f.label_in(locale), "required": f.required, "unique": f.unique,
                       "readonly": f.readonly, "hidden": f.hidden, "order": f.order, "searchable": f.searchable,
                       "filterable": f.filterable, "sortable": f.sortable, "access": access[a],
                       **({"options": [{"code": c, "label": zh if locale != "en" else en} for c, zh, en in f.options]}
                          if f.options else {}),
                       **({"dictionary": f.dictionary} if f.dictionary else {}), **({"entity": f.entity} if f.entity else {}),
                       **({"columns": [{"key": c.key, "type": c.type, "label": c.label_in(locale), "required": c.required}
                                       for c in f.columns]} if f.columns else {}),
                       **({"remind_days_before": f.remind_days_before} if f.remind_days_before is not None else {}),
                       **({"allow_negative": True} if f.allow_negative else {})})
    path = f"/v1{d.path}" if d.path else f"/v1/objects/{d.object_key}/records"
    return {"type": d.name, "label": d.label_in(locale), "module": d.module, "custom": d.custom, "path": path,
            "title_field": d.title_field, "fields": fields, "rules": [dict(r) for r in d.rules],
            "relations": [{"child": r.child, "field": r.field} for r in d.relations],
            "actions": list(d.actions), "rights": {a: p.can(d.module, a) for a in d.actions if a in ACTIONS},
            "scope": sorted(s.value for s in p.scopes(d.module))}


def metadata(type_name: str | None = None) -> list[dict[str, Any]]:
    p = org.principal()
    locale = context.current().locale
    defs = registry.every(p.tenant_id)
    if type_name is not None:
        d = registry.find(type_name, p.tenant_id)
        if d is None or (d.custom and d not in defs):
            raise NotFound("entity.custom_object")
        defs = [d]
    return [describe(d, p, locale) for d in defs if p.can(d.module, "read") or p.can(d.module, "list")]


def log_access(entity: str, record_id: str) -> bool:
    """Operation-log access for a custom object's record: whoever may read the record."""
    d = registry.find(entity, context.current().tenant_id)
    if d is None:
        return False
    engine.require_read(d, record_id)
    return True

