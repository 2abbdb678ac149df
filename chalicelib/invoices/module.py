"""Invoices (发票) in the module manifest: the record type (approved through the approval engine) and its routes."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import INVOICE

MODULE = Module(name="invoices", label=("发票", "Invoices"), entities=(INVOICE,), blueprint=routes_of("invoices"),
                notifications=("invoices.invoice.transferred",))
