"""Search: indexing throughput through the stream indexer, and query latency at 10k and
100k records, on the embedded engine and on a real OpenSearch node (ARCHITECTURE.md §10:
search p95 ≤ 50 ms at 100,000 records on the embedded engine).

Records are generated in memory (Chinese company names from a pool, mobiles, levels,
industries, 200 owners, some record teams) and fed to `functions.indexer.handler` as
DynamoDB stream events of 100 records (the Lambda batch size in infra/), so the
throughput covers the whole indexer path: image -> record -> document -> bulk.

The query mix is what users do all day, each run as a rep (own records + team grants), a
director (50 owners) and an admin (全部): a 2-character Chinese term, a mobile prefix, a
mixed Latin/Chinese query, a filtered list with two facets, and the newest page.

Duplicate checks (查重) are measured end to end through `duplicates.service.check` — the
function the check endpoint and every customer create/edit call — with the default rules, as
the same three viewers: a company name + mobile of one of their own customers, of someone
else's customer (a block found by the unscoped request), and values matching nothing.
"""
from __future__ import annotations

import random
import tempfile
import time
from typing import Any

from . import stats

CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "武汉", "南京", "苏州", "西安"]
BRANDS = ["华为", "华夏", "合同", "王芳", "腾达", "金山", "万通", "远景", "新星", "宏达", "恒信", "ACME", "Globex", "Initech"]
SUFFIX = ["科技有限公司", "贸易有限公司", "建材厂", "信息技术有限公司", "餐饮管理公司", "物流有限公司", "设计工作室"]
LEVELS, INDUSTRIES = ("A", "B", "C"), ("it", "manufacturing", "finance", "education", "retail")
TENANT = "bench-search"
OWNERS = [f"u{i:03d}" for i in range(200)]
BATCH = 100
REPS = 30


def _records(start: int, count: int, rng: random.Random):
    from chalicelib.engine import store

    out = []
    for i in range(start, start + count):
        owner = OWNERS[i % len(OWNERS)]
        team = {OWNERS[(i + 7) % len(OWNERS)]: {"access": "read", "until": None}} if i % 10 == 0 else {}
        data = {"name": f"{rng.choice(CITIES)}{rng.choice(BRANDS)}{rng.choice(SUFFIX)}{i}", "level": LEVELS[i % 3],
                "industry": INDUSTRIES[i % 5], "mobile": f"13{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}",
                "region": f"{rng.choice(CITIES)}市", "remark": "年度合同已签" if i % 20 == 0 else None}
        c = store.EntityRecord(tenant_id=TENANT, entity="CUSTOMER", id=f"c{i:07d}", owner_id=owner,
                               data={k: v for k, v in data.items() if v is not None}, custom={},
                               created_at=f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T08:00:00.000Z", created_by=owner,
                               updated_at="2026-11-01T00:00:00.000Z", updated_by=owner, team=team)
        c.pk, c.sk = store.record_key(TENANT, "CUSTOMER", c.id)
        c.version = 1
        out.append(c)
    return out


def _events(records) -> list[dict[str, Any]]:
    """Lambda stream events (INSERT, NewImage in DynamoDB JSON), BATCH records each."""
    events = []
    for start in range(0, len(records), BATCH):
        batch = []
        for n, r in enumerate(records[start:start + BATCH]):
            image = r.serialize()
            batch.append({"eventName": "INSERT", "dynamodb": {"Keys": {"pk": image["pk"], "sk": image["sk"]}, "NewImage": image,
                                                             "SequenceNumber": str(start + n)}})
        events.append({"Records": batch})
    return events


def _index(events) -> float:
    from functions import indexer

    started = time.perf_counter()
    for e in events:
        out = indexer.handler(e)
        if out["batchItemFailures"]:
            raise RuntimeError("indexer reported failures")
    return time.perf_counter() - started


def _queries():
    from chalicelib.search.query import EntityQuery, Filter, Scope, SearchRequest

    text, prefix = ("name", "address", "remark"), ("mobile", "phone", "email")
    now = "2026-11-22T00:00:00.000Z"
    viewers = {
        "rep": Scope(frozenset({OWNERS[3]}), OWNERS[3], now),
        "director": Scope(frozenset(OWNERS[:50]), OWNERS[0], now),
        "admin": Scope(None, OWNERS[0], now),
    }

    def req(scope, **kw):
        return SearchRequest(TENANT, [EntityQuery("CUSTOMER", scope, text, prefix, text + prefix)], **kw)

    out = {}
    for who, scope in viewers.items():
        out[f"{who}: 2-character term 华为"] = req(scope, text="华为", highlight=True)
        out[f"{who}: mobile prefix 1391"] = req(scope, text="1391")
        out[f"{who}: mixed ACME 上海"] = req(scope, text="ACME 上海")
        out[f"{who}: level in A,B + facets level, industry"] = req(scope, filters=[Filter("level", "in", ["A", "B"])],
                                                                   facets=["level", "industry"])
        out[f"{who}: newest page"] = req(scope)
    return out


def _measure(engine) -> dict[str, Any]:
    all_samples: list[float] = []
    text_samples: list[float] = []
    list_samples: list[float] = []
    per_query = {}
    for name, r in _queries().items():
        engine.search(r)  # warm
        samples = []
        for _ in range(REPS):
            t = time.perf_counter()
            res = engine.search(r)
            samples.append(time.perf_counter() - t)
        all_samples += samples
        (text_samples if r.text else list_samples).extend(samples)
        per_query[name] = {**stats.summary(samples), "total_hits": res.total}
    return {"all_queries_ms": stats.summary(all_samples), "text_search_ms": stats.summary(text_samples),
            "list_and_facets_ms": stats.summary(list_samples), "queries": per_query}


def _principals():
    """Viewers of the duplicate check: a rep (本人), a director over 49 reports (本人及下属), an admin (全部)."""
    from chalicelib.core.permissions import OrgSnapshot, OrgUser, Principal, Role, Scope

    actions = {"customers": frozenset({"create", "update", "list", "read"})}
    roles = {name: Role(name, actions=actions, scopes={"customers": scope})
             for name, scope in (("rep", Scope.SELF), ("director", Scope.SELF_AND_SUBORDINATES), ("admin", Scope.ALL))}
    users = {u: OrgUser(u, "d1", supervisor_id=OWNERS[0] if 0 < i < 50 else None,
                        role_ids=(("director",) if i == 0 else ("admin",) if i == 199 else ("rep",))) for i, u in enumerate(OWNERS)}
    org = OrgSnapshot(TENANT, {"d1": None}, users, roles)
    return {"rep": Principal(TENANT, OWNERS[3], org), "director": Principal(TENANT, OWNERS[0], org),
            "admin": Principal(TENANT, OWNERS[199], org)}


def _duplicate_checks(records) -> dict[str, Any]:
    """p50/p95 of `duplicates.service.check` per viewer and case (hits are in the index already)."""
    from chalicelib.duplicates import service
    from chalicelib.engine import registry

    customer = registry.find("customer")
    viewers = _principals()
    own = {who: next(r for r in records if r.owner_id == p.user_id) for who, p in viewers.items()}
    foreign = next(r for r in records if r.owner_id == OWNERS[150])  # nobody's scope but the admin's
    per_case, all_samples = {}, []
    for who, p in viewers.items():
        cases = {"own customer's name + mobile": {"name": own[who].data["name"], "mobile": own[who].data["mobile"]},
                 "another owner's name (blocked, unseen)": {"name": foreign.data["name"]},
                 "new values (no match)": {"name": "从未出现过的公司有限公司", "mobile": "13000000000", "email": "nobody@example.cn"}}
        for case, values in cases.items():
            service.check(customer, values, p=p)  # warm
            samples = []
            for _ in range(REPS):
                t = time.perf_counter()
                found = service.check(customer, values, p=p)
                samples.append(time.perf_counter() - t)
            all_samples += samples
            per_case[f"{who}: {case}"] = {**stats.summary(samples), "blocked": found["blocked"], "readable_matches": found["total"]}
    return {"all_ms": stats.summary(all_samples), "cases": per_case}


def _engine() -> Any:
    """The engine the current settings select (the indexer writes to the same one)."""
    from chalicelib.search import port

    port.reset()
    engine = port.get_index()
    engine.ensure()
    return engine


def run_engine(engine, sizes: tuple[int, ...]) -> dict[str, Any]:
    rng = random.Random(20261122)
    out: dict[str, Any] = {"engine": engine.name, "sizes": {}}
    have = 0
    engine.drop_tenant(TENANT)
    for size in sizes:
        records = _records(have, size - have, rng)
        events = _events(records)
        seconds = _index(events)
        engine.refresh()
        have = size
        out["sizes"][str(size)] = {
            "indexed_now": len(records), "index_seconds": round(seconds, 2),
            "records_per_second": round(len(records) / seconds) if seconds else None,
            **_measure(engine),
            "duplicate_check": _duplicate_checks(records),
        }
    return out


def run(sizes: tuple[int, ...] = (10_000, 100_000), opensearch: bool = True) -> dict[str, Any]:
    """Both engines; the OpenSearch node is started here and stopped after."""
    from chalicelib.core.settings import environment
    from chalicelib.search import port

    results: dict[str, Any] = {"batch": BATCH, "repetitions_per_query": REPS, "engines": {}}
    workdir = tempfile.mkdtemp(prefix="crm-bench-search-")
    try:
        with environment(CRM_SEARCH_FILE=f"{workdir}/search.sqlite3", CRM_OPENSEARCH_URL=None, OPENSEARCH_URL=None):
            results["engines"]["embedded"] = run_engine(_engine(), sizes)
        if opensearch:
            from devstack import opensearch as node_mod

            with node_mod.start(heap="1g") as node, environment(CRM_OPENSEARCH_URL=node.url, CRM_SEARCH_INDEX_PREFIX="bench"):
                results["engines"]["opensearch"] = run_engine(_engine(), sizes)
                results["engines"]["opensearch"]["node"] = f"OpenSearch {node_mod.VERSION} (integration-test distribution, 1 node, heap 1g)"
    finally:
        port.reset()
    big = str(max(sizes))
    emb = results["engines"]["embedded"]["sizes"][big]
    results["budget"] = {"size": int(big), "text_search_p95_ms": emb["text_search_ms"]["p95"],
                         "list_and_facets_p95_ms": emb["list_and_facets_ms"]["p95"], "all_p95_ms": emb["all_queries_ms"]["p95"],
                         "meets_budget": emb["text_search_ms"]["p95"] <= 50,
                         "duplicate_check_p95_ms": emb["duplicate_check"]["all_ms"]["p95"],
                         "duplicate_check_meets_budget": emb["duplicate_check"]["all_ms"]["p95"] <= 50}
    return results
