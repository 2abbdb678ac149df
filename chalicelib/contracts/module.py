"""Contracts in the module manifest: the record type (approved through the approval engine) and its routes."""
from __future__ import annotations

from ..core.modules import CalendarSource, Module, routes_of
from .entity import CONTRACT

MODULE = Module(name="contracts", label=("合同", "Contracts"), entities=(CONTRACT,), blueprint=routes_of("contracts"),
                notifications=("contracts.contract.transferred",),
                calendar=(CalendarSource("contract_end", "contract", "end_date"),))  # 合同到期 in the owner's calendar
