"""Deals: a contract from submit to approved, and payments under contention.

- contract — 李娜 (rep1) submits a 50,000 contract of the demo company (the demo's 合同审批 flow: her
  supervisor 孙丽 approves; below 100,000 no countersign), 孙丽 approves it: the wall time of each
  request, submit → approved in all, and the Step Functions states the execution entered (Standard
  workflows bill per state transition). Through the API in process, against the bench's moto
  server with Step Functions execution on; the median of RUNS contracts.
- payments — PAYERS sellers' requests at once, over HTTP (the local API server, one connection
  each), each recording a 1,500 payment against the same approved 20,000 contract: at most 13
  fit. Reported: p50/p95 of the requests, how many were accepted (201) and refused (422
  PAYMENT_OVER_CONTRACT), and the contract's reserved amount after — never above its amount.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from . import stats
from .endpoints import ApiClient
from .lifecycle import post
from .stack import Stack

RUNS = 5
PAYERS = 20
PAYMENT, CONTRACT_AMOUNT = 1500, 20000


def _as(user_id: str) -> Any:
    from chalicelib.core import context
    from devstack.demo import TENANT

    return context.acting_as(context.RequestContext(tenant_id=TENANT, user_id=user_id))


def _ok(resp: Any, status: int, what: str) -> dict[str, Any]:
    if resp.status_code != status:
        raise RuntimeError(f"deals bench: {what} answered HTTP {resp.status_code} {resp.body[:300]!r}")
    return json.loads(resp.body)


def _customer(api: ApiClient, name: str) -> str:
    return _ok(api.call("rep1", "POST", "/v1/customers", {"name": name}), 201, "customer")["id"]


def contract_to_approved(stack: Stack, api: ApiClient, runs: int = RUNS) -> dict[str, Any]:
    from .approvals import _arn, _settle

    customer = _customer(api, "合同审批基准客户")
    rows = []
    for i in range(runs):
        c = _ok(api.call("rep1", "POST", "/v1/contracts", {"name": f"审批基准合同{i}", "customer": customer, "amount": 50000}), 201,
                "contract")
        t0 = time.perf_counter()
        sent = _ok(api.call("rep1", "POST", f"/v1/contracts/{c['id']}/submit", {}), 200, "submit")
        t1 = time.perf_counter()
        iid = sent["approval_id"]
        arn = _arn(iid)
        _settle(arn, {"id": iid, "status": "running", "round": 1})
        t2 = time.perf_counter()
        _ok(api.call("manager1", "POST", f"/v1/approvals/{iid}/approve", {"comment": "同意"}), 200, "approve")
        t3 = time.perf_counter()
        status, entered = _settle(arn, {"id": iid, "status": "approved", "round": 1})
        t4 = time.perf_counter()
        got = _ok(api.call("rep1", "GET", f"/v1/contracts/{c['id']}"), 200, "read")
        if got["approval_status"] != "approved" or status != "SUCCEEDED":
            raise RuntimeError(f"deals bench: contract {c['id']} ended {got['approval_status']} / {status}")
        rows.append({"submit": t1 - t0, "approve": t3 - t2, "total": t4 - t0, "transitions": len(entered), "states": entered})
    return {"runs": runs, "submit_ms": stats.summary(r["submit"] for r in rows),
            "approve_ms": stats.summary(r["approve"] for r in rows), "total_ms": stats.summary(r["total"] for r in rows),
            "transitions": rows[-1]["transitions"], "states": rows[-1]["states"]}


def payments_under_contention(stack: Stack, api: ApiClient) -> dict[str, Any]:
    from chalicelib.approvals import service as approvals
    from chalicelib.core.auth import issue_local_token
    from chalicelib.engine import store
    from devstack.demo import TENANT

    customer = _customer(api, "回款并发基准客户")
    c = _ok(api.call("rep1", "POST", "/v1/contracts", {"name": "回款并发基准合同", "customer": customer, "amount": CONTRACT_AMOUNT}),
            201, "contract")
    iid = _ok(api.call("rep1", "POST", f"/v1/contracts/{c['id']}/submit", {}), 200, "submit")["approval_id"]
    with _as(stack.users["manager1"]):
        approvals.approve(iid, "同意", [])
    token = issue_local_token(TENANT, stack.users["rep1"])
    body = {"contract": c["id"], "amount": PAYMENT, "paid_on": "2026-12-01", "method": "bank"}
    results: list[tuple[int, float]] = []
    lock, barrier = threading.Lock(), threading.Barrier(PAYERS)

    def payer(_k: int) -> None:
        barrier.wait()
        got = post(stack.api_port, "/v1/payments", token, body)
        with lock:
            results.append(got)

    stack.start_api()
    try:
        threads = [threading.Thread(target=payer, args=(k,)) for k in range(PAYERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stack.stop_api()
    contract = store.get(TENANT, "CONTRACT", c["id"], "entity.contract", consistent=True)
    reserved = Decimal(str((contract.data or {}).get("reserved_amount") or 0))
    statuses = Counter(s for s, _ in results)
    return {"payers": PAYERS, "payment": PAYMENT, "contract_amount": CONTRACT_AMOUNT, "statuses": dict(statuses),
            "ms": stats.summary(w for _, w in results), "reserved": float(reserved),
            "accepted_total": statuses.get(201, 0) * PAYMENT, "over_receipts": reserved > CONTRACT_AMOUNT,
            "consistent": float(reserved) == statuses.get(201, 0) * PAYMENT}


def run(stack: Stack, api: ApiClient) -> dict[str, Any]:
    return {"contract": contract_to_approved(stack, api), "payments": payments_under_contention(stack, api)}
