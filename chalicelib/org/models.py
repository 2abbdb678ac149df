"""Organisation items. All live in the tenant's org partition so that one Query loads the
whole organisation (departments, users, roles) for the permission rules.

Key design:
- Department: pk = T#<t>#ORG, sk = DEPT#<id>
- User:       pk = T#<t>#ORG, sk = USER#<id>
- Role:       pk = T#<t>#ORG, sk = ROLE#<id>
- Unique mobile (login): pk = T#<t>#UQ#MOBILE#<mobile>, sk = "UQ" -> user id (the
  uniqueness guard, written in the user's create transaction; also the login lookup).
Access patterns: org snapshot = 1 Query (cached per container); any item = 1 GetItem.
"""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from ..db import keys
from ..db.base import Item, Versioned
from ..db.unique import UniqueValue


class Department(Versioned, discriminator="DEPT"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    head_user_id = UnicodeAttribute(null=True)
    sort_order = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, dept_id: str) -> tuple[str, str]:
        return keys.org_partition(tenant_id), f"DEPT#{dept_id}"

    def values(self) -> dict:
        return {"name": self.name, "parent_id": self.parent_id, "head_user_id": self.head_user_id, "sort_order": int(self.sort_order or 0)}


class User(Versioned, discriminator="USER"):
    id = UnicodeAttribute()
    mobile = UnicodeAttribute()
    name = UnicodeAttribute()
    gender = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    department_id = UnicodeAttribute()
    position = UnicodeAttribute(null=True)
    supervisor_id = UnicodeAttribute(null=True)
    role_ids = ListAttribute(of=UnicodeAttribute, default=list)
    status = UnicodeAttribute(default="active")
    tokens_valid_after = NumberAttribute(default=0)

    @staticmethod
    def key(tenant_id: str, user_id: str) -> tuple[str, str]:
        return keys.org_partition(tenant_id), f"USER#{user_id}"

    def values(self) -> dict:
        return {"mobile": self.mobile, "name": self.name, "gender": self.gender, "email": self.email,
                "department_id": self.department_id, "position": self.position, "supervisor_id": self.supervisor_id,
                "role_ids": list(self.role_ids or []), "status": self.status}


class Role(Versioned, discriminator="ROLE"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    is_super = BooleanAttribute(default=False)
    builtin = BooleanAttribute(default=False)
    actions = JSONAttribute(default=dict)  # module -> [action]
    scopes = JSONAttribute(default=dict)  # module -> scope
    fields = JSONAttribute(default=dict)  # module -> {field: hidden|masked|read|edit}

    @staticmethod
    def key(tenant_id: str, role_id: str) -> tuple[str, str]:
        return keys.org_partition(tenant_id), f"ROLE#{role_id}"

    def values(self) -> dict:
        return {"name": self.name, "description": self.description, "is_super": bool(self.is_super),
                "actions": self.actions, "scopes": self.scopes, "fields": self.fields}


class LoginFailures(Item, discriminator="LOGINFAIL"):
    """Failed sign-ins of one mobile number in the current window.

    pk = T#<t>#LOGINFAIL#<mobile>, sk = "#"; `count` grows atomically, the window ends at
    `expires_at` (also the TTL), a successful sign-in deletes the item."""

    count = NumberAttribute(default=0)


__all__ = ["UniqueValue"]  # re-exported: org's unique mobile numbers use the table's unique-value items
