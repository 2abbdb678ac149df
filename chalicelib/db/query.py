"""Reading one partition of the table page by page (Query + cursor).

Lists a user browses come from the search index; this serves the table's own walks (a
user's reminders and notifications, hand-over, reindex). The cost of a page depends on
the page size, never on how many records the table holds.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..core import pagination
from ..core.errors import NotFound
from .base import Item

MAX_KEY = 2048  # bytes DynamoDB allows in a partition key (sort keys: 1024)


def _position(item: Item, index: str | None) -> list[str]:
    """Where the next page starts, as a cursor stores it: the last item's keys, less the partition
    the listing already names (the index's pk, or the table's pk)."""
    return [item.pk, item.sk, getattr(item, f"{index}sk")] if index else [item.sk]


def _start_key(position: Any, partition: str, index: str | None) -> dict[str, dict[str, str]]:
    """DynamoDB's ExclusiveStartKey from a cursor's position; anything but key strings is refused."""
    if not isinstance(position, list) or len(position) != (3 if index else 1):
        raise ValueError("not a position")
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_KEY for v in position):
        raise ValueError("not a position")
    if not index:
        return {"pk": {"S": partition}, "sk": {"S": position[0]}}
    pk, sk, index_sk = position
    return {"pk": {"S": pk}, "sk": {"S": sk}, f"{index}pk": {"S": partition}, f"{index}sk": {"S": index_sk}}


def _listing(partition: str, index: str | None, newest_first: bool, range_condition: Any, filter_condition: Any) -> str:
    """What a cursor of this Query is bound to: a cursor continues only the partition (and index,
    order and conditions) it was issued for."""
    conditions = ("" if c is None else str(c) for c in (range_condition, filter_condition))  # conditions refuse bool()
    return "|".join(("query", index or "table", partition, "desc" if newest_first else "asc", *conditions))


def _query(model: type[Item], index: str | None, partition: str, limit: int, start: dict | None,
           newest_first: bool, range_condition: Any = None, filter_condition: Any = None) -> tuple[list[Item], bool]:
    # Query through the base class: a subclass query would filter on its discriminator,
    # and partitions mix types (records + team members, records + counters). Callers
    # keep what they need with isinstance().
    target = getattr(Item, index) if index else Item
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
    """One partition, one Query per page. The cursor is signed (core/pagination.py) and bound to this
    partition, index, order and conditions, and to the caller."""
    listing = _listing(partition, index, newest_first, range_condition, filter_condition)
    start = pagination.decode(cursor, listing, lambda position: _start_key(position, partition, index))
    items, more = _query(model, index, partition, limit, start, newest_first, range_condition, filter_condition)
    next_cursor = pagination.encode(_position(items[-1], index), listing) if more and items else None
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
