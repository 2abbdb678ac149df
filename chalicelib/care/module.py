"""Customer care in the module manifest (its rules are part of customers' permissions; the moments
live on customers and contacts, whose definitions declare them)."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MODULE = Module(name="care", blueprint=routes_of("care"))
