"""List cursors on every engine: real cursors page through each sort order, and a cursor whose
position values were replaced is 400 INVALID_CURSOR — not the engine's error as a 503 — whether the
replacement breaks the signature or comes signed (a leaked secret): the values are checked against
the sort before the engine binds them."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.core import pagination
from chalicelib.core.context import RequestContext, acting_as
from chalicelib.core.errors import InvalidCursor
from chalicelib.core.permissions import OrgSnapshot, OrgUser, Principal, Role
from chalicelib.search import rules, service
from tests.search.test_contract import cust, put

SORTS = [{}, {"sort": "name"}, {"sort": "-credit_limit"}, {"sort": "locked"}, {"q": "客户"}]


@pytest.fixture
def listing(engine, tenant, monkeypatch):
    """`listing(**params)`: one page of the tenant's customers through the list service, on `engine`."""
    monkeypatch.setattr(service, "get_index", lambda: engine)
    monkeypatch.setattr(rules, "_custom_slots", lambda tenant_id, entity: {})  # no custom fields (no table here)
    org = OrgSnapshot(tenant, {"d": None}, {"boss": OrgUser("boss", "d", role_ids=("super",))},
                      {"super": Role("super", is_super=True)})
    boss = Principal(tenant, "boss", org)
    put(engine, cust(tenant, "客户甲", credit_limit=500), cust(tenant, "客户乙"), cust(tenant, "客户丙", credit_limit=90, locked=True))
    with acting_as(RequestContext(tenant_id=tenant, user_id="boss")):
        yield lambda **params: service.list_page(boss, "CUSTOMER", {"limit": 1, **params}, lambda source, who: source)


def _replaced(cursor: str, after: list) -> str:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    expires, _ = json.loads(raw[pagination.TAG_BYTES:])
    body = json.dumps([expires, after]).encode()
    return base64.urlsafe_b64encode(raw[:pagination.TAG_BYTES] + body).decode().rstrip("=")


@pytest.mark.parametrize("params", SORTS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "newest")
def test_real_cursors_page_through_every_sort_once(listing, params):
    seen, cursor = [], None
    while True:
        page = listing(**params, cursor=cursor)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3 == len(set(seen))


# wrong for every sort order, and a value of the wrong kind for each
REPLACEMENTS = [[{"x": 1}, "c1"], [["x"], "c1"], [2**80, "c1"], [1.5, 7], [None, None], "c1", [], ["@offset", 10**9],
                ["@offset", -1], [1, "c1", 2]]
WRONG_KIND = {"name": [5, "c1"], "locked": ["maybe", "c1"]}


@pytest.mark.parametrize("params", SORTS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "newest")
def test_a_real_cursor_with_replaced_position_values_is_400_not_503(listing, params, monkeypatch):
    cursor = listing(**params)["next_cursor"]
    assert cursor and listing(**params, cursor=cursor)["items"]
    replacements = [*REPLACEMENTS, WRONG_KIND.get(params.get("sort", "").lstrip("-"), ["text", "c1"])]
    for after in replacements:
        with pytest.raises(InvalidCursor) as e:
            listing(**params, cursor=_replaced(cursor, after))
        assert e.value.status == 400
    # signed as if the secret had leaked: still refused before the engine sees the values
    for after in replacements:
        monkeypatch.setattr(pagination, "_open", lambda c, listing, after=after: after)
        with pytest.raises(InvalidCursor) as e:
            listing(**params, cursor=cursor)
        assert e.value.status == 400, after
