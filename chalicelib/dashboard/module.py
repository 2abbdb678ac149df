"""The dashboard (仪表盘) in the module manifest: routes only, no record type (its figures come from
the other modules' records, within each module's data scope)."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MODULE = Module(name="dashboard", blueprint=routes_of("dashboard"))
