"""Duplicate keys in the index, on every engine: documents of a record type that declares
duplicate checks carry dup_<kind> keyword fields (normalised, multi-valued), one request
checks several kinds across several record types (`any_of` + per-entity filters), the data
scope still applies, and a reindex with `replace` gives existing documents the new fields."""
from __future__ import annotations

import dataclasses
import itertools

from chalicelib.engine.store import EntityRecord
from chalicelib.search import documents
from chalicelib.search.query import EntityQuery, Filter, Scope, SearchRequest, any_of

_ids = itertools.count(1)
NOW = "2026-11-22T00:00:00.000Z"


def rec(tenant: str, entity: str, name: str, owner: str = "u1", version: int = 1, **fields) -> EntityRecord:
    n = next(_ids)
    r = EntityRecord(tenant_id=tenant, entity=entity, id=f"{entity[0].lower()}{n:05d}", owner_id=owner, data={"name": name, **fields},
                     custom={}, created_at=f"2026-01-01T00:00:{n % 60:02d}.000Z", created_by=owner,
                     updated_at="2026-01-02T00:00:00.000Z", updated_by=owner, team={})
    r.version = version
    return r


def put(engine, *records: EntityRecord, replace: bool = False) -> dict:
    out = engine.bulk([dataclasses.replace(documents.index_op(r, {}), replace=replace) for r in records])
    engine.refresh()
    return out


def names(result) -> list[str]:
    return sorted(h.source["name"] for h in result.hits)


def customers(tenant: str, *filters: Filter, scope: Scope = Scope(None)) -> SearchRequest:
    return SearchRequest(tenant, [EntityQuery("CUSTOMER", scope, filters=tuple(filters))], limit=50)


def test_documents_carry_normalised_keys_and_a_phone_matches_a_mobile(engine, tenant):
    put(engine, rec(tenant, "CUSTOMER", "华为技术有限公司", mobile="13800138000"),
        rec(tenant, "CUSTOMER", "ＨＵＡＷＥＩ", phone="+86 138-0013-8000"),
        rec(tenant, "CUSTOMER", "Huawei Technologies Co., Ltd.", email="Sales@Huawei.com", phone="010-88886666 转 8"),
        rec(tenant, "CUSTOMER", "华为终端有限公司"))
    doc = documents.document(rec(tenant, "CUSTOMER", "华为技术（有限公司）", mobile="13800138000", phone="010-88886666"), {})
    assert doc["values"]["dup_company"] == ["华为技术"] and doc["values"]["dup_phone"] == ["01088886666", "13800138000"]
    assert "dup_company" not in doc["source"]  # keys are index fields, never part of what a hit returns
    assert names(engine.search(customers(tenant, Filter("dup_company", "in", ["华为技术"])))) == ["华为技术有限公司"]
    assert names(engine.search(customers(tenant, Filter("dup_phone", "in", ["13800138000"])))) == ["华为技术有限公司", "ＨＵＡＷＥＩ"]
    assert names(engine.search(customers(tenant, Filter("dup_phone", "in", ["01088886666"])))) == ["Huawei Technologies Co., Ltd."]
    assert names(engine.search(customers(tenant, Filter("dup_company", "in", ["huawei", "huaweitechnologies"])))) == [
        "Huawei Technologies Co., Ltd.", "ＨＵＡＷＥＩ"]
    assert names(engine.search(customers(tenant, Filter("dup_email", "in", ["sales@huawei.com"])))) == ["Huawei Technologies Co., Ltd."]


def test_one_request_checks_several_kinds_with_one_of_and_excludes_a_record_by_id(engine, tenant):
    a = rec(tenant, "CUSTOMER", "甲公司", mobile="13900000001")
    b = rec(tenant, "CUSTOMER", "乙", email="b@x.cn")
    c = rec(tenant, "CUSTOMER", "丙", phone="021-66881234")
    put(engine, a, b, c, rec(tenant, "CUSTOMER", "丁"))
    either = any_of(Filter("dup_company", "in", ["甲"]), Filter("dup_email", "in", ["b@x.cn"]), Filter("dup_phone", "in", ["02166881234"]))
    assert names(engine.search(customers(tenant, either))) == ["丙", "乙", "甲公司"]
    not_a = any_of(Filter("id", "range", {"lt": a.id}), Filter("id", "range", {"gt": a.id}))
    assert names(engine.search(customers(tenant, either, not_a))) == ["丙", "乙"]
    assert names(engine.search(customers(tenant, any_of()))) == []  # one of nothing holds for nothing


def test_each_entity_keeps_its_own_conditions_and_its_own_scope(engine, tenant):
    put(engine, rec(tenant, "CUSTOMER", "华为技术有限公司", owner="u1"), rec(tenant, "CUSTOMER", "华为技术", owner="m1"),
        rec(tenant, "CUSTOMER", "腾讯科技", owner="u1"), rec(tenant, "COMPETITOR", "华为技术"), rec(tenant, "COMPETITOR", "腾讯科技"))
    req = SearchRequest(tenant, [
        EntityQuery("CUSTOMER", Scope(None), filters=(Filter("dup_company", "in", ["华为技术"]),)),
        EntityQuery("COMPETITOR", Scope(None), filters=(Filter("name", "eq", "腾讯科技"),)),
    ], limit=50)
    res = engine.search(req)
    assert sorted((h.entity, h.source["name"]) for h in res.hits) == [
        ("COMPETITOR", "腾讯科技"), ("CUSTOMER", "华为技术"), ("CUSTOMER", "华为技术有限公司")]
    rep = Scope(frozenset({"u1"}), "u1", NOW)
    assert names(engine.search(customers(tenant, Filter("dup_company", "in", ["华为技术"]), scope=rep))) == ["华为技术有限公司"]
    assert engine.search(customers(tenant, Filter("dup_company", "in", ["华为技术"]), scope=Scope(frozenset()))).total == 0


def test_a_reindex_with_replace_gives_existing_documents_new_fields_but_never_older_versions(engine, tenant):
    c = rec(tenant, "CUSTOMER", "远景科技有限公司", version=2)
    op = documents.index_op(c, {})
    bare = {**op.document, "values": {k: v for k, v in op.document["values"].items() if not k.startswith("dup_")}}
    engine.bulk([dataclasses.replace(op, document=bare)])  # a document written before documents had the keys
    engine.refresh()
    by_key = customers(tenant, Filter("dup_company", "in", ["远景科技"]))
    assert engine.search(by_key).total == 0
    assert put(engine, c)["skipped"] == 1 and engine.search(by_key).total == 0  # same version: a plain op changes nothing
    assert put(engine, c, replace=True)["indexed"] == 1
    assert names(engine.search(by_key)) == ["远景科技有限公司"]
    old = rec(tenant, "CUSTOMER", "远景科技有限公司", version=1)
    old.id = c.id
    old.data["name"] = "旧名字"
    assert put(engine, old, replace=True)["skipped"] == 1  # an older version never replaces a newer one
    assert names(engine.search(by_key)) == ["远景科技有限公司"]


def test_a_request_wide_key_condition_keeps_owners_and_unexpired_team_grants(engine, tenant):
    def shared(name: str, until: str | None) -> EntityRecord:
        r = rec(tenant, "CUSTOMER", name, owner="m1", mobile="13800000009")
        r.team = {"u1": {"access": "read", "until": until}}
        return r

    put(engine, rec(tenant, "CUSTOMER", "我的", owner="u1", mobile="13800000009"), rec(tenant, "CUSTOMER", "经理的", owner="m1",
                                                                                     mobile="13800000009"),
        shared("共享给我", None), shared("共享已过期", "2026-01-01T00:00:00.000Z"), rec(tenant, "CUSTOMER", "别的号码", owner="u1"))
    keyed = any_of(Filter("dup_phone", "in", ["13800000009"]), Filter("dup_company", "in", ["无此公司"]))
    rep = Scope(frozenset({"u1"}), "u1", NOW)
    req = SearchRequest(tenant, [EntityQuery("CUSTOMER", rep, filters=(keyed,))], filters=[keyed], limit=50)
    assert names(engine.search(req)) == ["共享给我", "我的"]
    everyone = SearchRequest(tenant, [EntityQuery("CUSTOMER", Scope(None), filters=(keyed,))], filters=[keyed], limit=50)
    assert engine.search(everyone).total == 4
