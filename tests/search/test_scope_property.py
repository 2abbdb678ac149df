"""Property: for random organisations, roles, data scopes and record teams, what a search
returns is exactly what the permission rules allow (no leak, no loss) — on every engine.

The org worlds and the first-principles reference model are the ones the permissions
property tests use (tests/unit/test_permissions_property.py); the scope filter under test
is the one the API builds (search.rules.entity_query), executed inside the engine."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings

from chalicelib.core.permissions import FieldAccess
from chalicelib.engine.store import EntityRecord
from chalicelib.search import documents, schema
from chalicelib.search import rules as search
from chalicelib.search.query import SearchRequest
from tests.unit.test_permissions_property import NOW, ORDER, World, principals, ref_field, ref_record_access, worlds

_n = itertools.count()


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(w=worlds())
def test_search_results_equal_the_permission_rules(engine, w: World) -> None:
    org = w.snapshot()
    tenant = f"prop{next(_n)}-{engine.name}"
    org.tenant_id = tenant
    recs = []
    for i, r in enumerate(w.records):
        c = EntityRecord(tenant_id=tenant, entity="CUSTOMER", id=f"r{i:03d}", owner_id=r["owner"], data={"name": f"客户{i}"},
                         created_at=f"2024-01-01T00:00:{i:02d}.000Z", created_by="x", updated_at="2024-01-01T00:00:00.000Z",
                         updated_by="x", team=r["team"] or {})
        c.version = 1
        recs.append(c)
    engine.bulk([documents.index_op(c, {}) for c in recs])
    engine.refresh()
    es = schema.get("CUSTOMER")
    for p in principals(w, org):
        expected = {f"r{i:03d}" for i, r in enumerate(w.records)
                    if ref_record_access(w, p.user_id, "customers", r["owner"], r["team"], NOW) is not None}
        # a text query looks only at fields the caller may read unmasked (name here)
        name_readable = ORDER[ref_field(w, p.user_id, "customers", "name")] >= ORDER[FieldAccess.READ]
        for text, want in (("", expected), ("客户", expected if name_readable else set())):
            res = engine.search(SearchRequest(tenant, [search.entity_query(p, es, now=NOW, custom={})], text, limit=100))
            got = {h.id for h in res.hits}
            assert got == want, (p.user_id, text, sorted(got ^ want))
            assert res.total == len(want)
