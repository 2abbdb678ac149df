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
