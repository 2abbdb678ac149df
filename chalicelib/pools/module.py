"""Public pools in the module manifest."""
from __future__ import annotations

from ..core.modules import Module


def _blueprint():
    from .api import bp

    return bp


MODULE = Module(name="pools", blueprint=_blueprint)
