"""One contract, every engine: same queries -> same hits, same order rules, same facet counts."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from chalicelib.engine.store import EntityRecord
from chalicelib.search import documents
from chalicelib.search.query import Aggregation, EntityQuery, Filter, IndexOp, Scope, SearchRequest

SLOTS = {"budget": "cf_n1", "visit_day": "cf_d1", "vip": "cf_b1", "channel": "cf_k1", "motto": "cf_t1", "areas": "cf_m1"}
NOW = "2026-11-22T00:00:00.000Z"
_ids = itertools.count(1)


def cust(tenant: str, name: str, owner: str = "u1", version: int = 1, created: str | None = None, team=None, custom=None,
         **fields) -> EntityRecord:
    n = next(_ids)
    c = EntityRecord(tenant_id=tenant, entity="CUSTOMER", id=f"c{n:05d}", owner_id=owner,
                     data={"name": name, "deal_status": "none", "locked": False, **fields},  # the defaults a create stores
                     custom=custom or {}, created_at=created or f"2026-01-01T00:00:{n % 60:02d}.000Z", created_by=owner,
                     updated_at="2026-01-02T00:00:00.000Z", updated_by=owner, team=team or {})
    c.version = version
    return c


def put(engine, *records: EntityRecord) -> None:
    engine.bulk([documents.index_op(r, SLOTS) for r in records])
    engine.refresh()


def everything(tenant: str, **kw) -> SearchRequest:
    eq = EntityQuery("CUSTOMER", kw.pop("scope", Scope(None)), text_fields=kw.pop("text_fields", ("name", "address", "remark", "cf_t1")),
                     prefix_fields=kw.pop("prefix_fields", ("mobile", "phone", "email")),
                     exact_fields=kw.pop("exact_fields", ("name", "mobile", "email")))
    return SearchRequest(tenant, [eq], **kw)


def names(result) -> list[str]:
    return [h.source["name"] for h in result.hits]


def test_two_character_chinese_queries_find_what_a_person_expects(engine, tenant):
    put(engine, cust(tenant, "华为技术有限公司"), cust(tenant, "深圳华为终端"), cust(tenant, "华夏银行"),
        cust(tenant, "上海建工", remark="年度合同已签"), cust(tenant, "王芳的小店"), cust(tenant, "王建芳"))
    assert sorted(names(engine.search(everything(tenant, text="华为")))) == ["华为技术有限公司", "深圳华为终端"]
    assert names(engine.search(everything(tenant, text="合同"))) == ["上海建工"]
    assert names(engine.search(everything(tenant, text="王芳"))) == ["王芳的小店"]
    # one character finds every record with it; a 3+ character run needs all its bigrams
    assert sorted(names(engine.search(everything(tenant, text="芳")))) == ["王建芳", "王芳的小店"]
    assert names(engine.search(everything(tenant, text="华为技术"))) == ["华为技术有限公司"]


def test_mixed_latin_and_chinese_query_needs_every_term_in_some_field(engine, tenant):
    put(engine, cust(tenant, "ACME 上海分公司"), cust(tenant, "Acme Corp", address="上海市浦东新区"), cust(tenant, "ACME 北京"),
        cust(tenant, "上海贸易"), cust(tenant, "ＡＣＭＥ全角"))
    assert sorted(names(engine.search(everything(tenant, text="ACME 上海")))) == ["ACME 上海分公司", "Acme Corp"]
    assert sorted(names(engine.search(everything(tenant, text="acme")))) == ["ACME 上海分公司", "ACME 北京", "Acme Corp", "ＡＣＭＥ全角"]


def test_mobile_phone_and_email_match_by_prefix(engine, tenant):
    put(engine, cust(tenant, "甲", mobile="13800012345"), cust(tenant, "乙", mobile="13900012345"),
        cust(tenant, "丙", phone="021-6688 1234"), cust(tenant, "丁", email="Wang.Fang@acme.com"))
    assert names(engine.search(everything(tenant, text="1380001"))) == ["甲"]
    assert sorted(names(engine.search(everything(tenant, text="13")))) == ["乙", "甲"]
    assert names(engine.search(everything(tenant, text="021-6688"))) == ["丙"]
    assert names(engine.search(everything(tenant, text="wang.f"))) == ["丁"]
    # the middle of a number is not a prefix
    assert names(engine.search(everything(tenant, text="0012345"))) == []


def test_exact_match_ranks_first(engine, tenant):
    put(engine, cust(tenant, "华为技术有限公司"), cust(tenant, "华为华为终端", remark="华为 华为"), cust(tenant, "华为"),
        cust(tenant, "甲", mobile="13800012345"), cust(tenant, "乙", mobile="1380001234"))
    assert names(engine.search(everything(tenant, text="华为")))[0] == "华为"
    assert names(engine.search(everything(tenant, text="1380001234")))[0] == "乙"


def test_text_query_only_looks_at_fields_the_caller_may_read(engine, tenant):
    put(engine, cust(tenant, "普通客户", remark="机密合同", mobile="13812345678"))
    assert names(engine.search(everything(tenant, text="机密"))) == ["普通客户"]
    assert names(engine.search(everything(tenant, text="机密", text_fields=("name",)))) == []
    assert names(engine.search(everything(tenant, text="138123", prefix_fields=()))) == []


def test_tenant_and_data_scope_are_inside_the_query(engine, tenant):
    other = tenant + "x"
    put(engine, cust(other, "别家客户", owner="u1"))
    put(engine,
        cust(tenant, "我的客户", owner="u1"), cust(tenant, "经理的客户", owner="m1"),
        cust(tenant, "共享给我", owner="m1", team={"u1": {"access": "read", "until": None}}),
        cust(tenant, "共享已过期", owner="m1", team={"u1": {"access": "write", "until": "2026-01-01T00:00:00.000Z"}}),
        cust(tenant, "共享未过期", owner="m2", team={"u1": {"access": "write", "until": "2027-01-01T00:00:00.000Z"}}))
    rep = Scope(frozenset({"u1"}), team_user="u1", now=NOW)
    assert sorted(names(engine.search(everything(tenant, scope=rep)))) == ["共享未过期", "共享给我", "我的客户"]
    assert names(engine.search(everything(tenant, scope=Scope(frozenset({"u1"}), "u1", NOW, only_owners=True)))) == ["我的客户"]
    assert sorted(names(engine.search(everything(tenant, scope=Scope(frozenset({"u1"}), "u1", NOW, only_team=True))))) == ["共享未过期", "共享给我"]
    assert len(engine.search(everything(tenant, scope=Scope(None))).hits) == 5
    assert names(engine.search(everything(tenant, scope=Scope(frozenset()), text="客户"))) == []
    assert "别家客户" not in names(engine.search(everything(tenant, text="客户")))


def test_filters_on_built_in_and_custom_fields(engine, tenant):
    put(engine,
        cust(tenant, "A1", level="A", credit_limit=Decimal("5000.50"), tags=["重点", "华东"],
             custom={"budget": 100, "visit_day": "2026-11-05", "vip": True, "channel": "web", "motto": "诚信为本",
                     "areas": ["华东", "华南"]}),
        cust(tenant, "B1", level="B", credit_limit=Decimal("100"), tags=["华东"], custom={"budget": 900, "visit_day": "2026-10-20", "vip": False}),
        cust(tenant, "C1", level="C", region="上海/浦东"),
        cust(tenant, "A2", level="A", created="2026-10-31T17:00:00.000Z"))

    def run(*filters, **kw):
        return sorted(names(engine.search(everything(tenant, filters=list(filters), **kw))))

    assert run(Filter("level", "eq", "A")) == ["A1", "A2"]
    assert run(Filter("level", "in", ["B", "C"])) == ["B1", "C1"]
    assert run(Filter("credit_limit", "range", {"gte": 100, "lt": 5000.5})) == ["B1"]
    assert run(Filter("credit_limit", "exists")) == ["A1", "B1"]
    assert run(Filter("credit_limit", "missing")) == ["A2", "C1"]
    assert run(Filter("tags", "eq", "华东")) == ["A1", "B1"]
    assert run(Filter("region", "contains", "浦东")) == ["C1"]
    assert run(Filter("name", "contains", "a")) == ["A1", "A2"]
    assert run(Filter("cf_n1", "range", {"gt": 500})) == ["B1"]
    assert run(Filter("cf_d1", "range", {"gte": "2026-11-01", "lt": "2026-12-01"})) == ["A1"]
    assert run(Filter("cf_b1", "eq", True)) == ["A1"]
    assert run(Filter("cf_k1", "eq", "web")) == ["A1"]
    assert run(Filter("cf_m1", "in", ["华南", "西北"])) == ["A1"]
    assert run(Filter("cf_m1", "missing")) == ["A2", "B1", "C1"]
    assert run(Filter("cf_k2", "exists")) == []  # a slot no document uses yet
    assert run(Filter("cf_k2", "missing")) == ["A1", "A2", "B1", "C1"]
    assert run(Filter("created_at", "range", {"gte": "2026-10-31T16:00:00.000Z", "lt": "2026-11-30T16:00:00.000Z"})) == ["A2"]
    assert run(Filter("level", "eq", "A"), Filter("tags", "exists")) == ["A1"]
    assert run(text="诚信") == ["A1"]


def test_sort_puts_missing_last_breaks_ties_by_id_and_pages_without_gaps(engine, tenant):
    values = [Decimal(v) if v is not None else None for v in ["30", "10", None, "20", "10", None, "5"]]
    put(engine, *[cust(tenant, f"n{i}", credit_limit=v) for i, v in enumerate(values)])
    for direction in ("asc", "desc"):
        full = engine.search(everything(tenant, sort=[("credit_limit", direction)], limit=50))
        got = [(h.source.get("credit_limit"), h.id) for h in full.hits]
        present = sorted([g for g in got if g[0] is not None], key=lambda g: (-g[0] if direction == "desc" else g[0], g[1]))
        assert got == present + sorted(g for g in got if g[0] is None)
        paged, after = [], None
        while True:
            page = engine.search(everything(tenant, sort=[("credit_limit", direction)], limit=2, after=after))
            paged += [h.id for h in page.hits]
            after = page.after
            if not after:
                break
        assert paged == [h.id for h in full.hits]
    newest = engine.search(everything(tenant, limit=3))
    assert [h.source["created_at"] for h in newest.hits] == sorted((c.source["created_at"] for c in full.hits), reverse=True)[:3]
    assert newest.total == 7


def test_relevance_pages_cover_every_hit_once(engine, tenant):
    put(engine, *[cust(tenant, f"华为{i}号店") for i in range(7)])
    seen, after = [], None
    while True:
        page = engine.search(everything(tenant, text="华为", limit=3, after=after))
        seen += [h.id for h in page.hits]
        after = page.after
        if not after:
            break
    assert len(seen) == 7 == len(set(seen))


def test_facet_counts(engine, tenant):
    put(engine, cust(tenant, "1", level="A", tags=["x", "y"], locked=True, custom={"areas": ["华东", "华南"]}),
        cust(tenant, "2", level="A", tags=["x"], custom={"areas": ["华东"]}),
        cust(tenant, "3", level="B", credit_limit=Decimal(7)), cust(tenant, "4", credit_limit=Decimal(7)), cust(tenant, "华为", level="C"))
    r = engine.search(everything(tenant, facets=["level", "tags", "locked", "credit_limit", "cf_m1", "cf_k9"]))
    assert r.facets["cf_m1"] == [("华东", 2), ("华南", 1)]
    assert r.facets["cf_k9"] == []
    assert r.facets["level"] == [("A", 2), ("B", 1), ("C", 1)]
    assert r.facets["tags"] == [("x", 2), ("y", 1)]
    assert r.facets["locked"] == [(False, 4), (True, 1)]
    assert r.facets["credit_limit"] == [(7, 2)]
    r = engine.search(everything(tenant, facets=["level"], filters=[Filter("tags", "eq", "x")]))
    assert r.facets["level"] == [("A", 2)] and r.total == 2


def test_aggregations_group_count_and_sum_within_scope_by_value_and_calendar_period(engine, tenant):
    put(engine, cust(tenant, "一", level="A", credit_limit=Decimal("100.10"), created="2026-01-15T10:00:00.000Z"),
        cust(tenant, "二", level="A", credit_limit=Decimal("50.25"), created="2026-03-31T20:00:00.000Z"),  # 1 April in UTC+8
        cust(tenant, "三", level="B", credit_limit=Decimal(30), created="2026-04-02T01:00:00.000Z", owner="u2"),
        cust(tenant, "四", created="2026-07-01T00:00:00.000Z"))
    by_level = Aggregation(by=("level",), sums=("credit_limit",))
    r = engine.search(everything(tenant, limit=1, aggregations={"levels": by_level,
                                                                "months": Aggregation(date_field="created_at", period="month"),
                                                                "quarters": Aggregation(by=("owner_id",), date_field="created_at",
                                                                                        period="quarter", sums=("credit_limit",))}))
    assert [(b.key, b.count, b.sums) for b in r.aggregations["levels"]] == [
        ({"level": None}, 1, {"credit_limit": 0.0}), ({"level": "A"}, 2, {"credit_limit": 150.35}),
        ({"level": "B"}, 1, {"credit_limit": 30.0})]
    assert [(b.key["period"], b.count) for b in r.aggregations["months"]] == [("2026-01", 1), ("2026-04", 2), ("2026-07", 1)]
    assert [(b.key, b.count, b.sums["credit_limit"]) for b in r.aggregations["quarters"]] == [
        ({"owner_id": "u1", "period": "2026-Q1"}, 1, 100.1), ({"owner_id": "u1", "period": "2026-Q2"}, 1, 50.25),
        ({"owner_id": "u1", "period": "2026-Q3"}, 1, 0.0), ({"owner_id": "u2", "period": "2026-Q2"}, 1, 30.0)]
    assert len(r.hits) == 1 and r.total == 4  # the figures cover every match, not the page
    # the caller's scope and filters apply to the figures as to the hits
    mine = engine.search(everything(tenant, scope=Scope(frozenset({"u2"})), aggregations={"all": Aggregation(sums=("credit_limit",))}))
    assert [(b.count, b.sums) for b in mine.aggregations["all"]] == [(1, {"credit_limit": 30.0})]
    none = engine.search(everything(tenant, filters=[Filter("level", "eq", "Z")], aggregations={"levels": by_level}))
    assert none.aggregations == {"levels": []}
    with pytest.raises(ValueError):
        engine.search(everything(tenant, aggregations={"tags": Aggregation(by=("tags",))}))  # multi-valued


def test_monthly_sums_per_owner_of_a_date_only_field_within_a_date_range_keep_each_day_in_its_month(engine, tenant):
    """What targets' achievement asks (targets/service.py: actuals): amounts by owner and month of a
    date field (sign date, payment date), the range's last day included, month ends in their month."""
    put(engine, cust(tenant, "一", credit_limit=Decimal("100.10"), custom={"visit_day": "2026-01-31"}),
        cust(tenant, "二", credit_limit=Decimal("50.25"), custom={"visit_day": "2026-01-01"}),
        cust(tenant, "三", credit_limit=Decimal("30"), custom={"visit_day": "2026-03-31"}, owner="u2"),
        cust(tenant, "四", credit_limit=Decimal("999"), custom={"visit_day": "2026-04-01"}),
        cust(tenant, "五", credit_limit=Decimal("7"), custom={"visit_day": "2025-12-31"}),
        cust(tenant, "六", credit_limit=Decimal("1")))
    agg = Aggregation(by=("owner_id",), date_field="cf_d1", period="month", sums=("credit_limit",), size=100_000)
    r = engine.search(everything(tenant, limit=1, filters=[Filter("cf_d1", "range", {"gte": "2026-01-01", "lte": "2026-03-31"})],
                                 aggregations={"a": agg}))
    assert [(b.key, b.count, b.sums["credit_limit"]) for b in r.aggregations["a"]] == [
        ({"owner_id": "u1", "period": "2026-01"}, 2, 150.35), ({"owner_id": "u2", "period": "2026-03"}, 1, 30.0)]


def test_several_aggregations_with_conditions_of_their_own_in_one_call(engine, tenant):
    """Given customers of two owners, when one call asks several requests, each with aggregations
    narrowed by conditions of their own, then every figure counts only its documents, within the
    request's scope, and a figures-only request returns no hits."""
    put(engine, cust(tenant, "一", level="A", credit_limit=Decimal(100), created="2026-01-15T10:00:00.000Z"),
        cust(tenant, "二", level="A", credit_limit=Decimal(50), created="2026-02-10T10:00:00.000Z"),
        cust(tenant, "三", level="B", credit_limit=Decimal(30), created="2026-02-11T10:00:00.000Z", owner="u2"),
        cust(tenant, "四", created="2026-07-01T00:00:00.000Z"))
    feb = Filter("created_at", "range", {"gte": "2026-02-01T00:00:00Z", "lt": "2026-03-01T00:00:00Z"})
    figures = {"feb": Aggregation(sums=("credit_limit",), filters=(feb,)),
               "a_by_month": Aggregation(date_field="created_at", period="month", filters=(Filter("level", "eq", "A"),)),
               "none": Aggregation(filters=(Filter("level", "eq", "Z"),)),
               "all": Aggregation()}
    mine = everything(tenant, scope=Scope(frozenset({"u1"})), aggregations=figures, figures_only=True)
    r_all, r_mine, r_list = engine.search_many([everything(tenant, aggregations=figures, figures_only=True), mine,
                                                everything(tenant, limit=2)])
    assert [(b.count, b.sums) for b in r_all.aggregations["feb"]] == [(2, {"credit_limit": 80.0})]
    assert [(b.key["period"], b.count) for b in r_all.aggregations["a_by_month"]] == [("2026-01", 1), ("2026-02", 1)]
    assert r_all.aggregations["none"] == [] and [b.count for b in r_all.aggregations["all"]] == [4]
    assert r_all.hits == [] and r_mine.hits == []
    assert [(b.count, b.sums) for b in r_mine.aggregations["feb"]] == [(1, {"credit_limit": 50.0})]
    assert [b.count for b in r_mine.aggregations["all"]] == [3]
    assert len(r_list.hits) == 2 and r_list.total == 4  # an ordinary request in the same call is answered as search() would
    assert engine.search_many([]) == []


def test_versions_make_replays_harmless_and_deletes_final(engine, tenant):
    c = cust(tenant, "旧名字", version=3)
    put(engine, c)
    older = cust(tenant, "更旧的名字", version=2)
    older.id = c.id
    newer = cust(tenant, "新名字", version=4)
    newer.id = c.id
    engine.bulk([documents.index_op(newer, SLOTS), documents.index_op(older, SLOTS), documents.index_op(c, SLOTS)])
    engine.refresh()
    assert names(engine.search(everything(tenant))) == ["新名字"]
    assert engine.versions(tenant, "CUSTOMER") == {c.id: 4}
    engine.bulk([IndexOp("delete", "CUSTOMER", tenant, c.id, 5)])
    engine.refresh()
    engine.bulk([documents.index_op(newer, SLOTS)])  # a replay of version 4 after the delete
    engine.refresh()
    assert engine.search(everything(tenant)).total == 0
    assert engine.versions(tenant, "CUSTOMER") == {}


def test_highlight_marks_the_query_terms(engine, tenant):
    put(engine, cust(tenant, "华为技术有限公司", remark="与华为签订合同"))
    hit = engine.search(everything(tenant, text="华为", highlight=True)).hits[0]
    assert "<em>华为</em>" in hit.highlight["name"]
    assert "<em>华为</em>" in hit.highlight["remark"]


MARKUP = ('<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "<em>x</em>", "&lt;b&gt;", "'onmouseover='a")


@pytest.mark.parametrize("markup", MARKUP)
def test_every_highlighted_fragment_is_escaped_text_with_only_the_marks_as_markup(engine, tenant, markup):
    """Markup in every text field (text, prefix and custom slots) comes back as text in the
    highlights: unescaping a fragment without its marks gives back the record's own value."""
    import html
    import re

    values = {"name": f"{markup}华为代理", "address": f"华为{markup}路", "remark": f"华为{markup}", "mobile": f"华为{markup}",
              "phone": f"华为{markup}", "email": f"华为{markup}@x.cn"}
    put(engine, cust(tenant, custom={"motto": f"{markup}华为"}, **values))
    hit = engine.search(everything(tenant, text="华为", highlight=True)).hits[0]
    expected = {**values, "cf_t1": f"{markup}华为"}
    assert {"name", "address", "remark", "cf_t1"} <= set(hit.highlight)
    for field, fragment in hit.highlight.items():
        text = re.sub(r"</?em>", "", fragment)
        assert "<" not in text and ">" not in text, (field, fragment)
        assert html.unescape(text) == expected[field], (field, fragment)


def test_drop_tenant_removes_only_that_tenant(engine, tenant):
    put(engine, cust(tenant, "a"), cust(tenant + "y", "b"))
    engine.drop_tenant(tenant)
    engine.refresh()
    assert engine.search(everything(tenant)).total == 0
    assert engine.search(everything(tenant + "y")).total == 1


@pytest.mark.parametrize("query", ["", "   ", "!!!", "*", '"', "AND", "a OR b", "华为 NOT"])
def test_odd_queries_never_fail(engine, tenant, query):
    put(engine, cust(tenant, "华为 AND 合作"))
    r = engine.search(everything(tenant, text=query))
    assert r.total == len(r.hits)
