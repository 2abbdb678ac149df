"""Products (产品, SALES-8) in the module manifest: the product record type and its category tree."""
from __future__ import annotations

from ..core.modules import Module, routes_of
from .entity import PRODUCT

MODULE = Module(name="products", label=("产品", "Products"), entities=(PRODUCT,), blueprint=routes_of("products"))
