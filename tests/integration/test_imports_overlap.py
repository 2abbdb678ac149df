"""导入: a chunk is written while the next one is read and built (imports/runner.py, Run.chunk). The
next chunk was matched against the file's earlier rows before those were written; when one of them
was refused (another writer held its key), a later row with the same key must meet the same fate as
if the chunks had gone one after the other — it is built again, not skipped as a duplicate of a row
that never became a record."""
from __future__ import annotations

import pytest

from chalicelib.imports import runner

from .test_imports import csv_bytes, errors, names, run, upload


@pytest.fixture()
def pairs(monkeypatch):
    monkeypatch.setattr(runner, "CHUNK", 2)


def test_given_a_refused_row_when_the_next_chunk_has_its_key_then_that_row_is_refused_too_not_skipped(api, sales_team, pairs,
                                                                                                      monkeypatch):
    admin = sales_team["admin"]
    real, built = runner.Run._claim, {"again": 0}
    made: dict[str, str] = {}
    real_again = runner.Run._again

    def racing(self, rows):
        if not made:  # between the import's search and its leases, the API creates the name of row 3
            r = api.call("POST", "/v1/customers", admin, {"name": "抢先公司"})
            assert r.status_code == 201, r.data
            made["id"] = r.data["id"]
        return real(self, rows)

    def again(self, c):
        built["again"] += 1
        return real_again(self, c)

    monkeypatch.setattr(runner.Run, "_claim", racing)
    monkeypatch.setattr(runner.Run, "_again", again)
    rows = [["客户名称"], ["重叠甲"], ["抢先公司"], ["重叠乙"], ["抢先公司"], ["重叠丙"]]
    iid = upload(api, admin, "customer", csv_bytes(rows))
    done = run(api, admin, iid)
    assert done["status"] == "succeeded", done
    # rows 3 and 5 both meet the API's record: refused (409 DUPLICATE), neither skipped
    assert done["result"]["created"] == 3 and done["result"]["rejected"] == 2 and done["result"]["skipped"] == 0, done
    assert sorted(e["row"] for e in errors(api, admin, iid)) == [3, 5]
    assert built["again"] == 1  # the second chunk was built while the first was written, then once more
    assert names(api, admin).count("抢先公司") == 1
    assert {"重叠甲", "重叠乙", "重叠丙"} <= set(names(api, admin))


def test_given_many_chunks_then_the_progress_and_counts_follow_the_chunks_written(api, sales_team, pairs):
    admin = sales_team["admin"]
    rows = [["客户名称"], *[[f"进度{i}"] for i in range(7)], ["进度0"]]  # the last row duplicates the first
    iid = upload(api, admin, "customer", csv_bytes(rows))
    done = run(api, admin, iid)
    assert done["status"] == "succeeded", done
    assert done["result"]["created"] == 7 and done["result"]["skipped"] == 1 and done["result"]["rejected"] == 0, done
    assert done["progress"] == {"total": 8, "done": 8, "errors": 0}
    assert sorted(names(api, admin)) == sorted(f"进度{i}" for i in range(7))
