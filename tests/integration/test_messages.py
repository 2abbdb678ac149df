"""Messages (内部消息): direct and group conversations, read marks, unread counts, the long-poll."""
from __future__ import annotations

import pytest

from chalicelib.core import clock

C = "/v1/messages/conversations"


def _direct(api, token, other):
    r = api.call("POST", f"{C}/direct", token, {"user_id": other})
    assert r.status_code == 200, r.data
    return r.data


def _send(api, token, cid, text, key=None):
    r = api.call("POST", f"{C}/{cid}/messages", token, {"text": text}, headers={"Idempotency-Key": key} if key else None)
    assert r.status_code == 201, r.data
    return r.data


def test_given_two_users_when_either_opens_direct_then_one_conversation_and_unread_counts_follow_read_marks(api, sales_team):
    t = sales_team["tokens"]
    a = _direct(api, t["rep1"], sales_team["rep2"])
    b = _direct(api, t["rep2"], sales_team["rep1"])
    assert a["id"] == b["id"] and a["kind"] == "direct" and sorted(a["member_ids"]) == sorted([sales_team["rep1"], sales_team["rep2"]])
    m1 = _send(api, t["rep1"], a["id"], "你好，华为的合同看了吗？")
    _send(api, t["rep1"], a["id"], "下午三点开会")
    counts = api.call("GET", "/v1/messages/unread", t["rep2"]).data
    assert counts["messages"] == 2 and counts["total"] == 2
    assert counts["conversations"] == [{"conversation_id": a["id"], "unread": 2}]
    assert api.call("GET", "/v1/messages/unread", t["rep1"]).data["messages"] == 0  # my own messages are read
    listed = api.call("GET", C, t["rep2"]).data["items"]
    assert [c["id"] for c in listed] == [a["id"]] and listed[0]["unread"] == 2
    assert listed[0]["last_message_preview"] == "下午三点开会"
    # read up to the first: one left; then everything
    r = api.call("POST", f"{C}/{a['id']}/read", t["rep2"], {"message_id": m1["id"]})
    assert r.status_code == 200 and r.data["unread"] == 1
    assert api.call("GET", "/v1/messages/unread", t["rep2"]).data["messages"] == 1
    assert api.call("POST", f"{C}/{a['id']}/read", t["rep2"], {}).data["unread"] == 0
    api.call("POST", f"{C}/{a['id']}/read", t["rep2"], {"message_id": m1["id"]})  # moving back changes nothing
    counts = api.call("GET", "/v1/messages/unread", t["rep2"]).data
    assert {k: v for k, v in counts.items() if k != "version"} == {"messages": 0, "notifications": 0, "total": 0, "conversations": []}
    msgs = api.call("GET", f"{C}/{a['id']}/messages", t["rep2"]).data["items"]
    assert [m["text"] for m in msgs] == ["下午三点开会", "你好，华为的合同看了吗？"]
    # a third user neither lists nor reads it
    assert api.call("GET", f"{C}/{a['id']}", t["manager"]).status_code == 404
    assert api.call("GET", f"{C}/{a['id']}/messages", t["manager"]).status_code == 404
    assert api.call("POST", f"{C}/{a['id']}/messages", t["manager"], {"text": "x"}).status_code == 404
    assert api.call("GET", C, t["manager"]).data["items"] == []


def test_given_idempotency_key_when_message_sent_twice_then_one_message(api, sales_team):
    t = sales_team["tokens"]
    cid = _direct(api, t["rep1"], sales_team["rep2"])["id"]
    one = _send(api, t["rep1"], cid, "只发一次", key="k-1")
    two = _send(api, t["rep1"], cid, "只发一次", key="k-1")
    assert one["id"] == two["id"]
    assert len(api.call("GET", f"{C}/{cid}/messages", t["rep2"]).data["items"]) == 1
    assert api.call("GET", "/v1/messages/unread", t["rep2"]).data["messages"] == 1
    reused = api.call("POST", f"{C}/{cid}/messages", t["rep1"], {"text": "别的"}, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422


def test_given_group_when_members_change_then_removed_member_no_longer_reads_and_counts_drop(api, sales_team):
    t, s = sales_team["tokens"], sales_team
    g = api.call("POST", C, t["manager"], {"name": "华为项目组", "member_ids": [s["rep1"], s["rep2"]]})
    assert g.status_code == 201, g.data
    cid = g.data["id"]
    assert g.data["admin_ids"] == [s["manager"]] and len(g.data["member_ids"]) == 3
    _send(api, t["manager"], cid, "周五前交方案")
    _send(api, t["rep1"], cid, "收到")
    assert api.call("GET", "/v1/messages/unread", t["rep2"]).data["messages"] == 2
    # only administrators manage members
    assert api.call("DELETE", f"{C}/{cid}/members/{s['rep2']}", t["rep1"]).status_code == 403
    r = api.call("DELETE", f"{C}/{cid}/members/{s['rep2']}", t["manager"])
    assert r.status_code == 200 and s["rep2"] not in r.data["member_ids"]
    assert api.call("GET", f"{C}/{cid}/messages", t["rep2"]).status_code == 404
    assert api.call("POST", f"{C}/{cid}/messages", t["rep2"], {"text": "我还在吗"}).status_code == 404
    assert api.call("GET", C, t["rep2"]).data["items"] == []
    assert api.call("GET", "/v1/messages/unread", t["rep2"]).data["messages"] == 0  # its unread left with it
    _send(api, t["manager"], cid, "张伟已调岗")
    assert api.call("GET", "/v1/messages/unread", t["rep2"]).data["messages"] == 0
    # added (back) by the administrator: reads again, from then on
    assert api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["rep2"], s["agent"]]}).status_code == 200
    assert api.call("GET", f"{C}/{cid}/messages", t["rep2"]).status_code == 200
    _send(api, t["rep1"], cid, "欢迎")
    assert api.call("GET", "/v1/messages/unread", t["agent"]).data["messages"] == 1
    # leaving
    left = api.call("POST", f"{C}/{cid}/leave", t["agent"])
    assert left.status_code == 200 and left.data["left"] is True
    assert api.call("GET", "/v1/messages/unread", t["agent"]).data["messages"] == 0
    # the admin leaves: someone else administers
    api.call("POST", f"{C}/{cid}/leave", t["manager"])
    assert api.call("GET", f"{C}/{cid}", t["rep1"]).data["admin_ids"] != []
    # a direct conversation has no members to manage
    d = _direct(api, t["rep1"], s["rep2"])["id"]
    assert api.call("POST", f"{C}/{d}/members", t["rep1"], {"user_ids": [s["agent"]]}).status_code == 422


def test_given_members_added_later_or_back_then_they_read_only_what_was_sent_since_they_joined(api, sales_team):
    t, s = sales_team["tokens"], sales_team
    cid = api.call("POST", C, t["manager"], {"name": "招投标小组", "member_ids": [s["rep1"], s["rep2"]]}).data["id"]
    _send(api, t["manager"], cid, "标书底价：120 万")
    clock.travel(1)
    assert api.call("DELETE", f"{C}/{cid}/members/{s['rep2']}", t["manager"]).status_code == 200
    _send(api, t["manager"], cid, "张伟调去竞争对手那边了，别再透露底价")
    cursor = api.call("GET", "/v1/messages/poll", t["rep2"]).data["cursor"]
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["rep2"], s["agent"]]}).status_code == 200
    for who in ("rep2", "agent"):  # back, and new: nothing from before they joined, only the line saying they did
        r = api.call("GET", f"{C}/{cid}/messages", t[who])
        assert r.status_code == 200 and [m["text"] for m in r.data["items"]] == ["张伟、赵客服 加入了群聊"], who
        shown = api.call("GET", f"{C}/{cid}", t[who]).data
        assert shown["last_message_preview"] is None and shown["unread"] == 0, who
    clock.travel(1)
    _send(api, t["rep1"], cid, "欢迎回来")
    polled = api.call("GET", f"/v1/messages/poll?since={cursor}&wait=0", t["rep2"]).data  # a cursor from before the removal ended
    assert polled["changed"] is True and [m["text"] for m in polled["messages"]] == ["张伟、赵客服 加入了群聊", "欢迎回来"]
    assert [m["text"] for m in api.call("GET", f"{C}/{cid}/messages", t["rep2"]).data["items"]] == ["欢迎回来", "张伟、赵客服 加入了群聊"]
    assert api.call("GET", f"{C}/{cid}", t["agent"]).data["last_message_preview"] == "欢迎回来"
    assert api.call("POST", f"{C}/{cid}/read", t["agent"], {}).data["unread"] == 0
    # the members who were there all along still read everything
    texts = [m["text"] for m in api.call("GET", f"{C}/{cid}/messages", t["rep1"]).data["items"]]
    assert texts == ["欢迎回来", "张伟、赵客服 加入了群聊", "张伟调去竞争对手那边了，别再透露底价", "张伟 被移出了群聊", "标书底价：120 万"]


def test_given_conversations_when_listed_then_latest_activity_first(api, sales_team):
    t, s = sales_team["tokens"], sales_team
    a = _direct(api, t["rep1"], s["rep2"])["id"]
    b = _direct(api, t["rep1"], s["manager"])["id"]
    _send(api, t["rep1"], a, "一")
    clock.travel(5)
    _send(api, t["rep1"], b, "二")
    assert [c["id"] for c in api.call("GET", C, t["rep1"]).data["items"]] == [b, a]
    clock.travel(5)
    _send(api, t["rep2"], a, "三")
    assert [c["id"] for c in api.call("GET", C, t["rep1"]).data["items"]] == [a, b]


def test_given_bad_input_then_422_in_both_languages(api, sales_team):
    t, s = sales_team["tokens"], sales_team
    assert api.call("POST", f"{C}/direct", t["rep1"], {"user_id": s["rep1"]}).status_code == 422
    r = api.call("POST", f"{C}/direct", t["rep1"], {"user_id": "nobody"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.data["details"][0]["field"] == "user_id[0]"
    cid = _direct(api, t["rep1"], s["rep2"])["id"]
    r = api.call("POST", f"{C}/{cid}/messages", t["rep1"], {"text": "  "})
    assert r.status_code == 422 and r.data["details"][0]["message"] == "消息内容不能为空"
    assert api.call("POST", f"{C}/{cid}/messages", t["rep1"], {"text": "x", "file_ids": ["nope"]}).status_code == 422
    for since in ("garbage", "1.99999999999999999999", "-1.5"):
        assert api.call("GET", f"/v1/messages/poll?since={since}", t["rep1"]).status_code == 422, since


def test_given_file_from_sender_then_members_download_it_and_others_do_not(api, sales_team, upload):
    t, s = sales_team["tokens"], sales_team
    f = upload(t["rep1"], name="报价单.pdf")
    cid = _direct(api, t["rep1"], s["rep2"])["id"]
    r = api.call("POST", f"{C}/{cid}/messages", t["rep1"], {"text": "报价单", "file_ids": [f["id"]]})
    assert r.status_code == 201 and r.data["file_ids"] == [f["id"]]
    assert api.call("GET", f"/v1/files/{f['id']}/download", t["rep2"]).status_code == 200
    assert api.call("GET", f"/v1/files/{f['id']}/download", t["manager"]).status_code == 404


def test_given_other_tenant_then_its_users_and_conversations_are_unknown(api, sales_team, make_tenant):
    other = make_tenant(mobile="13700000000")
    t, s = sales_team["tokens"], sales_team
    cid = _direct(api, t["rep1"], s["rep2"])["id"]
    assert api.call("GET", f"{C}/{cid}", other["admin"]).status_code == 404
    assert api.call("POST", f"{C}/direct", other["admin"], {"user_id": s["rep1"]}).status_code == 422


@pytest.fixture()
def no_sleep(monkeypatch):
    """The poll's wait moves the product clock instead of sleeping; `during` runs once, at the first wait."""
    from chalicelib.messages import service

    waits: list[float] = []
    during: list = []

    def fake(seconds: float) -> None:
        waits.append(seconds)
        clock.travel(seconds)
        while during:
            during.pop(0)()

    monkeypatch.setattr(service, "sleep", fake)
    return waits, during


def test_given_poll_when_nothing_new_then_it_waits_until_the_limit_and_answers_unchanged(api, sales_team, no_sleep):
    waits, _ = no_sleep
    t = sales_team["tokens"]
    first = api.call("GET", "/v1/messages/poll", t["rep2"]).data
    assert first["changed"] is True and first["messages"] == [] and waits == []
    r = api.call("GET", f"/v1/messages/poll?since={first['cursor']}&wait=25", t["rep2"])
    assert r.status_code == 200 and r.data["changed"] is False
    assert sum(waits) == pytest.approx(20.0, abs=0.5)  # capped at the configured maximum
    assert api.call("GET", f"/v1/messages/poll?since={first['cursor']}&wait=30", t["rep2"]).status_code == 422


def test_given_waiting_poll_when_message_and_notification_arrive_then_answered_with_them(api, sales_team, no_sleep):
    waits, during = no_sleep
    t, s = sales_team["tokens"], sales_team
    cid = _direct(api, t["rep1"], s["rep2"])["id"]
    cursor = api.call("GET", "/v1/messages/poll", t["rep2"]).data["cursor"]

    def arrive():
        from chalicelib.notifications import service as notifications

        _send(api, t["rep1"], cid, "在吗？")
        notifications.deliver(s["id"], s["rep2"], "task_assigned", {"zh-CN": "新任务", "en": "New task"})

    during.append(arrive)
    r = api.call("GET", f"/v1/messages/poll?since={cursor}&wait=20", t["rep2"]).data
    assert r["changed"] is True and len(waits) == 1
    assert [m["text"] for m in r["messages"]] == ["在吗？"]
    assert [n["title"] for n in r["notifications"]] == ["新任务"]
    assert r["counts"]["messages"] == 1 and r["counts"]["notifications"] == 1 and r["counts"]["total"] == 2
    # the next poll with the new cursor waits again
    waits.clear()
    again = api.call("GET", f"/v1/messages/poll?since={r['cursor']}&wait=3", t["rep2"]).data
    assert again["changed"] is False and sum(waits) == pytest.approx(3.0, abs=0.5)


def test_given_the_demo_company_then_lina_has_unread_messages_and_sees_the_pinned_notice_first(api):
    from devstack import demo

    demo.seed()
    login = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000004", "password": demo.PASSWORD})
    rep = login.data["id_token"]
    counts = api.call("GET", "/v1/messages/unread", rep).data
    assert counts["messages"] == 2 and len(counts["conversations"]) == 2
    titles = [a["title"] for a in api.call("GET", "/v1/announcements", rep).data["items"]]
    assert titles == ["关于调整 2026 年考勤制度的通知", "华为 CRM 一期签约"]
    finance = api.call("POST", "/v1/auth/login", body={"tenant_id": demo.TENANT, "mobile": "13800000009",
                                                       "password": demo.PASSWORD}).data["id_token"]
    assert [a["title"] for a in api.call("GET", "/v1/announcements", finance).data["items"]] == ["关于调整 2026 年考勤制度的通知"]


def test_given_members_join_and_leave_a_group_then_system_lines_say_who_in_each_readers_language(api, sales_team):
    t, s = sales_team["tokens"], sales_team
    cid = api.call("POST", C, t["manager"], {"name": "华为项目组", "member_ids": [s["rep1"]]}).data["id"]
    _send(api, t["manager"], cid, "周五前交方案")
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["rep2"], s["agent"]]}).status_code == 200
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/leave", t["agent"]).status_code == 200
    clock.travel(1)
    assert api.call("DELETE", f"{C}/{cid}/members/{s['rep2']}", t["manager"]).status_code == 200
    items = api.call("GET", f"{C}/{cid}/messages", t["rep1"]).data["items"]
    assert [(m["kind"], m["event"], m["text"]) for m in items] == [
        ("system", "removed", "张伟 被移出了群聊"), ("system", "left", "赵客服 离开了群聊"),
        ("system", "joined", "张伟、赵客服 加入了群聊"), ("text", None, "周五前交方案")]
    assert items[2]["user_ids"] == [s["rep2"], s["agent"]] and items[1]["sender_id"] == s["agent"]
    en = api.call("GET", f"{C}/{cid}/messages", t["rep1"], headers={"Accept-Language": "en"}).data["items"]
    assert [m["text"] for m in en[:3]] == ["张伟 removed from the group", "赵客服 left", "张伟, 赵客服 joined"]
    # system lines are nobody's unread message, and the last message stays the last one somebody wrote
    assert api.call("GET", "/v1/messages/unread", t["rep1"]).data["messages"] == 1
    assert api.call("POST", f"{C}/{cid}/read", t["rep1"], {"message_id": items[3]["id"]}).data["unread"] == 0
    assert api.call("GET", f"{C}/{cid}", t["rep1"]).data["last_message_preview"] == "周五前交方案"
    # a member still there gets them by the poll too
    clock.travel(5)  # past the poll's overlap (items up to 2 s older than the cursor come again)
    cursor = api.call("GET", "/v1/messages/poll", t["rep1"]).data["cursor"]
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["agent"]]}).status_code == 200
    polled = api.call("GET", f"/v1/messages/poll?since={cursor}&wait=0", t["rep1"]).data
    assert polled["changed"] is True and [m["text"] for m in polled["messages"]] == ["赵客服 加入了群聊"]
    # adding someone who is already a member says nothing
    api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["agent"]]})
    assert len(api.call("GET", f"{C}/{cid}/messages", t["rep1"]).data["items"]) == 5


def test_given_a_member_added_later_then_files_sent_before_they_joined_stay_closed_to_them(api, sales_team, upload):
    t, s = sales_team["tokens"], sales_team
    cid = api.call("POST", C, t["manager"], {"name": "招投标小组", "member_ids": [s["rep1"]]}).data["id"]
    early = upload(t["manager"], name="标书底价.xlsx")
    r = api.call("POST", f"{C}/{cid}/messages", t["manager"], {"text": "底价", "file_ids": [early["id"]]})
    assert r.status_code == 201, r.data
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/members", t["manager"], {"user_ids": [s["rep2"]]}).status_code == 200
    clock.travel(1)
    late = upload(t["manager"], name="会议纪要.pdf")
    assert api.call("POST", f"{C}/{cid}/messages", t["manager"], {"text": "纪要", "file_ids": [late["id"]]}).status_code == 201
    for path in ("", "/download"):
        assert api.call("GET", f"/v1/files/{early['id']}{path}", t["rep1"]).status_code == 200, path  # there all along
        assert api.call("GET", f"/v1/files/{early['id']}{path}", t["rep2"]).status_code == 404, path  # joined after it was sent
        assert api.call("GET", f"/v1/files/{late['id']}{path}", t["rep2"]).status_code == 200, path
    shown = [m["file_ids"] for m in api.call("GET", f"{C}/{cid}/messages", t["rep2"]).data["items"]]
    assert early["id"] not in sum(shown, [])
    # the same file sent again after they joined: now they may read it
    clock.travel(1)
    assert api.call("POST", f"{C}/{cid}/messages", t["manager"], {"text": "再发一次", "file_ids": [early["id"]]}).status_code == 201
    assert api.call("GET", f"/v1/files/{early['id']}/download", t["rep2"]).status_code == 200
    # removed: no longer
    assert api.call("DELETE", f"{C}/{cid}/members/{s['rep2']}", t["manager"]).status_code == 200
    assert api.call("GET", f"/v1/files/{late['id']}/download", t["rep2"]).status_code == 404
