"""The record types the engine serves: the standard definitions the module manifest
installs (chalicelib/manifest.py), looked up by API name (customer) or storage name
(CUSTOMER). Nothing lands here by being imported."""
from __future__ import annotations

from .definition import EntityDef

_standard: dict[str, EntityDef] = {}


def install(definitions: list[EntityDef]) -> None:
    _standard.clear()
    for d in definitions:
        if d.name in _standard:
            raise ValueError(f"record type {d.name} is declared twice")
        _standard[d.name] = d


def standard() -> dict[str, EntityDef]:
    """name -> definition of every standard record type, in manifest order."""
    return dict(_standard)


def find(name: str) -> EntityDef | None:
    """A standard definition by API name (customer) or storage name (CUSTOMER)."""
    return _standard.get(name.lower())


def by_module(module: str) -> list[EntityDef]:
    return [d for d in _standard.values() if d.module == module]
