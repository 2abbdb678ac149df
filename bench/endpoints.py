"""DynamoDB round trips, operations and estimated capacity per endpoint.

Requests run in-process through `chalice.test.Client` (the full middleware: token
verification, session check, route wrapper) against the bench's moto server. Every
request is recorded by `calls.RECORDER`, so the figures are what the app sends, not what
the code is assumed to send.

Round trips are the endpoint's own; the write a container makes to its tenant's rate-limit
bucket (once per lease of tokens) is counted apart (`rate_limit_writes`, see calls.py).

Two states per endpoint:
- first  — the container's org snapshot is empty (`org._cache` cleared, as on a cold
  container or after `CRM_AUTHZ_CACHE_SECONDS` expire): includes the org Query;
- warm   — the snapshot is cached (reloaded, unrecorded, just before each repetition so
  that no repetition straddles its expiry); the steady state. Repeated; every repetition
  must show the same operations, otherwise all distinct sequences are reported.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from . import stats
from .calls import RECORDER, Recording
from .stack import Stack, json_body

WARM_REPETITIONS = 9


class ApiClient:
    """chalice.test.Client with tokens per demo user."""

    def __init__(self, stack: Stack, http: Any) -> None:
        self.http = http
        self.tokens = {k: stack.token(k) for k in stack.users}

    def call(self, user: str | None, method: str, path: str, body: Any = None, headers: dict | None = None) -> Any:
        h = {"Content-Type": "application/json", **(headers or {})}
        if user:
            h["Authorization"] = f"Bearer {self.tokens[user]}"
        kwargs: dict[str, Any] = {"headers": h}
        if body is not None:
            kwargs["body"] = json.dumps(body, ensure_ascii=False)
        return getattr(self.http, method.lower())(path, **kwargs)


def clear_org_cache() -> None:
    from chalicelib.org import service as org

    org._cache.clear()


def refresh_org_cache() -> None:
    """Reload the org snapshot and the tenant's rate limit now (unrecorded), so the next request
    finds both fresh."""
    from chalicelib.core import ratelimit
    from chalicelib.org import service as org
    from devstack.demo import TENANT

    org.load(TENANT, fresh=True)
    ratelimit.forget(TENANT)
    ratelimit.tenant_limit(TENANT)


def timed(fn: Callable[[], Any]) -> tuple[Any, Recording, float]:
    with RECORDER.record() as rec:
        started = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - started
    return result, rec, wall


def _state(rec: Recording, wall: float, status: int) -> dict[str, Any]:
    return {"status": status, "round_trips": rec.round_trips, "operations": rec.operations,
            "rate_limit_writes": rec.rate_limit_writes, "other_aws_calls": rec.other_operations, "est_rcu": rec.rcu, "est_wcu": rec.wcu,
            "wall_ms": round(wall * 1000, 2), "storage_ms": round(rec.storage_seconds * 1000, 2),
            "aws_ms": round(rec.aws_seconds * 1000, 2), "retries": rec.retries}


class Endpoint:
    """One row: how to make a request (repetition i) and the budget it is held to."""

    def __init__(self, label: str, method: str, path: str, actor: str, make: Callable[[int], Callable[[], Any]],
                 budget: str = "", check: Callable[[dict[str, Any]], bool] | None = None, note: str = "") -> None:
        self.label, self.method, self.path, self.actor = label, method, path, actor
        self.make, self.budget, self.check, self.note = make, budget, check, note

    def measure(self, expected: set[int]) -> dict[str, Any]:
        clear_org_cache()
        resp, rec, wall = timed(self.make(0))
        first = _state(rec, wall, resp.status_code)
        if resp.status_code not in expected:
            raise RuntimeError(f"{self.label}: HTTP {resp.status_code} {resp.body[:300]!r}")
        warm = []
        for i in range(1, WARM_REPETITIONS + 1):
            request = self.make(i)
            refresh_org_cache()
            resp, rec, wall = timed(request)
            if resp.status_code not in expected:
                raise RuntimeError(f"{self.label}: HTTP {resp.status_code} {resp.body[:300]!r}")
            warm.append(_state(rec, wall, resp.status_code))
        counts = Counter(tuple(w["operations"]) for w in warm)
        sequences = sorted(counts)
        common = counts.most_common(1)[0][0]
        typical = next(w for w in warm if tuple(w["operations"]) == common)  # the most frequent sequence
        row = {
            "endpoint": self.label, "method": self.method, "path": self.path, "actor": self.actor,
            "first": first,
            "warm": {
                "repetitions": len(warm),
                "round_trips": typical["round_trips"],
                "operations": typical["operations"],
                "distinct_operation_sequences": [list(s) for s in sequences],
                "rate_limit_writes": typical["rate_limit_writes"],
                "other_aws_calls": typical["other_aws_calls"],
                "est_rcu": typical["est_rcu"], "est_wcu": typical["est_wcu"],
                "wall_ms": stats.summary([w["wall_ms"] / 1000 for w in warm]),
                "storage_ms_median": round(stats.median(w["storage_ms"] for w in warm), 2),
                "app_ms_median": round(stats.median(w["wall_ms"] - w["aws_ms"] for w in warm), 2),
                "retries": sum(w["retries"] for w in warm),
            },
            "budget": self.budget or None,
            "note": self.note or None,
        }
        row["meets_budget"] = self.check(row["warm"]) if self.check else None
        return row


def _only(ops: list[str], op: str, count: int = 1) -> bool:
    return ops == [op] * count


def run(stack: Stack, api: ApiClient) -> list[dict[str, Any]]:
    """Measure every endpoint of the brief; returns one row per endpoint."""
    users = stack.users
    tag = datetime.now(UTC).strftime("%H%M%S")

    def create_as(user: str, name: str, owner: str | None = None) -> dict[str, Any]:
        body = {"name": name, **({"owner_id": users[owner]} if owner else {})}
        r = api.call(user, "POST", "/v1/customers", body)
        if r.status_code != 201:
            raise RuntimeError(f"setup create failed: {r.status_code} {r.body[:300]!r}")
        return json_body(r)

    # fixtures, created before anything is recorded
    target = create_as("rep1", f"基准客户 {tag}")
    version = {"v": target["version"]}
    doomed = [create_as("rep1", f"待删除客户 {tag}-{i}") for i in range(WARM_REPETITIONS + 1)]

    def post_plain(i: int):
        return lambda: api.call("rep1", "POST", "/v1/customers", {"name": f"新客户 {tag}-{i}"})

    def post_full(i: int):
        body = {"name": f"新客户（完整）{tag}-{i}", "customer_type": "target", "level": "B", "industry": "it", "source": "web",
                "mobile": f"139{tag[2:]}{i:04d}", "region": "上海市/浦东新区"}  # distinct: phones block within customers
        return lambda: api.call("rep1", "POST", "/v1/customers", body, {"Idempotency-Key": f"bench-{tag}-{i}"})

    def get_one(i: int):
        return lambda: api.call("rep1", "GET", f"/v1/customers/{target['id']}")

    def patch_one(i: int):
        def go():
            r = api.call("rep1", "PATCH", f"/v1/customers/{target['id']}", {"remark": f"第 {i} 次修改"},
                         {"If-Match": f'"{version["v"]}"'})
            if r.status_code == 200:
                version["v"] = json_body(r)["version"]
            return r
        return go

    def list_as(user: str):
        return lambda i: (lambda: api.call(user, "GET", "/v1/customers?limit=20"))

    def delete_one(i: int):
        c = doomed[i]
        return lambda: api.call("manager1", "DELETE", f"/v1/customers/{c['id']}", headers={"If-Match": f'"{c["version"]}"'})

    def simple(user: str, path: str):
        return lambda i: (lambda: api.call(user, "GET", path))

    def reminder(i: int):
        when = (datetime.now(timezone(timedelta(hours=8))) + timedelta(days=1, minutes=i)).isoformat(timespec="seconds")
        return lambda: api.call("rep1", "POST", "/v1/reminders", {"title": f"回访 {tag}-{i}", "remind_at": when,
                                                                  "link": {"entity": "customer", "id": target["id"]}})

    # a custom object (an 8-field definition) to hold to the customer's costs
    obj = api.call("ceo", "POST", "/v1/objects", {
        "key": f"bench_rt_{tag}", "label": "基准对象", "title_field": "title",
        "fields": [{"key": "title", "label": "标题", "type": "text", "required": True, "searchable": True},
                   {"key": "amount", "label": "金额", "type": "money"}, {"key": "kind", "label": "类别", "type": "select",
                                                                       "options": [{"code": "a", "label": "甲"}]}],
        "grants": {"sales_rep": {"actions": ["create", "update", "list", "read"], "scope": "self"}}})
    if obj.status_code != 201:
        raise RuntimeError(f"setup object failed: {obj.status_code} {obj.body[:300]!r}")
    records = f"/v1/objects/bench_rt_{tag}/records"
    obj_target = json_body(api.call("rep1", "POST", records, {"title": f"基准记录 {tag}", "amount": 10}))

    def post_obj(i: int):
        return lambda: api.call("rep1", "POST", records, {"title": f"新记录 {tag}-{i}", "amount": i, "kind": "a"})

    one_tx = "1 transaction"
    endpoints = [
        (Endpoint("POST /v1/customers (name only)", "POST", "/v1/customers", "rep1", post_plain, one_tx,
                  lambda w: _only(w["operations"], "TransactWriteItems")), {201}),
        (Endpoint("POST /v1/customers (4 dictionary fields + Idempotency-Key)", "POST", "/v1/customers", "rep1", post_full, one_tx,
                  lambda w: _only(w["operations"], "TransactWriteItems"),
                  "customer_type, level, industry, source are dictionary codes"), {201}),
        (Endpoint("GET /v1/customers/{id}", "GET", "/v1/customers/{id}", "rep1", get_one, "1 GetItem",
                  lambda w: _only(w["operations"], "GetItem")), {200}),
        (Endpoint("PATCH /v1/customers/{id} (If-Match)", "PATCH", "/v1/customers/{id}", "rep1", patch_one,
                  note="changes remark (no dictionary field)"), {200}),
        (Endpoint("GET /v1/customers (sales rep: self)", "GET", "/v1/customers", "rep1", list_as("rep1")), {200}),
        (Endpoint("GET /v1/customers (sales manager: self + 2 reports)", "GET", "/v1/customers", "manager1", list_as("manager1")), {200}),
        (Endpoint("GET /v1/customers (sales director: self + 5 below)", "GET", "/v1/customers", "director", list_as("director")), {200}),
        (Endpoint("GET /v1/customers (super admin: all)", "GET", "/v1/customers", "ceo", list_as("ceo")), {200}),
        (Endpoint("GET /v1/customers/{id}/related (customer 360)", "GET", "/v1/customers/{id}/related", "rep1",
                  simple("rep1", f"/v1/customers/{target['id']}/related"), "1–2 round trips",
                  lambda w: w["operations"] == ["GetItem", "Query"], "the customer + its family (gsi5): every related record, its contracts' included"), {200}),
        (Endpoint("POST /v1/objects/{key}/records (custom object)", "POST", "/v1/objects/{key}/records", "rep1", post_obj, one_tx,
                  lambda w: _only(w["operations"], "TransactWriteItems"), "a select field with inline options"), {201}),
        (Endpoint("GET /v1/objects/{key}/records/{id} (custom object)", "GET", "/v1/objects/{key}/records/{id}", "rep1",
                  simple("rep1", f"{records}/{obj_target['id']}"), "1 GetItem", lambda w: _only(w["operations"], "GetItem")), {200}),
        (Endpoint("GET /v1/objects/{key}/records (custom object list)", "GET", "/v1/objects/{key}/records", "rep1",
                  simple("rep1", records)), {200}),
        (Endpoint("DELETE /v1/customers/{id} (If-Match)", "DELETE", "/v1/customers/{id}", "manager1", delete_one), {204}),
        (Endpoint("GET /v1/me", "GET", "/v1/me", "rep1", simple("rep1", "/v1/me")), {200}),
        (Endpoint("GET /v1/notifications/unread-count", "GET", "/v1/notifications/unread-count", "rep1",
                  simple("rep1", "/v1/notifications/unread-count")), {200}),
        (Endpoint("POST /v1/reminders", "POST", "/v1/reminders", "rep1", reminder,
                  note="plus one EventBridge Scheduler call (not DynamoDB)"), {201}),
    ]
    return [ep.measure(expected) for ep, expected in endpoints]
