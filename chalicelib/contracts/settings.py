"""The tenant's deal rules (销售设置), set by administrators (`contracts:manage`):

- `quote_discount_threshold` (%): a quote whose discount off list prices (让利) is above it is sent
  to the customer only once approved (business type `quote`); at or below it, no approval is needed.
- `credit_control`: what happens when a contract would push its customer's open receivables
  (未回款 of its approved contracts in force, plus this contract's amount) over the customer's
  credit limit (信用额度; customers without a limit are not checked): `block` refuses the submit
  (422 CREDIT_LIMIT_EXCEEDED), `approval` sends the contract to the flow of business type
  `credit_flow` (default `contract_credit`: 超信用额度合同审批) instead of the usual contract flow,
  `off` checks nothing.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core.cache import TenantCache
from ..core.settings import get_settings
from ..db import changes
from ..db.base import plain
from ..org import service as org
from .models import SalesSettings

MODULE = "contracts"
DEFAULTS: dict[str, Any] = {"quote_discount_threshold": 10, "credit_control": "block", "credit_flow": "contract_credit"}


def _load(tenant_id: str) -> tuple[dict[str, Any], int]:
    try:
        item = SalesSettings.get(*SalesSettings.key(tenant_id))
    except DoesNotExist:
        return dict(DEFAULTS), 0
    return {**DEFAULTS, **(plain(item.rules) or {})}, int(item.version)


_cache: TenantCache[tuple[dict[str, Any], int]] = TenantCache(_load, lambda: get_settings().settings_cache_seconds)


def rules(tenant_id: str, fresh: bool = False) -> dict[str, Any]:
    return _cache.get(tenant_id, fresh=fresh)[0]


def get() -> dict[str, Any]:
    p = org.principal()
    p.require(MODULE, "read")
    found, version = _cache.get(p.tenant_id, fresh=True)
    return {**found, "version": version}


def put(values: dict[str, Any], expected: int | None) -> dict[str, Any]:
    """Replace the rules (contracts:manage); the first save needs no version."""
    p = org.principal()
    p.require(MODULE, "manage")
    item = changes.put_setting(SalesSettings, SalesSettings.key(p.tenant_id), p.tenant_id, p.user_id, "sales_settings", "rules",
                               {"rules": values}, expected)
    _cache.invalidate(p.tenant_id)
    return {**DEFAULTS, **values, "version": int(item.version)}
