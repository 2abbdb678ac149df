"""What the tenant data role's policy would decide, evaluated on the DynamoDB requests a test makes.

moto does not evaluate IAM. `LeadingKeysCheck` stands in for it: on every DynamoDB request signed
with tenant credentials (chalicelib/db/credentials.py) it computes ``dynamodb:LeadingKeys`` the way
DynamoDB does (the table's partition key of each item touched; for a Query, the partition key
value of the table or index queried) and records the requests the policy's condition
``ForAllValues:StringLike {"dynamodb:LeadingKeys": ["T#${aws:PrincipalTag/tenant}#*"]}`` would refuse,
and any Scan (not granted at all).
"""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.db import credentials

_KEY_CONDITION = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def leading_keys(operation: str, params: dict[str, Any]) -> list[str] | None:
    """The partition key values IAM sees for one DynamoDB call; None for a call without any (Scan)."""
    def pk(item: dict[str, Any]) -> str:
        return item["pk"]["S"]

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [pk(params["Key"])]
    if operation == "PutItem":
        return [pk(params["Item"])]
    if operation == "BatchGetItem":
        return [pk(k) for t in params["RequestItems"].values() for k in t["Keys"]]
    if operation == "BatchWriteItem":
        return [pk(r["PutRequest"]["Item"]) if "PutRequest" in r else pk(r["DeleteRequest"]["Key"])
                for t in params["RequestItems"].values() for r in t]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            out.append(pk(body["Item"]) if kind == "Put" else pk(body["Key"]))
        return out
    if operation == "Query":
        hash_attr = f"{params['IndexName']}pk" if params.get("IndexName") else "pk"
        names = params.get("ExpressionAttributeNames", {})
        values = params.get("ExpressionAttributeValues", {})
        for name, value in _KEY_CONDITION.findall(params["KeyConditionExpression"]):
            if names.get(name) == hash_attr:
                return [values[value]["S"]]
        raise AssertionError(f"no partition key condition in {params['KeyConditionExpression']!r}")
    return None


@dataclass
class LeadingKeysCheck:
    role_arn: str
    refused: list[tuple[str, str, list[str] | None]] = field(default_factory=list)  # (tenant, operation, keys)
    signed: int = 0  # requests signed with tenant credentials

    def tenant_of(self, access_key: str) -> str | None:
        entries = credentials.cache(self.role_arn)._entries
        return next((t for t, e in entries.items() if e.credentials.access_key == access_key), None)

    def __call__(self, request: Any, operation_name: str, **_: Any) -> None:
        creds = request.context.get("signing", {}).get("request_credentials")
        if creds is None:
            return
        tenant = self.tenant_of(creds.access_key)
        if tenant is None:
            self.refused.append(("<credentials the cache does not hold>", operation_name, None))
            return
        self.signed += 1
        keys = leading_keys(operation_name, json.loads(request.body or b"{}"))
        pattern = f"T#{tenant}#*"
        if keys is None or not all(fnmatch.fnmatchcase(k, pattern) for k in keys):
            self.refused.append((tenant, operation_name, keys))

    def install(self, monkeypatch: Any) -> None:
        """Check every DynamoDB client the models and transactions use from now on."""
        original = credentials.scope_client

        def scope_and_check(client: Any) -> Any:
            original(client)
            if getattr(client, "_crm_leading_keys_check", None) is not self:
                client.meta.events.register_last("before-sign.dynamodb", self)
                client._crm_leading_keys_check = self
            return client

        monkeypatch.setattr(credentials, "scope_client", scope_and_check)
