"""The record types the engine serves: the standard definitions the module manifest
installs (chalicelib/manifest.py) and each tenant's custom objects (through the loader the
manifest installs: objects/service.py), looked up by API name (customer, obj_ad_order) or
storage name (CUSTOMER, OBJ_AD_ORDER). Nothing lands here by being imported."""
from __future__ import annotations

from collections.abc import Callable

from .definition import EntityDef

CUSTOM_PREFIX = "obj_"
_standard: dict[str, EntityDef] = {}
_custom: dict[str, Callable] = {}  # "one": (tenant, key, fresh) -> EntityDef | None; "all": (tenant, hidden) -> [EntityDef]


def install(definitions: list[EntityDef]) -> None:
    _standard.clear()
    for d in definitions:
        if d.name in _standard:
            raise ValueError(f"record type {d.name} is declared twice")
        _standard[d.name] = d


def standard() -> dict[str, EntityDef]:
    """name -> definition of every standard record type, in manifest order."""
    return dict(_standard)


def install_custom(one: Callable[[str, str, bool], EntityDef | None], every: Callable[[str, bool], list[EntityDef]]) -> None:
    _custom["one"], _custom["all"] = one, every


def find(name: str, tenant_id: str | None = None, *, fresh: bool = False) -> EntityDef | None:
    """A definition by API name (customer, obj_ad_order) or storage name (CUSTOMER, OBJ_AD_ORDER);
    custom objects only with the tenant they belong to (`fresh`: re-read, not from the cache)."""
    name = name.lower()
    d = _standard.get(name)
    if d is None and tenant_id and name.startswith(CUSTOM_PREFIX) and "one" in _custom:
        d = _custom["one"](tenant_id, name[len(CUSTOM_PREFIX):], fresh)
    return d


def custom(tenant_id: str, *, include_hidden: bool = False) -> list[EntityDef]:
    """The tenant's custom objects (active ones, or every one)."""
    return _custom["all"](tenant_id, include_hidden) if "all" in _custom else []


def every(tenant_id: str, *, include_hidden: bool = False) -> list[EntityDef]:
    return [*_standard.values(), *custom(tenant_id, include_hidden=include_hidden)]


def by_module(module: str) -> list[EntityDef]:
    return [d for d in _standard.values() if d.module == module]
