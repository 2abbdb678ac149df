"""Announcements (公告, DOCS-5): columns with publish rights, audiences, pinned first, expiry, rich
text cleaned on input, read receipts and who has or has not read, notifications on publish."""
from __future__ import annotations

from chalicelib.core import clock
from chalicelib.jobs import service as jobs

A = "/v1/announcements"


def _publish(api, token, **values):
    body = {"title": "公告", "column": "notice", "body": "<p>内容</p>", **values}
    r = api.call("POST", A, token, body)
    assert r.status_code == 201, r.data
    return r.data


def _titles(api, token, query=""):
    r = api.call("GET", f"{A}{query}", token)
    assert r.status_code == 200, r.data
    return [x["title"] for x in r.data["items"]]


def test_given_new_tenant_then_default_columns_and_publish_rights_per_column(api, sales_team):
    t = sales_team["tokens"]
    cols = api.call("GET", "/v1/announcement-columns", t["manager"]).data["items"]
    assert [(c["id"], c["name"], c["may_publish"]) for c in cols] == [
        ("news", "新闻", True), ("notice", "公告", False), ("rules", "规章制度", False)]
    # a sales manager publishes news, not notices; a rep publishes nothing
    assert api.call("POST", A, t["manager"], {"title": "签约喜报", "column": "news", "body": "<p>华为</p>"}).status_code == 201
    r = api.call("POST", A, t["manager"], {"title": "放假通知", "column": "notice", "body": "x"}, headers={"Accept-Language": "en"})
    assert r.status_code == 403 and r.data["code"] == "ANNOUNCEMENT_COLUMN_FORBIDDEN" and "公告" in r.data["message"]
    assert api.call("POST", A, t["rep1"], {"title": "x", "column": "news", "body": "x"}).status_code == 403
    # the administrator names a user publisher of a column
    col = api.call("POST", "/v1/announcement-columns", sales_team["admin"],
                   {"id": "sales", "name": "销售快讯", "publisher_user_ids": [sales_team["rep1"]]})
    assert col.status_code == 201, col.data
    r = api.call("POST", A, t["rep1"], {"title": "本周战报", "column": "sales", "body": "<p>3 单</p>"})
    assert r.status_code == 201, r.data
    assert api.call("POST", "/v1/announcement-columns", t["manager"], {"name": "x"}).status_code == 403
    bad = api.call("POST", A, sales_team["admin"], {"title": "x", "column": "nope", "body": "x"})
    assert bad.status_code == 422 and bad.data["details"][0]["field"] == "column"


def test_given_audience_then_readers_outside_never_see_it_in_lists_search_or_by_id(api, sales_team):
    s, t, admin = sales_team, sales_team["tokens"], sales_team["admin"]
    everyone = _publish(api, admin, title="全员大会通知")
    sales_only = _publish(api, admin, title="销售部季度目标", audience="departments", audience_departments=[s["sales"]])
    service_only = _publish(api, admin, title="客服部排班表", audience="departments", audience_departments=[s["service"]])
    managers = _publish(api, admin, title="经理薪酬调整", audience="roles", audience_roles=["sales_manager"])
    assert sorted(_titles(api, t["rep1"])) == sorted(["全员大会通知", "销售部季度目标"])
    assert sorted(_titles(api, t["manager"])) == sorted(["全员大会通知", "销售部季度目标", "经理薪酬调整"])
    assert len(_titles(api, admin)) == 4  # the administrator manages them all
    for hidden in (service_only, managers):
        r = api.call("GET", f"{A}/{hidden['id']}", t["rep1"])
        assert r.status_code == 404
        assert api.call("POST", f"{A}/{hidden['id']}/read", t["rep1"]).status_code == 404
    assert api.call("GET", f"{A}/{sales_only['id']}", t["rep1"]).status_code == 200
    # text search and global search keep to the audience too
    assert _titles(api, t["rep1"], "?q=薪酬") == []
    assert _titles(api, t["manager"], "?q=薪酬") == ["经理薪酬调整"]
    g = api.call("GET", "/v1/search?q=客服部排班", t["rep1"]).data
    assert all(h["id"] != service_only["id"] for grp in g["groups"] for h in grp["hits"])
    assert everyone["audience"] == "all"


def test_given_pinned_and_expiring_then_pinned_first_and_expired_leave_the_list(api, sales_team):
    t, admin = sales_team["tokens"], sales_team["admin"]
    _publish(api, admin, title="旧闻")
    clock.travel(2)
    _publish(api, admin, title="置顶：安全须知", pinned=True)
    clock.travel(2)
    _publish(api, admin, title="新闻")
    _publish(api, admin, title="限时活动", expires_at=clock.iso(clock.now() + __import__("datetime").timedelta(hours=1)))
    assert _titles(api, t["rep1"]) == ["置顶：安全须知", "限时活动", "新闻", "旧闻"]
    clock.travel(2 * 3600)
    assert _titles(api, t["rep1"]) == ["置顶：安全须知", "新闻", "旧闻"]
    r = api.call("POST", A, admin, {"title": "x", "column": "notice", "body": "x", "expires_at": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "expires_at"


def test_given_rich_text_then_scripts_handlers_javascript_urls_and_styles_are_removed(api, sales_team):
    body = ('<h2 style="color:red">标题</h2><p onclick="steal()">正文<script>alert(1)</script></p>'
            '<img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">坏链接</a>'
            '<a href="https://example.com/a">好链接</a><iframe src="https://evil"></iframe>')
    a = _publish(api, sales_team["admin"], body=body)
    assert a["body"] == ('<h2>标题</h2><p>正文</p><img src="x.png"><a>坏链接</a>'
                         '<a href="https://example.com/a" rel="noopener noreferrer">好链接</a>')
    r = api.call("PATCH", f"{A}/{a['id']}", sales_team["admin"], {"body": "<b onmouseover=x>改</b>", "version": a["version"]})
    assert r.status_code == 200 and r.data["body"] == "<b>改</b>"
    empty = api.call("POST", A, sales_team["admin"], {"title": "x", "column": "notice", "body": "<script>1</script>"})
    assert empty.status_code == 422 and empty.data["details"][0]["field"] == "body"


def test_given_published_then_audience_notified_by_a_job_and_receipts_list_who_read(api, sales_team):
    s, t, admin = sales_team, sales_team["tokens"], sales_team["admin"]
    a = _publish(api, admin, title="销售部例会", audience="departments", audience_departments=[s["sales"]])
    assert api.call("GET", "/v1/notifications/unread-count", t["rep1"]).data == {"unread": 0}  # not in the request
    jobs.run_queued()
    for who in ("manager", "rep1", "rep2", "agent"):
        inbox = api.call("GET", "/v1/notifications", t[who]).data["items"]
        assert [(n["kind"], n["title"]) for n in inbox] == [("announcement", "新公告：销售部例会")], who
        assert inbox[0]["link"] == {"entity": "announcement", "id": a["id"]}
    jobs.run_queued()  # nothing twice
    assert api.call("GET", "/v1/notifications/unread-count", t["rep1"]).data == {"unread": 1}
    # read receipts: idempotent
    first = api.call("POST", f"{A}/{a['id']}/read", t["rep1"])
    assert first.status_code == 200
    clock.travel(60)
    assert api.call("POST", f"{A}/{a['id']}/read", t["rep1"]).data["read_at"] == first.data["read_at"]
    api.call("POST", f"{A}/{a['id']}/read", t["manager"])
    r = api.call("GET", f"{A}/{a['id']}/readers", admin).data
    assert (r["audience"], r["read"], r["unread"]) == (4, 2, 2)
    assert sorted(x["name"] for x in r["items"]) == ["李娜", "王经理"]
    unread = api.call("GET", f"{A}/{a['id']}/readers?read=false&limit=1", admin).data
    assert len(unread["items"]) == 1 and unread["next_cursor"]
    more = api.call("GET", f"{A}/{a['id']}/readers?read=false&limit=1&cursor={unread['next_cursor']}", admin).data
    assert sorted(x["name"] for x in unread["items"] + more["items"]) == ["张伟", "赵客服"] and more["next_cursor"] is None
    # readers are for the author and managers
    assert api.call("GET", f"{A}/{a['id']}/readers", t["rep2"]).status_code == 403


def test_given_draft_then_only_its_author_sees_it_until_published(api, sales_team):
    t = sales_team["tokens"]
    d = _publish(api, t["manager"], title="草稿：团建", column="news", status="draft")
    assert _titles(api, t["rep1"]) == []
    assert api.call("GET", f"{A}/{d['id']}", t["rep1"]).status_code == 404
    assert _titles(api, t["manager"]) == ["草稿：团建"]
    jobs.run_queued()
    assert api.call("GET", "/v1/notifications/unread-count", t["rep1"]).data == {"unread": 0}
    r = api.call("PATCH", f"{A}/{d['id']}", t["manager"], {"status": "published", "version": d["version"]})
    assert r.status_code == 200 and r.data["published_at"]
    jobs.run_queued()
    assert _titles(api, t["rep1"]) == ["草稿：团建"]
    assert api.call("GET", "/v1/notifications/unread-count", t["rep1"]).data == {"unread": 1}
    # another publisher of the column may not edit it
    assert api.call("PATCH", f"{A}/{d['id']}", t["rep1"], {"title": "改", "version": r.data["version"]}).status_code == 403
    assert api.call("DELETE", f"{A}/{d['id']}", t["rep1"], headers={"If-Match": str(r.data["version"])}).status_code == 403
    assert api.call("DELETE", f"{A}/{d['id']}", t["manager"], headers={"If-Match": str(r.data["version"])}).status_code == 204


def test_given_other_tenant_then_announcements_are_unknown(api, sales_team, make_tenant):
    a = _publish(api, sales_team["admin"], title="内部公告")
    other = make_tenant(mobile="13700000001")
    assert api.call("GET", f"{A}/{a['id']}", other["admin"]).status_code == 404
    assert api.call("GET", f"{A}/{a['id']}/readers", other["admin"]).status_code == 404
    assert _titles(api, other["admin"]) == []
