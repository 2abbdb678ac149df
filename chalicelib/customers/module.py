"""Customers in the module manifest: the record type and its role grants (its rules are
the engine's; lock, pools, merge and the 360 view add their own hooks and routes)."""
from __future__ import annotations

from ..core.modules import Module
from .entity import CUSTOMER


def _blueprint():
    from .api import bp

    return bp

MODULE = Module(
    name="customers",
    label=("客户", "Customers"),
    entities=(CUSTOMER,),
    blueprint=_blueprint,
    notifications=("customers.customer.transferred",),
)
