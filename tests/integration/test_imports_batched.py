"""导入 in batches (imports/runner.py): records and their log entries put with BatchWriteItem, the
duplicate leases claimed first in transactions of leases only, ownership counted once per chunk per
owner and given back for rows not written. What an import guarantees stays: a crash in the middle of
a batch write resumes without writing a row twice or overwriting a record changed since; an API
create racing an import for a blocked key loses to the import's lease or wins over the import's row;
limits are never passed and counters end exact."""
from __future__ import annotations

import pytest

from chalicelib.db import tx
from chalicelib.imports import runner
from chalicelib.imports.models import Reservation
from chalicelib.jobs import service as jobs

from .test_imports import csv_bytes, errors, names, reps_may_import, run, start, upload


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(runner, "CHUNK", 20)


def _owned(api, admin: str, user_id: str) -> int:
    r = api.call("GET", f"/v1/customer-limits/holdings?user_id={user_id}", admin)
    assert r.status_code == 200, r.data
    return r.data["owned"]


def _logs(api, token: str, record_id: str) -> list[dict]:
    r = api.call("GET", f"/v1/records/customer/{record_id}/logs", token)
    assert r.status_code == 200, r.data
    return r.data["items"]


def _reservations(tenant_id: str, import_id: str) -> list[Reservation]:
    return [m for run_no in (1, 2) for m in Reservation.query(Reservation.partition(tenant_id, import_id, run_no), consistent_read=True)]


def test_given_a_crash_in_the_middle_of_a_batch_write_when_resumed_then_no_row_is_written_twice_nor_a_changed_one_overwritten(
        api, sales_team, small_chunks, monkeypatch):
    admin = sales_team["admin"]
    real, state = runner.batch.put_all, {"calls": 0, "edited": None}

    def crashing(items, workers=1):
        items = list(items)
        state["calls"] += 1
        if state["calls"] != 2:
            return real(items, workers=workers)
        real(items[:15])  # the second chunk: some of its records and log entries went, then the container went away
        rec = next(i for i in items[:15] if getattr(i, "entity", None) == "CUSTOMER")
        r = api.call("PATCH", f"/v1/customers/{rec.id}", admin, {"remark": "导入后改过", "version": 1})
        assert r.status_code == 200, r.data  # someone changes a record the import wrote, before it resumes
        state["edited"] = rec.id
        raise RuntimeError("the container went away")

    monkeypatch.setattr(runner.batch, "put_all", crashing)
    rows = [["客户名称", "手机"], *[[f"批量续传{i:03d}", f"136{i:08d}"] for i in range(60)]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    start(api, admin, iid)
    jobs.run_queued()
    done = api.call("GET", f"/v1/imports/{iid}", admin).data
    assert done["status"] == "succeeded", done
    assert done["result"]["created"] == 60 and done["result"]["rejected"] == 0
    assert state["calls"] >= 3 and state["edited"]
    api.pump()
    listed = api.call("GET", "/v1/customers?limit=100", admin).data
    assert listed["total"] == 60
    assert sorted(c["name"] for c in listed["items"]) == [f"批量续传{i:03d}" for i in range(60)]
    edited = api.call("GET", f"/v1/customers/{state['edited']}", admin).data
    assert edited["remark"] == "导入后改过" and edited["version"] == 2  # not put again by the resumed run
    assert [e["action"] for e in _logs(api, admin, state["edited"])].count("create") == 1
    assert _owned(api, admin, sales_team["admin_id"]) == 60
    assert _reservations(sales_team["id"], iid) == []  # the crashed run's reservation was settled


def test_given_an_api_create_of_a_blocked_key_before_the_import_claims_it_then_that_row_is_refused(api, sales_team, small_chunks,
                                                                                                   monkeypatch):
    admin = sales_team["admin"]
    real = runner.Run._claim
    made: dict[str, str] = {}

    def racing(self, rows):
        if not made:  # the API's create lands between the import's search and its leases (within the index lag)
            r = api.call("POST", "/v1/customers", admin, {"name": "抢先公司"})
            assert r.status_code == 201, r.data
            made["id"] = r.data["id"]
        return real(self, rows)

    monkeypatch.setattr(runner.Run, "_claim", racing)
    rows = [["客户名称"], ["导入甲"], ["抢先公司"], ["导入乙"]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    done = run(api, admin, iid)
    assert done["result"]["created"] == 2 and done["result"]["rejected"] == 1, done
    [bad] = errors(api, admin, iid)
    assert bad["row"] == 3 and "客户名称" in (bad["errors"][0]["column"] or "") + bad["errors"][0]["message"]
    assert names(api, admin).count("抢先公司") == 1
    owner = api.call("GET", f"/v1/customers/{made['id']}", admin).data["owner_id"]
    assert _owned(api, admin, owner) == 3  # two imported, one by the API: the refused row's reservation went back


def test_given_an_import_that_claimed_its_leases_when_the_api_creates_the_same_key_then_the_api_is_refused(api, sales_team,
                                                                                                        small_chunks, monkeypatch):
    admin = sales_team["admin"]
    real = runner.Run._claim
    answers: list[dict] = []

    def then_api(self, rows):
        taken = real(self, rows)
        # the import's records are not even written yet: the search index cannot know them
        answers.append(api.call("POST", "/v1/customers", admin, {"name": "导入在先"}))
        return taken

    monkeypatch.setattr(runner.Run, "_claim", then_api)
    iid = upload(api, admin, "customer", csv_bytes([["客户名称"], ["导入在先"], ["另一家"]]))
    done = run(api, admin, iid)
    assert done["result"]["created"] == 2
    assert answers[0].status_code == 409 and answers[0].data["code"] == "DUPLICATE"
    assert names(api, admin) == sorted(["导入在先", "另一家"])


def test_given_limits_when_importing_then_each_owner_is_reserved_once_a_chunk_and_what_is_unused_goes_back(api, sales_team,
                                                                                                         small_chunks, monkeypatch):
    admin, rep = sales_team["admin"], sales_team["tokens"]["rep1"]
    reps_may_import(api, sales_team)
    r = api.call("PUT", "/v1/customer-limits", admin, {"rules": [{"user_id": sales_team["rep1"], "owned": 30}]})
    assert r.status_code in (200, 201), r.data
    counter_writes: list[int] = []
    real_refused = tx.refused

    def counting(ops):
        counter_writes.append(sum(1 for op in ops if type(op.model).__name__ == "CustomerCount"))
        return real_refused(ops)

    monkeypatch.setattr(runner.tx, "refused", counting)
    made = api.call("POST", "/v1/customers", rep, {"name": "已有的客户"})
    assert made.status_code == 201, made.data
    api.pump()
    # 40 rows: 1 duplicates the existing customer (skipped), 1 duplicates an earlier row (skipped)
    rows = [["客户名称"], *[[f"限额批量{i:02d}"] for i in range(38)], ["已有的客户"], ["限额批量00"]]
    iid = upload(api, rep, "customer", csv_bytes(rows))
    done = run(api, rep, iid)
    # 1 held + 29 room: the first chunk (20 rows) reserved at once, the second has no room for its 18 and goes row by row
    assert done["result"]["created"] == 29 and done["result"]["skipped"] == 2 and done["result"]["rejected"] == 9, done
    assert all(e["errors"][0]["message"] for e in errors(api, rep, iid))
    assert _owned(api, admin, sales_team["rep1"]) == 30
    assert [n for n in counter_writes if n] == [1, 1]  # first chunk: one write for its owner; second: refused, once
    assert _reservations(sales_team["id"], iid) == []

    # no limit: a row refused after the reservation (its lease is taken) is given back
    r = api.call("PUT", "/v1/customer-limits", admin, {"rules": [], "version": r.data["version"]})
    assert r.status_code == 200, r.data
    before = _owned(api, admin, sales_team["rep1"])
    real_claim = runner.Run._claim

    def racing(self, rows_):
        api.call("POST", "/v1/customers", admin, {"name": "被抢的名字", "owner_id": sales_team["rep2"]})
        return real_claim(self, rows_)

    monkeypatch.setattr(runner.Run, "_claim", racing)
    iid = upload(api, rep, "customer", csv_bytes([["客户名称"], ["被抢的名字"], ["没被抢的"]]))
    done = run(api, rep, iid)
    assert done["result"]["created"] == 1 and done["result"]["rejected"] == 1, (done, errors(api, rep, iid))
    assert _owned(api, admin, sales_team["rep1"]) == before + 1


def test_given_a_crash_after_the_reservation_when_resumed_then_the_counters_end_exact(api, sales_team, small_chunks, monkeypatch):
    admin = sales_team["admin"]
    real, state = runner.Run._claim, {"calls": 0}

    def crashing(self, rows):
        state["calls"] += 1
        if state["calls"] == 2:  # the second chunk: ownership reserved, nothing else written yet
            raise RuntimeError("the container went away")
        return real(self, rows)

    monkeypatch.setattr(runner.Run, "_claim", crashing)
    rows = [["客户名称"], *[[f"预留续传{i:02d}"] for i in range(50)]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    start(api, admin, iid)
    jobs.run_queued()
    done = api.call("GET", f"/v1/imports/{iid}", admin).data
    assert done["status"] == "succeeded" and done["result"]["created"] == 50, done
    assert _owned(api, admin, sales_team["admin_id"]) == 50  # the crashed chunk's reservation was given back, then taken again
    assert _reservations(sales_team["id"], iid) == []
    assert len(names(api, admin)) == 50
