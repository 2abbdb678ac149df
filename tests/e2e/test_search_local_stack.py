"""Search on the local stack over HTTP, as a new user tries it (issue acceptance):
Chinese names, 2-character terms, phone prefixes, a custom-field filter, facet counts, and
a rep who never sees a manager's customer. Also the freshness promise: a record created
through the API is in its owner's list within 1 s."""
from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote


def _list(stack, token, **params):
    qs = "&".join(f"{k}={quote(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v))}" for k, v in params.items())
    r = stack.call("GET", f"/v1/customers?{qs}", token)
    assert r.status_code == 200, r.text
    return r.json()


def _wait_listed(stack, token, customer_id: str, timeout: float = 5.0) -> float:
    start = time.monotonic()
    if stack.eventually(lambda: any(i["id"] == customer_id for i in _list(stack, token, scope="mine", limit=5)["items"]), timeout):
        return time.monotonic() - start
    raise AssertionError(f"{customer_id} not listed after {timeout} s")


def test_a_new_customer_is_in_its_owners_list_within_one_second(stack):
    rep = stack.login("13800000004")
    lags = []
    for i in range(5):
        created = stack.call("POST", "/v1/customers", rep, {"name": f"新鲜度测试{i}"})
        assert created.status_code == 201, created.text
        lags.append(_wait_listed(stack, rep, created.json()["id"]))
    assert max(lags) <= 1.0, lags


def test_search_as_a_new_user_would(stack):
    tag = uuid.uuid4().hex[:6]
    admin, manager, rep, rep2 = (stack.login(m) for m in ("13800000001", "13800000003", "13800000004", "13800000005"))
    field = stack.call("POST", "/v1/fields/customer", admin, {"key": f"budget_{tag}", "label": "预算", "field_type": "money"})
    assert field.status_code == 201, field.text
    mine = [("深圳华为终端" + tag, "13712340001", 200000, "A"), ("合同管理软件" + tag, "13712340002", 5000, "B"),
            ("王芳贸易" + tag, "13898760003", 80000, "A")]
    ids = []
    for name, mobile, budget, level in mine:
        r = stack.call("POST", "/v1/customers", rep, {"name": name, "mobile": mobile, "level": level,
                                                       "custom": {f"budget_{tag}": budget}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    boss = stack.call("POST", "/v1/customers", manager, {"name": "经理专属华为大单" + tag, "mobile": "13712349999", "level": "A"})
    assert boss.status_code == 201, boss.text
    _wait_listed(stack, rep, ids[-1])
    _wait_listed(stack, manager, boss.json()["id"])

    def names(token, **params):
        return sorted(i["name"] for i in _list(stack, token, **params)["items"])

    # the demo company has customers of its own: the tag keeps these checks to this test's records
    assert names(rep, q=f"华为 {tag}") == ["深圳华为终端" + tag]
    assert names(rep, q=f"合同 {tag}") == ["合同管理软件" + tag]
    assert names(rep, q=f"王芳 {tag}") == ["王芳贸易" + tag]
    assert "深圳华为终端" + tag in names(rep, q="华为")
    assert names(rep, q="1371234") == sorted(["深圳华为终端" + tag, "合同管理软件" + tag])
    assert names(rep, filters=[{"field": f"custom.budget_{tag}", "op": "range", "value": {"gte": 50000}}]) == sorted(
        ["深圳华为终端" + tag, "王芳贸易" + tag])
    page = _list(stack, rep, q=tag, facets="level")
    assert page["facets"]["level"] == [{"value": "A", "count": 2}, {"value": "B", "count": 1}]
    # the manager sees their rep's customers and their own; the rep never sees the manager's
    assert "经理专属华为大单" + tag in names(manager, q="华为")
    assert "深圳华为终端" + tag in names(manager, q="华为")
    for token in (rep, rep2):
        assert "经理专属华为大单" + tag not in names(token, q="华为")
        assert "经理专属华为大单" + tag not in names(token, q="13712349999")
        assert names(token, q="经理专属") == []
        found = stack.call("GET", f"/v1/search?q={quote('经理专属')}", token).json()
        assert found["total"] == 0
    assert names(rep2, q=tag) == []
    assert stack.call("GET", f"/v1/customers/{boss.json()['id']}", rep).status_code == 404
