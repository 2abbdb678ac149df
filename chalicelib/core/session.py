"""How the middleware asks whether a signed-in user's session still holds, and how any
module gets the caller as the permission rules see them (a Principal).

Core knows no business module: the org module's functions are wired in by the manifest
(`configure(org.check_session, org.principal)`), so neither core nor the modules the org
module builds on (dictionaries, numbering, fields) import org.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

SessionCheck = Callable[..., None]  # (tenant_id, user_id, token issued_at[, amr]) -> raises if not valid
_check: SessionCheck | None = None
_platform_check: SessionCheck | None = None
_principal: Callable[[], Any] | None = None


def configure(check: SessionCheck, principal: Callable[[], Any], platform_check: SessionCheck | None = None) -> None:
    global _check, _principal, _platform_check
    _check, _principal, _platform_check = check, principal, platform_check


def principal() -> Any:
    """The caller (core.permissions.Principal) of the current request context."""
    if _principal is None:
        raise RuntimeError("the principal source is not configured: call chalicelib.manifest.install()")
    return _principal()


def check(tenant_id: str, user_id: str, issued_at: int, amr: tuple[str, ...] = ()) -> None:
    """`amr`: the token's sign-in methods (core/auth.py), for the tenant's second-factor policy."""
    if _check is None:
        raise RuntimeError("the session check is not configured: call chalicelib.manifest.install()")
    _check(tenant_id, user_id, issued_at, amr)


def check_platform(tenant_id: str, user_id: str, issued_at: int) -> None:
    """The check of a platform operator's token (no tenant's session or policy applies to it)."""
    if _check is None:
        raise RuntimeError("the session check is not configured: call chalicelib.manifest.install()")
    if _platform_check is not None:
        _platform_check(tenant_id, user_id, issued_at)


def configured() -> bool:
    return _check is not None
