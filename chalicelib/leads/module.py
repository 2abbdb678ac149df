"""Leads in the module manifest."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import LEAD

MODULE = Module(name="leads", label=("线索", "Leads"), entities=(LEAD,), blueprint=routes_of("leads"),
                notifications=("leads.lead.transferred",))
