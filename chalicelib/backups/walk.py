"""Every item of one tenant, read without a Scan, and the same items under another tenant.

The tenant walk (gsi4, chalicelib/db/table_spec.py) holds the keys of every item whose pk
starts with the tenant, spread over WALK_SHARDS partitions. `pages()` queries each shard in
turn (keys only) and reads the items with BatchGetItem (consistent reads of the table), one
page at a time, so memory does not grow with the tenant; its position (shard + the index's
LastEvaluatedKey) is a checkpoint a job can resume from.

Items are kept as DynamoDB JSON (`{"pk": {"S": …}, …}`): a backup holds exactly what the
table holds (numbers, sets, maps and the JSON text of JSON attributes, as stored).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..core import clock
from ..core.settings import get_settings
from ..db.base import walk_keys, walk_partition
from ..db.table_spec import WALK_INDEX, WALK_SHARDS
from ..ports import client

# Item types that are never part of a backup: request bookkeeping (idempotency markers,
# sign-in failure counters and open second-factor challenges), second factors (their `secret` is
# the raw TOTP seed: a backup must not hand it to whoever reads backups, and a restore must not
# bring back an authenticator an administrator has reset — users enrol again after a restore),
# task tokens of running Step Functions executions, background jobs, and the backups' own items
# (their list, schedule and restore markers); the tenant's unsubscribe-link signing key (MAILSET: a
# restored tenant makes its own on its first bulk mail).
NOT_BACKED_UP = frozenset({"IDEM", "LOGINFAIL", "SIGNIN", "MFA", "APPROVAL_TOKEN", "RATE", "JOB", "BACKUP", "BACKUP_SCHEDULE",
                           "RESTORE", "MAILSET"})
# Attributes that never leave the table, per item type: the signing secrets of webhooks and inbound
# channels (whoever holds an archive could otherwise sign requests into the tenant's channels, or
# pose as the CRM to the receivers of its webhooks). The items themselves are backed up without
# them; a restore brings them back disabled (`restored`), and an administrator rotates the secret
# before enabling. Password hashes (CRED) stay: the same users sign in after a restore.
SECRETS: dict[str, tuple[str, ...]] = {"WEBHOOK": ("secret",), "INBOUND": ("secret",)}
PAGE = 100  # BatchGetItem's limit


def _ddb() -> Any:
    return client("dynamodb")  # a tenant's request reads with the tenant's credentials (ports.client)


def type_of(item: dict[str, Any]) -> str:
    return (item.get("type") or {}).get("S", "")


def kept(item: dict[str, Any], now_epoch: int) -> bool:
    """Whether an item belongs in a backup (its TTL, if any, has not passed)."""
    if type_of(item) in NOT_BACKED_UP:
        return False
    ttl = (item.get("expires_at") or {}).get("N")
    return ttl is None or int(float(ttl)) > now_epoch


def archived(item: dict[str, Any]) -> dict[str, Any]:
    """The item as an archive holds it: without its secrets (SECRETS)."""
    names = SECRETS.get(type_of(item))
    return {k: v for k, v in item.items() if k not in names} if names else item


def restored(item: dict[str, Any]) -> dict[str, Any]:
    """The item as a restore writes it: without secrets (an archive made before they were left out
    holds them), and a webhook or channel disabled until an administrator rotates its secret."""
    if type_of(item) not in SECRETS:
        return item
    return {**archived(item), "enabled": {"BOOL": False}}


def _batch_get(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = get_settings().table_name
    out: list[dict[str, Any]] = []
    request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
    for _ in range(20):
        r = _ddb().batch_get_item(RequestItems=request)
        out.extend(r.get("Responses", {}).get(table, []))
        request = r.get("UnprocessedKeys") or {}
        if not request:
            break
    else:
        raise RuntimeError("BatchGetItem left keys unprocessed")
    return sorted(out, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def key_page(tenant_id: str, shard: int, after: dict[str, Any] | None, limit: int = PAGE) -> tuple[list[dict[str, Any]], dict | None]:
    """One page of the tenant's item keys in one shard of the walk, and where the next begins."""
    args: dict[str, Any] = {
        "TableName": get_settings().table_name, "IndexName": WALK_INDEX, "Limit": limit,
        "KeyConditionExpression": "#p = :p", "ExpressionAttributeNames": {"#p": f"{WALK_INDEX}pk"},
        "ExpressionAttributeValues": {":p": {"S": walk_partition(tenant_id, shard)}}}
    if after:
        args["ExclusiveStartKey"] = after
    r = _ddb().query(**args)
    return [{"pk": i["pk"], "sk": i["sk"]} for i in r.get("Items", [])], r.get("LastEvaluatedKey")


def pages(tenant_id: str, position: dict[str, Any] | None = None) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """(items of the backup, the position after them — None at the end), page by page, from `position`."""
    shard = int((position or {}).get("shard", 0))
    after = (position or {}).get("after")
    while shard < WALK_SHARDS:
        keys, after = key_page(tenant_id, shard, after)
        now = int(clock.now().timestamp())
        items = [i for i in _batch_get(keys) if kept(i, now)] if keys else []
        if after is None:
            shard, after = shard + 1, None
        yield items, ({"shard": shard, "after": after} if shard < WALK_SHARDS else None)


def is_empty(tenant_id: str, ignore: frozenset[str] = frozenset({"JOB", "RESTORE"})) -> bool:
    """Whether the tenant holds no item (its jobs and a restore's own marker aside): a few
    one-item Queries of the walk, never a Scan."""
    for shard in range(WALK_SHARDS):
        after = None
        while True:
            keys, after = key_page(tenant_id, shard, after, limit=25)
            for k in keys:
                if not any(k["pk"]["S"].startswith(f"T#{tenant_id}#{kind}#") or k["pk"]["S"] == f"T#{tenant_id}#{kind}"
                           for kind in ignore):
                    return False
            if after is None:
                break
    return True


# ---- another tenant -----------------------------------------------------------------------------
def text(value: str, source: str, target: str) -> str:
    if source not in value:
        return value
    if value == f"T#{source}":
        return f"T#{target}"
    return value.replace(f"T#{source}#", f"T#{target}#").replace(f"tenants/{source}/", f"tenants/{target}/")


def _value(v: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    if "S" in v:
        return {"S": text(v["S"], source, target)}
    if "SS" in v:
        return {"SS": [text(s, source, target) for s in v["SS"]]}
    if "M" in v:
        return {"M": {k: _value(x, source, target) for k, x in v["M"].items()}}
    if "L" in v:
        return {"L": [_value(x, source, target) for x in v["L"]]}
    return v


def rewrite(item: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    """The item as it is in tenant `target`: every key and value that names the tenant — `T#<t>`,
    `T#<t>#…` anywhere in a string (keys, references, JSON text), object keys `tenants/<t>/…`, the
    `tenant_id` attribute, the tenant item's id — names the target; the walk keys follow the new pk."""
    out = {k: _value(v, source, target) for k, v in item.items()}
    if out.get("tenant_id", {}).get("S") == source:
        out["tenant_id"] = {"S": target}
    if type_of(out) == "TENANT":  # the tenant's own item: its id, and its place in the platform's directory
        out["id"] = {"S": target}
        if "gsi2sk" in out:
            out["gsi2sk"] = {"S": out["gsi2sk"]["S"].rsplit("#", 1)[0] + f"#{target}"}
    walk = walk_keys(out["pk"]["S"])
    if walk is not None:
        out[f"{WALK_INDEX}pk"], out[f"{WALK_INDEX}sk"] = {"S": walk[0]}, {"S": walk[1]}
    return out


def put_many(items: list[dict[str, Any]]) -> None:
    """Write items (BatchWriteItem by 25; a repeated write of the same item is harmless)."""
    table = get_settings().table_name
    for start in range(0, len(items), 25):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]}
        for _ in range(20):
            r = _ddb().batch_write_item(RequestItems=request)
            request = r.get("UnprocessedItems") or {}
            if not request:
                break
        else:
            raise RuntimeError("BatchWriteItem left items unprocessed")
