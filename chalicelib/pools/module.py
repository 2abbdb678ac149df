"""Public pools in the module manifest."""
from __future__ import annotations

from ..core.modules import Module, routes_of

MODULE = Module(name="pools", blueprint=routes_of("pools"))
