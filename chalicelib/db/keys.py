"""Key builders. Every key starts with the tenant; nothing else builds keys by hand."""
from __future__ import annotations


def tenant_prefix(tenant_id: str) -> str:
    if not tenant_id or "#" in tenant_id:
        raise ValueError("invalid tenant id")
    return f"T#{tenant_id}"


def k(tenant_id: str, *parts: str) -> str:
    """`T#<tenant>#part#part…`"""
    for p in parts:
        if p is None:
            raise ValueError("key part missing")
    return "#".join((tenant_id and tenant_prefix(tenant_id), *parts))


def record_pk(tenant_id: str, entity: str, record_id: str) -> str:
    return k(tenant_id, entity.upper(), record_id)


RECORD_SK = "#"


def owner_list(tenant_id: str, entity: str, owner_id: str) -> str:
    return k(tenant_id, entity.upper(), "OWNER", owner_id)


def tenant_list(tenant_id: str, entity: str) -> str:
    return k(tenant_id, entity.upper())


def recycle_bin(tenant_id: str) -> str:
    return k(tenant_id, "BIN")


def org_partition(tenant_id: str) -> str:
    return k(tenant_id, "ORG")


def unique_pk(tenant_id: str, kind: str, value: str) -> str:
    return k(tenant_id, "UQ", kind, value)


def rate_bucket(tenant_id: str, *scope: str) -> str:
    """A rate-limit bucket: `T#<tenant>#RATE#<scope…>` (the tenant's API, or sign-in of one mobile)."""
    return k(tenant_id, "RATE", *scope)
