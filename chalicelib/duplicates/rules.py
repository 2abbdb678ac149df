"""Duplicate rules (查重规则) of a tenant: which kinds are checked, across which record types,
and whether a match warns or blocks. One item per tenant (models.DuplicateRules); a tenant
that never saved rules has the defaults.

A rule `{"kind": "phone", "entities": ["lead", "customer", "contact"], "action": "warn"}` says:
when a record of one of these types is created or edited, records of these types (any of
them) with the same phone key are reported; `block` refuses the write instead (409). Rules
overlap on purpose: company names and phone numbers block within customers and warn across
leads, customers and contacts. Only types that are installed and declare the kind
(EntityDef.duplicates) take part; the product's own types (lead, customer, contact) may be
named before their module is installed and count from then on.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core.cache import TenantCache
from ..core.errors import PreconditionRequired, ValidationFailed, detail
from ..core.settings import get_settings
from ..db import changes
from ..engine import registry
from ..engine.definition import EntityDef
from ..org import service as org
from .models import RULES_ENTITY, DuplicateRules
from .normalize import KINDS

MODULE = "duplicates"
ACTIONS = ("warn", "block")
PRODUCT_TYPES = ("lead", "customer", "contact")  # SALES-6: 录入模块 checked across these
MAX_RULES = 20

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"kind": "company", "entities": ["customer"], "action": "block"},
    {"kind": "phone", "entities": ["customer"], "action": "block"},
    {"kind": "company", "entities": list(PRODUCT_TYPES), "action": "warn"},
    {"kind": "phone", "entities": list(PRODUCT_TYPES), "action": "warn"},
    {"kind": "email", "entities": list(PRODUCT_TYPES), "action": "warn"},
    {"kind": "person", "entities": list(PRODUCT_TYPES), "action": "warn"},
)


@dataclass(frozen=True)
class Rule:
    kind: str
    entities: tuple[str, ...]  # as stored (names of record types)
    action: str  # warn | block

    @property
    def scope(self) -> str:
        """The rule's identity in lease keys: kind + its record types."""
        return f"{self.kind}.{'+'.join(sorted(self.entities))}"


def declaring() -> dict[str, EntityDef]:
    """Installed record types that declare duplicate checks, by name."""
    return {name: d for name, d in registry.standard().items() if d.duplicates}


def types_of(rule: Rule) -> list[EntityDef]:
    """The installed types of a rule that declare its kind."""
    found = declaring()
    return [found[e] for e in rule.entities if e in found and rule.kind in found[e].duplicates.values()]


def _load(tenant_id: str) -> tuple[list[Rule], int]:
    try:
        item = DuplicateRules.get(*DuplicateRules.key(tenant_id))
    except DoesNotExist:
        return [_rule(r) for r in DEFAULT_RULES], 0
    return [_rule(r) for r in item.rules or []], int(item.version or 0)


def _rule(raw: dict[str, Any]) -> Rule:
    return Rule(raw["kind"], tuple(raw["entities"]), raw["action"])


_cache: TenantCache[tuple[list[Rule], int]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def active(tenant_id: str) -> list[Rule]:
    """The tenant's rules (cached per container; a change reaches other containers within
    CRM_SETTINGS_CACHE_SECONDS)."""
    return _cache.get(tenant_id)[0]


def applying(tenant_id: str, entity: str, kinds: Iterable[str]) -> list[Rule]:
    """The rules a write of `entity` with values of `kinds` is checked against."""
    wanted = set(kinds)
    return [r for r in active(tenant_id) if r.kind in wanted and entity in r.entities]


def out(rules: list[Rule], version: int) -> dict[str, Any]:
    found = declaring()
    return {
        "rules": [{"kind": r.kind, "entities": list(r.entities), "action": r.action,
                   "active_entities": [d.name for d in types_of(r)]} for r in rules],
        "defaults": version == 0,
        "version": version,
        "types": [{"type": d.name, "kinds": sorted(set(d.duplicates.values())),
                   "fields": [{"field": f, "kind": k} for f, k in d.duplicates.items()]} for d in found.values()],
    }


def get() -> dict[str, Any]:
    p = org.principal()
    if not p.can(MODULE, "manage"):
        p.require(MODULE, "read")
    rules, version = _cache.get(p.tenant_id, fresh=True)
    return out(rules, version)


def _check(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = set(declaring()) | set(PRODUCT_TYPES)
    errors, seen, clean = [], {}, []
    if len(rules) > MAX_RULES:
        errors.append(detail("rules", "length", "field.max_items", max=MAX_RULES))
    for i, r in enumerate(rules):
        kind, action, entities = r.get("kind"), r.get("action"), r.get("entities")
        if kind not in KINDS:
            errors.append(detail(f"rules.{i}.kind", "option", "field.option"))
        if action not in ACTIONS:
            errors.append(detail(f"rules.{i}.action", "option", "field.option"))
        if not isinstance(entities, list) or not entities:
            errors.append(detail(f"rules.{i}.entities", "missing", "field.missing"))
            continue
        for j, e in enumerate(entities):
            if e not in known:
                errors.append(detail(f"rules.{i}.entities.{j}", "unknown", "duplicates.unknown_type", type=str(e)[:40]))
        ident = (kind, frozenset(entities))
        if ident in seen:
            errors.append(detail(f"rules.{i}", "duplicate", "duplicates.rule_twice", other=seen[ident]))
        seen.setdefault(ident, i + 1)
        clean.append({"kind": kind, "entities": list(dict.fromkeys(entities)), "action": action})
    if errors:
        raise ValidationFailed(details=errors)
    return clean


def put(rules: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the tenant's rules (admins). The first save needs no version; later ones the
    version read (If-Match or `version`), stale -> 409. An empty list checks nothing."""
    p = org.principal()
    p.require(MODULE, "manage")
    clean = _check(rules)
    try:
        item = DuplicateRules.get(*DuplicateRules.key(p.tenant_id), consistent_read=True)
    except DoesNotExist:
        item = None
    if item is None:
        item = DuplicateRules(tenant_id=p.tenant_id, rules=clean)
        item.pk, item.sk = DuplicateRules.key(p.tenant_id)
        changes.stamp(item, p.user_id, new=True)
        changes.create(item, RULES_ENTITY, "rules", p.user_id)
    else:
        if expected is None:
            raise PreconditionRequired()
        changes.save(item, RULES_ENTITY, "rules", p.user_id, {"rules": clean}, expected)
    _cache.invalidate(p.tenant_id)
    return out([_rule(r) for r in clean], int(item.version))
