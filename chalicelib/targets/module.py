"""Targets, sales plans and territories in the module manifest: two permission modules
(`targets`: 业绩目标/销售计划, `territories`: 销售地域) with their default grants; the routes are
targets' (one blueprint)."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from ..org import service as org


def _targets_log(record_id: str) -> None:
    """A targets item's log holds every row of the year (company, departments, people): only for
    whoever may set them all."""
    from ..core.errors import Forbidden
    from ..core.permissions import Scope

    p = org.principal()
    p.require("targets", "manage")
    if Scope.ALL not in p.scopes("targets"):
        raise Forbidden()


def _territories_log(record_id: str) -> None:
    org.principal().require("territories", "manage")


MODULE = Module(name="targets", label=("业绩目标与销售计划", "Targets and sales plans"), blueprint=routes_of("targets"),
                roles={"admin": {"actions": ["read", "manage"], "scope": "all"},
                       "sales_manager": {"actions": ["read", "manage"], "scope": "department_tree"},
                       "sales_rep": {"actions": ["read"], "scope": "self"}},
                audit_access={"targets": _targets_log})
TERRITORIES = Module(name="territories", label=("销售地域", "Territories"),
                     roles={"admin": {"actions": ["read", "manage"]}, "sales_manager": {"actions": ["read"]},
                            "sales_rep": {"actions": ["read"]}, "service_agent": {"actions": ["read"]}},
                     audit_access={"territories": _territories_log})
