"""One small interface per outside service, each with its AWS adapter.

Clients are created on first use (never at import time) and shared per process.
"""
from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str, **config: Any) -> Any:
    """A cached boto3 client; the endpoint follows AWS_ENDPOINT_URL (local stack, moto).
    `config`: extra botocore Config options (e.g. the signature version of presigned URLs)."""
    from ..core.settings import get_settings

    region = get_settings().region
    key = f"{service}:{region}:{sorted(config.items())!r}"
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            _clients[key] = boto3.session.Session().client(
                service, region_name=region, config=Config(retries={"max_attempts": 3, "mode": "standard"}, **config))
        return _clients[key]


def reset() -> None:
    with _lock:
        _clients.clear()
