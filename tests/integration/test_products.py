"""Products (产品, SALES-8) through the API alone: an admin keeps the catalogue — a category tree of
any depth, SKUs, units, list prices, images, quantity tiers and customer-level discounts — every
seller reads it, and a line's price follows the quantity and the customer's level; products off
the shelf cannot be added."""
from __future__ import annotations

import json
from urllib.parse import quote

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

TREE = [
    {"id": "hw", "name": "硬件", "name_en": "Hardware"},
    {"id": "srv", "name": "服务器", "parent_id": "hw", "sort_order": 1},
    {"id": "rack", "name": "机架式", "parent_id": "srv"},
    {"id": "net", "name": "网络设备", "parent_id": "hw", "sort_order": 2},
    {"id": "sw", "name": "软件", "name_en": "Software"},
]


def _tree(api, token: str, categories: list[dict], version: int | None = None, headers: dict | None = None):
    body = {"categories": categories, **({"version": version} if version is not None else {})}
    return api.call("PUT", "/v1/product-categories", token, body, headers=headers)


def _product(api, token: str, **fields):
    r = api.call("POST", "/v1/products", token, {"name": "服务器 R730", "price": 20000, **fields})
    assert r.status_code == 201, r.data
    return r.data


def _names(api, token: str, filters: list[dict]) -> list[str]:
    r = api.call("GET", f"/v1/products?filters={quote(json.dumps(filters))}&sort=name", token)
    assert r.status_code == 200, r.data
    return [i["name"] for i in r.data["items"]]


# ---- records ------------------------------------------------------------------------------------------
def test_given_an_admin_when_creating_a_product_then_every_seller_reads_it_but_only_admins_change_it(api, sales_team, upload):
    t = sales_team["tokens"]
    assert _tree(api, sales_team["admin"], TREE).status_code == 200
    image = upload(sales_team["admin"], PNG, name="r730.png", content_type="image/png")
    p = _product(api, sales_team["admin"], sku="SRV-R730", category="rack", unit="machine", cost=15000,
                 images=[image["id"]], attributes=[{"name": "CPU", "value": "2 × Xeon"}],
                 price_tiers=[{"min_quantity": 10, "unit_price": 19000}],
                 level_discounts=[{"level": "A", "discount": 5}])
    assert p["on_shelf"] is True  # 上架 by default
    assert p["category_path"] == ["hw", "srv", "rack"]
    assert p["images"][0]["id"] == image["id"]
    for who in ("manager", "rep1", "rep2"):  # company data: every seller reads every product
        got = api.call("GET", f"/v1/products/{p['id']}", t[who])
        assert got.status_code == 200 and got.data["price"] == 20000
    assert api.call("GET", "/v1/products", t["rep2"]).data["total"] == 1
    assert api.call("POST", "/v1/products", t["rep1"], {"name": "私自添加", "price": 1}).status_code == 403
    assert api.call("PATCH", f"/v1/products/{p['id']}", t["manager"], {"price": 1, "version": p["version"]}).status_code == 403
    off = api.call("PATCH", f"/v1/products/{p['id']}", sales_team["admin"], {"on_shelf": False, "version": p["version"]})
    assert off.status_code == 200 and off.data["on_shelf"] is False


def test_given_a_product_when_its_values_break_the_rules_then_each_problem_is_named(api, sales_team):
    admin = sales_team["admin"]
    assert _tree(api, admin, TREE).status_code == 200
    r = api.call("POST", "/v1/products", admin, {
        "name": "打印机", "price": 100, "category": "nowhere", "unit": "kg",
        "price_tiers": [{"min_quantity": 5, "unit_price": 120}, {"min_quantity": 5, "unit_price": 90},
                        {"min_quantity": 0, "unit_price": 80}],
        "level_discounts": [{"level": "A", "discount": 10}, {"level": "A", "discount": 20}, {"level": "B", "discount": 101}]})
    assert r.status_code == 422, r.data
    fields = {d["field"] for d in r.data["details"]}
    assert {"unit", "price_tiers.2.min_quantity", "level_discounts.2.discount"} <= fields
    r = api.call("POST", "/v1/products", admin, {
        "name": "打印机", "price": 100, "category": "nowhere",
        "price_tiers": [{"min_quantity": 5, "unit_price": 120}, {"min_quantity": 5, "unit_price": 90}],
        "level_discounts": [{"level": "A", "discount": 10}, {"level": "A", "discount": 20}]})
    assert r.status_code == 422, r.data
    assert sorted(d["field"] for d in r.data["details"]) == [
        "category", "level_discounts.0.level", "level_discounts.1.level", "price_tiers.0.min_quantity",
        "price_tiers.0.unit_price", "price_tiers.1.min_quantity"]
    assert api.call("POST", "/v1/products", admin, {"name": "打印机", "price": -1}).status_code == 422
    assert api.call("POST", "/v1/products", admin, {"name": "打印机"}).status_code == 422  # price is required
    _product(api, admin, sku="DUP-1")
    dup = api.call("POST", "/v1/products", admin, {"name": "另一台", "price": 1, "sku": "DUP-1"})
    assert dup.status_code == 422
    assert dup.data["details"] == [{"field": "sku", "type": "unique", "message": "「产品编码」的值已被其他记录使用"}]


def test_given_the_unit_dictionary_when_a_tenant_starts_then_it_has_the_usual_units(api, sales_team):
    r = api.call("GET", "/v1/dictionaries?type=unit", sales_team["tokens"]["rep1"])
    assert r.status_code == 200, r.data
    assert [(i["code"], i["label"]) for i in r.data["items"]][:3] == [("piece", "个"), ("machine", "台"), ("set", "套")]
    assert [i["label"] for i in r.data["items"]] == ["个", "台", "套", "件", "箱", "年", "月", "次"]


# ---- the category tree ----------------------------------------------------------------------------------
def test_given_a_category_tree_when_saved_then_it_reads_back_nested_and_later_saves_need_the_version(api, sales_team):
    admin = sales_team["admin"]
    empty = api.call("GET", "/v1/product-categories", sales_team["tokens"]["rep1"])
    assert empty.status_code == 200 and empty.data == {"categories": [], "tree": [], "version": 0}
    saved = _tree(api, admin, TREE)
    assert saved.status_code == 200, saved.data
    assert [c["id"] for c in saved.data["categories"]] == ["hw", "srv", "rack", "net", "sw"]
    assert [c["name"] for c in saved.data["tree"]] == ["硬件", "软件"]
    assert saved.data["tree"][0]["children"][0]["children"][0]["path"] == ["hw", "srv", "rack"]
    assert _tree(api, admin, TREE).status_code == 428  # a later save names the version it read
    assert _tree(api, admin, TREE, version=saved.data["version"] + 5).status_code == 409
    deeper = [*TREE, {"id": "r1u", "name": "1U", "parent_id": "rack"}, {"name": "无编号"}]
    again = _tree(api, admin, deeper, headers={"If-Match": str(saved.data["version"])})
    assert again.status_code == 200, again.data
    assert {c["id"]: c["path"] for c in again.data["categories"]}["r1u"] == ["hw", "srv", "rack", "r1u"]
    assert any(c["name"] == "无编号" and c["id"] for c in again.data["categories"])
    assert _tree(api, sales_team["tokens"]["manager"], TREE, version=again.data["version"]).status_code == 403


def test_given_a_tree_with_cycles_or_duplicate_ids_when_saved_then_it_is_refused_in_one_language(api, sales_team):
    admin = sales_team["admin"]
    bad = [{"id": "a", "name": "甲", "parent_id": "b"}, {"id": "b", "name": "乙", "parent_id": "a"},
           {"id": "c", "name": "丙"}, {"id": "c", "name": "丁"}, {"id": "d", "name": "戊", "parent_id": "zz"},
           {"id": "e", "name": "同名"}, {"id": "f", "name": "同名"}]
    zh = _tree(api, admin, bad)
    assert zh.status_code == 422
    assert sorted((d["field"], d["type"]) for d in zh.data["details"]) == [
        ("categories.0.parent_id", "cycle"), ("categories.1.parent_id", "cycle"), ("categories.2.id", "duplicate"),
        ("categories.3.id", "duplicate"), ("categories.4.parent_id", "not_found"), ("categories.5.name", "duplicate"),
        ("categories.6.name", "duplicate")]
    cycle = next(d["message"] for d in zh.data["details"] if d["type"] == "cycle")
    assert cycle == "分类「甲」的上级形成循环"
    en = _tree(api, admin, bad, headers={"Accept-Language": "en"})
    assert next(d["message"] for d in en.data["details"] if d["type"] == "cycle") == "The parents of category '甲' form a cycle"
    assert next(d["message"] for d in en.data["details"] if d["type"] == "not_found") == \
        "Parent category 'zz' is not in the tree"
    assert api.call("GET", "/v1/product-categories", admin).data["version"] == 0  # nothing was saved


def test_given_products_in_a_category_when_the_tree_drops_it_then_the_save_is_refused_until_they_move(api, sales_team):
    admin = sales_team["admin"]
    v = _tree(api, admin, TREE).data["version"]
    p = _product(api, admin, category="net", name="交换机")
    without_net = [c for c in TREE if c["id"] != "net"]
    r = _tree(api, admin, without_net, version=v)
    assert r.status_code == 422 and r.data["code"] == "PRODUCT_CATEGORY_IN_USE"
    assert r.data["message"] == "分类「网络设备」下还有 1 个产品（含回收站），不能删除；请先修改这些产品的分类或彻底删除它们"
    en = _tree(api, admin, without_net, version=v, headers={"Accept-Language": "en"})
    assert en.data["message"] == ("Category '网络设备' still has 1 products (recycle bin included); move them to another "
                                  "category or purge them before removing it")
    moved = api.call("PATCH", f"/v1/products/{p['id']}", admin, {"category": "srv", "version": p["version"]})
    assert moved.status_code == 200 and moved.data["category_path"] == ["hw", "srv"]
    # a product in the recycle bin keeps its category in use: restoring it must find the category
    binned = _product(api, admin, category="net", name="旧交换机")
    assert api.call("DELETE", f"/v1/products/{binned['id']}", admin, headers={"If-Match": str(binned["version"])}).status_code == 204
    assert _tree(api, admin, without_net, version=v).data["code"] == "PRODUCT_CATEGORY_IN_USE"
    assert api.call("DELETE", f"/v1/recycle-bin/PRODUCT/{binned['id']}", admin).status_code == 204  # purged for good
    assert _tree(api, admin, without_net, version=v).status_code == 200


def test_given_sub_categories_when_filtering_by_a_category_path_then_their_products_are_included(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    v = _tree(api, admin, TREE).data["version"]
    _product(api, admin, name="A 机架服务器", category="rack")
    _product(api, admin, name="B 服务器", category="srv")
    _product(api, admin, name="C 交换机", category="net")
    _product(api, admin, name="D 办公软件", category="sw")
    assert _names(api, rep, [{"field": "category_path", "op": "eq", "value": "hw"}]) == ["A 机架服务器", "B 服务器", "C 交换机"]
    assert _names(api, rep, [{"field": "category_path", "op": "eq", "value": "srv"}]) == ["A 机架服务器", "B 服务器"]
    assert _names(api, rep, [{"field": "category", "op": "eq", "value": "srv"}]) == ["B 服务器"]
    # 服务器 moves under 软件: its products' paths follow at once
    moved = [{**c, "parent_id": "sw"} if c["id"] == "srv" else c for c in TREE]
    assert _tree(api, admin, moved, version=v).status_code == 200
    assert _names(api, rep, [{"field": "category_path", "op": "eq", "value": "sw"}]) == ["A 机架服务器", "B 服务器", "D 办公软件"]
    assert _names(api, rep, [{"field": "category_path", "op": "eq", "value": "hw"}]) == ["C 交换机"]


# ---- pricing ------------------------------------------------------------------------------------------
def _price(api, token: str, product_id: str, query: str = ""):
    return api.call("GET", f"/v1/products/{product_id}/price{query}", token)


def test_given_tiers_and_level_discounts_when_a_rep_prices_a_line_then_the_tier_applies_before_the_level(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    p = _product(api, admin, name="年度服务", price=1000, unit="year",
                 price_tiers=[{"min_quantity": 10, "unit_price": 900}, {"min_quantity": 50, "unit_price": 850}],
                 level_discounts=[{"level": "A", "discount": 5}, {"level": "B", "discount": 2.5}])
    key = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司", "level": "A"}).data
    plain = api.call("POST", "/v1/customers", rep, {"name": "小米科技", "level": "C"}).data
    one = _price(api, rep, p["id"])
    assert one.status_code == 200, one.data
    assert (one.data["unit_price"], one.data["subtotal"], one.data["quantity"]) == (1000, 1000, 1)
    assert one.data["rule"] == {"tier_min_quantity": None, "level": None, "discount": None}
    r = _price(api, rep, p["id"], f"?quantity=12&customer_id={key['id']}")
    assert r.status_code == 200, r.data
    assert (r.data["list_price"], r.data["unit_price"], r.data["subtotal"]) == (1000, 855, 10260)
    assert r.data["rule"] == {"tier_min_quantity": 10, "level": "A", "discount": 5}
    assert r.data["customer_level"] == "A" and r.data["unit"] == "year"
    r = _price(api, rep, p["id"], f"?quantity=50&customer_id={plain['id']}")
    assert (r.data["unit_price"], r.data["subtotal"], r.data["rule"]["level"]) == (850, 42500, None)
    # a customer the caller may not read is not priced for (nor told about)
    assert _price(api, sales_team["tokens"]["rep2"], p["id"], f"?customer_id={key['id']}").status_code == 404
    assert _price(api, rep, p["id"], "?quantity=0").status_code == 422


def test_given_an_off_shelf_or_missing_product_when_priced_then_it_cannot_be_added(api, sales_team):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    p = _product(api, admin, name="停产型号", on_shelf=False)
    r = _price(api, rep, p["id"], "?quantity=2")
    assert r.status_code == 422 and r.data["code"] == "PRODUCT_OFF_SHELF"
    assert r.data["message"] == "产品「停产型号」已下架，不能添加"
    en = api.call("GET", f"/v1/products/{p['id']}/price", rep, headers={"Accept-Language": "en"})
    assert en.data["message"] == "Product '停产型号' is off the shelf and cannot be added"
    assert _price(api, rep, "nosuchproduct").status_code == 404
    gone = _product(api, admin, name="删除的产品")
    assert api.call("DELETE", f"/v1/products/{gone['id']}", admin, headers={"If-Match": str(gone["version"])}).status_code == 204
    assert _price(api, rep, gone["id"]).status_code == 404
    restored = api.call("POST", f"/v1/recycle-bin/PRODUCT/{gone['id']}/restore", admin)
    assert restored.status_code == 200, restored.data
    assert _price(api, rep, gone["id"]).status_code == 200


def test_given_a_product_when_an_admin_attaches_a_brochure_then_sellers_list_and_download_it(api, sales_team, upload):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    p = _product(api, admin, name="带说明书的产品")
    brochure = upload(admin, b"%PDF-1.7 brochure", name="产品手册.pdf")
    r = api.call("POST", f"/v1/products/{p['id']}/attachments", admin, {"file_id": brochure["id"]})
    assert r.status_code == 201, r.data
    listed = api.call("GET", f"/v1/products/{p['id']}/attachments", rep)
    assert listed.status_code == 200 and [a["name"] for a in listed.data["items"]] == ["产品手册.pdf"]
    assert api.call("GET", f"/v1/files/{brochure['id']}/download", rep).status_code == 200
    assert api.call("POST", f"/v1/products/{p['id']}/attachments", rep, {"file_id": brochure["id"]}).status_code == 403  # reading is not changing
