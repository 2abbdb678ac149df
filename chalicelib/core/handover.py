"""Hand-over (交接) of a leaving user's records: each module that owns records registers
how to move them — and, when moving may be refused, how to tell beforehand; the org module
runs every check first, then every move. Modules whose work waits on people (approvals) also
register what happens when a user is disabled. Keeps org free of imports of the modules that
depend on it."""
from __future__ import annotations

from collections.abc import Callable

# module -> fn(tenant_id, from_user_id, to_user_id, actor_id) -> number of records moved
_TRANSFERS: dict[str, Callable[[str, str, str, str], int]] = {}
# module -> fn(tenant_id, from_user_id, to_user_id): raises a DomainError when the module's records cannot all move
_CHECKS: dict[str, Callable[[str, str, str], None]] = {}
# module -> fn(tenant_id, user_id, actor_id) -> items moved: what a disabled user was waiting to do goes to others
_ON_DISABLED: dict[str, Callable[[str, str, str], int]] = {}


def register(module: str, fn: Callable[[str, str, str, str], int]) -> None:
    _TRANSFERS[module] = fn


def transfers() -> dict[str, Callable[[str, str, str, str], int]]:
    return dict(_TRANSFERS)


def register_check(module: str, fn: Callable[[str, str, str], None]) -> None:
    _CHECKS[module] = fn


def checks() -> dict[str, Callable[[str, str, str], None]]:
    return dict(_CHECKS)


def register_on_disabled(module: str, fn: Callable[[str, str, str], int]) -> None:
    _ON_DISABLED[module] = fn


def on_disabled() -> dict[str, Callable[[str, str, str], int]]:
    return dict(_ON_DISABLED)
