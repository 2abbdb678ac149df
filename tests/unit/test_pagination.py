"""The cursor codec (core/pagination.py): signed, bound to listing, user and tenant, expiring, and
checked again after verification."""
from __future__ import annotations

import base64
import json
import re

import pytest

from chalicelib.core import clock, i18n, pagination
from chalicelib.core.context import RequestContext, acting_as
from chalicelib.core.errors import InvalidCursor
from chalicelib.core.settings import environment, get_settings

LISTING = "query|gsi1|T#t1#REMINDER#OWNER#u1|desc||"
STATE = ["T#t1#REMINDER#01J9Z", "REMINDER#01J9Z", "2026-11-23T01:00:00.000Z#01J9Z", {"中文": [1, 2.5, None]}]


def same(value):
    return value


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture(autouse=True)
def as_user():
    with acting_as(RequestContext(tenant_id="t1", user_id="u1")):
        yield
    clock.reset()


def refused(cursor: str | None, listing: str = LISTING, check=same) -> bool:
    with pytest.raises(InvalidCursor) as e:
        pagination.decode(cursor, listing, check)
    return e.value.status == 400 and e.value.code == "INVALID_CURSOR"


def test_given_state_when_encoded_then_url_safe_short_and_it_decodes_to_the_same_state():
    cursor = pagination.encode(STATE, LISTING)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert len(cursor) < 200
    assert pagination.decode(cursor, LISTING, same) == STATE
    assert pagination.encode(None, LISTING) is None
    assert pagination.decode(None, LISTING, same) is None and pagination.decode("", LISTING, same) is None


def test_given_a_cursor_when_any_byte_is_flipped_then_it_is_refused():
    raw = _raw(pagination.encode(STATE, LISTING))
    for i in range(len(raw)):
        assert refused(_text(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])), i
    assert refused(_text(raw[:-1]))  # cut short
    assert refused(_text(raw + b" "))  # extended


def test_given_a_readable_body_when_its_state_is_replaced_then_the_signature_no_longer_matches():
    raw = _raw(pagination.encode([1, "c00001"], LISTING))
    tag, body = raw[:pagination.TAG_BYTES], raw[pagination.TAG_BYTES:]
    expires, _ = json.loads(body)
    assert refused(_text(tag + json.dumps([expires, [{"x": 1}, "c00001"]]).encode()))


def test_given_another_secret_when_decoding_then_the_cursor_is_refused():
    cursor = pagination.encode(STATE, LISTING)
    with environment(CRM_CURSOR_SECRET="another-deployment-secret-0123456789abcdef"):
        assert refused(cursor)
        assert pagination.decode(pagination.encode(STATE, LISTING), LISTING, same) == STATE
    assert pagination.decode(cursor, LISTING, same) == STATE


def test_given_another_listing_user_or_tenant_when_decoding_then_the_cursor_is_refused():
    cursor = pagination.encode(STATE, LISTING)
    assert refused(cursor, "query|gsi1|T#t1#REMINDER#OWNER#u2|desc||")
    assert refused(cursor, LISTING.replace("desc", "asc"))
    with acting_as(RequestContext(tenant_id="t1", user_id="u2")):
        assert refused(cursor)
    with acting_as(RequestContext(tenant_id="t2", user_id="u1")):
        assert refused(cursor)
    with acting_as(RequestContext(tenant_id="t1u", user_id="1")):  # no shifting between tenant and user
        assert refused(cursor)
    assert pagination.decode(cursor, LISTING, same) == STATE


def test_given_an_expired_cursor_when_decoding_then_it_is_refused():
    cursor = pagination.encode(STATE, LISTING)
    clock.travel(get_settings().cursor_ttl_seconds - 5)
    assert pagination.decode(cursor, LISTING, same) == STATE
    clock.travel(10)
    assert refused(cursor)


@pytest.mark.parametrize("garbage", [
    "garbage!!", "%%%not-base64", "bm90LWEtY3Vyc29y", "A", "AAAAA", "a" * 23, "a" * (pagination.MAX_CURSOR + 1), " ",
    base64.urlsafe_b64encode(json.dumps({"pk": {"S": "T#t1#X"}}).encode()).decode().rstrip("="),
    base64.urlsafe_b64encode(b"\x00" * 16 + b"[9999999999,5]").decode().rstrip("="),
])
def test_given_a_made_up_cursor_when_decoding_then_400_invalid_cursor_in_both_languages(garbage):
    with pytest.raises(InvalidCursor) as e:
        pagination.decode(garbage, LISTING, same)
    assert e.value.status == 400
    assert {e.value.body(loc)["code"] for loc in i18n.LOCALES} == {"INVALID_CURSOR"}
    assert e.value.message("en") != e.value.message("zh-CN")


@pytest.mark.parametrize("state", ["abc", -1, 1.5, True, {"a": 1}, [], [1, 2], ["a", 7], [None, None, None],
                                   [{"x": 1}, "c1"], ["@offset", 10.5], ["@offset", -5], [2**80, "c1"], [["x"], "y", "z"]])
def test_given_a_signed_state_of_the_wrong_shape_when_a_listing_checks_it_then_400_not_a_crash(state):
    """Even a cursor signed with the right secret (a leaked one) carries only what the listing accepts."""
    from chalicelib.db import query
    from chalicelib.org import service as org
    from chalicelib.search import schema
    from chalicelib.search import service as search

    checks = [lambda v: query._start_key(v, "P", "gsi1"), lambda v: query._start_key(v, "P", None), org._offset,
              *(lambda v, f=f: search._check_after(v, schema.get("CUSTOMER"), f) for f in ("_score", "created_at", "name"))]
    for check in checks:
        assert refused(pagination.encode(state, LISTING), check=check)


def test_given_signed_positions_of_the_right_shape_when_checked_then_they_pass():
    from chalicelib.db import query
    from chalicelib.org import service as org
    from chalicelib.search import schema
    from chalicelib.search import service as search

    customer = schema.get("CUSTOMER")
    assert query._start_key(["P#x", "S#x", "I#x"], "G", "gsi1") == {
        "pk": {"S": "P#x"}, "sk": {"S": "S#x"}, "gsi1pk": {"S": "G"}, "gsi1sk": {"S": "I#x"}}
    assert query._start_key(["S#x"], "P", None) == {"pk": {"S": "P"}, "sk": {"S": "S#x"}}
    assert org._offset(40) == 40
    assert search._check_after(["@offset", 20], customer, "_score") == ["@offset", 20]
    assert search._check_after([1767225600000, "c1"], customer, "created_at") == [1767225600000, "c1"]
    assert search._check_after([None, "c1"], customer, "credit_limit") == [None, "c1"]
    assert search._check_after(["华为", "c1"], customer, "name") == ["华为", "c1"]


def test_given_no_secret_when_signing_then_only_local_and_test_stages_make_do_with_a_process_key():
    with environment(CRM_CURSOR_SECRET=None, CRM_STAGE="test"):
        cursor = pagination.encode(STATE, LISTING)
        assert pagination.decode(cursor, LISTING, same) == STATE
    with environment(CRM_CURSOR_SECRET=None, CRM_STAGE="prod"), pytest.raises(RuntimeError, match="CRM_CURSOR_SECRET"):
        pagination.encode(STATE, LISTING)
    with environment(CRM_CURSOR_SECRET="short", CRM_STAGE="prod"), pytest.raises(RuntimeError, match="at least"):
        pagination.encode(STATE, LISTING)
