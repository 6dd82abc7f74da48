"""Recurrence arithmetic: month ends, leap days, intervals, until, and offsets other than UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tasks.recurrence import Rule, add_months

UTC = UTC
NEW_YORK_WINTER = timezone(timedelta(hours=-5))
KOLKATA = timezone(timedelta(hours=5, minutes=30))


def rule(freq: str, anchor: datetime, interval: int = 1, until: date | None = None) -> Rule:
    return Rule(freq=freq, interval=interval, until=until, anchor=anchor)


def series(r: Rule, count: int) -> list[datetime]:
    due, found = r.anchor, []
    for _ in range(count):
        due = r.next_after(due)
        found.append(due)
    return found


def test_monthly_from_january_31_keeps_to_month_ends() -> None:
    r = rule("monthly", datetime(2027, 1, 31, 9, 0, tzinfo=UTC))
    assert [d.date() for d in series(r, 3)] == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_monthly_in_a_leap_year_lands_on_february_29() -> None:
    r = rule("monthly", datetime(2028, 1, 31, 9, 0, tzinfo=UTC))
    assert series(r, 1)[0].date() == date(2028, 2, 29)


def test_yearly_from_february_29_falls_back_to_february_28() -> None:
    r = rule("yearly", datetime(2028, 2, 29, 12, 0, tzinfo=UTC))
    assert [d.date() for d in series(r, 4)] == [
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


@pytest.mark.parametrize(
    ("freq", "interval", "expected"),
    [("daily", 3, date(2027, 3, 4)), ("weekly", 2, date(2027, 3, 15)), ("monthly", 6, date(2027, 9, 1))],
)
def test_intervals(freq: str, interval: int, expected: date) -> None:
    r = rule(freq, datetime(2027, 3, 1, 8, 0, tzinfo=UTC), interval)
    assert series(r, 1)[0].date() == expected


def test_wall_clock_time_is_kept_in_the_clients_offset() -> None:
    # Jan 30, 23:00 in New York is Jan 31 04:00 UTC: month arithmetic in UTC would give Feb 27 in New York.
    r = rule("monthly", datetime(2027, 1, 30, 23, 0, tzinfo=NEW_YORK_WINTER))
    following = series(r, 2)
    assert [(d.date(), d.hour) for d in following] == [(date(2027, 2, 28), 23), (date(2027, 3, 30), 23)]
    assert following[0].astimezone(UTC) == datetime(2027, 3, 1, 4, 0, tzinfo=UTC)


def test_half_hour_offsets_are_kept() -> None:
    r = rule("daily", datetime(2027, 6, 1, 7, 30, tzinfo=KOLKATA))
    assert series(r, 1)[0] == datetime(2027, 6, 2, 7, 30, tzinfo=KOLKATA)


def test_next_is_computed_from_the_anchor_not_from_a_clamped_date() -> None:
    r = rule("monthly", datetime(2027, 1, 31, 9, 0, tzinfo=UTC))
    assert r.next_after(datetime(2027, 2, 28, 9, 0, tzinfo=UTC)).date() == date(2027, 3, 31)


def test_until_ends_the_series_inclusively() -> None:
    r = rule("weekly", datetime(2027, 5, 3, 9, 0, tzinfo=UTC), until=date(2027, 5, 17))
    assert [d.date() for d in series(r, 2)] == [date(2027, 5, 10), date(2027, 5, 17)]
    assert r.next_after(datetime(2027, 5, 17, 9, 0, tzinfo=UTC)) is None


def test_far_future_lookups_do_not_loop_through_every_occurrence() -> None:
    r = rule("daily", datetime(2000, 1, 1, 9, 0, tzinfo=UTC))
    assert r.next_after(datetime(2090, 6, 15, 12, 0, tzinfo=UTC)) == datetime(2090, 6, 16, 9, 0, tzinfo=UTC)


def test_json_round_trip_keeps_the_offset() -> None:
    r = rule("monthly", datetime(2027, 1, 30, 23, 0, tzinfo=NEW_YORK_WINTER), 2, date(2027, 12, 31))
    assert Rule.from_json(r.to_json()) == r


def test_add_months_across_years() -> None:
    assert add_months(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)
