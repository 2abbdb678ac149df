"""Follow-ups (跟进记录) on leads, customers and contacts: the record, what it stamps on the
record it is about, the next-contact reminder as a real schedule (moved and removed with the
follow-up), and the timeline of the record followed up."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.core import clock
from devstack.drivers import ScheduleDriver


def _followup(api, token: str, about: dict, **fields) -> dict:
    r = api.call("POST", "/v1/followups", token, {"about": about, "type": "call", "content": "电话沟通需求", **fields})
    assert r.status_code == 201, r.data
    return r.data


def _iso(minutes: int) -> str:
    return clock.iso(clock.now() + timedelta(minutes=minutes))  # stored to the millisecond


def test_given_a_customer_when_followed_up_then_it_is_stamped_in_its_timeline_and_the_next_contact_reminds_once(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "华为技术有限公司"}).data
    contact = api.call("POST", "/v1/contacts", rep, {"name": "任正非", "customer": c["id"]}).data
    nxt = _iso(120)
    f = _followup(api, rep, {"entity": "customer", "id": c["id"]}, type="visit", content="上门拜访，确认采购计划",
                  contacts=[{"contact": contact["id"]}], next_contact_at=nxt)
    assert f["about"] == {"entity": "customer", "id": c["id"]} and f["contacts"][0]["contact"]["id"] == contact["id"]
    stamped = api.call("GET", f"/v1/customers/{c['id']}", rep).data
    assert stamped["last_followup_at"] and stamped["next_contact_at"] == nxt
    line = api.call("GET", f"/v1/customers/{c['id']}/timeline", rep).data["items"]
    assert any(i["kind"] == "record" and i.get("title") == "上门拜访，确认采购计划" for i in line)
    assert [x["content"] for x in api.call("GET", f"/v1/customers/{c['id']}/related", rep).data["related"]["followup"]] == \
        ["上门拜访，确认采购计划"]
    # the reminder fires at the next contact time, once
    assert ScheduleDriver().run_once() == 0
    clock.travel(121 * 60)
    assert ScheduleDriver().run_once() == 1
    inbox = api.call("GET", "/v1/notifications", rep).data["items"]
    assert [n["kind"] for n in inbox] == ["record_due"] and inbox[0]["link"] == {"entity": "followup", "id": f["id"]}
    assert ScheduleDriver().run_once() == 0


def test_given_a_follow_up_edited_or_deleted_then_its_reminder_moves_or_goes(api, sales_team):
    rep = sales_team["tokens"]["rep1"]
    lead = api.call("POST", "/v1/leads", rep, {"name": "张总", "company": "远景"}).data
    f = _followup(api, rep, {"entity": "lead", "id": lead["id"]}, next_contact_at=_iso(60))
    assert api.call("GET", f"/v1/leads/{lead['id']}", rep).data["status"] == "following"  # a new lead is being followed up
    moved = api.call("PATCH", f"/v1/followups/{f['id']}", rep, {"next_contact_at": _iso(600), "version": f["version"]})
    assert moved.status_code == 200, moved.data
    clock.travel(61 * 60)
    assert ScheduleDriver().run_once() == 0  # moved: not due any more at the first time
    assert api.call("DELETE", f"/v1/followups/{f['id']}", sales_team["tokens"]["manager"],
                    headers={"If-Match": f'"{moved.data["version"]}"'}).status_code == 204
    clock.travel(600 * 60)
    assert ScheduleDriver().run_once() == 0  # deleted: no reminder
    assert api.call("GET", "/v1/notifications", rep).data["items"] == []


def test_given_follow_ups_then_types_and_what_they_are_about_are_checked_and_scope_applies(api, sales_team):
    t = sales_team["tokens"]
    c = api.call("POST", "/v1/customers", t["rep1"], {"name": "小米"}).data
    bad = api.call("POST", "/v1/followups", t["rep1"], {"about": {"entity": "competitor", "id": c["id"]}, "type": "fax",
                                                        "content": "x"})
    assert bad.status_code == 422 and {d["field"] for d in bad.data["details"]} == {"about", "type"}
    theirs = api.call("POST", "/v1/followups", t["rep2"], {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                           "content": "别人的客户"})
    assert theirs.status_code == 422 and theirs.data["details"][0]["field"] == "about"  # not a record they may read
    _followup(api, t["rep1"], {"entity": "customer", "id": c["id"]})
    assert api.call("GET", "/v1/followups", t["rep2"]).data["items"] == []
    assert len(api.call("GET", "/v1/followups", t["manager"]).data["items"]) == 1


def test_given_follow_ups_logged_at_once_on_one_customer_then_each_is_saved(api, sales_team):
    from concurrent.futures import ThreadPoolExecutor

    rep, manager = sales_team["tokens"]["rep1"], sales_team["tokens"]["manager"]
    c = api.call("POST", "/v1/customers", rep, {"name": "同时跟进的客户"}).data

    def log(i: int):
        return api.call("POST", "/v1/followups", rep if i % 2 else manager, {
            "about": {"entity": "customer", "id": c["id"]}, "type": "call", "content": f"第 {i} 通电话"})

    with ThreadPoolExecutor(max_workers=4) as ex:
        answers = list(ex.map(log, range(6)))
    assert [a.status_code for a in answers] == [201] * 6, [a.data for a in answers if a.status_code != 201]
    got = [api.call("GET", f"/v1/followups/{a.data['id']}", manager) for a in answers]
    assert [g.status_code for g in got] == [200] * 6, [(g.status_code, g.data) for g in got]
    related = api.call("GET", f"/v1/customers/{c['id']}/related", manager).data["related"]["followup"]
    assert sorted(f["id"] for f in related) == sorted(a.data["id"] for a in answers)  # every answer is a saved follow-up


def test_given_the_customer_changed_between_a_follow_ups_read_and_write_then_that_change_is_kept(api, sales_team, monkeypatch):
    from types import SimpleNamespace

    from chalicelib.db import tx
    from chalicelib.db.base import plain
    from chalicelib.engine import store
    from chalicelib.followups import entity as followups

    rep = sales_team["tokens"]["rep1"]
    c = api.call("POST", "/v1/customers", rep, {"name": "被他人修改的客户", "remark": "原备注"}).data
    edits = []

    def read_then_someone_edits(*args, **kwargs):
        rec = store.get(*args, **kwargs)
        if not edits:  # another container saves the customer right after the follow-up read it
            other = store.get(*args, **kwargs)
            tx.write(store.update_ops(other, sales_team["manager"], {**plain(other.data), "remark": "经理刚改的备注"},
                                      int(other.version)))
            edits.append(other.version)
        return rec

    monkeypatch.setattr(followups, "store", SimpleNamespace(get=read_then_someone_edits))
    f = api.call("POST", "/v1/followups", rep, {"about": {"entity": "customer", "id": c["id"]}, "type": "call",
                                                 "content": "电话回访"})
    assert f.status_code == 201, f.data
    after = api.call("GET", f"/v1/customers/{c['id']}", rep).data
    assert after["remark"] == "经理刚改的备注" and after["last_followup_at"]  # both writes are there
