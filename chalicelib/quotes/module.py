"""Quotes in the module manifest: the record type (approved above the discount threshold) and its routes."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import QUOTE

MODULE = Module(name="quotes", label=("报价", "Quotes"), entities=(QUOTE,), blueprint=routes_of("quotes"),
                notifications=("quotes.quote.transferred",))
