"""Customer care (客户关怀, SALES-14): the tenant's care rules and its holiday greetings.

Rules (one settings item per tenant, admins: customers:manage; read with customers:read):
- `birthday`: remind a contact's owner N days before the contact's birthday (0 = on the day),
  every year;
- `after_deal`: remind a customer's owner N days after its deal (已成交);
- `not_contacted` (遗忘客户): remind a customer's owner when nobody followed it up (or revisited
  it) for N days since the last time, or since the owner got it;
- `holiday`: N days before each of its holidays, remind every owner how many of their customers
  to greet — one tenant-level schedule per holiday, not one per customer.
Each rule may be limited to customer levels and switched off. Of one record kind (birthday,
after_deal, not_contacted), a rule naming a level wins over the rule naming none; two enabled
rules of one kind may not cover the same level (or both cover every level).

The per-record moments live on the records (care/timers.py). Saving the rules re-derives the
tenant's customers and contacts in the background when a record kind changed (care.rules.changed
-> functions/rederive.py) and moves the holiday schedules at once.

Key design: rules pk = T#<t>#CARERULES, sk = "RULES" (care/models.py).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import clock, i18n, ids
from ..core.errors import ValidationFailed, detail
from ..core.observability import logger, metric
from ..db import changes, keys, query
from ..db.base import plain
from ..dictionaries import service as dictionaries
from ..engine import due, store
from ..notifications import service as notifications
from ..org import service as org
from ..ports import events, scheduler
from . import timers
from .models import CareRules

MODULE = "customers"  # care rules are part of customers' permissions: "manage" sets them
HOLIDAY_KIND = "care_holiday"  # the schedule payload's kind (functions/reminders.py)


def _out(rules: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {"rules": [{"name": None, "enabled": True, "levels": [], "holidays": [], **r} for r in rules], "version": version}


def get_rules() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    try:
        item = CareRules.get(*CareRules.key(p.tenant_id))
    except DoesNotExist:
        return _out([], 0)
    return _out(list(plain(item.rules) or []), int(item.version))


def _problems(tenant_id: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    problems = []
    for i, r in enumerate(rules):
        problems += [detail(f"rules.{i}.levels.{j}", "dictionary", "field.dictionary", value=code)
                     for j, code in enumerate(r["levels"]) if not dictionaries.exists(tenant_id, "customer_level", code)]
    given = Counter(r["id"] for r in rules if r.get("id"))
    problems += [detail(f"rules.{i}.id", "duplicate", "care.id_twice") for i, r in enumerate(rules) if given[r.get("id")] > 1]
    for i, r in enumerate(rules):  # one rule per record kind and level
        if not r["enabled"] or r["kind"] not in timers.RECORD_KINDS:
            continue
        for j, other in enumerate(rules[:i]):
            if other["enabled"] and other["kind"] == r["kind"] and \
                    (set(r["levels"]) & set(other["levels"]) or not r["levels"] and not other["levels"]):
                problems.append(detail(f"rules.{i}.levels", "overlap", "care.overlap", other=j + 1))
                break
    return problems


def put_rules(rules: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Replace the rules (customers:manage). New rules get an id; the first save needs no version,
    later ones do (If-Match or `version`)."""
    p = org.principal()
    p.require(MODULE, "manage")
    problems = _problems(p.tenant_id, rules)
    if problems:
        raise ValidationFailed(details=problems)
    rules = [{**r, "id": r.get("id") or ids.new_id()} for r in rules]
    before = timers.stored(p.tenant_id)
    item = changes.put_setting(CareRules, CareRules.key(p.tenant_id), p.tenant_id, p.user_id, "care_rules", "rules",
                               {"rules": rules}, expected)
    timers.invalidate(p.tenant_id)
    _sync_holidays(p.tenant_id, before, rules)
    kinds = sorted(k for k in timers.RECORD_KINDS if _of_kind(before, k) != _of_kind(rules, k))
    if kinds:  # the records' moments follow in the background (functions/rederive.py)
        events.publish("care", "care.rules.changed", p.tenant_id, {"kinds": kinds, "actor_id": p.user_id})
    return _out(rules, int(item.version))


def _of_kind(rules: list[dict[str, Any]], kind: str) -> list[tuple[Any, ...]]:
    """What of a kind's rules moves records' moments."""
    return [(r["id"], bool(r.get("enabled", True)), int(r["days"]), tuple(r.get("levels") or ())) for r in rules
            if r["kind"] == kind]


def recompute(tenant_id: str, kinds: list[str]) -> dict[str, Any]:
    """The records a rule change concerns take their new moments (customers, contacts or both)."""
    from ..contacts.entity import CONTACT
    from ..customers.entity import CUSTOMER

    done: dict[str, Any] = {}
    if {"after_deal", "not_contacted"} & set(kinds):
        done["customers"] = timers.recompute(tenant_id, CUSTOMER)
    if "birthday" in kinds:
        done["contacts"] = timers.recompute(tenant_id, CONTACT)
    return done


# ---- holidays: one tenant-level schedule per holiday ------------------------------------------------
def _holiday_name(tenant_id: str, rule_id: str, spec: str, at: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}|{rule_id}|{spec}|{at}".encode()).hexdigest()[:24]
    return scheduler.schedule_name("care", digest)


def _holiday_at(rule: timers.Rule, spec: str, on_or_after: Any) -> tuple[str, Any] | None:
    """(reminder, holiday date): the holiday's first date on or after a day, N days before it."""
    day = timers.holiday_on(spec, on_or_after)
    return None if day is None else (timers.nine(day - timedelta(days=rule.days)), day)


def holiday_schedules(tenant_id: str, rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """name -> payload of every holiday reminder the rules call for next (a holiday today included)."""
    out = {}
    today = timers.today()
    for raw in rules:
        rule = timers.Rule.of(raw)
        if not rule.enabled or rule.kind != "holiday":
            continue
        for _, spec in rule.holidays:
            found = _holiday_at(rule, spec, today)
            if found is not None:
                out[_holiday_name(tenant_id, rule.id, spec, found[0])] = {
                    "kind": HOLIDAY_KIND, "tenant_id": tenant_id, "rule_id": rule.id, "holiday": spec, "at": found[0]}
    return out


def _arm(name: str, payload: dict[str, Any]) -> None:
    scheduler.upsert(name, max(clock.parse_iso(payload["at"]), clock.now() + due.SOON), payload)


def _sync_holidays(tenant_id: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    old, new = holiday_schedules(tenant_id, before), holiday_schedules(tenant_id, after)
    for name in old.keys() - new.keys():
        scheduler.delete(name)
    for name in new.keys() - old.keys():
        _arm(name, new[name])


def fire_holiday(tenant_id: str, rule_id: str, spec: str, at: str) -> bool:
    """节日关怀: every owner learns how many of their customers (of the rule's levels) to greet, if
    the rules (read fresh) still say this reminder; a yearly holiday then arms next year's."""
    rule = next((r for r in timers.rules(tenant_id, fresh=True) if r.id == rule_id), None)
    names = dict((s, n) for n, s in rule.holidays) if rule else {}
    found = _holiday_at(rule, spec, timers.today()) if rule and rule.enabled and rule.kind == "holiday" and spec in names else None
    if found is None or found[0] != at:
        logger.info("stale holiday reminder ignored", extra={"rule_id": rule_id, "holiday": spec})
        return False
    day = found[1]
    users = org.load(tenant_id).snapshot.users
    told = 0
    for user_id, count in sorted(_customers_by_owner(tenant_id, rule.levels).items()):
        user = users.get(user_id)
        if user is None or not user.active:
            continue
        text = {loc: i18n.text("notify.care.holiday", loc, holiday=names[spec], date=day.isoformat(), count=count)
                for loc in i18n.LOCALES}
        told += notifications.deliver(tenant_id, user_id, HOLIDAY_KIND, text, link={"entity": "customer"},
                                      source=f"care:holiday:{rule_id}:{spec}:{day.isoformat()}",
                                      occurred_at=clock.parse_iso(at))
    if len(spec) == 5:  # a yearly holiday: next year's
        following = _holiday_at(rule, spec, day + timedelta(days=1))
        if following is not None:
            _arm(_holiday_name(tenant_id, rule_id, spec, following[0]), {
                "kind": HOLIDAY_KIND, "tenant_id": tenant_id, "rule_id": rule_id, "holiday": spec, "at": following[0]})
    metric("care.holiday.reminded", told)
    return told > 0


def _customers_by_owner(tenant_id: str, levels: tuple[str, ...]) -> dict[str, int]:
    """How many live customers each user owns (of these levels; all without): one walk over the tenant index."""
    counts: Counter[str] = Counter()
    cursor = None
    while True:
        items, cursor = query.page(store.EntityRecord, keys.tenant_list(tenant_id, "CUSTOMER"), index="gsi2", limit=100,
                                   cursor=cursor)
        for rec in items:
            if isinstance(rec, store.EntityRecord) and rec.entity == "CUSTOMER" and not rec.deleted_at \
                    and not rec.owner_id.startswith("pool:") and (not levels or (rec.data or {}).get("level") in levels):
                counts[rec.owner_id] += 1
        if not cursor:
            return dict(counts)
