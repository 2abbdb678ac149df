"""Customer lifecycle figures: the customer 360 at demo size, with 200 related records and with 20
contracts (each with a payment plan and a payment), the
cost of moving one customer's pool timer, and claims (领取) under 20 concurrent claimers.

- Customer 360: GET /v1/customers/{id}/related in process (as endpoints.py measures), warm org
  snapshot; round trips recorded, not assumed.
- Pool timer: (a) a follow-up on a customer whose owner is in a pool with a no-follow-up rule —
  the write that moves the timer (its DynamoDB round trips; no Scheduler call in the request);
  (b) the background re-derivation of one customer after a rule change (pools/timers.py: a
  consistent GetItem, one transaction); (c) what the table-stream consumer then does for that one
  change (functions/record_timers.py: the two timers' schedules moved).
- Claims: 20 users of a new department, members of a new pool holding 100 customers, claim at
  once over HTTP (the local API server, a connection per claimer): each claims its own five
  customers (no contention), then all 20 claim the same customer, five rounds (exactly one may win).
  Everything — API server, moto, clients — shares one Python process on this machine, so the
  latencies include waiting for the interpreter lock; compare them with the single-claimer figure.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from typing import Any

from . import stats
from .endpoints import ApiClient, refresh_org_cache, timed
from .stack import LOOPBACK, Stack

REPETITIONS = 9
CLAIMERS = 20
OWN_CLAIMS = 5
CONTENDED_ROUNDS = 5


def _ok(resp: Any, status: int, what: str) -> dict[str, Any]:
    if resp.status_code != status:
        raise RuntimeError(f"{what}: HTTP {resp.status_code} {resp.body[:300]!r}")
    return json.loads(resp.body)


def _measure(call: Any, repetitions: int = REPETITIONS) -> dict[str, Any]:
    rows = []
    for i in range(repetitions):
        refresh_org_cache()
        resp, rec, wall = timed(lambda i=i: call(i))
        if resp is not None and getattr(resp, "status_code", 200) >= 400:
            raise RuntimeError(f"HTTP {resp.status_code} {resp.body[:300]!r}")
        rows.append((rec, wall))
    return _summary(rows)


def _summary(rows: list[tuple[Any, float]]) -> dict[str, Any]:
    """The most frequent call sequence, wall times, and the share outside the AWS calls (the app's)."""
    ops = Counter(tuple(r.operations) for r, _ in rows).most_common(1)[0][0]
    typical = next(r for r, _ in rows if tuple(r.operations) == ops)
    return {"n": len(rows), "round_trips": typical.round_trips, "operations": typical.operations,
            "other_aws_calls": typical.other_operations, "wall_ms": stats.summary(w for _, w in rows),
            "app_ms_median": round(stats.median((w - r.aws_seconds) * 1000 for r, w in rows), 2)}


def _as(user_id: str) -> Any:
    from chalicelib.core import context
    from devstack.demo import TENANT

    return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=user_id))


def customer_360(stack: Stack, api: ApiClient) -> dict[str, Any]:
    from chalicelib.contacts.entity import CONTACT
    from chalicelib.db import keys, query
    from chalicelib.engine import service as engine
    from chalicelib.engine import store
    from chalicelib.followups.entity import FOLLOWUP
    from devstack.demo import TENANT

    owned, _ = query.page(store.EntityRecord, keys.owner_list(TENANT, "CUSTOMER", stack.users["rep1"]), index="gsi1", limit=100, cursor=None)
    demo = next(c for c in owned if (c.data or {}).get("name") == "华为技术有限公司")
    big = _ok(api.call("rep1", "POST", "/v1/customers", {"name": "三百六十度基准客户", "level": "A"}), 201, "create")
    with _as(stack.users["rep1"]):
        for i in range(100):
            engine.create(CONTACT, {"name": f"联系人{i:03d}", "customer": big["id"], "mobile": f"1390000{i:04d}"}, None)
            engine.create(FOLLOWUP, {"about": {"entity": "customer", "id": big["id"]}, "type": "call",
                                     "content": f"第 {i + 1} 次电话沟通"}, None)
    deals = _ok(api.call("rep1", "POST", "/v1/customers", {"name": "二十份合同基准客户", "level": "A"}), 201, "create")
    _twenty_contracts(stack, deals["id"])
    out = {}
    for label, cid in (("demo", demo.id), ("related_200", big["id"]), ("contracts_20", deals["id"])):
        path = f"/v1/customers/{cid}/related"
        body = _ok(api.call("rep1", "GET", path), 200, "related")
        out[label] = {**_measure(lambda _i, p=path: api.call("rep1", "GET", p)),
                      "related_returned": {k: len(v) for k, v in body["related"].items()}}
    out["meets_budget"] = all(out[k]["round_trips"] <= 2 for k in ("demo", "related_200", "contracts_20"))
    return out


CONTRACTS = 20


def _twenty_contracts(stack: Stack, customer_id: str) -> None:
    """CONTRACTS contracts under one customer, each in force (marked approved directly: the approval
    flow is measured elsewhere) with a payment plan and a payment — 60 records in the customer's 360,
    40 of them under its contracts (before the family index: one more Query per contract)."""
    from chalicelib.contracts.entity import CONTRACT
    from chalicelib.engine import service as engine
    from chalicelib.engine import store
    from chalicelib.org import service as org
    from chalicelib.payments.entity import PAYMENT, PLAN
    from devstack.demo import TENANT

    with _as(stack.users["rep1"]):
        p = org.principal()
        for i in range(CONTRACTS):
            c = engine.create(CONTRACT, {"name": f"基准合同{i:02d}", "customer": customer_id, "amount": 10000}, None)
            rec = store.get(TENANT, CONTRACT.entity, c["id"], CONTRACT.name_key)
            engine.change(CONTRACT, p, rec, {"approval_status": "approved"}, rec.version, action="bench", verb="updated")
            engine.create(PLAN, {"title": "首期", "contract": c["id"], "amount": 5000, "due_date": "2099-01-01"}, None)
            engine.create(PAYMENT, {"contract": c["id"], "amount": 5000, "paid_on": "2026-12-01", "method": "bank"}, None)


def pool_timer(stack: Stack, api: ApiClient) -> dict[str, Any]:
    from chalicelib.customers.entity import CUSTOMER
    from chalicelib.engine import due, store
    from chalicelib.engine import service as engine
    from chalicelib.pools import service as pools
    from chalicelib.pools import timers
    from devstack.demo import TENANT

    c = _ok(api.call("rep1", "POST", "/v1/customers", {"name": "公海计时基准客户"}), 201, "create")
    if not c.get("pool_due_at"):
        raise RuntimeError("the demo pool gives rep1's customers no pool moment")
    followup = _measure(lambda i: api.call("rep1", "POST", "/v1/followups", {
        "about": {"entity": "customer", "id": c["id"]}, "type": "call", "content": f"基准跟进 {i}"}))
    with _as(stack.users["admin"]):
        pool = next(p for p in pools.list_pools() if p["name"] == "销售一部公海")
    rule = pool["rules"][0]
    version = pool["version"]

    def rule_change_then_rederive(i: int) -> Any:
        nonlocal version
        with _as(stack.users["admin"]):
            version = pools.update_pool(pool["id"], {"rules": [{**rule, "days": rule["days"] + 1 + i % 2}]}, version)["version"]
        timers.invalidate(TENANT)
        return None

    def values() -> dict[str, Any] | None:
        return due.live_values(store.get(TENANT, CUSTOMER.entity, c["id"], CUSTOMER.name_key, consistent=True))

    rederive, schedules = [], []
    for i in range(REPETITIONS):
        rule_change_then_rederive(i)
        refresh_org_cache()
        before = values()
        due.follow(CUSTOMER, TENANT, c["id"], None, before)  # its schedules as the stream consumer left them (unmeasured)
        moved, rec, wall = timed(lambda: engine.rederive_one(CUSTOMER, TENANT, c["id"], "pool_timer"))
        if moved != 1:
            raise RuntimeError("the rule change did not move the customer's pool moment")
        rederive.append((rec, wall))
        after = values()
        # what the stream consumer (functions/record_timers.py) then does for this one change
        _, rec, wall = timed(lambda b=before, a=after: due.follow(CUSTOMER, TENANT, c["id"], b, a))
        schedules.append((rec, wall))
    with _as(stack.users["admin"]):
        pools.update_pool(pool["id"], {"rules": pool["rules"]}, version)
    return {"followup": followup, "rederive_one": _summary(rederive), "schedules_follow": _summary(schedules)}


def post(port: int, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, float]:
    """One POST on its own connection, and how long it took (status 0: the connection failed)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request("POST", path, body=json.dumps(body or {}).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        conn.close()


def claims(stack: Stack) -> dict[str, Any]:
    from chalicelib.core.auth import issue_local_token
    from chalicelib.customers.entity import CUSTOMER
    from chalicelib.engine import service as engine
    from chalicelib.org import service as org
    from chalicelib.pools import service as pools
    from devstack.demo import TENANT

    with _as(stack.users["ceo"]):
        root = next(d for d in org.list_departments() if d.get("parent_id") is None)["id"]
        dept = org.create_department("公海基准部", root, None, 99)["id"]
        claimers = [org.create_user({"mobile": f"1770000{i:04d}", "name": f"领取员{i:02d}", "department_id": dept,
                                     "role_ids": ["sales_rep"], "supervisor_id": None, "position": None,
                                     "password": "Bench@2026!safe", "gender": None, "email": None})["id"]
                    for i in range(CLAIMERS)]
    with _as(stack.users["admin"]):
        pool = pools.create_pool({"name": "基准公海", "admin_ids": [stack.users["admin"]], "member_user_ids": [],
                                  "member_department_ids": [dept], "daily_claim_cap": None, "reclaim_cooldown_days": 0,
                                  "rules": [], "remind_days_before": 0, "include_closed": False,
                                  "include_open_opportunities": False})
    wanted = (CLAIMERS + 1) * OWN_CLAIMS + CONTENDED_ROUNDS  # a slice each, one for the lone claimer, the contended ones
    ids = []
    with _as(stack.users["rep1"]):
        for i in range(wanted):
            c = engine.create(CUSTOMER, {"name": f"公海领取基准{i:03d}"}, None)
            ids.append(pools.put_back(c["id"], pool["id"], "基准", c["version"])["id"])
    tokens = [issue_local_token(TENANT, u) for u in claimers]
    alone, own = ids[:OWN_CLAIMS], [ids[(i + 1) * OWN_CLAIMS:(i + 2) * OWN_CLAIMS] for i in range(CLAIMERS)]
    contended = ids[(CLAIMERS + 1) * OWN_CLAIMS:]
    path = f"/v1/pools/{pool['id']}/customers/{{}}/claim"
    stack.start_api()
    try:
        single = [post(stack.api_port, path.format(cid), tokens[0]) for cid in alone]
        results: list[tuple[int, float]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(CLAIMERS)

        def claimer(k: int) -> None:
            barrier.wait()
            mine = [post(stack.api_port, path.format(cid), tokens[k]) for cid in own[k]]
            with lock:
                results.extend(mine)

        started = time.perf_counter()
        _run_all(claimer)
        spread = time.perf_counter() - started
        rounds = []
        for cid in contended:
            answers: list[tuple[int, float]] = []
            round_barrier = threading.Barrier(CLAIMERS)

            def rush(k: int, cid: str = cid, answers: list = answers, b: threading.Barrier = round_barrier) -> None:
                b.wait()
                a = post(stack.api_port, path.format(cid), tokens[k])
                with lock:
                    answers.append(a)

            _run_all(rush)
            rounds.append(answers)
    finally:
        stack.stop_api()
    statuses = Counter(s for s, _ in results)
    winners = [sum(1 for s, _ in r if s == 200) for r in rounds]
    return {
        "claimers": CLAIMERS,
        "single_claimer_ms": stats.summary(w for _, w in single),
        "spread": {"claims": len(results), "statuses": dict(statuses), "ms": stats.summary(w for _, w in results),
                   "claims_per_second": round(len(results) / spread, 1)},
        "contended": {"rounds": len(rounds), "winners_per_round": winners,
                      "statuses": dict(Counter(s for r in rounds for s, _ in r)),
                      "ms": stats.summary(w for r in rounds for _, w in r)},
        "exactly_one_winner": all(w == 1 for w in winners),
    }


def _run_all(fn: Any) -> None:
    threads = [threading.Thread(target=fn, args=(k,)) for k in range(CLAIMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run(stack: Stack, api: ApiClient) -> dict[str, Any]:
    return {"customer_360": customer_360(stack, api), "pool_timer": pool_timer(stack, api), "claims": claims(stack)}


def main() -> int:
    """`python -m bench.lifecycle`: the customer 360 figures alone, on a fresh local stack with the demo."""
    import sys

    from chalice.test import Client

    from . import report
    from .calls import RECORDER
    from .endpoints import ApiClient as Client_
    from .stack import Stack as Stack_

    print("bench.lifecycle: starting moto server, resources and demo data …", file=sys.stderr, flush=True)
    stack = Stack_.start()
    try:
        from app import app

        RECORDER.install()
        with Client(app, stage_name="bench") as client:
            c360 = customer_360(stack, Client_(stack, client.http))
    finally:
        stack.stop()
    print(json.dumps(c360, ensure_ascii=False, indent=1))
    print(report.customer_360_row(c360))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
