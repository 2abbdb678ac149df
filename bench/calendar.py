"""Calendar (日程): a department's week view and the conflict check of a new event, at 10,000 events in
the tenant, on the embedded engine (no stack needed: `python -m bench.calendar`).

The tenant is generated in memory and bulk-indexed straight into the engine (the indexer path is
measured by the search benchmark): 10,000 events of 200 people in 10 departments, spread over a year
around today, one in ten recurring (weekly, 10–20 times; one in fifty without an end), one in twenty
private, each with 0–3 participants. A sales manager (本人及下属 over their department) asks for
the week of their department (20 people): one index query for the events whose series span overlaps
the week, the recurring ones expanded, plus one index query per calendar source the caller may list
(follow-ups, contracts) — `calendar.service.view` as the route answers it. The conflict check of a
new one-hour event with 3 participants is `calendar.conflicts.find` as the create's validation runs
it: its round trips are counted (index queries, and DynamoDB calls through the call recorder: none).
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import timedelta
from typing import Any

from . import stats

TENANT = "bench-calendar"
DEPARTMENTS = [f"d{i}" for i in range(10)]
PEOPLE = [f"u{i:03d}" for i in range(200)]
REPS = 40
MODULES = ("calendar", "followups", "contracts")


def _principal():
    from chalicelib.core.permissions import OrgSnapshot, OrgUser, Principal, Role, Scope

    role = Role("manager", actions={m: frozenset({"list", "read", "create", "update"}) for m in MODULES},
                scopes={m: Scope.SELF_AND_SUBORDINATES for m in MODULES})
    users = {u: OrgUser(u, DEPARTMENTS[i // 20], supervisor_id=None if i % 20 == 0 else PEOPLE[i // 20 * 20],
                        role_ids=("manager",) if i % 20 == 0 else ()) for i, u in enumerate(PEOPLE)}
    return Principal(TENANT, PEOPLE[0], OrgSnapshot(TENANT, dict.fromkeys(DEPARTMENTS), users, {"manager": role}))


def _events(n: int, rng: random.Random):
    from chalicelib.calendar.entity import EVENT
    from chalicelib.core import clock
    from chalicelib.engine import service as engine
    from chalicelib.engine import store

    now = clock.now().replace(minute=0, second=0, microsecond=0)
    for i in range(n):
        owner = PEOPLE[i % len(PEOPLE)]
        start = now + timedelta(hours=rng.randint(-180 * 24, 180 * 24))
        data: dict[str, Any] = {"title": f"日程{i}", "start_at": clock.iso(start),
                                "end_at": clock.iso(start + timedelta(minutes=rng.choice((30, 60, 90, 120)))),
                                "participant_ids": rng.sample(PEOPLE, rng.randint(0, 3)), "private": i % 20 == 0,
                                "location": "会议室" if i % 2 else None}
        if i % 10 == 0:
            data["rrule"] = "FREQ=WEEKLY" if i % 50 == 0 else f"FREQ=WEEKLY;COUNT={rng.randint(10, 20)}"
        data = {k: v for k, v in data.items() if v is not None}
        data = engine.derived(EVENT, TENANT, None, None, owner, data)
        r = store.EntityRecord(tenant_id=TENANT, entity=EVENT.entity, id=f"ev{i:07d}", owner_id=owner, data=data, custom={},
                               created_at=clock.now_iso(), created_by=owner, updated_at=clock.now_iso(), updated_by=owner, team={})
        r.version = 1
        yield r


def _seed(engine, n: int) -> float:
    from chalicelib.search import documents

    started = time.perf_counter()
    ops = [documents.index_op(r, {}) for r in _events(n, random.Random(20261202))]
    for start in range(0, len(ops), 2000):
        engine.bulk(ops[start:start + 2000])
    engine.refresh()
    return time.perf_counter() - started


def _timed(fn, reps: int) -> tuple[dict[str, Any], Any]:
    fn()  # warm
    samples, cpu, last = [], [], None
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        last = fn()
        samples.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {**stats.summary(samples), "cpu_median": stats.summary(cpu)["median"]}, last


def _measure() -> dict[str, Any]:
    from chalicelib.calendar import conflicts, service
    from chalicelib.core import clock

    from .calls import RECORDER

    p = _principal()
    monday = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    out: dict[str, Any] = {}
    week, shown = _timed(lambda: service.view(monday, monday + timedelta(days=7), department_id=DEPARTMENTS[0], p=p), REPS)
    out["department week view"] = {**week, "items": len(shown["items"]),
                                   "busy_items": sum(1 for i in shown["items"] if i["busy"])}
    month, shown = _timed(lambda: service.view(monday, monday + timedelta(days=35), department_id=DEPARTMENTS[0], p=p), REPS)
    out["department 5-week view"] = {**month, "items": len(shown["items"])}
    rng = random.Random(7)

    def check() -> int:
        start = monday + timedelta(days=rng.randint(0, 27), hours=rng.randint(8, 18))
        values = {"start_at": clock.iso(start), "end_at": clock.iso(start + timedelta(hours=1)),
                  "participant_ids": rng.sample(PEOPLE[:20], 3)}
        return len(conflicts.find(p, values, PEOPLE[0]))

    before = conflicts.ROUND_TRIPS["search"]
    RECORDER.install()
    try:
        with RECORDER.record() as rec:
            found, _ = _timed(check, REPS)
        dynamodb = rec.round_trips
    finally:
        RECORDER.uninstall()
    queries = (conflicts.ROUND_TRIPS["search"] - before) / (REPS + 1)
    out["conflict check on create"] = {**found, "index_queries_per_check": queries, "dynamodb_round_trips": dynamodb}
    return out


def run(events: int = 10_000) -> dict[str, Any]:
    from chalicelib.core.settings import environment
    from chalicelib.search import port

    workdir = tempfile.mkdtemp(prefix="crm-bench-calendar-")
    try:
        with environment(CRM_SEARCH_FILE=f"{workdir}/search.sqlite3", CRM_OPENSEARCH_URL=None, OPENSEARCH_URL=None):
            port.reset()
            engine = port.get_index()
            engine.ensure()
            engine.drop_tenant(TENANT)
            seconds = _seed(engine, events)
            return {"events": events, "viewer": "sales manager of a 20-person department (本人及下属)", "repetitions": REPS,
                    "engine": "embedded", "seed_seconds": round(seconds, 1), **_measure(),
                    "load_average_1m": round(os.getloadavg()[0], 2)}
    finally:
        port.reset()


if __name__ == "__main__":  # python -m bench.calendar [--events=N]: this measurement alone
    import json
    import sys

    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: settings, manifest installed

    with mock_aws():
        from devstack.resources import create_resources

        create_resources()
        n = int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--events=")), "10000"))
        print(json.dumps(run(n), indent=2, ensure_ascii=False))
