"""PynamoDB base model of the single table, and the connection it shares.

All item classes derive from `Item` and are told apart by the `type` discriminator, so a
Query over a partition or an index returns the right classes at once. The table name and
endpoint come from settings when the first call is made (never at import time); the
endpoint follows botocore's AWS_ENDPOINT_URL like every other client.
"""
from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

from pynamodb.attributes import (
    Attribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ..core.settings import get_settings
from . import credentials as tenant_credentials
from .table_spec import WALK_SHARDS


class DecimalAttribute(Attribute[Decimal]):
    """Exact decimal numbers (money, rates) stored as DynamoDB numbers, never via float."""

    attr_type = NUMBER

    def serialize(self, value: Decimal | int | float | str) -> str:
        return str(Decimal(str(value)))

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class _Index(GlobalSecondaryIndex):
    @classmethod
    def build(cls, name: str) -> "_Index":
        meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
        attrs = {
            "Meta": meta,
            f"{name}pk": UnicodeAttribute(hash_key=True),
            f"{name}sk": UnicodeAttribute(range_key=True),
        }
        return type(f"{name.upper()}Index", (GlobalSecondaryIndex,), attrs)()


class _LazyMeta:
    """Model.Meta whose table name and region are read from settings when used."""

    @property
    def table_name(self) -> str:  # type: ignore[override]
        return get_settings().table_name

    @property
    def region(self) -> str:
        return get_settings().region

    @property
    def host(self) -> str | None:
        """None: botocore's endpoint (AWS, or AWS_ENDPOINT_URL); a LocalStack when CRM_LOCALSTACK_URL is set."""
        from ..ports import localstack_url

        return localstack_url()

    max_retry_attempts = 3
    billing_mode = "PAY_PER_REQUEST"


class Item(Model):
    """Every item of the table. Subclasses declare `discriminator="…"`."""

    Meta = _LazyMeta()  # type: ignore[assignment]

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    type = DiscriminatorAttribute()
    tenant_id = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    gsi4pk = UnicodeAttribute(null=True)  # the tenant walk (table_spec.py): set on every write, see walk_keys()
    gsi4sk = UnicodeAttribute(null=True)
    gsi5pk = UnicodeAttribute(null=True)  # a record's family (table_spec.py, engine/family.py)
    gsi5sk = UnicodeAttribute(null=True)

    gsi1 = _Index.build("gsi1")
    gsi2 = _Index.build("gsi2")
    gsi3 = _Index.build("gsi3")
    gsi5 = _Index.build("gsi5")

    @classmethod
    def _get_connection(cls) -> Any:  # type: ignore[override]
        """PynamoDB's cached connection, its client signing with the tenant's credentials (db/credentials.py)."""
        conn = super()._get_connection()
        tenant_credentials.scope_connection(conn.connection)
        return conn

    # ---- the tenant walk: every put and update of an item of a tenant carries its gsi4 keys ----
    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        walk = walk_keys(self.pk) if getattr(self, "pk", None) else None
        if walk is not None:
            self.gsi4pk, self.gsi4sk = walk
        return super().serialize(null_check=null_check)

    def _walk_actions(self) -> list[Any]:
        walk = walk_keys(self.pk) if getattr(self, "pk", None) else None
        return [] if walk is None else [Item.gsi4pk.set(walk[0]), Item.gsi4sk.set(walk[1])]

    def update(self, actions: list, condition: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().update([*actions, *self._walk_actions()], condition, **kwargs)

    def get_update_kwargs_from_instance(self, actions: list, condition: Any = None, *args: Any, **kwargs: Any) -> dict:  # type: ignore[override]
        return super().get_update_kwargs_from_instance([*actions, *self._walk_actions()], condition, *args, **kwargs)


def walk_keys(pk: str) -> tuple[str, str] | None:
    """The tenant-walk keys of an item (gsi4): `T#<tenant>#ALL#<shard>` and its pk; None for a
    key that does not start with a tenant."""
    if not pk.startswith("T#"):
        return None
    tenant = pk.split("#", 2)[1]
    return walk_partition(tenant, zlib.crc32(pk.encode()) % WALK_SHARDS), pk


def walk_partition(tenant_id: str, shard: int) -> str:
    return f"T#{tenant_id}#ALL#{shard}"


class Versioned(Item):
    """Mutable items: optimistic locking through `version` (PynamoDB adds the condition)."""

    version = VersionAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()


_connection: Connection | None = None


def connection() -> Connection:
    """The low-level connection used for transactions and batch reads."""
    global _connection
    s = get_settings()
    if _connection is None or _connection.region != s.region:
        from ..ports import localstack_url

        _connection = Connection(region=s.region, host=localstack_url())
    tenant_credentials.scope_connection(_connection)
    return _connection


def reset_connections() -> None:
    """Drop cached clients (tests switch between moto back ends)."""
    global _connection
    _connection = None
    tenant_credentials.reset()
    stack: list[type] = [Item]
    while stack:
        cls = stack.pop()
        cls._connection = None  # type: ignore[attr-defined]
        stack.extend(cls.__subclasses__())


def plain(value: Any) -> Any:
    """PynamoDB attribute values -> JSON-friendly Python (MapAttribute, sets, Decimals)."""
    from decimal import Decimal

    from pynamodb.attributes import MapAttribute

    if isinstance(value, MapAttribute):
        return {k: plain(v) for k, v in value.attribute_values.items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return sorted(plain(v) for v in value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


__all__ = ["DecimalAttribute", "Item", "Versioned", "NumberAttribute", "UnicodeAttribute", "connection", "reset_connections", "plain"]
