"""Revisits in the module manifest."""
from __future__ import annotations

from ..core.modules import Module
from .entity import REVISIT

MODULE = Module(name="revisits", label=("客户回访", "Revisits"), entities=(REVISIT,))
