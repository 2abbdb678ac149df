"""Dashboard (仪表盘): latency of a director's whole dashboard at 100,000 contracts and 100,000
payments, on the embedded engine and on a real OpenSearch node (ARCHITECTURE.md §10: ≤ 200 ms
p95 on both).

The tenant is generated in memory and bulk-indexed straight into the engine (the indexer path is
measured by the search benchmark): 100k contracts and 100k payments plus 10k customers,
opportunities, payment plans and follow-ups and 5k contacts, 200 owners, dates spread over the
last 13 months. The director (本人及下属 over 50 of the 200 owners) asks for the whole dashboard of
this year (`scope=subordinates`, every section: 44 figures over 7 record types in one engine
call), as `dashboard.service.dashboard` answers the route. Not measured here: the one DynamoDB
count of the director's pending approvals (a Query with Select=COUNT, see the round trips) and the
stage groups (cached per tenant).
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import timedelta
from typing import Any

from . import stats

TENANT = "bench-dashboard"
OWNERS = [f"u{i:03d}" for i in range(200)]
REPS = 30
STAGES = ("contact", "needs", "proposal", "negotiation")
MODULES = ("customers", "contacts", "opportunities", "contracts", "payments", "followups")


def _principal():
    from chalicelib.core.permissions import OrgSnapshot, OrgUser, Principal, Role, Scope

    actions = {m: frozenset({"list", "read"}) for m in MODULES}
    role = Role("director", actions=actions, scopes={m: Scope.SELF_AND_SUBORDINATES for m in MODULES})
    users = {u: OrgUser(u, "d1", supervisor_id=OWNERS[0] if 0 < i < 50 else None, role_ids=("director",) if i == 0 else ())
             for i, u in enumerate(OWNERS)}
    return Principal(TENANT, OWNERS[0], OrgSnapshot(TENANT, {"d1": None}, users, {"director": role}))


def _records(counts: dict[str, int], rng: random.Random):
    from chalicelib.core import clock
    from chalicelib.engine import store

    now = clock.now()

    def moment(days: int = 400) -> str:
        """Within the last `days` days (negative: within the next ones)."""
        seconds = rng.randint(0, abs(days) * 86400)
        return clock.iso(now - timedelta(seconds=seconds if days > 0 else -seconds))

    def day(back: int = 400, ahead: int = 0) -> str:
        return (now + timedelta(days=rng.randint(-back, ahead))).date().isoformat()

    def rec(entity: str, i: int, data: dict[str, Any]):
        owner = OWNERS[i % len(OWNERS)]
        r = store.EntityRecord(tenant_id=TENANT, entity=entity, id=f"{entity[:2].lower()}{i:07d}", owner_id=owner,
                               data={k: v for k, v in data.items() if v is not None}, custom={}, created_at=moment(),
                               created_by=owner, updated_at=clock.now_iso(), updated_by=owner, team={})
        r.version = 1
        return r

    approved = ("approved", "approved", "approved", "pending", "none")
    makers = {
        "CUSTOMER": lambda i: {"name": f"客户{i}", "last_followup_at": moment(200) if i % 3 else None, "owned_since": moment(),
                               "pool_due_at": moment(-10) if i % 7 == 0 else None},
        "CONTACT": lambda i: {"name": f"联系人{i}", "customer": {"id": f"cu{i:07d}"}},
        "OPPORTUNITY": lambda i: {"name": f"商机{i}", "stage_group": "standard", "stage": STAGES[i % 4],
                                  "status": ("open", "open", "won", "lost")[i % 4], "amount": rng.randint(1, 500) * 1000,
                                  "weighted_amount": rng.randint(1, 200) * 100, "closed_at": moment() if i % 4 >= 2 else None},
        "CONTRACT": lambda i: {"name": f"合同{i}", "amount": rng.randint(1, 1000) * 100, "sign_date": day(), "end_date": day(100, 300),
                               "approval_status": approved[i % 5], "state": "voided" if i % 50 == 0 else "normal"},
        "PAYMENT": lambda i: {"number": f"HK{i}", "amount": rng.randint(1, 500) * 100, "paid_on": day(), "approval_status": approved[i % 5]},
        "PAYMENT_PLAN": lambda i: {"title": f"第{i}期", "amount": 10000, "received_amount": 0, "due_date": day(60, 60),
                                   "status": ("pending", "partial", "done", "overdue")[i % 4]},
        "FOLLOWUP": lambda i: {"type": "call", "content": "电话沟通", "next_contact_at": moment(-3) if i % 5 == 0 else None},
    }
    for entity, n in counts.items():
        yield entity, [rec(entity, i, makers[entity](i)) for i in range(n)]


def _seed(engine, counts: dict[str, int]) -> float:
    from chalicelib.search import documents

    rng = random.Random(20261201)
    started = time.perf_counter()
    for _entity, records in _records(counts, rng):
        ops = [documents.index_op(r, {}) for r in records]
        for start in range(0, len(ops), 2000):
            engine.bulk(ops[start:start + 2000])
    engine.refresh()
    return time.perf_counter() - started


def _measure() -> dict[str, Any]:
    from unittest import mock

    from chalicelib.approvals import service as approvals
    from chalicelib.dashboard import service

    p = _principal()
    out: dict[str, Any] = {}
    with mock.patch.object(approvals, "pending_count", lambda _p: 0):  # DynamoDB, not the engine (see the docstring)
        for name, kwargs in (("whole dashboard (this year)", {}), ("funnel card alone", {"sections": ("funnel",)}),
                             ("briefing card alone", {"sections": ("briefing",)})):
            d = service.dashboard("subordinates", "year", None, None, p=p, **kwargs)  # warm
            samples, cpu = [], []
            for _ in range(REPS):
                t, c = time.perf_counter(), time.process_time()
                d = service.dashboard("subordinates", "year", None, None, p=p, **kwargs)
                samples.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            # wall time, and this process's CPU time (on a busy machine the wall time includes waiting for a core;
            # with OpenSearch the engine's own CPU is in the node, not here)
            out[name] = {**stats.summary(samples), "cpu_median": stats.summary(cpu)["median"], "cpu_p95": stats.summary(cpu)["p95"]}
            if name.startswith("whole"):
                out["figures_checked"] = {"contracts_signed_this_year": d["briefing"]["contract_amount"]["count"],
                                          "payments_this_year": d["briefing"]["payment_amount"]["count"]}
    return out


def run(contracts: int = 100_000, payments: int = 100_000, opensearch: bool = True) -> dict[str, Any]:
    from chalicelib.core.settings import environment
    from chalicelib.search import port

    counts = {"CUSTOMER": 10_000, "CONTACT": 5_000, "OPPORTUNITY": 10_000, "CONTRACT": contracts, "PAYMENT": payments,
              "PAYMENT_PLAN": 10_000, "FOLLOWUP": 10_000}
    results: dict[str, Any] = {"documents": counts, "viewer": "director over 50 of 200 owners, scope=subordinates, range=year",
                               "repetitions": REPS, "engines": {}}
    workdir = tempfile.mkdtemp(prefix="crm-bench-dashboard-")

    def one(name: str) -> None:
        port.reset()
        engine = port.get_index()
        engine.ensure()
        engine.drop_tenant(TENANT)
        seconds = _seed(engine, counts)
        results["engines"][name] = {"seed_seconds": round(seconds, 1), **_measure(),
                                    "load_average_1m": round(os.getloadavg()[0], 2)}  # other work on the machine shows here

    try:
        with environment(CRM_SEARCH_FILE=f"{workdir}/search.sqlite3", CRM_OPENSEARCH_URL=None, OPENSEARCH_URL=None):
            one("embedded")
        if opensearch:
            from devstack import opensearch as node_mod

            with node_mod.start(heap="1g") as node, environment(CRM_OPENSEARCH_URL=node.url, CRM_SEARCH_INDEX_PREFIX="benchdash"):
                one("opensearch")
    finally:
        port.reset()
    whole = "whole dashboard (this year)"
    results["budget"] = {name: {"p95_ms": e[whole]["p95"], "meets_budget": e[whole]["p95"] <= 200}
                         for name, e in results["engines"].items()}
    return results


if __name__ == "__main__":  # python -m bench.dashboard [--no-opensearch]: this measurement alone
    import json
    import sys

    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: settings, manifest installed

    with mock_aws():  # the tenant's settings (custom fields, stage groups) read from an empty table
        from devstack.resources import create_resources

        create_resources()
        n = int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--records=")), "100000"))
        print(json.dumps(run(n, n, opensearch="--no-opensearch" not in sys.argv), indent=2, ensure_ascii=False))
