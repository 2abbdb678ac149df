"""Opportunities in the module manifest: the record type, its own routes, transfer notifications."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from ..leads import service as leads
from .entity import OPPORTUNITY, conversion_step

leads.register_step(conversion_step)  # a lead's conversion may create an opportunity with its customer

MODULE = Module(name="opportunities", label=("商机", "Opportunities"), entities=(OPPORTUNITY,), blueprint=routes_of("opportunities"),
                notifications=("opportunities.opportunity.transferred",))
