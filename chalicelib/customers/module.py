"""Customers in the module manifest: the record type and its role grants (its rules are
the engine's; lock, pools, merge and the 360 view add their own hooks and routes)."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import CUSTOMER


def _handover_room(tenant_id: str, from_user_id: str, to_user_id: str) -> None:
    from .limits import check_handover

    check_handover(tenant_id, from_user_id, to_user_id)


MODULE = Module(
    name="customers",
    label=("客户", "Customers"),
    entities=(CUSTOMER,),
    blueprint=routes_of("customers"),
    notifications=("customers.customer.transferred",),
    handover_check=_handover_room,  # the receiver's ownership limits, before anything moves
)
