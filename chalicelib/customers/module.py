"""Customers in the module manifest: the record type and its role grants (its rules are
the engine's; lock, pools, merge and the 360 view add their own hooks and routes)."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import CUSTOMER

MODULE = Module(
    name="customers",
    label=("客户", "Customers"),
    entities=(CUSTOMER,),
    blueprint=routes_of("customers"),
    notifications=("customers.customer.transferred",),
)
