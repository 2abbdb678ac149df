"""Leads in the module manifest."""
from __future__ import annotations

from ..core.modules import Module
from .entity import LEAD


def _blueprint():
    from .api import bp

    return bp


MODULE = Module(name="leads", label=("线索", "Leads"), entities=(LEAD,), blueprint=_blueprint,
                notifications=("leads.lead.transferred",))
