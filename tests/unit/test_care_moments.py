"""Care moments are days in the tenant's time zone: a yearly date that does not exist this year
(29 February) falls on the 28th, a birthday reminder rolls on to the coming birthday once its own
has passed, and a holiday's date is its own (YYYY-MM-DD) or its yearly one (MM-DD)."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.care import timers
from chalicelib.care.schemas import holiday_date
from chalicelib.core import clock
from chalicelib.core.errors import Problem


def setup_function() -> None:
    clock.reset()


def teardown_function() -> None:
    clock.reset()


def _at(day: date) -> None:
    """Stand at noon (Beijing time) of `day`."""
    clock.travel(clock.parse_iso(f"{day.isoformat()}T04:00:00Z").timestamp() - clock.now().timestamp())


def test_given_29_february_then_other_years_use_the_28th():
    assert timers.next_yearly(2, 29, date(2027, 1, 1)) == date(2027, 2, 28)
    assert timers.next_yearly(2, 29, date(2027, 3, 1)) == date(2028, 2, 29)
    assert timers.next_yearly(10, 1, date(2026, 10, 1)) == date(2026, 10, 1)  # the day itself counts


def test_given_a_birthday_then_the_reminder_is_at_nine_beijing_time_n_days_before_the_coming_one():
    assert timers.birthday_moment("1988-03-05", 3, date(2026, 1, 10)) == ("2026-03-02T01:00:00.000Z", date(2026, 3, 5))
    assert timers.birthday_moment("1988-03-05", 0, date(2026, 3, 6)) == ("2027-03-05T01:00:00.000Z", date(2027, 3, 5))


def test_given_a_stored_reminder_whose_birthday_passed_then_the_timer_reads_the_coming_one():
    values = {"birthday": "1990-03-01", "care_birthday_at": "2027-02-27T01:00:00.000Z"}  # 2 days before (2027: no 29th)
    _at(date(2027, 2, 28))
    assert timers.birthday_at(values) == "2027-02-27T01:00:00.000Z"  # its birthday has not passed
    assert timers.birthday_following(values) == "2028-02-28T01:00:00.000Z"  # 2028 is a leap year: 2 days before 1 March
    _at(date(2027, 3, 2))
    assert timers.birthday_at(values) == "2028-02-28T01:00:00.000Z"


@pytest.mark.parametrize("spec,day,expected", [("2027-02-06", date(2027, 1, 1), date(2027, 2, 6)),
                                               ("2027-02-06", date(2027, 2, 7), None),
                                               ("10-01", date(2026, 10, 2), date(2027, 10, 1))])
def test_given_a_holiday_then_its_date_is_its_own_or_its_yearly_one(spec, day, expected):
    assert timers.holiday_on(spec, day) == expected


@pytest.mark.parametrize("value", ["2027-02-30", "02-29", "2-6", "春节", "2027/02/06", "13-01"])
def test_given_a_bad_holiday_date_then_it_is_refused(value):
    with pytest.raises(Problem):
        holiday_date(value)
