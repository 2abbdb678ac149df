"""Reading lists from the table: one partition, or several merged in key order.

`merged()` serves a data scope that spans several owner partitions (本人及下属, 本部门…):
one Query per partition per page, merged by sort key, with a cursor that remembers where
each partition stopped. The cost of a page depends on the page size and the number of
partitions, never on how many records the table holds.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from ..core.errors import ValidationFailed
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
        # a cursor may only continue the partition it was issued for
        pk_name = f"{index}pk" if index else "pk"
        if start.get(pk_name, {}).get("S") != partition:
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


def merged(model: type[Item], partitions: Iterable[str], *, index: str, limit: int, cursor: str | None,
           newest_first: bool = True) -> tuple[list[Item], str | None]:
    """Several partitions of one index merged by sort key; cursor = per-partition positions."""
    partitions = sorted(set(partitions))
    state: dict[str, Any] = decode(cursor) or {}
    if not isinstance(state, dict) or any(p not in partitions for p in state):
        raise ValidationFailed("INVALID_CURSOR")
    sort_attr = f"{index}sk"
    fetched: dict[str, tuple[list[Item], bool]] = {}
    for p in partitions:
        pos = state.get(p, None)
        if pos == "done":
            continue
        fetched[p] = _query(model, index, p, limit, pos, newest_first, None, None)
    heap: list[tuple[Any, str, int]] = []
    for p, (items, _) in fetched.items():
        for i, it in enumerate(items):
            key = getattr(it, sort_attr)
            heap.append(((_invert(key) if newest_first else key), p, i))
    heapq.heapify(heap)
    taken: list[tuple[str, int]] = []
    while heap and len(taken) < limit:
        _, p, i = heapq.heappop(heap)
        taken.append((p, i))
    out = [fetched[p][0][i] for p, i in taken]
    new_state: dict[str, Any] = {p: v for p, v in state.items() if v == "done"}
    last_taken: dict[str, int] = {}
    for p, i in taken:
        last_taken[p] = i
    for p, (items, more) in fetched.items():
        if p in last_taken:
            i = last_taken[p]
            exhausted = i == len(items) - 1 and not more
            new_state[p] = "done" if exhausted else _start_key(items[i], index)
        elif not items and not more:
            new_state[p] = "done"
        elif p in state:
            new_state[p] = state[p]
    finished = all(new_state.get(p) == "done" for p in partitions)
    return out, (None if finished else encode(new_state))


class _invert(str):
    """Reverse string order for a min-heap that must yield the largest key first."""

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)
