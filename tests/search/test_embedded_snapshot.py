"""The embedded engine answers a search from one state of the index while the stream's indexer
writes from another thread (the local stack's stream driver runs in a thread of its own)."""
from __future__ import annotations

import threading

from chalicelib.search.embedded import EmbeddedIndex
from tests.search.test_contract import cust, everything, names, put


def test_given_a_hit_reindexed_while_a_search_reads_its_page_then_the_page_comes_from_the_state_it_started_in(tmp_path, monkeypatch):
    engine = EmbeddedIndex(str(tmp_path / "snapshot.sqlite3"))
    record = cust("tsnapshot", "快照客户")
    put(engine, record)
    original = EmbeddedIndex._with_sources

    def reindexed_meanwhile(self, db, req, rows, text):  # type: ignore[no-untyped-def]
        record.version += 1
        record.data["name"] = "快照客户二"  # a new version: the document gets a new row, its old source goes
        writer = threading.Thread(target=put, args=(engine, record))
        writer.start()
        writer.join()
        return original(self, db, req, rows, text)

    with monkeypatch.context() as m:
        m.setattr(EmbeddedIndex, "_with_sources", reindexed_meanwhile)
        during = engine.search(everything("tsnapshot"))

    # before: the page's rows from one state and their sources from the next — the new source
    # under the old row, or none (a KeyError: the search answered 503)
    assert names(during) == ["快照客户"]
    assert names(engine.search(everything("tsnapshot"))) == ["快照客户二"]
