"""devstack.run.refuse_expired_links: presigned links past their expiry are refused as S3 refuses them."""
from __future__ import annotations

from datetime import UTC, datetime

from devstack.run import refuse_expired_links

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _call(query: str) -> tuple[str, bytes]:
    seen: list[str] = []
    app = refuse_expired_links(lambda env, start: (start("200 OK", []), [b"served"])[1], now=lambda: NOW)
    body = b"".join(app({"QUERY_STRING": query}, lambda status, headers: seen.append(status)))
    return seen[0], body


def test_given_presigned_queries_then_only_those_past_their_expiry_are_refused():
    v4 = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires=900&X-Amz-Signature=ab"
    assert _call(v4.format("20261202T095000Z")) == ("200 OK", b"served")  # signed 10 min ago, valid 15
    status, body = _call(v4.format("20261202T094000Z"))  # 20 minutes ago
    assert status == "403 Forbidden" and b"<Code>AccessDenied</Code>" in body and b"<Expires>2026-12-02T09:55:00Z</Expires>" in body
    v2 = "AWSAccessKeyId=local&Signature=x&Expires={}"
    assert _call(v2.format(int(NOW.timestamp()) + 60))[0] == "200 OK"
    assert _call(v2.format(int(NOW.timestamp()) - 1))[0] == "403 Forbidden"
    assert _call("X-Amz-Date=garbage&X-Amz-Expires=900")[0] == "200 OK"  # not a date: moto decides, as before
    assert _call("prefix=Expires=1")[0] == "200 OK"  # a listing's own parameter, no presigned query
