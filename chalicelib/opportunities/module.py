"""Opportunities in the module manifest: the record type, its own routes, transfer notifications."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import OPPORTUNITY

MODULE = Module(name="opportunities", label=("商机", "Opportunities"), entities=(OPPORTUNITY,), blueprint=routes_of("opportunities"),
                notifications=("opportunities.opportunity.transferred",))
