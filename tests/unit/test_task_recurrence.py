"""The next due time of a repeating task (tasks.service.next_due): intervals, month ends, and the
end of a series by count or by date (in the tenant's time zone)."""
from __future__ import annotations

import pytest

from chalicelib.tasks.service import next_due


@pytest.mark.parametrize(("values", "expected"), [
    ({"repeat": "daily", "due_at": "2030-01-01T01:00:00.000Z"}, "2030-01-02T01:00:00.000Z"),
    ({"repeat": "daily", "repeat_interval": 3, "due_at": "2030-01-30T01:00:00.000Z"}, "2030-02-02T01:00:00.000Z"),
    ({"repeat": "weekly", "repeat_interval": 2, "due_at": "2030-01-01T01:00:00.000Z"}, "2030-01-15T01:00:00.000Z"),
    ({"repeat": "monthly", "due_at": "2030-01-31T01:00:00.000Z"}, "2030-02-28T01:00:00.000Z"),
    ({"repeat": "monthly", "due_at": "2031-12-31T01:00:00.000Z"}, "2032-01-31T01:00:00.000Z"),
    ({"repeat": "monthly", "repeat_interval": 1, "due_at": "2032-01-31T01:00:00.000Z"}, "2032-02-29T01:00:00.000Z"),
    ({"repeat": "monthly", "repeat_interval": 12, "due_at": "2030-03-15T01:00:00.000Z"}, "2031-03-15T01:00:00.000Z"),
])
def test_given_a_repeat_rule_then_the_next_due_time_follows_it(values, expected):
    assert next_due(values) == expected


def test_given_the_end_of_a_series_then_there_is_no_next_occurrence():
    base = {"repeat": "daily", "due_at": "2030-01-01T01:00:00.000Z"}
    assert next_due({**base, "repeat_count": 3, "occurrence": 3}) is None
    assert next_due({**base, "repeat_count": 3, "occurrence": 2}) == "2030-01-02T01:00:00.000Z"
    assert next_due({**base, "repeat_until": "2030-01-01"}) is None
    # 2030-01-01T17:00Z is already 2030-01-02 in Asia/Shanghai: past an until of 01-01
    assert next_due({"repeat": "daily", "due_at": "2029-12-31T17:00:00.000Z", "repeat_until": "2030-01-01"}) is None
    assert next_due({"due_at": "2030-01-01T01:00:00.000Z"}) is None
