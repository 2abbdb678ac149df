"""The one table's physical definition.

Single source for the CDK stack (infra/) and the local stack (devstack/): both build the
table from TABLE_SPEC, so what runs locally is what is deployed.

Keys are overloaded; every value starts with the tenant (`T#<tenant>#…`), except the
platform-level tenant directory. What each index serves:

- pk/sk     the item itself and its own collection (record + its audit log + team).
- gsi1      "owner lists": one partition per (tenant, entity, owner) — my customers,
            my reminders, my unread notifications, records shared with me through a team.
- gsi2      "tenant lists": one partition per (tenant, entity) ordered by time — all
            customers, the recycle bin, the audit log of a month, the tenant directory.
- gsi3      "parent collections": every child keyed by its parent record, so a
            customer with all related records is one Query (customer 360).
- gsi4      "tenant walk" (keys only): every item of a tenant, spread over WALK_SHARDS
            partitions `T#<tenant>#ALL#<n>` (n from the item's pk), sort key = the item's pk.
            Backups read a tenant's items with it (then BatchGetItem), and a restore checks
            that its target tenant is empty, without a Scan. Set on every write by the
            base model (db/base.py); items written outside it (rate buckets) carry none.
- gsi5      "families" (sparse): every record that has a parent, keyed by the root of its
            family — gsi5pk = the record partition of the record whose 360 lists it: its
            parent, or its grandparent when the parent's type rolls up (a contract's payment
            plans, payments and invoices sit in the customer's family); gsi5sk =
            `<PARENT ENTITY>#<parent id>#<ENTITY>#<created>#<id>`. A customer 360 is one GetItem
            and one Query whatever the number of contracts (engine/family.py). Records without
            a parent carry none.
"""
from __future__ import annotations

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"
INDEXES = ("gsi1", "gsi2", "gsi3")
WALK_INDEX = "gsi4"
WALK_SHARDS = 8
FAMILY_INDEX = "gsi5"

TABLE_SPEC: dict = {
    "KeySchema": [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in (PARTITION_KEY, SORT_KEY, *[f"{i}{k}" for i in (*INDEXES, WALK_INDEX, FAMILY_INDEX) for k in ("pk", "sk")])
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{index}pk", "KeyType": "HASH"},
                {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index in INDEXES
    ] + [
        {
            "IndexName": WALK_INDEX,
            "KeySchema": [
                {"AttributeName": f"{WALK_INDEX}pk", "KeyType": "HASH"},
                {"AttributeName": f"{WALK_INDEX}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},  # updates that keep the keys cost the index nothing
        },
        {
            "IndexName": FAMILY_INDEX,
            "KeySchema": [
                {"AttributeName": f"{FAMILY_INDEX}pk", "KeyType": "HASH"},
                {"AttributeName": f"{FAMILY_INDEX}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},  # the 360 reads whole records from it
        },
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    "SSESpecification": {"Enabled": True},
    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    "PointInTimeRecovery": True,
}


def create_table_kwargs(table_name: str) -> dict:
    """Arguments for DynamoDB CreateTable (local stack and tests)."""
    spec = {k: v for k, v in TABLE_SPEC.items() if k not in ("TimeToLiveSpecification", "PointInTimeRecovery", "SSESpecification")}
    return {"TableName": table_name, **spec}


def create_table(client, table_name: str) -> None:
    """Create the table with its TTL setting, idempotently."""
    try:
        client.create_table(**create_table_kwargs(table_name))
    except client.exceptions.ResourceInUseException:
        return
    client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=TABLE_SPEC["TimeToLiveSpecification"])
