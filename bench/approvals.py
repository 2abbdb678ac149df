"""Approvals end to end: Step Functions state transitions, wall time and round trips per step.

Representative flows are driven through the API exactly as people use them (a form bound
to an enabled flow, POST /v1/applications, POST /v1/approvals/{id}/approve | reject), in
process through `chalice.test.Client`, against the bench's moto server with Step Functions
execution on: every submission runs a real execution of step_functions/approval.asl.json,
whose AwaitDecision task writes the task token to the instance's TOKEN item through moto.

Shapes (applicant rep1):
- two_step     经理 (manager1) → 总监 (director), sequential;
- countersign  经理 → 会签 of 3 (finance, manager2, agent; all must approve) → 总监;
- reject_back  the two-step flow; 总监 rejects back to the 经理 node (退回), 经理 approves
               again, 总监 approves.

Per request (step of the path):
- transitions — `...StateEntered` events the request added to the execution's history
  (`get_execution_history`; Step Functions Standard bills per state transition). Read
  after the request, unrecorded, once the execution has taken the decision (it waits
  with the token of the instance's round, or it stopped running);
- wall time of the request, and the part spent in `approvals.sync.sync_execution`
  (wrapped by the bench only), split into answering the token (TOKEN read +
  SendTaskSuccess) and waiting until the execution stored the next round's token;
- DynamoDB round trips made by the request's thread (`calls.RECORDER`, the mechanism of
  the per-endpoint figures): the application's own calls, and the TOKEN reads made
  while waiting for the execution (they vary with timing). Calls the execution makes
  itself (moto runs it in another thread of this process: one UpdateItem per
  AwaitDecision, writing the token) are counted separately — on AWS those are made by
  Step Functions, not by the Lambda.

The org snapshot is kept warm (reloaded, unrecorded, whenever it would expire within
8 s), as for the warm per-endpoint figures. One unreported approval of the first shape warms the code paths up.

After each approval the items it put (instance, history, tasks, audit entries, the
application, notifications, the TOKEN item) are deleted, unrecorded: an approval puts
20–40 items and moto walks the whole table on every GSI Query, so without the clean-up
every run would be slower than the one before and the figures would depend on the number
of runs. Likewise moto's in-memory stream log of the table is cut back to its length
before the approval (`StreamLog`; the bench runs no stream consumer). Every run thus starts from
the same table, the one the per-endpoint figures saw plus the flows and forms. Notification
unread counters (updated, not put) stay.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import stats
from .calls import RECORDER, Call
from .endpoints import ApiClient, refresh_org_cache
from .stack import Stack, json_body

PRICE_PER_1000_TRANSITIONS_USD = 0.025  # Step Functions Standard list price (us-east-1 and most regions)
FREE_TRANSITIONS_PER_MONTH = 4000  # Step Functions free tier (Standard), per account and month
RUNS = 16  # approvals of the two-step shape; the longer shapes run fewer (`longer_runs`)


def longer_runs(runs: int) -> int:
    """Approvals of the longer shapes (5 or 6 requests each instead of 3)."""
    return max(3, runs // 2)
SETTLE_SECONDS = 10.0  # longer than CRM_APPROVAL_TOKEN_WAIT_SECONDS


# ---- flows -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    label: str
    user: str
    action: str = "approve"  # approve | reject
    body: dict[str, Any] = field(default_factory=dict)
    expect: str = "running"  # the instance's status after the request


@dataclass(frozen=True)
class Shape:
    key: str
    label: str
    nodes: Callable[[dict[str, str]], list[dict[str, Any]]]
    path: tuple[Action, ...]


def _users(users: dict[str, str], *keys: str) -> dict[str, Any]:
    return {"type": "users", "user_ids": [users[k] for k in keys]}


def _two_nodes(u: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": "n1", "name": "经理", "approvers": _users(u, "manager1")},
            {"id": "n2", "name": "总监", "approvers": _users(u, "director")}]


def _countersign_nodes(u: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": "n1", "name": "经理", "approvers": _users(u, "manager1")},
            {"id": "n2", "name": "会签", "approvers": _users(u, "finance", "manager2", "agent"), "mode": "all"},
            {"id": "n3", "name": "总监", "approvers": _users(u, "director")}]


SHAPES = (
    Shape("two_step", "2-step sequential (经理 → 总监)", _two_nodes, (
        Action("经理 approves → 总监", "manager1"),
        Action("总监 approves (last)", "director", expect="approved"),
    )),
    Shape("countersign", "3 steps, 会签 of 3 in the middle (经理 → 会签 ×3 → 总监)", _countersign_nodes, (
        Action("经理 approves → 会签", "manager1"),
        Action("会签 vote 1/3", "finance"),
        Action("会签 vote 2/3", "manager2"),
        Action("会签 vote 3/3 → 总监", "agent"),
        Action("总监 approves (last)", "director", expect="approved"),
    )),
    Shape("reject_back", "reject back to a node, then re-approve (经理 → 总监 退回 经理 → 经理 → 总监)", _two_nodes, (
        Action("经理 approves → 总监", "manager1"),
        Action("总监 rejects back to 经理 (退回)", "director", "reject", {"to": "node", "node_id": "n1", "comment": "请复核"}),
        Action("经理 approves again → 总监", "manager1"),
        Action("总监 approves (last)", "director", expect="approved"),
    )),
)
SUBMIT = "submit (POST /v1/applications)"


# ---- instrumentation (bench only) ---------------------------------------------------------------

class Probe:
    """Wraps `sync.sync_execution` and `sync.start_execution` (and times
    `workflow.succeed` inside them) while installed; one `Window` per request."""

    def __init__(self) -> None:
        self.window: Window | None = None

    @contextmanager
    def installed(self) -> Iterator[Probe]:
        from chalicelib.approvals import sync as approval_sync
        from chalicelib.ports import workflow

        original_sync, original_start, original_succeed = approval_sync.sync_execution, approval_sync.start_execution, workflow.succeed
        probe = self

        def sync(inst: Any) -> bool:
            w = probe.window
            if w is None:
                return original_sync(inst)
            started = time.perf_counter()
            with RECORDER.record() as rec:
                try:
                    return original_sync(inst)
                finally:
                    w.sync_s += time.perf_counter() - started
                    w.sync_end = time.perf_counter()
                    w.sync_calls += rec.calls
                    w.syncs += 1

        def start(inst: Any) -> None:
            w = probe.window
            started = time.perf_counter()
            try:
                return original_start(inst)
            finally:
                if w is not None:
                    w.start_s += time.perf_counter() - started

        def succeed(token: str, output: dict[str, Any]) -> None:
            w = probe.window
            try:
                return original_succeed(token, output)
            finally:
                if w is not None:
                    w.answered_at = time.perf_counter()

        approval_sync.sync_execution, approval_sync.start_execution, workflow.succeed = sync, start, succeed
        try:
            yield self
        finally:
            approval_sync.sync_execution, approval_sync.start_execution, workflow.succeed = original_sync, original_start, original_succeed


@dataclass
class Window:
    sync_s: float = 0.0
    sync_end: float | None = None
    answered_at: float | None = None
    start_s: float = 0.0
    syncs: int = 0
    sync_calls: list[Call] = field(default_factory=list)


class Written:
    """Keys of the items the bench process puts into the table while installed (any
    thread), so that each approval's items can be deleted after it (unrecorded)."""

    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @contextmanager
    def installed(self, table: str) -> Iterator[Written]:
        from botocore.client import BaseClient

        inner = BaseClient._make_api_call
        trap = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict) -> dict:
            response = inner(client, operation_name, api_params)
            if client.meta.service_model.service_name == "dynamodb":
                trap._add(table, operation_name, api_params)
            return response

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BaseClient._make_api_call = inner  # type: ignore[method-assign]

    def _add(self, table: str, operation: str, params: dict) -> None:
        items: list[dict[str, Any]] = []
        if operation == "PutItem" and params.get("TableName") == table:
            items.append(params["Item"])
        elif operation == "TransactWriteItems":
            items += [t["Put"]["Item"] for t in params.get("TransactItems", []) if "Put" in t and t["Put"].get("TableName") == table]
        elif operation == "BatchWriteItem":
            items += [r["PutRequest"]["Item"] for r in params.get("RequestItems", {}).get(table, []) if "PutRequest" in r]
        keys = [(i["pk"]["S"], i["sk"]["S"]) for i in items if "pk" in i and "sk" in i]
        with self._lock:
            self.keys.update(keys)

    def delete(self, table: str, extra: list[tuple[str, str]]) -> int:
        """Delete every item put since the last call (and `extra`); returns how many."""
        from chalicelib.ports import client

        with self._lock:
            keys, self.keys = sorted(self.keys | set(extra)), set()
        ddb = client("dynamodb")
        for k in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys[k:k + 25]]
            while requests:
                requests = ddb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {}).get(table, [])
        return len(keys)


class StreamLog:
    """moto keeps every DynamoDB stream record of the table in memory (the bench runs no
    stream consumer) and it grows with every write: the log is cut back to its length before
    each approval, after it."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.mark = self._length()

    def _shard(self) -> Any:
        try:
            from moto.dynamodb.models import dynamodb_backends

            from chalicelib.core.settings import get_settings
            from chalicelib.ports.workflow import LOCAL_ACCOUNT

            return dynamodb_backends[LOCAL_ACCOUNT][get_settings().region].tables[self.table].stream_shard
        except (ImportError, KeyError, AttributeError):
            return None

    def _length(self) -> int | None:
        shard = self._shard()
        return None if shard is None else len(shard.items)

    def restore(self) -> int:
        """Drop the records added since the mark; returns how many."""
        shard = self._shard()
        if shard is None or self.mark is None:
            return 0
        from devstack.moto_patches import _lock

        with _lock:
            dropped = max(0, len(shard.items) - self.mark)
            del shard.items[self.mark:]
        return dropped


# ---- the execution ----------------------------------------------------------------------------

def _arn(instance_id: str) -> str:
    from chalicelib.approvals import service
    from chalicelib.approvals.models import ApprovalInstance
    from devstack.demo import TENANT

    return service.execution_arn(ApprovalInstance.get(*ApprovalInstance.key(TENANT, instance_id), consistent_read=True))


def _entered(arn: str) -> list[str]:
    from chalicelib.ports import workflow

    return [e["stateEnteredEventDetails"]["name"] for e in workflow.history(arn) if e["type"].endswith("StateEntered")]


def _token_round(instance_id: str) -> int | None:
    from chalicelib.approvals.models import ApprovalInstance, ApprovalToken
    from devstack.demo import TENANT

    try:
        return int(ApprovalToken.get(ApprovalInstance.key(TENANT, instance_id)[0], "TOKEN", consistent_read=True).round)
    except ApprovalToken.DoesNotExist:
        return None


def _settle(arn: str, instance: dict[str, Any]) -> tuple[str, list[str]]:
    """The execution's status and the states it entered, once it has taken the request's
    decision: for an ended instance, when the execution stopped running; for a running one,
    when it waits with the token of the instance's round (a submit returns before the
    execution has stored its first token)."""
    from chalicelib.ports import workflow

    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        status = workflow.describe(arn)["status"]
        if instance["status"] == "running":
            done = status != "RUNNING" or (_token_round(instance["id"]) or 0) >= int(instance["round"])
        else:
            done = status != "RUNNING"
        if done:
            return status, _entered(arn)
        if time.monotonic() > deadline:
            raise RuntimeError(f"approvals bench: execution {arn} did not reach round {instance['round']} ({status})")
        time.sleep(0.01)


# ---- one request --------------------------------------------------------------------------------

ORG_HEADROOM_SECONDS = 8.0


def _warm_org() -> None:
    """Reload the org snapshot (unrecorded) unless it stays fresh for the next request, so
    that no request straddles its expiry (as `endpoints.refresh_org_cache` before every
    request, without paying the reload ~40 times per shape)."""
    from chalicelib.core.settings import get_settings
    from chalicelib.org import service as org
    from devstack.demo import TENANT

    hit = org._cache._values.get(TENANT)
    if hit is None or time.monotonic() - hit[0] > get_settings().authz_cache_seconds - ORG_HEADROOM_SECONDS:
        refresh_org_cache()


def _measure(probe: Probe, request: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    _warm_org()
    me = threading.current_thread().name
    probe.window = w = Window()
    try:
        with RECORDER.record() as rec:
            started = time.perf_counter()
            resp = request()
            wall = time.perf_counter() - started
    finally:
        probe.window = None
    mine = [c for c in rec.calls if c.thread == me]
    ddb = [c for c in mine if c.service == "dynamodb" and not c.rate_limit]  # the rate-limit write is not the approval's
    in_sync = {id(c) for c in w.sync_calls if c.thread == me and c.service == "dynamodb"}
    app_ddb = [c for c in ddb if id(c) not in in_sync]
    sync_ddb = [c for c in ddb if id(c) in in_sync]
    machine = [c for c in rec.calls if c.thread != me and c.service == "dynamodb"]
    waited = (w.sync_end - w.answered_at) if (w.sync_end is not None and w.answered_at is not None) else 0.0
    sample = {
        "status": resp.status_code,
        "wall_s": wall,
        "sync_s": w.sync_s,
        "answer_s": w.sync_s - waited,
        "wait_s": waited,
        "start_s": w.start_s,
        "syncs": w.syncs,
        "app_round_trips": len(app_ddb),
        "app_operations": [c.operation for c in app_ddb],
        "token_reads": len(sync_ddb),
        "round_trips": len(ddb),
        "other_aws_calls": [f"{c.service}.{c.operation}" for c in mine if c.service != "dynamodb"],
        "est_rcu": sum(c.rcu for c in ddb),
        "est_wcu": sum(c.wcu for c in ddb),
        "storage_s": sum(c.seconds for c in ddb),
        "machine_operations": [c.operation for c in machine],
    }
    return resp, sample


# ---- a shape ----------------------------------------------------------------------------------------

class Driver:
    def __init__(self, stack: Stack, api: ApiClient, probe: Probe, written: Written, table: str) -> None:
        self.stack, self.api, self.probe, self.written, self.table = stack, api, probe, written, table
        self.forms: dict[str, str] = {}
        self.deleted = 0
        self.stream_records_dropped = 0
        self.stream: StreamLog | None = None

    def form_for(self, shape: Shape) -> str:
        """A form bound to an enabled flow with the shape's nodes (one per node list)."""
        key = shape.nodes.__name__
        if key in self.forms:
            return self.forms[key]
        api, users = self.api, self.stack.users
        r = api.call("ceo", "POST", "/v1/forms", {"name": f"基准审批 {key}", "fields": [
            {"key": "amount", "label": "金额", "field_type": "money", "required": True}]})
        _ok(r, 201, "create form")
        form = json_body(r)
        r = api.call("ceo", "POST", "/v1/approval-flows", {"name": f"基准流程 {key}", "business_type": f"form:{form['id']}",
                                                         "nodes": shape.nodes(users), "enabled": True})
        _ok(r, 201, "create flow")
        r = api.call("ceo", "PATCH", f"/v1/forms/{form['id']}", {"flow_id": json_body(r)["id"]}, {"If-Match": f'"{form["version"]}"'})
        _ok(r, 200, "bind flow")
        self.forms[key] = form["id"]
        return form["id"]

    @staticmethod
    def _instance(instance_id: str) -> dict[str, Any]:
        from chalicelib.approvals.models import ApprovalInstance
        from devstack.demo import TENANT

        item = ApprovalInstance.get(*ApprovalInstance.key(TENANT, instance_id), consistent_read=True)
        return {"id": item.id, "status": item.status, "round": int(item.round)}

    def once(self, shape: Shape, i: int) -> list[dict[str, Any]]:
        """One approval along the shape's path; one sample per request."""
        form_id = self.form_for(shape)
        api = self.api
        resp, sample = _measure(self.probe, lambda: api.call("rep1", "POST", "/v1/applications",
                                                             {"form_id": form_id, "data": {"amount": 1000 + i}}))
        _ok(resp, 201, f"{shape.key}: submit")
        instance_id = json_body(resp)["instance_id"]
        arn = _arn(instance_id)
        status, states = _settle(arn, self._instance(instance_id))
        sample.update(label=SUBMIT, action="submit", states=states, transitions=len(states), execution=status, after="running")
        samples = [sample]
        seen = len(states)
        for a in shape.path:
            resp, sample = _measure(self.probe, lambda a=a: api.call(a.user, "POST", f"/v1/approvals/{instance_id}/{a.action}", a.body))
            _ok(resp, 200, f"{shape.key}: {a.label}")
            inst = json_body(resp)
            if inst["status"] != a.expect:
                raise RuntimeError(f"{shape.key}: {a.label}: instance status {inst['status']}, expected {a.expect}")
            status, states = _settle(arn, inst)
            sample.update(label=a.label, action=a.action, states=states[seen:], transitions=len(states) - seen, execution=status,
                          after=inst["status"])
            seen = len(states)
            samples.append(sample)
        if samples[-1]["execution"] != "SUCCEEDED" or not samples[-1]["states"] or samples[-1]["states"][-1] != "Approved":
            raise RuntimeError(f"{shape.key}: the execution ended {samples[-1]['execution']} in {samples[-1]['states']}")
        self.deleted += self.written.delete(self.table, [(self._pk(instance_id), "TOKEN")])
        if self.stream is not None:
            self.stream_records_dropped += self.stream.restore()
        return samples

    @staticmethod
    def _pk(instance_id: str) -> str:
        from chalicelib.approvals.models import ApprovalInstance
        from devstack.demo import TENANT

        return ApprovalInstance.key(TENANT, instance_id)[0]


def _ok(resp: Any, status: int, what: str) -> None:
    if resp.status_code != status:
        raise RuntimeError(f"approvals bench: {what}: HTTP {resp.status_code} {resp.body[:300]!r}")


# ---- summaries ----------------------------------------------------------------------------------------

def _ms(values: list[float]) -> dict[str, float | int]:
    return stats.summary(values)


def _constant(values: list[Any]) -> Any:
    distinct = sorted(set(values), key=str)
    return distinct[0] if len(distinct) == 1 else distinct


def _step(label: str, samples: list[dict[str, Any]]) -> dict[str, Any]:
    ops = Counter(tuple(s["app_operations"]) for s in samples)
    common = ops.most_common(1)[0][0]
    typical = next(s for s in samples if tuple(s["app_operations"]) == common)
    return {
        "step": label,
        "action": samples[0]["action"],
        "n": len(samples),
        "transitions": _constant([s["transitions"] for s in samples]),
        "states_entered": list(typical["states"]),
        "wall_ms": _ms([s["wall_s"] for s in samples]),
        "sync_execution_ms": _ms([s["sync_s"] for s in samples]),
        "answer_token_ms": _ms([s["answer_s"] for s in samples]),
        "wait_for_execution_ms": _ms([s["wait_s"] for s in samples]),
        "start_execution_ms": _ms([s["start_s"] for s in samples]),
        "storage_ms_median": round(stats.median(s["storage_s"] for s in samples) * 1000, 2),
        "app_round_trips": typical["app_round_trips"],
        "app_operations": list(common),
        "distinct_app_operation_sequences": [list(o) for o in sorted(ops)],
        "token_reads": {"median": stats.median(s["token_reads"] for s in samples), "max": max(s["token_reads"] for s in samples)},
        "round_trips": {"median": stats.median(s["round_trips"] for s in samples), "max": max(s["round_trips"] for s in samples)},
        "other_aws_calls": typical["other_aws_calls"],
        "est_rcu_median": stats.median(s["est_rcu"] for s in samples),
        "est_wcu_median": stats.median(s["est_wcu"] for s in samples),
        "execution_dynamodb_calls": list(typical["machine_operations"]),
    }


def _shape(shape: Shape, runs: list[list[dict[str, Any]]], seconds: float) -> dict[str, Any]:
    labels = [SUBMIT] + [a.label for a in shape.path]
    steps = [_step(label, [run[k] for run in runs]) for k, label in enumerate(labels)]
    per_approval = _constant([sum(s["transitions"] for s in run) for run in runs])
    decisions = [s for run in runs for s in run[1:]]
    moving = [s for s in decisions if s["syncs"] and s["after"] == "running"]  # to another step (not the final decision)
    total = per_approval if isinstance(per_approval, int) else max(per_approval)
    return {
        "key": shape.key,
        "label": shape.label,
        "runs": len(runs),
        "seconds": round(seconds, 1),
        "steps": steps,
        "transitions_per_approval": per_approval,
        "decision_requests": {
            "n": len(decisions),
            "wall_ms": _ms([s["wall_s"] for s in decisions]),
            "round_trips_median": stats.median(s["round_trips"] for s in decisions),
        },
        "moving_requests": {
            "n": len(moving),
            "wall_ms": _ms([s["wall_s"] for s in moving]),
            "sync_execution_ms": _ms([s["sync_s"] for s in moving]),
            "wait_for_execution_ms": _ms([s["wait_s"] for s in moving]),
            "sync_share_of_wall_median": stats.ratio(stats.median(s["sync_s"] for s in moving),
                                                     stats.median(s["wall_s"] for s in moving)),
        } if moving else None,
        "cost": {
            "transitions_per_1000_approvals": total * 1000,
            "usd_per_1000_approvals": round(total * PRICE_PER_1000_TRANSITIONS_USD, 4),
            "free_tier_approvals_per_month": FREE_TRANSITIONS_PER_MONTH // total if total else None,
        },
    }


def _count(table: str) -> int:
    from chalicelib.ports import client

    ddb, n, kw = client("dynamodb"), 0, {}
    while True:
        page = ddb.scan(TableName=table, Select="COUNT", **kw)
        n += page["Count"]
        if "LastEvaluatedKey" not in page:
            return n
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


# ---- entry ------------------------------------------------------------------------------------------

def run(stack: Stack, api: ApiClient, runs: int = RUNS) -> dict[str, Any]:
    """`runs` approvals of the first shape and `longer_runs(runs)` of the others, after one
    unreported warm-up approval of the first (first use of the code paths)."""
    from chalicelib.core.settings import get_settings

    counts = {shape.key: runs if k == 0 else longer_runs(runs) for k, shape in enumerate(SHAPES)}
    started = time.perf_counter()
    table = get_settings().table_name
    probe, written = Probe(), Written()
    driver = Driver(stack, api, probe, written, table)
    shapes = []
    with probe.installed():
        for shape in SHAPES:
            driver.form_for(shape)  # set-up, unrecorded, kept
        before = _count(table)
        driver.stream = StreamLog(table)
        with written.installed(table):
            driver.once(SHAPES[0], 0)  # warm-up, not reported
            for shape in SHAPES:
                t = time.perf_counter()
                runs_ = [driver.once(shape, i) for i in range(1, counts[shape.key] + 1)]
                shapes.append(_shape(shape, runs_, time.perf_counter() - t))

    return {
        "shapes": shapes,
        "pricing": {
            "usd_per_1000_transitions": PRICE_PER_1000_TRANSITIONS_USD,
            "basis": "Step Functions Standard workflows list price, us-east-1 (same in most regions); "
                     "transitions counted as the ...StateEntered events of the execution history",
            "free_transitions_per_month": FREE_TRANSITIONS_PER_MONTH,
        },
        "approval_token_wait_seconds": get_settings().approval_token_wait_seconds,
        "items_deleted_after_runs": driver.deleted,
        "table_items": {"before": before, "after": _count(table)},
        "moto_stream_records_dropped": driver.stream_records_dropped,
        "seconds": round(time.perf_counter() - started, 1),
    }
