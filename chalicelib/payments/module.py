"""Payment plans and payments (回款) in the module manifest: two record types under contracts."""
from __future__ import annotations

from ..core.modules import Module
from .entity import PAYMENT, PLAN

MODULE = Module(name="payments", label=("回款", "Payments"), entities=(PLAN, PAYMENT),
                notifications=("payments.payment.transferred", "payments.payment_plan.transferred"))
