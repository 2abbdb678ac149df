"""Make moto's DynamoDB behave like DynamoDB under concurrency, and keep the local stack fast
however long it runs.

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

- `narrow_queries()`: moto's Query starts from every item of the table, sorted, whatever
  the key condition; a query's cost grew with the table. It now starts from the queried
  partition (a table or local index) or from the items holding the queried hash value
  (a global index, from a map kept up to date as items are written).

- `expire_shard_iterators()` and `trim_stream()`: the stream's iterators and the records
  that its reader has read no longer pile up.

- `journal_schedules()`: moto's Scheduler says which schedules changed, so the local
  schedule driver need not list them all on every tick (`schedule_feed()`).

- `cache_service_names()`: the moto server no longer lists its own package directory
  on every request to find the service a request is for.

- `settle_task_callbacks()`: a task token answered (SendTaskSuccess / Failure / Heartbeat) while
  another execution is starting no longer fails: moto offered the answer to every running
  execution, one of them still without its evaluation environment.

- `track_models_weakly()`: moto no longer keeps every model instance it ever made (every
  item copy, stream record, schedule...) for its dashboard.

- `cheap_queue_sends()`: an SQS SendMessage (an EventBridge rule's delivery to a subscriber's
  queue) no longer counts every message of the queue, so a send costs the same however many
  messages wait; `cache_event_paths()`: an EventBridge rule's delivery no longer builds a
  JSONPath parser for every event.

- `cheaper_items()`: moto checks an item's size as each attribute is set, summing every
  attribute set before (quadratic in the attributes: a record of 30 attributes, 465 size
  computations); the size is now summed once. A condition expression's text is split into
  tokens once, not for every item written with it, and a condition met again with the same
  names and values (an import's leases) is parsed once.

- `validate_definitions_once()`: a state machine definition is parsed once to be validated, not at
  every CreateStateMachine (each test's fresh account creates the same few).

- `plain_item_requests()`: DynamoDB's item reads and writes without blobs are taken as their JSON
  body says, instead of walking botocore's model for every attribute value of every item.
- `plain_item_responses()`: the answers of DynamoDB's item reads without blobs are written as their
  JSON, instead of walking botocore's model for every attribute value of every item returned.
"""
from __future__ import annotations

import calendar
import copy
import functools
import inspect
import itertools
import json
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_lock = threading.RLock()
_applied: set[str] = set()
_in_transaction = threading.local()


def patch_dynamodb() -> None:
    """Every patch of this module (idempotent): DynamoDB's, and those of the other services
    the local stack leans on."""
    serialize_dynamodb()
    journal_transactions()
    narrow_queries()
    expire_shard_iterators()
    journal_schedules()
    cache_service_names()
    track_models_weakly()
    settle_task_callbacks()
    cheap_queue_sends()
    cache_event_paths()
    cheaper_items()
    validate_definitions_once()
    plain_item_requests()
    plain_item_responses()


# ---- DynamoDB Streams: iterators expire, records read go ----------------------------------------

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


# What trim_stream relies on (whitespace removed): a record's sequence number is its place in
# shard.items counted from starting_sequence_number, and TRIM_HORIZON starts there.
_EXPECTED_STREAM_SOURCE = {
    "StreamShard.add": ("seq=len(self.items)+self.starting_sequence_number",),
    "StreamShard.get": ("start-=self.starting_sequence_number",),
    "ShardIterator.__init__": ("self.sequence_number=stream_shard.starting_sequence_number",),
}


def trim_stream(stream_arn: str, shard_id: str, through: str) -> int:
    """Drop the records of a table's stream up to sequence number `through`, which every reader
    of the stream has read; returns how many went. moto keeps every record of a stream for the
    table's life (DynamoDB keeps them 24 hours), each with its item's old and new images: the
    local stack's memory grew with every write. The shard starts later by as many records, so
    the sequence numbers of the records left and of those to come stay what they were, and a
    TRIM_HORIZON iterator starts at the oldest record left, as on DynamoDB."""
    from moto.dynamodb.models import dynamodb_backends

    _check_stream_source()
    _, _, _, region, account, resource = stream_arn.split(":", 5)
    with _lock:
        table = dynamodb_backends[account][region].tables.get(resource.split("/")[1])
        shard = table.stream_shard if table is not None else None
        if shard is None or shard.id != shard_id:
            return 0
        count = min(len(shard.items), int(through) - shard.starting_sequence_number + 1)
        if count <= 0:
            return 0
        del shard.items[:count]  # in place: a transaction's journal holds this list
        shard.starting_sequence_number += count
        return count


def _check_stream_source() -> None:
    if "trim" in _applied:
        return
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import ShardIterator

    objects = {"StreamShard.add": StreamShard.add, "StreamShard.get": StreamShard.get,
               "ShardIterator.__init__": ShardIterator.__init__}
    missing = [f"{name}: {f}" for name, fragments in _EXPECTED_STREAM_SOURCE.items()
               for f in fragments if f not in "".join(inspect.getsource(objects[name]).split())]
    if missing:
        raise RuntimeError("devstack.moto_patches: moto's stream shards no longer look as trim_stream expects. Not found: "
                           + "; ".join(missing))
    _applied.add("trim")


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
    for s in items:  # the index maps of narrow_queries() follow the items put back
        _reindex(s.table, s.hash_key, s.range_key)


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


# ---- Query: the queried partition, not the whole table ------------------------------------

NARROW_QUERIES = True  # the tests turn it off to compare with moto's own answers
_narrowed = threading.local()  # the query that runs on this thread: (table, its candidate items)

# What the patch relies on in Table.query (whitespace removed): it takes its candidates from
# all_items() and keeps those of the queried hash key (or index hash keys) itself.
_EXPECTED_QUERY_SOURCE = (
    "foriteminself.all_items():",
    "ifisinstance(item,Item)anditem.hash_key==hash_key",
    "forattr_name,expected_valueinall_hash_conditions.items():",
    "item_value=item.attrs.get(attr_name)",
)


def narrow_queries() -> None:
    """moto's Table.query walks `self.all_items()` — every item of the table, sorted — to keep
    those of the queried hash key: in a soak of 5,000 calls, Query came to a quarter of the
    stack's time, the larger the table the slower every list, inbox and lookup. Here, while a
    query runs, all_items() returns only the items that can match: the partition's items for
    the table or a local index, and for a global index the items that hold the queried hash
    value (`_IndexKeys`, built on the index's first query and kept up to date by the writes).
    moto's own code still matches, sorts, pages, filters, projects and counts them, so the
    answers are moto's; only the items it looks at are fewer."""
    if "queries" in _applied:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import table as table_module

    source = "".join(inspect.getsource(table_module.Table.query).split())
    missing = [f for f in _EXPECTED_QUERY_SOURCE if f not in source]
    if missing:
        raise RuntimeError(f"devstack.moto_patches: moto's Table.query no longer looks as narrow_queries expects: {missing}")
    table_cls = table_module.Table
    table_cls.query = _narrowing_query(table_cls.query)  # type: ignore[method-assign]
    table_cls.all_items = _narrowable_all_items(table_cls.all_items)  # type: ignore[method-assign]
    table_cls.put_item = _reindexing(table_cls.put_item, _key_of_put)  # type: ignore[method-assign]
    table_cls.delete_item = _reindexing(table_cls.delete_item, _key_of_delete)  # type: ignore[method-assign]
    backend_cls = models.DynamoDBBackend
    backend_cls.update_item = _reindexing(backend_cls.update_item, _key_of_update)  # type: ignore[method-assign]
    _applied.add("queries")


class _IndexKeys:
    """One global secondary index of one table: the table keys of the items holding each value
    of the index's hash key (a tuple of values: moto allows multi-attribute keys). An item that
    lacks one of those attributes is not in the index, as in DynamoDB."""

    def __init__(self, attrs: tuple[str, ...], items: Any) -> None:
        self.attrs = attrs
        self.keys_of: dict[tuple, set[tuple]] = {}  # hash value -> table keys
        self.value_of: dict[tuple, tuple] = {}  # table key -> hash value
        for item in items:
            self.note((item.hash_key, item.range_key), item)

    def note(self, key: tuple, item: Any | None) -> None:
        """The item of table key `key` is now `item` (None: there is none)."""
        old = self.value_of.pop(key, None)
        if old is not None:
            keys = self.keys_of[old]
            keys.discard(key)
            if not keys:
                del self.keys_of[old]
        value = None if item is None else tuple(item.attrs.get(a) for a in self.attrs)
        if value is not None and all(v is not None for v in value):
            self.value_of[key] = value
            self.keys_of.setdefault(value, set()).add(key)


def _index_maps(table: Any) -> dict[tuple, _IndexKeys]:
    """The table's index maps, by (index name, hash attributes); kept on the table, so that a
    new or restored table (a new object) starts without any."""
    maps = table.__dict__.get("_crm_index_keys")
    if maps is None:
        maps = table.__dict__["_crm_index_keys"] = {}
    return maps


def _stored_items(table: Any) -> Any:
    for bucket in list(table.items.values()):
        if table.range_key_attr is None:
            yield bucket
        else:
            yield from list(bucket.values())


def _stored(table: Any, hash_key: Any, range_key: Any) -> Any | None:
    """The item of a table key, without creating a partition (table.items is a defaultdict)."""
    bucket = table.items.get(hash_key)
    if bucket is None or table.range_key_attr is None:
        return bucket
    return bucket.get(range_key)


def _partition(table: Any, hash_key: Any) -> list[Any]:
    bucket = table.items.get(hash_key)
    if bucket is None:
        return []
    return [bucket] if table.range_key_attr is None else list(bucket.values())


def _candidates(table: Any, hash_key: Any, index_name: str | None, hash_conditions: Any) -> list[Any] | None:
    """The items a query can match, in (about) the order moto will sort them, or None when
    moto should look at every item (a shape of query this patch does not narrow; moto then
    also reports what is wrong with it)."""
    if index_name is None:
        return None if hash_key is None else _presorted(_partition(table, hash_key), (table.range_key_attr,))
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    wanted = dict(hash_conditions or [])
    attrs = tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH") if index is not None else ()
    if not attrs or any(a not in wanted for a in attrs):
        return None
    order = (*(k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"), table.hash_key_attr, table.range_key_attr)
    if attrs == (table.hash_key_attr,):  # a local index (or a global one on the table's hash key)
        return _presorted(_partition(table, wanted[attrs[0]]), order)
    maps = _index_maps(table)
    if (index_name, attrs) not in maps:
        maps[(index_name, attrs)] = _IndexKeys(attrs, _stored_items(table))
    keys = maps[(index_name, attrs)].keys_of.get(tuple(wanted[a] for a in attrs), ())
    return _presorted([item for item in (_stored(table, h, r) for h, r in keys) if item is not None], order)


def _presorted(items: list[Any], attrs: tuple[str | None, ...]) -> list[Any]:
    """The items by the values of `attrs`, compared as plain values. moto sorts a query's items
    again, by its own key, comparing DynamoType objects in Python: n log n of those took ~60 ms
    for a partition of 2,000 items; on items already in order its sort makes one comparison an
    item. Only a hint: moto's sort decides the order (its key is total: it ends with the table's
    keys), so values that cannot be compared here are left for it alone."""
    def key(item: Any) -> tuple:
        values = (item.attrs.get(a) if a is not None else None for a in attrs)
        return tuple((0,) if v is None else (1, v.value if v.type == "S" else v.cast_value) for v in values)  # S: one value

    try:
        return sorted(items, key=key)
    except TypeError:
        return items


def _narrowing_query(original: Any) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self, hash_key, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not NARROW_QUERIES:
            return original(self, hash_key, *args, **kwargs)
        bound = signature.bind(self, hash_key, *args, **kwargs)
        with _lock:
            items = _candidates(self, hash_key, bound.arguments.get("index_name"), bound.arguments.get("hash_key_conditions"))
            outer = getattr(_narrowed, "query", None)
            _narrowed.query = None if items is None else (self, items)
            try:
                return original(self, hash_key, *args, **kwargs)
            finally:
                _narrowed.query = outer
    return query


def _narrowable_all_items(original: Any) -> Any:
    @functools.wraps(original)
    def all_items(self):  # type: ignore[no-untyped-def]
        narrowed = getattr(_narrowed, "query", None)
        if narrowed is None or narrowed[0] is not self:
            return original(self)
        return narrowed[1]  # the query sorts them by its own key
    return all_items


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """After a write: the item of this key as the table's index maps see it."""
    maps = table.__dict__.get("_crm_index_keys")
    if maps:
        item = _stored(table, hash_key, range_key)
        for keys in maps.values():
            keys.note((hash_key, range_key), item)


def _reindexing(original: Any, key_of: Any) -> Any:
    """`original` (a write), then the index maps of the item it wrote (even when it failed
    halfway: moto's UpdateItem changes the stored item in place)."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def write(*args, **kwargs):  # type: ignore[no-untyped-def]
        with _lock:
            try:
                return original(*args, **kwargs)
            finally:
                found = key_of(signature.bind(*args, **kwargs).arguments)
                if found is not None:
                    _reindex(*found)
    return write


def _key_of_put(arguments: dict[str, Any]) -> tuple | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table, attrs = arguments["self"], arguments["item_attrs"]
    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr is not None else None
    except (KeyError, TypeError, AttributeError):
        return None  # moto refused the item
    return table, hash_key, range_key


def _key_of_delete(arguments: dict[str, Any]) -> tuple | None:
    return arguments["self"], arguments["hash_key"], arguments["range_key"]


def _key_of_update(arguments: dict[str, Any]) -> tuple | None:
    backend = arguments["self"]
    try:
        table = backend.get_table(arguments["table_name"])
        return (table, *backend.get_keys_value(table, arguments["key"]))
    except Exception:  # noqa: BLE001 - a key moto refused: nothing was written
        return None


# ---- EventBridge Scheduler: a feed of the schedules that changed --------------------------

class ScheduleFeed:
    """The schedules created, updated or deleted in one moto Scheduler backend, in order:
    (group, name), or (group, None) when a whole group went. A reader remembers `count` and
    asks for what came after it; the newest KEEP changes are kept, and a reader further behind
    gets None (it must list the schedules again)."""

    KEEP = 10_000

    def __init__(self) -> None:
        self._changes: deque[tuple[str, str | None]] = deque(maxlen=self.KEEP)
        self._count = 0
        self._guard = threading.Lock()

    def note(self, group: str, name: str | None) -> None:
        with self._guard:
            self._changes.append((group, name))
            self._count += 1

    def since(self, count: int) -> tuple[int, list[tuple[str, str | None]] | None]:
        """(the count now, the changes after `count` or None if they are no longer all kept)."""
        with self._guard:
            behind = self._count - count
            if behind < 0 or behind > len(self._changes):
                return self._count, None
            return self._count, list(itertools.islice(self._changes, len(self._changes) - behind, None))


def journal_schedules() -> None:
    """moto's Scheduler cannot say which schedules changed, so the local schedule driver listed
    every schedule on every tick to find the new ones — with the timers of every customer, a
    listing of ~1,000 schedules took 60 ms (3,000: 220 ms) four times a second, holding the
    interpreter the API serves from. Each create, update and delete is now noted in the
    backend's ScheduleFeed (see schedule_feed)."""
    if "schedules" in _applied:
        return
    from moto.scheduler.models import EventBridgeSchedulerBackend as backend_cls

    for method, name_arg in (("create_schedule", "name"), ("update_schedule", "name"), ("delete_schedule", "name"),
                             ("delete_schedule_group", None)):
        setattr(backend_cls, method, _noting(getattr(backend_cls, method), name_arg))
    _applied.add("schedules")


def _noting(original: Any, name_arg: str | None) -> Any:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def change(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original(self, *args, **kwargs)
        finally:  # noted even when it failed: a reader that looks finds nothing changed
            arguments = signature.bind(self, *args, **kwargs).arguments
            group = arguments.get("group_name" if name_arg else "name") or "default"
            _feed_of(self).note(group, arguments.get(name_arg) if name_arg else None)
    return change


def _feed_of(backend: Any) -> ScheduleFeed:
    """The backend's feed, kept on the backend: moto's reset gives a backend a new one."""
    feed = backend.__dict__.get("_crm_schedule_feed")
    if feed is None:
        feed = backend.__dict__["_crm_schedule_feed"] = ScheduleFeed()
    return feed


def schedule_feed(account: str, region: str, group: str) -> ScheduleFeed | None:
    """The feed of the Scheduler that holds `group`, when that is moto in this process (the
    local stack, the tests) with journal_schedules() applied; None otherwise (a reader must
    list the schedules)."""
    if "schedules" not in _applied:
        return None
    from moto.scheduler.models import scheduler_backends

    backend = scheduler_backends[account][region]
    return _feed_of(backend) if group in backend.schedule_groups else None


# ---- moto server: the service of a request ------------------------------------------------

def cache_service_names() -> None:
    """For every request, the moto server asks `moto.backends.list_of_moto_modules()` whether
    the request's host names a service: a listdir of moto's package and a stat of each of its
    ~150 entries — a tenth of the local stack's time under load. The list does not change
    while the process runs: it is read once."""
    if "service-names" in _applied:
        return
    from moto import backends

    names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: names  # type: ignore[assignment]
    _applied.add("service-names")


# ---- Step Functions: task callbacks while another execution starts ---------------------------

def settle_task_callbacks() -> None:
    """moto's SendTaskSuccess (and Failure, Heartbeat) offers the token to every RUNNING
    execution's callback pool; an execution whose worker has not yet built its environment
    (`exec_worker.env` None, a moment after StartExecution) raised AttributeError, a 500 for
    an unrelated request. Those executions cannot hold the token: they are passed over."""
    if "task-callbacks" in _applied:
        return
    from moto.stepfunctions.parser import models

    backend_cls = models.StepFunctionsParserBackend
    original = backend_cls._get_executions

    def _get_executions(self, execution_status=None):  # type: ignore[no-untyped-def]
        found = original(self, execution_status)
        if execution_status != models.ExecutionStatus.RUNNING:  # only the callbacks ask for the running ones
            return found
        return [e for e in found if getattr(getattr(e, "exec_worker", None), "env", None) is not None]

    backend_cls._get_executions = _get_executions
    _applied.add("task-callbacks")


# ---- moto models: tracked while they live -------------------------------------------------

def track_models_weakly() -> None:
    """moto's BaseModel appends every instance it makes to its class's `instances_tracked`
    list, for the moto-api dashboard (/moto-api/data.json) and for S3's reset: every DynamoDB
    item and each copy of one (a query copies its results, an update the old item), every
    stream record — trimmed or not —, schedule and execution stayed in memory for the life of
    the process. In a soak of 1,000 calls 6,000 Items and 4,400 StreamRecords stayed for 3,000
    items in the table and none in the stream. The lists now hold weak references
    (`_WeakInstances`): the dashboard and S3's reset still see every instance that lives."""
    if "models" in _applied:
        return
    from moto.core.common_models import BaseModel

    original = BaseModel.__new__

    @functools.wraps(original)
    def __new__(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        instance = original(cls, *args, **kwargs)  # appends it to cls.instances_tracked
        if type(cls.__dict__.get("instances_tracked")) is list:  # a new class, or after moto's reset_model_data()
            cls.instances_tracked = _WeakInstances(cls.__dict__["instances_tracked"])
        return instance

    BaseModel.__new__ = __new__  # type: ignore[method-assign]
    _applied.add("models")


class _WeakInstances:
    """A list of instances as moto's dashboard and S3's reset use it (append, iterate) that
    does not keep them alive; dead references are swept as the list doubles."""

    def __init__(self, instances: list[Any]) -> None:
        self._refs: list[Any] = []
        self._sweep_at = 64
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            ref = weakref.ref(instance)
        except TypeError:  # a class without weak references: held, as moto holds it
            ref = functools.partial(lambda x: x, instance)
        self._refs.append(ref)
        if len(self._refs) >= self._sweep_at:
            self._refs = [r for r in self._refs if r() is not None]
            self._sweep_at = max(64, 2 * len(self._refs))

    def __iter__(self) -> Any:
        return (x for x in (r() for r in list(self._refs)) if x is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# ---- SQS: a send does not count the queue ------------------------------------------------------

# What cheap_queue_sends relies on (whitespace removed): the only queue attribute these read is
# ContentBasedDeduplication (or MessageRetentionPeriod), through Queue.attributes.
_EXPECTED_SQS_SOURCE = {
    "SQSBackend.send_message": ('queue.attributes.get("ContentBasedDeduplication")',),
    "SQSBackend._validate_message": ('queue.attributes.get("ContentBasedDeduplication")',),
    "SQSBackend.is_message_valid_based_on_retention_period": ('["MessageRetentionPeriod"]',),
    "Queue.attributes": ("getattr(self,camelcase_to_underscores(attribute))",),
}
_COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
           "approximate_number_of_messages_not_visible")
_uncounted = threading.local()


def cheap_queue_sends() -> None:
    """moto's SendMessage reads one attribute of the queue (ContentBasedDeduplication) through
    `Queue.attributes`, which builds all of them — the approximate message counts too, a pass
    over every message of the queue with two clock reads each. An import publishes one domain
    event per record and the rules deliver each to a subscriber queue that drains ten at a time:
    with 20,000 messages waiting, a PutEvents call of ten events took ~0.4 s and moto's time
    under an import was 80 % counting. ReceiveMessage reads the retention period the same way,
    once per message it returns. While those calls run, the counts read 0 (none of them reads
    a count); GetQueueAttributes counts as before."""
    if "queue-sends" in _applied:
        return
    from moto.sqs import models

    backend_cls, queue_cls = models.SQSBackend, models.Queue
    objects = {"SQSBackend.send_message": backend_cls.send_message, "SQSBackend._validate_message": backend_cls._validate_message,
               "SQSBackend.is_message_valid_based_on_retention_period": backend_cls.is_message_valid_based_on_retention_period,
               "Queue.attributes": queue_cls.attributes.fget}
    missing = [f"{name}: {f}" for name, fragments in _EXPECTED_SQS_SOURCE.items()
               for f in fragments if f not in "".join(inspect.getsource(objects[name]).split())]
    missing += [f"Queue.{name}" for name in _COUNTS if not isinstance(queue_cls.__dict__.get(name), property)]
    if missing:
        raise RuntimeError("devstack.moto_patches: moto's SQS no longer looks as cheap_queue_sends expects. Not found: "
                           + "; ".join(missing))

    def uncounted(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            outer = getattr(_uncounted, "active", False)
            _uncounted.active = True
            try:
                return fn(*args, **kwargs)
            finally:
                _uncounted.active = outer
        return call

    def count(prop: property) -> property:
        def fget(self):  # type: ignore[no-untyped-def]
            return 0 if getattr(_uncounted, "active", False) else prop.fget(self)
        return property(fget, doc=prop.__doc__)

    for name in ("send_message", "_validate_message", "is_message_valid_based_on_retention_period"):
        setattr(backend_cls, name, uncounted(getattr(backend_cls, name)))
    # `Queue.attributes` (read on every send) converts each attribute's name to snake case with
    # a regex: per delivery, most of what is left of a send. A pure function of a few dozen names.
    models.camelcase_to_underscores = functools.lru_cache(maxsize=256)(models.camelcase_to_underscores)
    for name in _COUNTS:
        setattr(queue_cls, name, count(queue_cls.__dict__[name]))
    _applied.add("queue-sends")


# ---- Step Functions: a definition validated once -------------------------------------------------

def validate_definitions_once() -> None:
    """CreateStateMachine parses the definition (ANTLR) only to validate it and drops the parse: half
    the cost of creating the resources, paid again for every fresh account (each test) with the same
    few definitions. A definition text that parsed once parses again: it is validated once per
    process. Invalid ones are parsed (and refused) every time; executions still parse their own."""
    if "sfn-validate" in _applied:
        return
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    validate = StepFunctionsParserBackend._validate_definition
    valid: set[str] = set()

    def validate_once(definition: str) -> None:
        if definition not in valid:
            validate(definition=definition)
            valid.add(definition)

    StepFunctionsParserBackend._validate_definition = staticmethod(validate_once)  # type: ignore[method-assign]
    _applied.add("sfn-validate")


# ---- EventBridge: a rule's input paths parsed once ----------------------------------------------

def cache_event_paths() -> None:
    """A rule's delivery to a target renders its input template (moto's EventTemplateParser),
    parsing each input path with jsonpath_ng, whose parser rebuilds its grammar tables on every
    call: a tenth of moto's time under an import. A parsed path is a value (matching reads it,
    never changes it), so one parse per path text is kept."""
    if "event-paths" in _applied:
        return
    import jsonpath_ng.ext
    from moto.events.utils import EventTemplateParser

    if "fromjsonpath_ng.extimportparse" not in "".join(inspect.getsource(EventTemplateParser.parse).split()):
        raise RuntimeError("devstack.moto_patches: moto's EventTemplateParser no longer imports jsonpath_ng.ext.parse")
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
    _applied.add("event-paths")


# ---- DynamoDB items: their size summed once, condition texts tokenised once ----------------------

_EXPECTED_ITEM_SOURCE = {
    "Item.__init__": ("self.attrs=LimitedSizeDict()", "forkey,valueinattrs.items():self.attrs[key]=DynamoType(value)"),
    "LimitedSizeDict.__setitem__": (
        "item.size()iftype(item)isDynamoTypeelsebytesize(str(item))",
        "if(current_item_size+new_item_size)>405000:raiseItemSizeTooLarge",
    ),
    "ConditionExpressionParser._lex_condition_expression": ("remaining_expression=self.condition_expression",),
}
MAX_ITEM_SIZE = 405000  # moto's limit (LimitedSizeDict)


def cheaper_items() -> None:
    """moto's Item fills its attributes through LimitedSizeDict, whose every __setitem__ sums the
    sizes of all the attributes set before: a tenth of the time a put took for a record. The new
    Item sums them once and refuses the same items (a prefix of the attributes passes the limit
    exactly when all of them do; sizes are not negative). ConditionExpressionParser splits the
    expression text into tokens for every item it checks; the tokens (immutable nodes) depend on
    the text alone, and are kept per text."""
    if "items" in _applied:
        return
    from moto.dynamodb import comparisons
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    parser = comparisons.ConditionExpressionParser
    objects = {"Item.__init__": dynamo_type.Item.__init__, "LimitedSizeDict.__setitem__": dynamo_type.LimitedSizeDict.__setitem__,
               "ConditionExpressionParser._lex_condition_expression": parser._lex_condition_expression}
    missing = [f"{name}: {f}" for name, fragments in _EXPECTED_ITEM_SOURCE.items()
               for f in fragments if f not in "".join(inspect.getsource(objects[name]).split())]
    if dynamo_type.bytesize is not bytesize:
        missing.append("dynamo_type.bytesize")
    if missing:
        raise RuntimeError("devstack.moto_patches: moto's items no longer look as cheaper_items expects. Not found: "
                           + "; ".join(missing))
    DynamoType, LimitedSizeDict = dynamo_type.DynamoType, dynamo_type.LimitedSizeDict

    def __init__(self, hash_key, range_key, attrs):  # type: ignore[no-untyped-def]
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > MAX_ITEM_SIZE:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, values)  # checked above, as a whole

    dynamo_type.Item.__init__ = __init__  # type: ignore[method-assign]

    lex = parser._lex_condition_expression
    tokens: dict[str, tuple] = {}

    @functools.wraps(lex)
    def _lex_condition_expression(self):  # type: ignore[no-untyped-def]
        text = self.condition_expression
        found = tokens.get(text)
        if found is None:
            found = tuple(lex(self))
            if len(tokens) < 10_000:
                tokens[text] = found
        return deque(found)

    parser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]
    _cache_conditions(comparisons)
    _applied.add("items")


def _cache_conditions(comparisons: Any) -> None:
    """get_filter_expression(expr, names, values) -> the parsed condition (a tree of moto's Op and
    Func objects that evaluating reads, never changes), kept per (text, names, values): the same
    condition checked on many items (an import's lease puts of one chunk) is parsed once. moto's
    modules import the function by name, so each module's name is replaced."""
    import json
    from collections import OrderedDict

    import moto.dynamodb.models as models_pkg
    from moto.dynamodb.models import table as table_module

    original = comparisons.get_filter_expression
    parsed: OrderedDict[tuple, Any] = OrderedDict()

    @functools.wraps(original)
    def get_filter_expression(expr, names, values):  # type: ignore[no-untyped-def]
        try:
            key = (expr, json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True))
        except (TypeError, ValueError):  # binary values: not kept
            return original(expr, names, values)
        with _lock:
            found = parsed.get(key)
            if found is not None:
                parsed.move_to_end(key)
                return found
        found = original(expr, names, values)
        with _lock:
            parsed[key] = found
            if len(parsed) > 2000:
                parsed.popitem(last=False)
        return found

    for module in (comparisons, models_pkg, table_module):
        if getattr(module, "get_filter_expression", None) is not original:
            raise RuntimeError(f"devstack.moto_patches: {module.__name__}.get_filter_expression is not moto's own")
        module.get_filter_expression = get_filter_expression


# ---- DynamoDB item requests: the JSON body as sent -----------------------------------------------

# Item reads and writes whose parameters hold no type other than JSON's own: no blob ("B", "BS"
# base64 text that the model's parser decodes to bytes) and no timestamp members in their shapes.
_PLAIN_ACTIONS = frozenset({"BatchWriteItem", "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem",
                            "GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"})


def plain_item_requests() -> None:
    """moto parses every request body against the service's botocore model (a walk of every
    member of every attribute value): for DynamoDB's JSON protocol the result is the body's own
    JSON, except that blobs become bytes and members that are null or not in the model are
    dropped — botocore sends neither. That walk was a sixth of the moto server's time under an
    import (a 25-item batch write is ~2,000 shapes). The item requests above whose body holds no
    blob are taken as `json.loads` gives them; any other request is parsed as before."""
    if "plain-items" in _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.parse_parameters
    if "parse_parameters" in DynamoHandler.__dict__ or "self.params=" not in "".join(inspect.getsource(original).split()):
        raise RuntimeError("devstack.moto_patches: moto's DynamoHandler no longer parses parameters as plain_item_requests expects")

    def parse_parameters(self, request):  # type: ignore[no-untyped-def]
        body = request.data
        if self._get_action() in _PLAIN_ACTIONS and request.content_encoding != "gzip" \
                and b'"B"' not in body and b'"BS"' not in body:
            self.params = json.loads(body) if body else {}
            return
        original(self, request)

    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]
    _applied.add("plain-items")


# ---- DynamoDB item reads and stream reads: the answer as JSON ----------------------------------

_READ_ANSWERS = frozenset({"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"})
_STREAM_ANSWERS = frozenset({"GetRecords"})
_JSON_PLAIN = (str, int, float, bool)


def _plain(value: Any) -> bool:
    """Only JSON's own types (and timestamps) and no None: moto's answer holds bytes for blobs, which
    the serializer writes as base64, and the serializer leaves out members that are None."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, (*_JSON_PLAIN, datetime))


def _epoch(value: Any) -> float:
    """A timestamp as the serializer writes it: seconds since the epoch, cut to the millisecond (moto's are naive UTC)."""
    if not isinstance(value, datetime):
        raise TypeError(type(value).__name__)
    seconds = calendar.timegm(value.utctimetuple() if value.tzinfo else value.timetuple())
    return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds


def _json_answer(result: Any) -> tuple[int, dict[str, str], str] | None:
    if not isinstance(result, dict) or not _plain(result):
        return None
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(result, separators=(",", ":"), default=_epoch)


def plain_item_responses() -> None:
    """moto writes every answer by walking the operation's output shape in botocore's model, member by
    member (for each attribute value of each item: the picker tries the key's spellings): most of the
    local stack's time on a request that reads a few dozen items, and on the stream driver's reads of
    every write's images. The answers of the item reads and of the stream's GetRecords are the wire's
    own JSON as moto builds them (DynamoDB-typed values, members named as on the wire) except for blobs
    (bytes), members that are None and timestamps; those without the first two are written with
    json.dumps (timestamps as seconds since the epoch, as the serializer writes them), the others as before."""
    if "plain-answers" in _applied:
        return
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if "execute_result" in DynamoResult.__dict__ or "serialized" in DynamoDBStreamsHandler.__dict__:
        raise RuntimeError("devstack.moto_patches: moto's DynamoDB answers are no longer written by ActionResult's "
                           "serializer as plain_item_responses expects")
    original = ActionResult.execute_result

    def execute_result(self, context):  # type: ignore[no-untyped-def]
        if context.operation_model.name in _READ_ANSWERS:
            answer = _json_answer(self.result)
            if answer is not None:
                return answer
        return original(self, context)

    def serialized(self, action_result):  # type: ignore[no-untyped-def]
        if self._get_action() in _STREAM_ANSWERS:
            answer = _json_answer(action_result.result)
            if answer is not None:
                status, headers, body = answer
                headers.update(self.response_headers)
                return status, headers, body
        return super(DynamoDBStreamsHandler, self).serialized(action_result)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    DynamoDBStreamsHandler.serialized = serialized  # type: ignore[method-assign]
    _applied.add("plain-answers")
