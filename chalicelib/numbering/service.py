"""Numbering: prefix + date + sequence, reset daily/monthly/yearly, unique under concurrency."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from ..core import clock, context, session
from ..core.errors import NotFound, PreconditionRequired
from ..core.settings import get_settings
from ..db import changes, keys
from ..db.base import Item
from .models import Counter, NumberingRule

MODULE = "numbering"

DEFAULT_RULES = {
    "contract": ("合同编号", "HT"), "payment": ("回款编号", "HK"), "order": ("订单编号", "DD"),
    "invoice": ("发票申请编号", "FP"), "quote": ("报价单编号", "BJ"),
}

_PERIOD = {"daily": "%Y%m%d", "monthly": "%Y%m", "yearly": "%Y", "never": None}
_DATE = {"YYYYMMDD": "%Y%m%d", "YYYYMM": "%Y%m", "YYYY": "%Y", "none": ""}


def out(rule: NumberingRule) -> dict[str, Any]:
    return {"key": rule.rule_key, **rule.values(), "version": rule.version}


def new_rule(tenant: str, actor: str, rule_key: str, name: str, prefix: str = "", date_format: str = "YYYYMMDD",
             reset: str = "daily", seq_width: int = 4) -> NumberingRule:
    at = clock.now_iso()
    r = NumberingRule(tenant_id=tenant, rule_key=rule_key, name=name, prefix=prefix, date_format=date_format, reset=reset,
                      seq_width=seq_width, created_at=at, created_by=actor, updated_at=at, updated_by=actor)
    r.pk, r.sk = NumberingRule.key(tenant, rule_key)
    return r


def default_rules(tenant: str, actor: str) -> list[NumberingRule]:
    return [new_rule(tenant, actor, k, name, prefix) for k, (name, prefix) in DEFAULT_RULES.items()]


def seed(tenant: str, actor: str) -> None:
    """A new tenant's numbering rules (contracts, payments, orders, invoices, quotes)."""
    with NumberingRule.batch_write() as batch:
        for rule in default_rules(tenant, actor):
            rule.version = 1
            batch.save(rule)


def _rule(tenant: str, rule_key: str) -> NumberingRule:
    try:
        return NumberingRule.get(*NumberingRule.key(tenant, rule_key))
    except DoesNotExist:
        raise NotFound("entity.numbering_rule") from None


def exists(tenant: str, rule_key: str) -> bool:
    try:
        _rule(tenant, rule_key)
    except NotFound:
        return False
    return True


def format_number(rule: NumberingRule, when: datetime, seq: int) -> str:
    date = when.strftime(_DATE[rule.date_format]) if _DATE[rule.date_format] else ""
    return f"{rule.prefix}{date}{seq:0{int(rule.seq_width)}d}"


def draw(tenant: str, rule_key: str, when: datetime | None = None) -> dict[str, Any]:
    """The next number of a rule: one read of the rule + one atomic counter increment."""
    rule = _rule(tenant, rule_key)
    local = (when or clock.now()).astimezone(ZoneInfo(get_settings().default_timezone))
    fmt = _PERIOD[rule.reset]
    period = local.strftime(fmt) if fmt else "ALL"
    counter = Counter(pk=keys.k(tenant, "SEQ", rule_key, period), sk="#")
    counter.update(actions=[Counter.value.add(1), Counter.tenant_id.set(tenant), Counter.type.set(Counter)])
    seq = int(counter.value)
    return {"rule": rule_key, "number": format_number(rule, local, seq), "sequence": seq}


def list_rules() -> list[dict[str, Any]]:
    tenant = context.current().tenant_id
    session.principal()
    return [out(r) for r in Item.query(keys.k(tenant, "NUMRULE")) if isinstance(r, NumberingRule)]


def put_rule(rule_key: str, body: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """Create a rule, or change it (then the version you read is required)."""
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    try:
        rule = NumberingRule.get(*NumberingRule.key(ctx.tenant_id, rule_key))
    except DoesNotExist:
        rule = None
    if rule is None:
        rule = new_rule(ctx.tenant_id, ctx.user_id, rule_key, **body)
        changes.create(rule, "numbering_rule", rule_key, ctx.user_id)
        return out(rule)
    if expected is None:
        raise PreconditionRequired()
    changes.save(rule, "numbering_rule", rule_key, ctx.user_id, body, expected)
    return out(rule)


def next_number(rule_key: str) -> dict[str, Any]:
    ctx = context.current()
    session.principal().require(MODULE, "manage")
    return draw(ctx.tenant_id, rule_key)
