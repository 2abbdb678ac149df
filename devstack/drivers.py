"""Local drivers: do on one machine what AWS wiring does in the cloud, calling the same
handlers with the same event shapes.

- StreamDriver: reads the table's DynamoDB stream and hands batches of records
  ({"Records": [...]}) to each stream consumer whose filter matches, retrying the records a
  consumer reports failed and giving up on them to its on-failure queue (functions/streams.py).
- ScheduleDriver: fires due EventBridge Scheduler one-time schedules into their target
  handler with the schedule's Input, then deletes them (ActionAfterCompletion=DELETE).
  The earliest due first.
- BusDriver: receives the bus events that each subscription's rule delivered to its SQS
  queue and calls the subscribed handler with the EventBridge event.
Each has run_once() (tests) and is looped, each in its thread, by devstack.run (DriverLoop).
"""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.ports import client, localstack_url, scheduler
from chalicelib.ports.workflow import LOCAL_ACCOUNT
from functions import streams
from functions.registry import FUNCTIONS, matches

from . import moto_patches
from .resources import stream_failure_queue, subscription_queue


class StreamDriver:
    """Remembers the last sequence number read per shard and asks for a fresh iterator after
    it on every run. (Holding on to NextShardIterator is not safe on moto: a cancelled
    transaction restores the table from a copy, stream shard included, and an old iterator
    keeps reading the discarded shard: the stream would seem to stop.)

    `trim=True` (the local stack, whose only reader of the stream this driver is): once a batch
    has gone to every consumer, moto drops the records read (moto_patches.trim_stream), which it
    would otherwise keep, images and all, for as long as the stack runs."""

    def __init__(self, trim: bool = False) -> None:
        self.positions: dict[str, str] = {}
        self.delivered = 0
        self.trimmed = 0
        self.failed = 0  # records given up on (sent to their consumer's on-failure queue)
        self.trim = trim
        self.last: list[dict[str, Any]] = []  # the records the last run read
        self._stream: list[tuple[str, str]] | None = None

    def _shards(self) -> list[tuple[str, str]]:
        """The table's stream and its shards, asked once (DescribeTable counts the table's items)."""
        if self._stream is None:
            arn = client("dynamodb").describe_table(TableName=get_settings().table_name)["Table"]["LatestStreamArn"]
            shards = client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            self._stream = [(arn, s["ShardId"]) for s in shards]
        return self._stream

    def _read(self) -> list[dict[str, Any]]:
        streams = client("dynamodbstreams")
        records: list[dict[str, Any]] = []
        for arn, shard in self._shards():
            after = self.positions.get(shard)
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after else \
                {"ShardIteratorType": "TRIM_HORIZON"}
            try:
                it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
            except Exception:
                self._stream = None  # the table was made anew: ask again next time
                raise
            out = streams.get_records(ShardIterator=it, Limit=1000)
            if out.get("Records"):
                self.positions[shard] = out["Records"][-1]["dynamodb"]["SequenceNumber"]
            for r in out.get("Records", []):
                r = json.loads(json.dumps(r, default=str))  # the Lambda event is JSON
                r["eventSourceARN"] = arn
                records.append(r)
        return records

    def run_once(self) -> int:
        records = self._read()
        self.last = records
        if not records:
            return 0
        for fn in FUNCTIONS:
            if fn.stream_filter is None:
                continue
            batch = [r for r in records if matches(fn.stream_filter, r)]
            if batch:
                self.deliver(fn, batch)
        self.delivered += len(records)
        if self.trim:
            for arn, shard in self._shards():
                if shard in self.positions:
                    self.trimmed += moto_patches.trim_stream(arn, shard, self.positions[shard])
        return len(records)


    def deliver(self, fn: Any, batch: list[dict[str, Any]]) -> None:
        """Hand `batch` to a consumer as its event source mapping does in AWS (functions/streams.py):
        partial batch failures retried from the first failed record, bisected, then given up on to the
        consumer's on-failure queue, which the stack alarms on."""
        def on_failure(records: list[dict[str, Any]], condition: str, invocations: int) -> None:
            self.failed += len(records)
            arn = f"arn:aws:lambda:{get_settings().region}:{LOCAL_ACCOUNT}:function:{fn.name}"
            message = streams.failure_message(records, condition, invocations, arn)
            logger.error("stream records given up", extra={"function": fn.name, "condition": condition,
                                                             "records": len(records)})
            sqs = client("sqs")
            url = sqs.get_queue_url(QueueName=stream_failure_queue(fn.name))["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))

        streams.deliver(fn.load(), batch, on_failure,
                        log=lambda msg, extra: logger.exception(msg, extra={"function": fn.name, **extra}))


_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


class ScheduleDriver:
    """Fires the due one-time schedules, and daily recurring ones (`cron(M H * * ? *)`) at each of
    their times, as EventBridge Scheduler does.

    ListSchedules does not say when a schedule is due, so each schedule's time is read once
    (GetSchedule) and remembered until it changes. On moto in this process (the local stack,
    the tests) the driver learns which schedules changed from moto's ScheduleFeed
    (moto_patches.journal_schedules): a tick costs the changes since the last one, however many
    schedules wait for later (every customer's pool and care timers); a full listing is made at
    the first tick, when the feed lost track, and every FULL_LISTING_SECONDS as a safety net.
    Elsewhere every tick lists the schedules."""

    FULL_LISTING_SECONDS = 60.0

    def __init__(self) -> None:
        self.fired = 0
        self.target = next(f for f in FUNCTIONS if f.schedule_target)
        self._due: dict[str, tuple[Any, datetime | None]] = {}  # name -> (modified, state; when it is due)
        self._feed: moto_patches.ScheduleFeed | None = None
        self._feed_count = 0
        self._listed_at: float | None = None  # time.monotonic() of the last full listing

    def _read(self, sched: Any, group: str, name: str) -> None:
        """Remember when schedule `name` is due (None: disabled or not a one-time schedule)."""
        try:
            sch = sched.get_schedule(Name=name, GroupName=group)
        except sched.exceptions.ResourceNotFoundException:
            self._due.pop(name, None)
            return
        m = _AT.match(sch["ScheduleExpression"])
        due = datetime.fromisoformat(m.group(1)).replace(tzinfo=ZoneInfo(sch.get("ScheduleExpressionTimezone") or "UTC")) \
            if m and sch.get("State") == "ENABLED" else None
        if not m and sch.get("State") == "ENABLED":  # recurring: its next time from now (no backfill, as Scheduler)
            due = scheduler.next_cron(sch["ScheduleExpression"], sch.get("ScheduleExpressionTimezone") or "UTC", clock.now())
        self._due[name] = (sch.get("LastModificationDate"), due)

    def _list_all(self, sched: Any, group: str) -> None:
        listed = {x["Name"]: x.get("LastModificationDate")
                  for page in sched.get_paginator("list_schedules").paginate(GroupName=group) for x in page["Schedules"]}
        for gone in set(self._due) - set(listed):
            self._due.pop(gone, None)
        for name, stamp in listed.items():
            if name not in self._due or self._due[name][0] != stamp:
                self._read(sched, group, name)
        self._listed_at = time.monotonic()

    def _changes(self, group: str) -> list[str] | None:
        """The names of the schedules of `group` that changed since the last tick, or None when
        the schedules must be listed."""
        feed = moto_patches.schedule_feed(LOCAL_ACCOUNT, get_settings().region, group)
        count, changes = feed.since(self._feed_count) if feed is not None else (0, None)
        stale = self._listed_at is None or time.monotonic() - self._listed_at > self.FULL_LISTING_SECONDS
        known = feed is not None and feed is self._feed
        self._feed, self._feed_count = feed, count  # read before the listing: what changes during it is seen next tick
        if stale or not known or changes is None or any(g == group and n is None for g, n in changes):
            return None
        return [n for g, n in changes if g == group and n is not None]

    def _sync(self, sched: Any, group: str) -> None:
        changed = self._changes(group)
        if changed is None:
            self._list_all(sched, group)
            return
        for name in dict.fromkeys(changed):
            self._read(sched, group, name)

    def wait(self, interval: float) -> float:
        """Seconds until the next tick: `interval`, or less when a schedule comes due before.
        (One already due whose target failed is retried at the next tick, as before.)"""
        now = clock.now()
        soonest = min((due for _, due in self._due.values() if due is not None and due > now), default=None)
        return interval if soonest is None else min(interval, (soonest - now).total_seconds())

    def _fire(self, sched: Any, group: str, name: str) -> bool:
        try:
            sch = sched.get_schedule(Name=name, GroupName=group)
        except sched.exceptions.ResourceNotFoundException:
            self._due.pop(name, None)
            return False
        try:
            self.target.load()(json.loads(sch["Target"].get("Input") or "{}"), None)
        except Exception:  # noqa: BLE001 - like Scheduler, keep the schedule and retry
            logger.exception("schedule target failed", extra={"schedule": name})
            return False
        recurring = scheduler.next_cron(sch["ScheduleExpression"], sch.get("ScheduleExpressionTimezone") or "UTC",
                                        self._due.get(name, (None, None))[1] or clock.now())
        if recurring is not None and name in self._due:  # a recurring schedule waits for its next time
            self._due[name] = (self._due[name][0], recurring)
        elif sch.get("ActionAfterCompletion", "NONE") == "DELETE":
            try:
                sched.delete_schedule(Name=name, GroupName=group)
            except sched.exceptions.ResourceNotFoundException:
                pass
            self._due.pop(name, None)
        return True

    def run_once(self) -> int:
        group = get_settings().schedule_group
        sched = client("scheduler")
        self._sync(sched, group)
        now = clock.now()
        due = sorted((when, name) for name, (_, when) in self._due.items() if when is not None and when <= now)
        fired = sum(self._fire(sched, group, name) for _, name in due)
        self.fired += fired
        return fired


class BusDriver:
    def __init__(self, only: tuple[str, ...] | None = None) -> None:
        self.delivered = 0
        self.subscribers = [f for f in FUNCTIONS if f.bus_pattern is not None and (only is None or f.name in only)]

    def run_once(self) -> int:
        sqs = client("sqs")
        n = 0
        for fn in self.subscribers:
            url = sqs.get_queue_url(QueueName=subscription_queue(fn.name))["QueueUrl"]
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            for msg in msgs:
                try:
                    fn.load()(json.loads(msg["Body"]), None)
                except Exception:  # noqa: BLE001 - leave it for redelivery, like EventBridge retries
                    logger.exception("bus handler failed", extra={"function": fn.name})
                    continue
                sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                n += 1
        self.delivered += n
        return n


class DriverLoop:
    """Runs each driver in a thread of its own, every `interval` seconds, and the schedule
    driver also the moment its next schedule comes due: a large stream batch (its consumers
    take their time) no longer holds up a due reminder. In AWS these are separate services
    calling separate Lambda invocations, concurrent as well."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        # trimming the stream is a moto patch: not on a LocalStack (chalicelib/ports: CRM_LOCALSTACK_URL)
        self.drivers = [StreamDriver(trim=localstack_url() is None), ScheduleDriver(), BusDriver()]
        self._stop_event = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(d,), name=f"crm-{type(d).__name__}", daemon=True)
                         for d in self.drivers]

    def catch_up(self, rounds: int = 1000) -> int:
        """Deliver the table stream until it is empty, before the API serves anyone: what was written
        before the drivers started (the demo company) is indexed, its schedules armed. Records delivered."""
        stream, delivered = self.drivers[0], 0
        for _ in range(rounds):
            n = stream.run_once()
            delivered += n
            if not n:
                break
        return delivered

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def _loop(self, driver: Any) -> None:
        while not self._stop_event.is_set():
            try:
                driver.run_once()
            except Exception:  # noqa: BLE001 - a driver hiccup must not stop the stack
                logger.exception("driver failed", extra={"driver": type(driver).__name__})
            wait = getattr(driver, "wait", None)
            self._stop_event.wait(wait(self.interval) if wait is not None else self.interval)

    def stop(self) -> None:
        self._stop_event.set()
