"""How the middleware asks whether a signed-in user's session still holds.

Core knows no business module: the org module's check is wired in by the manifest
(`configure(org.check_session)`), so core never imports org.
"""
from __future__ import annotations

from collections.abc import Callable

SessionCheck = Callable[[str, str, int], None]  # (tenant_id, user_id, token issued_at) -> raises if not valid
_check: SessionCheck | None = None


def configure(check: SessionCheck) -> None:
    global _check
    _check = check


def check(tenant_id: str, user_id: str, issued_at: int) -> None:
    if _check is None:
        raise RuntimeError("the session check is not configured: call chalicelib.manifest.install()")
    _check(tenant_id, user_id, issued_at)


def configured() -> bool:
    return _check is not None
