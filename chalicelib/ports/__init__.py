"""One small interface per outside service, each with its AWS adapter.

Clients are created on first use (never at import time) and shared per process.

Where they point: AWS, or the endpoint in AWS_ENDPOINT_URL (the moto server of the local stack,
the default; in-process moto in the tests), or — with CRM_LOCALSTACK_URL set (e.g.
http://localhost:4566) — a LocalStack, through localstack-client sessions (a development
dependency, imported only then: the Lambda runtime never needs it).
"""
from __future__ import annotations

import os
import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def localstack_url() -> str | None:
    """The LocalStack endpoint the clients use instead of AWS or moto (CRM_LOCALSTACK_URL), if any."""
    return os.environ.get("CRM_LOCALSTACK_URL", "").strip().rstrip("/") or None


def _session(region: str) -> Any:
    url = localstack_url()
    if url is None:
        import boto3

        return boto3.session.Session()
    from urllib.parse import urlsplit

    from localstack_client.session import Session  # development dependency, LocalStack only

    parts = urlsplit(url if "://" in url else f"http://{url}")
    return Session(region_name=region, localstack_host=f"{parts.hostname or 'localhost'}:{parts.port or 4566}")


def client(service: str, **config: Any) -> Any:
    """A cached boto3 client; the endpoint follows AWS_ENDPOINT_URL (local stack, moto), or
    CRM_LOCALSTACK_URL (LocalStack, through localstack-client). DynamoDB and S3 clients sign each
    call made on a tenant's request with that tenant's credentials (db/credentials.py). `config`: extra botocore Config
    options (e.g. the signature version of presigned URLs)."""
    from ..core.settings import get_settings
    from ..db import credentials

    region = get_settings().region
    key = f"{service}:{region}:{localstack_url()}:{sorted(config.items())!r}"
    with _lock:
        if key not in _clients:
            from botocore.config import Config

            _clients[key] = _session(region).client(
                service, region_name=region, config=Config(retries={"max_attempts": 3, "mode": "standard"}, **config))
        found = _clients[key]
    if service in credentials.TENANT_SCOPED_SERVICES:
        credentials.scope_client(found)  # a tenant's request signs with the tenant's credentials
    return found


def reset() -> None:
    with _lock:
        _clients.clear()
