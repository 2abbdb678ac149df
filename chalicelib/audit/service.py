"""Reading the operation log: per record (whoever may read the record) and tenant-wide
(admins: audit:list). Entries are written by db/records and the services themselves."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import clock
from ..db import audit, keys, query
from ..db.audit import AuditEntry
from ..org import service as org

MODULE = "audit"


def _customer_access(record_id: str) -> None:
    from ..customers import service as customers

    customers.audit_access(record_id)


def _application_access(record_id: str) -> None:
    from ..forms import service as forms

    forms.get_application(record_id)  # the applicant, admins and the approval's participants


def _org_access(record_id: str) -> None:
    org.principal().require("org", "read")


# entity -> who may read its log (besides audit admins)
ACCESS: dict[str, Callable[[str], None]] = {
    "customer": _customer_access,
    "application": _application_access,
    "department": _org_access,
    "user": _org_access,
    "role": _org_access,
}


def record_log(entity: str, record_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    entity = entity.lower()
    if not p.can(MODULE, "list"):
        check = ACCESS.get(entity)
        if check is None:
            p.require(MODULE, "list")
        else:
            check(record_id)
    # always the caller's own tenant partition: another tenant's id finds nothing
    items, nxt = query.page(AuditEntry, keys.k(p.tenant_id, "LOG", entity.upper(), record_id), limit=limit, cursor=cursor)
    return [audit.as_dict(e) for e in items], nxt


def tenant_log(month: str | None, user_id: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    p = org.principal()
    p.require(MODULE, "list")
    if user_id:
        partition, index = keys.k(p.tenant_id, "AUDIT", "USER", user_id), "gsi1"
    else:
        partition, index = keys.k(p.tenant_id, "AUDIT", month or clock.now_iso()[:7]), "gsi2"
    items, nxt = query.page(AuditEntry, partition, index=index, limit=limit, cursor=cursor)
    return [audit.as_dict(e) for e in items], nxt
