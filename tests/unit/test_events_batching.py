"""Domain events held in a `batched()` block go out ten per PutEvents call (an import of 100,000
rows makes 10,000 calls, not 100,000); a strict event (a queued job) is never held."""
from __future__ import annotations

from chalicelib.ports import events


class FakeBus:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def put_events(self, Entries):  # noqa: N803 - boto3's name
        self.calls.append([e["DetailType"] for e in Entries])
        return {"FailedEntryCount": 0, "Entries": [{} for _ in Entries]}


def test_given_a_batched_block_when_23_events_are_published_then_three_calls_carry_them_in_order(monkeypatch):
    bus = FakeBus()
    monkeypatch.setattr(events, "client", lambda name: bus)
    with events.batched():
        for i in range(23):
            events.publish("customers", f"customers.customer.created.{i}", "t1", {"id": str(i)})
        events.publish("jobs", "jobs.job.queued", "t1", {"job_id": "j"}, strict=True)
        assert bus.calls == [[f"customers.customer.created.{i}" for i in range(10)],
                             [f"customers.customer.created.{i}" for i in range(10, 20)], ["jobs.job.queued"]]
    assert [len(c) for c in bus.calls] == [10, 10, 1, 3]
    events.publish("customers", "customers.customer.updated", "t1", {"id": "x"})  # outside a block: at once
    assert bus.calls[-1] == ["customers.customer.updated"]


def test_given_a_block_holding_a_chunk_when_it_is_flushed_then_every_event_goes_ten_a_call_several_calls_at_once(monkeypatch):
    import threading

    bus = FakeBus()
    together = threading.Barrier(2, timeout=5)  # the first two calls wait for each other: both in flight at once
    real, seen = bus.put_events, {"n": 0}

    def put_events(Entries):  # noqa: N803 - boto3's name
        seen["n"] += 1
        if seen["n"] <= 2:
            together.wait()
        return real(Entries)

    bus.put_events = put_events  # type: ignore[method-assign]
    monkeypatch.setattr(events, "client", lambda name: bus)
    with events.batched(hold=50, workers=4):
        for i in range(45):
            events.publish("customers", f"customers.customer.created.{i}", "t1", {"id": str(i)})
        assert bus.calls == []  # held until 50, or the end of the block
        events.flush()
        assert sorted(len(c) for c in bus.calls) == [5, 10, 10, 10, 10]
        assert sorted(t for c in bus.calls for t in c) == sorted(f"customers.customer.created.{i}" for i in range(45))
    assert not together.broken
    with events.batched():  # the default again: ten at a time, in order
        for i in range(10):
            events.publish("customers", f"x.{i}", "t1", {})
        assert bus.calls[-1] == [f"x.{i}" for i in range(10)]
