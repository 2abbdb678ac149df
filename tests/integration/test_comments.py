"""Comments (评论) on records of any type that switches them on (tasks do): who may read and write
them, @mentions by id and by name, no notification (and no leak) to someone who cannot read the
record, deletion by the author or an administrator, plain text, and the record's timeline."""
from __future__ import annotations


def _task(api, token: str, **fields) -> dict:
    r = api.call("POST", "/v1/tasks", token, {"title": "华为报价评审", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _kinds(api, token: str) -> list[str]:
    return [n["kind"] for n in api.call("GET", "/v1/notifications", token).data["items"]]


def test_given_a_task_then_its_participant_comments_and_mentions_notify_only_those_who_may_read_it(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["manager"], owner_id=ids["rep1"], participant_ids=[ids["rep2"]])
    url = f"/v1/tasks/{task['id']}/comments"
    body = "<b>请</b> @李娜 今天把报价发给客户，@赵客服 也看一下"
    r = api.call("POST", url, t["rep2"], {"body": body, "mentions": [ids["manager"]]})
    assert r.status_code == 201, r.data
    assert r.data["body"] == body  # plain text, exactly as written (no HTML made or removed)
    assert set(r.data["mentions"]) == {ids["rep1"], ids["agent"], ids["manager"]}
    assert set(r.data["notified"]) == {ids["rep1"], ids["manager"]}
    assert r.data["not_notified"] == [ids["agent"]]  # cannot read the task: told nothing
    assert "mention" in _kinds(api, t["rep1"]) and "mention" in _kinds(api, t["manager"])
    assert "mention" not in _kinds(api, t["agent"])
    note = next(n for n in api.call("GET", "/v1/notifications", t["rep1"]).data["items"] if n["kind"] == "mention")
    assert note["link"]["id"] == task["id"] and "华为报价评审" in note["title"] and "张伟" in note["title"]
    # everyone who reads the task reads its comments; nobody else learns they exist
    for who in ("rep1", "rep2", "manager"):
        listed = api.call("GET", url, t[who])
        assert listed.status_code == 200 and [c["body"] for c in listed.data["items"]] == [body]
    assert api.call("GET", url, t["agent"]).status_code == 404
    assert api.call("POST", url, t["agent"], {"body": "我也来说两句"}).status_code == 404
    # on the task's timeline
    line = api.call("GET", f"/v1/tasks/{task['id']}/timeline", t["rep1"]).data["items"]
    assert any(i["kind"] == "comment" and i["body"] == body and i["by"] == ids["rep2"] for i in line)


def test_given_comments_then_only_the_author_or_an_administrator_deletes_them(api, sales_team):
    t, ids = sales_team["tokens"], sales_team
    task = _task(api, t["rep1"], participant_ids=[ids["rep2"]])
    url = f"/v1/tasks/{task['id']}/comments"
    mine = api.call("POST", url, t["rep1"], {"body": "第一条"}).data
    theirs = api.call("POST", url, t["rep2"], {"body": "第二条"}).data
    assert api.call("DELETE", f"{url}/{theirs['id']}", t["rep1"]).status_code == 403
    assert api.call("DELETE", f"{url}/{theirs['id']}", t["rep2"]).status_code == 204
    assert api.call("DELETE", f"{url}/{mine['id']}", sales_team["admin"]).status_code == 204
    assert api.call("DELETE", f"{url}/{mine['id']}", sales_team["admin"]).status_code == 404
    assert api.call("GET", url, t["rep1"]).data["items"] == []
    assert not any(i["kind"] == "comment" for i in api.call("GET", f"/v1/tasks/{task['id']}/timeline", t["rep1"]).data["items"])


def test_given_bad_comments_then_they_are_refused_in_the_callers_language(api, sales_team):
    t = sales_team["tokens"]
    task = _task(api, t["rep1"])
    url = f"/v1/tasks/{task['id']}/comments"
    assert api.call("POST", url, t["rep1"], {"body": ""}).status_code == 422
    r = api.call("POST", url, t["rep1"], {"body": "看看", "mentions": ["nobody"]}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "mentions.0"
    assert api.call("POST", url, t["rep1"], {"body": "x", "html": "<p>"}).status_code == 422
    # a type that does not switch comments on has no comment routes
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "小米"}).data
    assert api.call("GET", f"/v1/customers/{c['id']}/comments", t["rep1"]).status_code in (403, 404)
