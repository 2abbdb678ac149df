"""The DynamoDB table, from ``chalicelib/db/table_spec.py`` (``TABLE_SPEC``), and the item-level
access every principal of the stack gets to it."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

from infra.components.naming import Stage

#: DynamoDB actions the application uses. There is no ``Scan`` (request paths never scan)
#: and no table management. Transactions are authorised per item: TransactWriteItems by
#: Put/Update/DeleteItem and ConditionCheckItem, TransactGetItems by GetItem.
TABLE_ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)

#: What a function that only reads the table gets (``Function.table == "read"``).
TABLE_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def table_props_from_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Translate ``TABLE_SPEC`` (CreateTable vocabulary) into ``dynamodb.Table`` props.

    Global secondary indexes are returned under ``"global_secondary_indexes"`` as kwargs
    for ``Table.add_global_secondary_index``.
    """
    types = {a["AttributeName"]: _ATTRIBUTE_TYPES[a["AttributeType"]] for a in spec["AttributeDefinitions"]}

    def keys(schema: Sequence[Mapping[str, str]]) -> dict[str, dynamodb.Attribute]:
        roles = {"HASH": "partition_key", "RANGE": "sort_key"}
        return {
            roles[k["KeyType"]]: dynamodb.Attribute(name=k["AttributeName"], type=types[k["AttributeName"]])
            for k in schema
        }

    if spec.get("BillingMode") != "PAY_PER_REQUEST":
        raise ValueError("TABLE_SPEC must use on-demand billing (BillingMode PAY_PER_REQUEST)")

    indexes = []
    for gsi in spec.get("GlobalSecondaryIndexes", []):
        projection = gsi.get("Projection", {"ProjectionType": "ALL"})
        index: dict[str, Any] = {
            "index_name": gsi["IndexName"],
            **keys(gsi["KeySchema"]),
            "projection_type": dynamodb.ProjectionType[projection["ProjectionType"]],
        }
        if projection.get("NonKeyAttributes"):
            index["non_key_attributes"] = list(projection["NonKeyAttributes"])
        indexes.append(index)

    stream = spec.get("StreamSpecification", {})
    ttl = spec.get("TimeToLiveSpecification", {})
    return {
        **keys(spec["KeySchema"]),
        "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
        "stream": dynamodb.StreamViewType[stream["StreamViewType"]] if stream.get("StreamEnabled") else None,
        "time_to_live_attribute": ttl["AttributeName"] if ttl.get("Enabled") else None,
        "encryption": (
            dynamodb.TableEncryption.AWS_MANAGED
            if spec.get("SSESpecification", {}).get("Enabled")
            else dynamodb.TableEncryption.DEFAULT
        ),
        "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=bool(spec.get("PointInTimeRecovery"))
        ),
        "global_secondary_indexes": indexes,
    }


class Table:
    """The single table (``crm-<stage>``): keys, indexes, stream, TTL, PITR and SSE as the spec says;
    kept on deletion of a production stack, which also cannot delete it by accident."""

    def __init__(self, stage: Stage, spec: Mapping[str, Any]) -> None:
        props = table_props_from_spec(spec)
        indexes = props.pop("global_secondary_indexes")
        self.table = dynamodb.Table(
            stage.stack,
            "Table",
            table_name=stage.prefix,
            removal_policy=stage.removal_policy,
            deletion_protection=stage.is_production,
            **props,
        )
        for index in indexes:
            self.table.add_global_secondary_index(**index)
        self.index_names = [index["index_name"] for index in indexes]

    def resources(self) -> list[str]:
        """The table and each of its indexes, by name (no ``index/*`` wildcard)."""
        return [self.table.table_arn, *(f"{self.table.table_arn}/index/{name}" for name in self.index_names)]

    def item_statement(self) -> iam.PolicyStatement:
        """The item-level actions the application uses, on the table and its indexes."""
        return iam.PolicyStatement(actions=list(TABLE_ITEM_ACTIONS), resources=self.resources())

    def read_statement(self) -> iam.PolicyStatement:
        """Reads only (GetItem, BatchGetItem, Query), on the table and its indexes."""
        return iam.PolicyStatement(actions=list(TABLE_READ_ACTIONS), resources=self.resources())
