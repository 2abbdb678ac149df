"""Make moto's DynamoDB behave like DynamoDB under concurrency, and keep it fast.

`patch_dynamodb()` applies the patches below; the local stack (devstack.run.start_moto)
and the tests (tests/conftest.py) call it before moto serves a request.

- `serialize_dynamodb()`: DynamoDB applies each request atomically. moto's in-memory
  tables are plain dicts that concurrent requests (threads of the moto server, or of a
  test) can corrupt mid-request. Running one DynamoDB request at a time restores
  request-level atomicity; races *between* requests — the ones our conditions and
  transactions must handle — still happen.

- `journal_transactions()`: moto's TransactWriteItems backs up, for rollback, a deep copy
  of every table the transaction touches, once per item of the transaction — the whole
  table with its in-memory stream log, so an approval submit or decision (a few
  transactions) took hundreds of milliseconds, more as the table grew. Instead the items the
  transaction targets (and the length of each table's stream log) are saved before it
  runs and put back if it fails: the cost follows the transaction, not the table. moto's
  own code still evaluates the conditions and reports the cancellation reasons; its
  deep copy of a table is made the table itself for the duration of the call, so its
  restore (`self.tables[name] = backup`) is a no-op and the journal does the rollback.
  GSIs need no care: moto derives them from the table's items at query time.
"""
from __future__ import annotations

import copy
import functools
import inspect
import itertools
import threading
from dataclasses import dataclass
from typing import Any

_lock = threading.RLock()
_applied: set[str] = set()
_in_transaction = threading.local()


def patch_dynamodb() -> None:
    """Every patch of this module (idempotent)."""
    serialize_dynamodb()
    journal_transactions()
    expire_shard_iterators()


# ---- DynamoDB Streams: iterators expire -------------------------------------------------------

MAX_SHARD_ITERATORS = 1000


def expire_shard_iterators() -> None:
    """moto keeps every shard iterator it ever handed out (get_shard_iterator and each
    get_records' NextShardIterator) in a dict that only grows; the local stream driver asks for
    one or two per tick, so a stack left running grows by tens of thousands of them a day.
    DynamoDB expires an iterator after 15 minutes: here the oldest beyond the newest
    MAX_SHARD_ITERATORS are dropped (a client holding one that old gets moto's error for an
    unknown iterator, as it would get ExpiredIteratorException)."""
    if "iterators" in _applied:
        return
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def trimmed(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def call(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            out = fn(self, *args, **kwargs)
            with _lock:
                excess = len(self.shard_iterators) - MAX_SHARD_ITERATORS
                for key in list(itertools.islice(self.shard_iterators, max(0, excess))):
                    self.shard_iterators.pop(key, None)
            return out
        return call

    DynamoDBStreamsBackend.get_shard_iterator = trimmed(DynamoDBStreamsBackend.get_shard_iterator)  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = trimmed(DynamoDBStreamsBackend.get_records)  # type: ignore[method-assign]
    _applied.add("iterators")


def serialize_dynamodb() -> None:
    if "serialize" in _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self):  # type: ignore[no-untyped-def]
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied.add("serialize")


# ---- TransactWriteItems: item-level rollback ------------------------------------------------

# What the patch relies on in moto's source (whitespace removed); checked when applying it,
# so that a moto upgrade that changes any of it fails loudly instead of losing rollbacks.
_EXPECTED_SOURCE = {
    "DynamoDBBackend.transact_write_items": (
        # the backup: a deep copy of each table, restored by assignment
        "original_table_state[table_name]=copy.deepcopy(self.tables[table_name])",
        "self.tables[table_name]=original_table_state[table_name]",
        # how each operation finds its item's key
        'key={table.hash_key_attr:attrs[table.hash_key_attr]}',
        'key[table.range_key_attr]=attrs[table.range_key_attr]',
        'key=op["Key"]',
        "current=self.get_item(table_name,key)",
    ),
    "Table.put_item": (
        "self.items[hash_value][range_value]=item",
        "self.items[hash_value]=item",
        "self.stream_shard.add(current,item)",
    ),
    "Table.delete_item": (
        "item=self.items[hash_key].pop(range_key)",
        "item=self.items.pop(hash_key)",
        "self.stream_shard.add(item,None)",
    ),
    "StreamShard.add": ("self.items.append(StreamRecord(",),
}


def _check_moto_source(models: Any, table_module: Any) -> None:
    import moto

    objects = {
        "DynamoDBBackend.transact_write_items": models.DynamoDBBackend.transact_write_items,
        "Table.put_item": table_module.Table.put_item,
        "Table.delete_item": table_module.Table.delete_item,
        "StreamShard.add": table_module.StreamShard.add,
    }
    missing = []
    for name, fragments in _EXPECTED_SOURCE.items():
        source = "".join(inspect.getsource(objects[name]).split())
        missing += [f"{name}: {f}" for f in fragments if f not in source]
    if models.copy is not copy and not isinstance(models.copy, _CopyModule):
        missing.append("moto.dynamodb.models imports the copy module as `copy`")
    if missing:
        raise RuntimeError(
            f"devstack.moto_patches: moto {moto.__version__} no longer looks as the TransactWriteItems patch "
            "expects; review the patch against moto's source. Not found: " + "; ".join(missing))


class _CopyModule:
    """`copy` as moto.dynamodb.models sees it: the real module, except that a deep copy
    of a Table, made while this thread runs a journalled transaction, is the table itself."""

    def __init__(self, table_cls: type) -> None:
        self._table_cls = table_cls

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, x: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(_in_transaction, "active", False) and isinstance(x, self._table_cls):
            return x
        return copy.deepcopy(x, memo)


@dataclass
class _SavedItem:
    table: Any
    hash_key: Any
    range_key: Any
    item: Any  # a deep copy of the item before the transaction, or None if there was none
    had_bucket: bool  # tables with a sort key: whether items[hash_key] existed


@dataclass
class _SavedStream:
    shard: Any
    records: list
    length: int


def _save(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[list[_SavedItem], list[_SavedStream]]:
    """The items the transaction targets, keyed as moto's transact_write_items keys them.
    An operation whose key cannot be found here fails in moto before it writes anything."""
    items: dict[tuple[int, Any, Any], _SavedItem] = {}
    streams: dict[int, _SavedStream] = {}
    for entry in transact_items:
        try:
            ((op_type, op),) = entry.items()
            table = backend.get_table(op["TableName"])
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            hash_key, range_key = backend.get_keys_value(table, key)
        except Exception:  # noqa: BLE001 - moto reports this operation's error itself
            continue
        if (id(table), hash_key, range_key) in items:
            continue  # moto refuses two operations on one item
        bucket = table.items.get(hash_key)  # not table.get_item: items is a defaultdict
        if table.range_key_attr is None:
            current, had_bucket = bucket, bucket is not None
        else:
            current, had_bucket = (bucket.get(range_key) if bucket is not None else None), bucket is not None
        items[(id(table), hash_key, range_key)] = _SavedItem(table, hash_key, range_key, copy.deepcopy(current), had_bucket)
        shard = table.stream_shard
        if shard is not None and id(table) not in streams:
            streams[id(table)] = _SavedStream(shard, shard.items, len(shard.items))
    return list(items.values()), list(streams.values())


def _restore(items: list[_SavedItem], streams: list[_SavedStream]) -> None:
    for s in items:
        table = s.table
        if table.range_key_attr is None:
            if s.item is None:
                table.items.pop(s.hash_key, None)
            else:
                table.items[s.hash_key] = s.item
            continue
        if s.item is not None:
            table.items[s.hash_key][s.range_key] = s.item
            continue
        bucket = table.items.get(s.hash_key)
        if bucket is not None:
            bucket.pop(s.range_key, None)
            if not bucket and not s.had_bucket:
                del table.items[s.hash_key]
    # The records of the cancelled transaction go, as they did with moto's table copy; the
    # shard stays the same object (moto's copy replaced it, stranding shard iterators).
    for st in streams:
        del st.records[st.length:]
        st.shard.items = st.records


def journal_transactions() -> None:
    if "transactions" in _applied:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import table as table_module

    _check_moto_source(models, table_module)
    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        with _lock:  # held already when the request came through DynamoHandler
            items, streams = _save(self, transact_items)
            _in_transaction.active = True
            try:
                return original(self, transact_items)
            except BaseException:
                _restore(items, streams)
                raise
            finally:
                _in_transaction.active = False

    models.copy = _CopyModule(table_module.Table)  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied.add("transactions")
