"""Tenants (租户).

Key design: pk = T#<tenant>#TENANT, sk = "#"; gsi2pk = PLATFORM#TENANTS, gsi2sk = <created>#<id>
(the platform operators' directory of tenants; the only key that does not start with a tenant).
"""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


class Tenant(Versioned, discriminator="TENANT"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="active")

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "TENANT"), "#"
