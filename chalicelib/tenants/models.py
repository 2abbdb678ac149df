"""Tenants (租户).

Key design: pk = T#<tenant>#TENANT, sk = "#"; gsi2pk = PLATFORM#TENANTS, gsi2sk = <created>#<id>
(the platform operators' directory of tenants; the only key that does not start with a tenant).
The tenant's own rate limit (core/ratelimit.py) is read with one GetItem by the tenant key.
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Versioned


class Tenant(Versioned, discriminator="TENANT"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="active")
    # the tenant's own rate limit; both absent = the product defaults
    rate_limit_per_second = NumberAttribute(null=True)
    rate_limit_burst = NumberAttribute(null=True)

    @staticmethod
    def key(tenant_id: str) -> tuple[str, str]:
        return keys.k(tenant_id, "TENANT"), "#"

    def rate_limit(self) -> dict[str, Any] | None:
        if self.rate_limit_per_second is None or self.rate_limit_burst is None:
            return None
        return {"per_second": float(self.rate_limit_per_second), "burst": int(self.rate_limit_burst)}

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "rate_limit": self.rate_limit()}
