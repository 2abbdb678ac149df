"""Reading one partition of the table page by page (Query + cursor).

Lists a user browses come from the search index; this serves the table's own walks (a
user's reminders and notifications, hand-over, reindex). The cost of a page depends on
the page size, never on how many records the table holds.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core.errors import NotFound, ValidationFailed
from ..core.pagination import decode, encode
from .base import Item


def _start_key(item: Item, index: str | None) -> dict[str, dict[str, str]]:
    key = {"pk": {"S": item.pk}, "sk": {"S": item.sk}}
    if index:
        key[f"{index}pk"] = {"S": getattr(item, f"{index}pk")}
        key[f"{index}sk"] = {"S": getattr(item, f"{index}sk")}
    return key


def _query(model: type[Item], index: str | None, partition: str, limit: int, start: dict | None,
           newest_first: bool, range_condition: Any = None, filter_condition: Any = None) -> tuple[list[Item], bool]:
    # Query through the base class: a subclass query would filter on its discriminator,
    # and partitions mix types (records + team members, records + counters). Callers
    # keep what they need with isinstance().
    target = getattr(Item, index) if index else Item
    if start is not None:
        # a cursor is a key this walk issued (_start_key) and may only continue the partition it was issued for;
        # anything else a client sends would reach DynamoDB as a malformed ExclusiveStartKey
        pk_name = f"{index}pk" if index else "pk"
        names = {"pk", "sk", *((f"{index}pk", f"{index}sk") if index else ())}
        if (not isinstance(start, dict) or set(start) != names
                or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in start.values())
                or start[pk_name]["S"] != partition):
            raise ValidationFailed("INVALID_CURSOR")
    result = target.query(
        partition,
        range_key_condition=range_condition,
        filter_condition=filter_condition,
        scan_index_forward=not newest_first,
        limit=limit,
        last_evaluated_key=start,
        page_size=limit,
    )
    items = list(result)
    more = result.last_evaluated_key is not None
    return items, more


def page(model: type[Item], partition: str, *, index: str | None = None, limit: int, cursor: str | None,
         newest_first: bool = True, range_condition: Any = None, filter_condition: Any = None) -> tuple[list[Item], str | None]:
    """One partition, one Query per page."""
    start = decode(cursor)
    items, more = _query(model, index, partition, limit, start, newest_first, range_condition, filter_condition)
    next_cursor = encode(_start_key(items[-1], index)) if more and items else None
    return items, next_cursor


def one(model: type[Item], pk: str, sk: str, name_key: str) -> Item:
    """One item of exactly this class by key, or 404 NOT_FOUND naming `name_key` (e.g. entity.form)."""
    try:
        item = model.get(pk, sk)
    except DoesNotExist:
        raise NotFound(name_key) from None
    if not isinstance(item, model):
        raise NotFound(name_key)
    return item
