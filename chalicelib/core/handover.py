"""Hand-over (交接) of a leaving user's records: each module that owns records registers
how to move them; the org module runs them all. Keeps org free of imports of the
modules that depend on it."""
from __future__ import annotations

from collections.abc import Callable

# module -> fn(tenant_id, from_user_id, to_user_id, actor_id) -> number of records moved
_TRANSFERS: dict[str, Callable[[str, str, str, str], int]] = {}


def register(module: str, fn: Callable[[str, str, str, str], int]) -> None:
    _TRANSFERS[module] = fn


def transfers() -> dict[str, Callable[[str, str, str, str], int]]:
    return dict(_TRANSFERS)
