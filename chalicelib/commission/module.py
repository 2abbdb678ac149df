"""Commission in the module manifest: its permission module, default grants and routes."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from ..org import service as org


def _log(record_id: str) -> None:
    org.principal().require("commission", "manage")


MODULE = Module(name="commission", label=("销售提成", "Commission"), blueprint=routes_of("commission"),
                roles={"admin": {"actions": ["read", "manage"], "scope": "all"},
                       "sales_manager": {"actions": ["read"], "scope": "self_and_subordinates"},
                       "sales_rep": {"actions": ["read"], "scope": "self"}},
                audit_access={"commission_plans": _log, "commission_close": _log})
