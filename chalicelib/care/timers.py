"""Care moments (客户关怀) on the records they concern, acted on by the records' own schedules.

The tenant's care rules (care/service.py) give each record the moments its owner is reminded:

- a contact's birthday (`birthday` rule, N days before, 0 = on the day), every year:
  `care_birthday_at` on the contact;
- N days after a customer's deal (`after_deal`): `deal_at` is when its deal status became
  已成交 (cleared when it goes back), `care_after_deal_at` the reminder;
- a customer nobody has contacted for N days (`not_contacted`, 遗忘客户), counted from its last
  follow-up or revisit, or from when its owner got it: `care_not_contacted_at`.

Every care reminder comes at 09:00 tenant time on its day. The moments are derived on every
write of the record (engine Hooks.derive: follow-up and revisit stamps, deal status, level,
owner moves, birthday edits), so their schedules (engine Timers, engine/due.py) move with the
record and no job scans the table; a rule change re-derives the tenant's customers and contacts
in the background (functions/rederive.py on care.rules.changed).

Which rule applies to a record: the enabled rule of the kind that names the customer's level,
else the one that names no level (the rules of one kind may not overlap: care/service.py).
A customer in a public pool (owner `pool:…`) has no care moments; a contact whose customer is in
a pool is not reminded (checked when the reminder comes).

When a schedule comes, the record is read again and its moment derived with the rules as they
are now: still due, its current owner is told (the text shaped by the owner's field rules,
idempotent by source); not due any more, the record takes its new moment. A birthday reminder
then arms next year's: the contact is not written for that — its timer reads the stored moment
rolled on to the coming birthday (`birthday_at`).
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..core import clock, i18n
from ..core.cache import TenantCache
from ..core.errors import NotFound
from ..core.observability import logger, metric
from ..core.settings import get_settings
from ..db import keys
from ..db.base import plain
from ..engine import store
from ..engine.definition import Derivation, EntityDef, WriteContext
from ..notifications import service as notifications
from .models import CareRules

CUSTOMER_FIELDS = ("deal_at", "care_after_deal_at", "care_not_contacted_at")
RECORD_KINDS = ("birthday", "after_deal", "not_contacted")  # the kinds that give records moments (holidays are the tenant's)


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    days: int
    levels: tuple[str, ...]
    name: str | None = None
    enabled: bool = True
    holidays: tuple[tuple[str, str], ...] = ()  # (name, YYYY-MM-DD | MM-DD)

    @staticmethod
    def of(raw: Mapping[str, Any]) -> Rule:
        return Rule(str(raw["id"]), str(raw["kind"]), int(raw["days"]), tuple(raw.get("levels") or ()), raw.get("name"),
                    bool(raw.get("enabled", True)), tuple((str(h["name"]), str(h["date"])) for h in raw.get("holidays") or ()))


def stored(tenant_id: str) -> list[dict[str, Any]]:
    """The rules as saved (plain JSON), [] when the tenant has none."""
    try:
        return list(plain(CareRules.get(*CareRules.key(tenant_id)).rules) or [])
    except DoesNotExist:
        return []


_rules: TenantCache[list[Rule]] = TenantCache(lambda t: [Rule.of(r) for r in stored(t)],
                                              lambda: get_settings().settings_cache_seconds)


def rules(tenant_id: str, *, fresh: bool = False) -> list[Rule]:
    return _rules.get(tenant_id, fresh=fresh)


def invalidate(tenant_id: str) -> None:
    _rules.invalidate(tenant_id)


def applicable(all_rules: list[Rule], kind: str, level: Any) -> Rule | None:
    """The enabled rule of `kind` for a customer of `level`: the one naming the level, else the one naming none."""
    general = None
    for r in all_rules:
        if not r.enabled or r.kind != kind:
            continue
        if r.levels and level in r.levels:
            return r
        if not r.levels and general is None:
            general = r
    return general


# ---- days and moments (tenant time) ---------------------------------------------------------------
def tz() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


def today() -> date:
    return clock.now().astimezone(tz()).date()


def nine(day: date) -> str:
    """09:00 tenant time on `day`, as a stored moment."""
    return clock.iso(datetime.combine(day, time(9), tzinfo=tz()))


def local_day(moment: str) -> date:
    return clock.parse_iso(moment).astimezone(tz()).date()


def yearly(month: int, day: int, year: int) -> date:
    """A yearly date in `year` (29 February falls on the 28th in other years)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_yearly(month: int, day: int, on_or_after: date) -> date:
    this = yearly(month, day, on_or_after.year)
    return this if this >= on_or_after else yearly(month, day, on_or_after.year + 1)


def birthday_moment(birthday: str, days: int, on_or_after: date) -> tuple[str, date]:
    """(the reminder, the birthday it is for): the first birthday on or after `on_or_after`, N days before it."""
    b = date.fromisoformat(str(birthday)[:10])
    when = next_yearly(b.month, b.day, on_or_after)
    return nine(when - timedelta(days=days)), when


def holiday_on(spec: str, on_or_after: date) -> date | None:
    """A holiday's first date on or after a day: its own date (YYYY-MM-DD) or its yearly one (MM-DD)."""
    if len(spec) == 10:
        day = date.fromisoformat(spec)
        return day if day >= on_or_after else None
    month, day_ = int(spec[:2]), int(spec[3:])
    return next_yearly(month, day_, on_or_after)


# ---- deriving (Hooks.derive) ------------------------------------------------------------------------
def _latest(*moments: Any) -> str | None:
    given = [str(m) for m in moments if m]
    return max(given, key=lambda m: clock.parse_iso(m)) if given else None


def derive_customer(dv: Derivation) -> dict[str, Any]:
    """`deal_at` and the customer's care moments (composed with the pool timer: customers/entity.py)."""
    data = dv.data
    deal_at = (data.get("deal_at") or clock.now_iso()) if data.get("deal_status") == "closed" else None
    values: dict[str, Any] = {"deal_at": deal_at, "care_after_deal_at": None, "care_not_contacted_at": None}
    if dv.owner_id.startswith("pool:"):
        return values
    all_rules = rules(dv.tenant_id)
    if not all_rules:
        return values
    level = data.get("level")
    rule = applicable(all_rules, "after_deal", level)
    if rule is not None and deal_at:
        day = local_day(str(deal_at)) + timedelta(days=rule.days)
        if day >= today():  # an old deal a new rule finds is not reminded of
            values["care_after_deal_at"] = nine(day)
    rule = applicable(all_rules, "not_contacted", level)
    if rule is not None:
        anchor = _latest(data.get("last_followup_at"), data.get("last_revisit_at"), data.get("owned_since") or dv.created_at)
        if anchor:  # a customer forgotten already is reminded soon (its schedule cannot be in the past)
            values["care_not_contacted_at"] = nine(local_day(anchor) + timedelta(days=rule.days))
    return values


def _customer_of(tenant_id: str, contact: Mapping[str, Any]) -> store.EntityRecord | None:
    ref = contact.get("customer")
    if not isinstance(ref, Mapping) or not ref.get("id"):
        return None
    try:
        return store.get(tenant_id, "CUSTOMER", str(ref["id"]), "entity.customer")
    except NotFound:
        return None  # created in the same transaction (a lead conversion), or gone


def birthday_rule(tenant_id: str, contact: Mapping[str, Any]) -> Rule | None:
    """The birthday rule for a contact; its customer is read only when some birthday rule names levels."""
    all_rules = [r for r in rules(tenant_id) if r.kind == "birthday" and r.enabled]
    if not all_rules:
        return None
    level = None
    if any(r.levels for r in all_rules):
        customer = _customer_of(tenant_id, contact)
        level = (customer.data or {}).get("level") if customer else None
    return applicable(all_rules, "birthday", level)


def derive_contact(dv: Derivation) -> dict[str, Any]:
    """The contact's next birthday reminder: the coming birthday (today's included), N days before it."""
    birthday = dv.data.get("birthday")
    rule = birthday_rule(dv.tenant_id, dv.data) if birthday and not dv.owner_id.startswith("pool:") else None
    if rule is None:
        return {"care_birthday_at": None}
    return {"care_birthday_at": birthday_moment(str(birthday), rule.days, today())[0]}


# ---- the timers ---------------------------------------------------------------------------------------
def after_deal_at(values: Mapping[str, Any]) -> str | None:
    return values.get("care_after_deal_at")


def not_contacted_at(values: Mapping[str, Any]) -> str | None:
    return values.get("care_not_contacted_at")


def birthday_at(values: Mapping[str, Any]) -> str | None:
    """The stored reminder, rolled on to the coming birthday once its own has passed (a fired
    reminder arms next year's without writing the contact: fire_birthday)."""
    at, birthday = values.get("care_birthday_at"), values.get("birthday")
    if not at or not birthday:
        return at
    start = local_day(str(at))
    b = date.fromisoformat(str(birthday)[:10])
    its_birthday = next_yearly(b.month, b.day, start)
    if its_birthday >= today():
        return str(at)
    return birthday_moment(str(birthday), (its_birthday - start).days, today())[0]


def birthday_following(values: Mapping[str, Any]) -> str | None:
    """The reminder after the current one (next year's), which firing the current one arms."""
    at, birthday = birthday_at(values), values.get("birthday")
    if not at or not birthday:
        return None
    start = local_day(at)
    b = date.fromisoformat(str(birthday)[:10])
    its_birthday = next_yearly(b.month, b.day, start)
    return birthday_moment(str(birthday), (its_birthday - start).days, its_birthday + timedelta(days=1))[0]


def rederive(d: EntityDef, rec: store.EntityRecord) -> bool:
    """Write the record's derived values again as the rules now say; True if they moved. Logged as
    `care_timer`; its schedules follow (through the table stream)."""
    from ..engine import service as engine

    return engine.rederive(d, rec, "care_timer")


def _moved_on(d: EntityDef, rec: store.EntityRecord, field: str, at: str) -> bool:
    """Is the record's moment, derived with the rules read fresh, another one now? Then it takes it."""
    from ..engine import service as engine

    invalidate(rec.tenant_id)
    data = plain(rec.data or {})
    now = engine.derived(d, rec.tenant_id, rec, rec.owner_id, rec.owner_id, data)
    if now.get(field) == at:
        return False
    rederive(d, rec)
    logger.info("care timer moved on", extra={"record_id": rec.id, "field": field})
    return True


def fire_after_deal(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    if _moved_on(d, rec, "care_after_deal_at", at):
        return False
    rule = applicable(rules(rec.tenant_id), "after_deal", (rec.data or {}).get("level"))
    return _notify_customer(rec, "after_deal", rule.days if rule else 0, at)


def fire_not_contacted(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    if _moved_on(d, rec, "care_not_contacted_at", at):
        return False
    rule = applicable(rules(rec.tenant_id), "not_contacted", (rec.data or {}).get("level"))
    return _notify_customer(rec, "not_contacted", rule.days if rule else 0, at)


def _notify_customer(rec: store.EntityRecord, kind: str, days: int, at: str) -> bool:
    from ..customers.entity import CUSTOMER
    from ..engine import visibility

    if rec.owner_id.startswith("pool:"):
        return False
    reader = visibility.reader(rec.tenant_id, rec.owner_id)
    name = plain((rec.data or {}).get("name"))
    text = {loc: i18n.text(f"notify.care.{kind}", loc, title=visibility.title(reader, CUSTOMER, name, loc) or "", days=days)
            for loc in i18n.LOCALES}
    new = notifications.deliver(rec.tenant_id, rec.owner_id, f"care_{kind}", text, link={"entity": "customer", "id": rec.id},
                                source=f"care:{kind}:{rec.id}:{at}", occurred_at=clock.parse_iso(at))
    metric(f"care.{kind}.reminded")
    return new


def fire_birthday(d: EntityDef, rec: store.EntityRecord, at: str) -> bool:
    """生日关怀: tell the contact's owner (unless its customer is in a pool), then arm next year's."""
    from ..engine import due

    if _moved_on(d, rec, "care_birthday_at", at):
        return False
    b = date.fromisoformat(str((rec.data or {}).get("birthday"))[:10])
    its_birthday = next_yearly(b.month, b.day, local_day(at))
    customer = _customer_of(rec.tenant_id, rec.data or {})
    told = False
    if customer is not None and not customer.owner_id.startswith("pool:") and not rec.owner_id.startswith("pool:"):
        told = _notify_birthday(rec, customer, its_birthday, at)
    following = birthday_following(rec.values())
    if following:  # next year's schedule, the record not written: the stored moment rolls on to it (birthday_at)
        due.arm(d, rec.tenant_id, rec.id, "care_birthday", following)
    return told


def _notify_birthday(rec: store.EntityRecord, customer: store.EntityRecord, its_birthday: date, at: str) -> bool:
    from ..contacts.entity import CONTACT
    from ..customers.entity import CUSTOMER
    from ..engine import visibility

    reader = visibility.reader(rec.tenant_id, rec.owner_id)
    shown = reader.shape(CONTACT.module, {"birthday": its_birthday.isoformat()}).get("birthday") or "—"
    name, company = plain((rec.data or {}).get("name")), plain((customer.data or {}).get("name"))
    text = {loc: i18n.text("notify.care.birthday", loc, title=visibility.title(reader, CONTACT, name, loc) or "",
                           customer=visibility.title(reader, CUSTOMER, company, loc) or "", date=shown) for loc in i18n.LOCALES}
    new = notifications.deliver(rec.tenant_id, rec.owner_id, "care_birthday", text, link={"entity": "contact", "id": rec.id},
                                source=f"care:birthday:{rec.id}:{its_birthday.isoformat()}", occurred_at=clock.parse_iso(at))
    metric("care.birthday.reminded")
    return new


# ---- propagation -------------------------------------------------------------------------------------------
def customer_written(wc: WriteContext) -> None:
    """A customer's level changed: its contacts' birthday rule may be another one (when rules name levels)."""
    from ..contacts.entity import CONTACT

    if wc.action != "update" or wc.record is None or (wc.before or {}).get("level") == wc.values.get("level"):
        return
    if not any(r.kind == "birthday" and r.enabled and r.levels for r in rules(wc.record.tenant_id)):
        return
    for child in store.collection(wc.record.tenant_id, "CUSTOMER", wc.record.id):
        if child.entity == CONTACT.entity and not child.deleted_at:
            rederive_one(CONTACT, wc.record.tenant_id, child.id)


def rederive_one(d: EntityDef, tenant_id: str, record_id: str) -> int:
    from ..engine import service as engine

    return engine.rederive_one(d, tenant_id, record_id, "care_timer")




def recompute(tenant_id: str, d: EntityDef) -> dict[str, int]:
    """Every live record of a type (one walk over the tenant index), re-derived where the rules move
    its moments; a record whose moments stay is not written (nor read again)."""
    from ..engine import service as engine

    invalidate(tenant_id)
    seen, moved = engine.walk_rederive(d, tenant_id, keys.tenant_list(tenant_id, d.entity), "gsi2", "care_timer")
    metric("care.timers.recomputed", moved)
    return {"records": seen, "moved": moved}
